/**
 * The app contract's decisions (docs/app-contract.md), as pure functions, and the command a VM runs them with.
 *
 * - {@link readTarGz} / {@link readTar}: the entries of an artifact (a tar.gz), read without unpacking anything.
 * - {@link checkArchive}: may this archive be unpacked into a release directory? No absolute path, no `..`, no entry
 *   under a symbolic link, links that stay inside, no device files; a manifest at the root that {@link parseManifest}
 *   accepts for the version the deployment asks for, whose start command is an executable file of the archive.
 * - {@link parseManifest}: the manifest (`bluegreen.json`): present, JSON, at most {@link MAX_MANIFEST_BYTES}, no
 *   unknown key, every field valid.
 * - {@link systemdUnit}: the service the product starts the release with, from its manifest.
 *
 * vm-scripts/deploy-app.sh runs this file on the VM (`node app-contract.js check <artifact.tgz> <version>`) before
 * anything on the VM changes: a refusal names what is wrong and the fix, and the running release keeps serving.
 * The program ships it transpiled to JavaScript (components/lib/vmScripts.ts `vmToolScript`): it therefore imports
 * nothing but Node's built-ins (a test checks it), and runs on the Node.js the VMs' cloud-init installs for the
 * product's own tools — whatever runtime the app itself uses.
 */
import * as fs from "node:fs";
import * as zlib from "node:zlib";

/** The manifest's file name, at the root of every artifact. */
export const MANIFEST_FILE = "bluegreen.json";
/** The largest manifest accepted, in bytes. */
export const MAX_MANIFEST_BYTES = 16 * 1024;
/**
 * The only health path accepted today: the load balancer's probe and the gate ask it (components/lib/ports.ts
 * HEALTH_PATH; this file imports nothing, so the value is repeated and a test compares them). The manifest carries
 * the path so that a later release can let the probe follow it.
 */
export const PROBED_HEALTH_PATH = "/health";
/** The manifest format this product reads (the manifest's `schema`). */
export const MANIFEST_SCHEMA = 1;

/** The manifest of one release: what the product needs to install, start, check and stop it. */
export interface AppManifest {
    /** Manifest format, {@link MANIFEST_SCHEMA}. */
    readonly schema: number;
    /** The app's name: lowercase letters, digits and dashes (it names the service's log lines). */
    readonly name: string;
    /** The release's semantic version; must be the version the deployment asks for. */
    readonly version: string;
    /** The command that starts the app: a path relative to the release directory (an executable file in it), then arguments. */
    readonly start: readonly string[];
    /** The path that answers 200 once the app is ready (the load balancer's probe and the gate ask it). @default "/health" */
    readonly healthPath: string;
    /** Seconds from start until `healthPath` must answer 200, else the deploy fails. @default 120 */
    readonly startTimeoutSeconds: number;
    /** Seconds from SIGTERM until the process is killed. @default 30 */
    readonly stopTimeoutSeconds: number;
    /** Debian packages the VM installs before starting the app (its runtime, e.g. `nodejs`, `python3`). @default [] */
    readonly runtimePackages: readonly string[];
    /** Where the release was built from (written by `npm run app:pack`; informative only). @default undefined */
    readonly source?: { readonly commit?: string; readonly builtAt?: string; readonly dirty?: readonly string[] };
}

/** The keys a manifest may have; anything else is refused (a misspelt key would otherwise be ignored silently). */
export const MANIFEST_KEYS = ["schema", "name", "version", "start", "healthPath", "startTimeoutSeconds", "stopTimeoutSeconds", "runtimePackages", "source"] as const;

export const MANIFEST_DEFAULTS = { healthPath: "/health", startTimeoutSeconds: 120, stopTimeoutSeconds: 30, runtimePackages: [] as string[] } as const;

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const FIX = `see docs/app-contract.md; pack the app with npm run app:pack -- <version> --app <directory>`;

/** The answer of a check: the problems (empty = accepted), each naming what is wrong and the fix. */
export interface Verdict<T> {
    readonly problems: string[];
    readonly value?: T;
}

/**
 * A relative path inside the release directory, normalized (`./a//b` → `a/b`), or undefined when it is absolute,
 * empty, or has a `..` segment.
 */
export function insidePath(p: string): string | undefined {
    if (p.startsWith("/") || p.includes("\0")) return undefined;
    const parts = p.split("/").filter((s) => s !== "" && s !== ".");
    if (parts.length === 0 || parts.includes("..")) return undefined;
    return parts.join("/");
}

function integerIn(v: unknown, key: string, min: number, max: number, problems: string[]): number | undefined {
    if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
    problems.push(`${MANIFEST_FILE}: ${key} is ${JSON.stringify(v)}; it must be a whole number of seconds from ${min} to ${max}.`);
    return undefined;
}

/**
 * Parses and validates a manifest's text. `expectedVersion` is the version the deployment asks for: any other
 * version is refused. Returns every problem at once.
 */
export function parseManifest(text: string | Buffer | undefined, expectedVersion: string): Verdict<AppManifest> {
    if (text === undefined) {
        return { problems: [`the artifact has no ${MANIFEST_FILE} at its root, so it does not follow the app contract: ${FIX}.`] };
    }
    const bytes = typeof text === "string" ? Buffer.byteLength(text) : text.length;
    if (bytes > MAX_MANIFEST_BYTES) {
        return { problems: [`${MANIFEST_FILE} is ${bytes} bytes; a manifest holds at most ${MAX_MANIFEST_BYTES} bytes (it describes the release, it does not carry data): ${FIX}.`] };
    }
    let data: unknown;
    try {
        data = JSON.parse(text.toString());
    } catch (e) {
        return { problems: [`${MANIFEST_FILE} is not JSON (${(e as Error).message}): ${FIX}.`] };
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
        return { problems: [`${MANIFEST_FILE} must hold a JSON object, not ${Array.isArray(data) ? "an array" : JSON.stringify(data)}: ${FIX}.`] };
    }
    const m = data as Record<string, unknown>;
    const problems: string[] = [];
    const unknown = Object.keys(m).filter((k) => !(MANIFEST_KEYS as readonly string[]).includes(k));
    if (unknown.length > 0) {
        problems.push(`${MANIFEST_FILE} has unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}; the keys are ${MANIFEST_KEYS.join(", ")} (docs/app-contract.md).`);
    }
    if (m.schema !== MANIFEST_SCHEMA) problems.push(`${MANIFEST_FILE}: schema is ${JSON.stringify(m.schema)}; this product reads schema ${MANIFEST_SCHEMA} (set "schema": ${MANIFEST_SCHEMA}).`);
    if (typeof m.name !== "string" || !/^[a-z0-9][a-z0-9-]{0,39}$/.test(m.name)) {
        problems.push(`${MANIFEST_FILE}: name is ${JSON.stringify(m.name)}; use 1 to 40 lowercase letters, digits and dashes, e.g. "goals".`);
    }
    if (typeof m.version !== "string" || !SEMVER.test(m.version)) {
        problems.push(`${MANIFEST_FILE}: version is ${JSON.stringify(m.version)}, not a semantic version (e.g. 1.4.2); npm run app:pack -- <version> writes it.`);
    } else if (m.version !== expectedVersion) {
        problems.push(
            `${MANIFEST_FILE} says version ${m.version}, but the deployment asks for ${expectedVersion}: the artifact URL or the version is wrong. ` +
                `Deploy the artifact packed as ${expectedVersion} (npm run app:pack -- ${expectedVersion} --app <directory>), or set the color's version to ${m.version}.`,
        );
    }
    let start: string[] | undefined;
    if (!Array.isArray(m.start) || m.start.length === 0 || m.start.length > 32 || !m.start.every((a) => typeof a === "string" && a !== "" && !/[\0\n\r]/.test(a))) {
        problems.push(`${MANIFEST_FILE}: start is ${JSON.stringify(m.start)}; it must be a list of 1 to 32 non-empty strings on one line each: an executable file of the release, then its arguments, e.g. ["bin/start"].`);
    } else {
        const program = insidePath(m.start[0] as string);
        if (!program) {
            problems.push(
                `${MANIFEST_FILE}: start[0] is ${JSON.stringify(m.start[0])}, which is outside the release directory; it must be a path relative to the release directory ` +
                    `without "..", e.g. ["bin/start"] (a script in the artifact that runs your runtime: exec node app/main.js, exec python3 -m app, exec ./MyApp).`,
            );
        } else {
            start = [program, ...(m.start.slice(1) as string[])];
        }
    }
    const healthPath = m.healthPath ?? MANIFEST_DEFAULTS.healthPath;
    if (typeof healthPath !== "string" || !/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,200}$/.test(healthPath)) {
        problems.push(`${MANIFEST_FILE}: healthPath is ${JSON.stringify(healthPath)}; it must be a URL path starting with "/", without spaces or a query, e.g. "/health".`);
    } else if (healthPath !== PROBED_HEALTH_PATH) {
        problems.push(
            `${MANIFEST_FILE}: healthPath is ${JSON.stringify(healthPath)}, but the load balancer's probe and the health gate ask ${PROBED_HEALTH_PATH} on every VM: ` +
                `a release that answered elsewhere would be taken out of rotation. Answer ${PROBED_HEALTH_PATH} (remove healthPath or set it to "${PROBED_HEALTH_PATH}").`,
        );
    }
    const startTimeoutSeconds = m.startTimeoutSeconds === undefined ? MANIFEST_DEFAULTS.startTimeoutSeconds : integerIn(m.startTimeoutSeconds, "startTimeoutSeconds", 1, 900, problems);
    const stopTimeoutSeconds = m.stopTimeoutSeconds === undefined ? MANIFEST_DEFAULTS.stopTimeoutSeconds : integerIn(m.stopTimeoutSeconds, "stopTimeoutSeconds", 1, 900, problems);
    const packages = m.runtimePackages ?? MANIFEST_DEFAULTS.runtimePackages;
    if (!Array.isArray(packages) || packages.length > 50 || !packages.every((p) => typeof p === "string" && /^[a-z0-9][a-z0-9+.-]{1,62}$/.test(p))) {
        problems.push(`${MANIFEST_FILE}: runtimePackages is ${JSON.stringify(packages)}; it must list at most 50 Debian package names (lowercase, e.g. ["nodejs"] or ["python3", "python3-psycopg2"]).`);
    }
    const source = m.source;
    if (source !== undefined && (typeof source !== "object" || source === null || Array.isArray(source) || Object.keys(source).some((k) => !["commit", "builtAt", "dirty"].includes(k)))) {
        problems.push(`${MANIFEST_FILE}: source is ${JSON.stringify(source)}; it may hold only commit, builtAt and dirty (npm run app:pack writes it).`);
    }
    if (problems.length > 0) return { problems };
    return {
        problems,
        value: {
            schema: MANIFEST_SCHEMA,
            name: m.name as string,
            version: m.version as string,
            start: start as string[],
            healthPath: healthPath as string,
            startTimeoutSeconds: startTimeoutSeconds as number,
            stopTimeoutSeconds: stopTimeoutSeconds as number,
            runtimePackages: [...(packages as string[])],
            ...(source !== undefined ? { source: source as AppManifest["source"] } : {}),
        },
    };
}

/** One entry of a tar archive. */
export interface TarEntry {
    /** The path as written in the archive (after GNU long-name and pax records). */
    readonly name: string;
    readonly type: "file" | "directory" | "symlink" | "hardlink" | "other";
    /** The tar type flag, for messages about `other` entries. */
    readonly typeFlag: string;
    readonly mode: number;
    readonly size: number;
    /** The target of a symbolic or hard link. */
    readonly linkName?: string;
    /** The content of a regular file, when asked for ({@link readTar} `keep`). */
    readonly content?: Buffer;
}

function field(block: Buffer, offset: number, length: number): string {
    const raw = block.subarray(offset, offset + length);
    const end = raw.indexOf(0);
    return raw.subarray(0, end === -1 ? length : end).toString("utf8");
}

function octal(block: Buffer, offset: number, length: number): number {
    const text = field(block, offset, length).trim();
    return text === "" ? 0 : parseInt(text, 8);
}

/** The `path` and `linkpath` records of a pax extended header. */
function paxRecords(data: Buffer): Record<string, string> {
    const out: Record<string, string> = {};
    let i = 0;
    while (i < data.length) {
        const space = data.indexOf(0x20, i);
        if (space === -1) break;
        const length = parseInt(data.subarray(i, space).toString("ascii"), 10);
        if (!Number.isInteger(length) || length <= 0) break;
        const record = data.subarray(space + 1, i + length - 1).toString("utf8");
        const eq = record.indexOf("=");
        if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
        i += length;
    }
    return out;
}

/**
 * The entries of an uncompressed tar archive (ustar, GNU and pax), in order. `keep(name)` says which regular files'
 * contents to return. Throws on a truncated or malformed archive.
 */
export function readTar(tar: Buffer, keep: (name: string) => boolean = () => false): TarEntry[] {
    const entries: TarEntry[] = [];
    let offset = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Record<string, string> = {};
    while (offset + 512 <= tar.length) {
        const header = tar.subarray(offset, offset + 512);
        if (header.every((b) => b === 0)) break;
        const size = octal(header, 124, 12);
        if (!Number.isSafeInteger(size) || size < 0) throw new Error(`the archive has a malformed entry at byte ${offset}`);
        const dataStart = offset + 512;
        const dataEnd = dataStart + size;
        if (dataEnd > tar.length) throw new Error(`the archive is truncated at byte ${offset}`);
        const data = tar.subarray(dataStart, dataEnd);
        const typeFlag = String.fromCharCode(header[156] || 0x30);
        offset = dataStart + Math.ceil(size / 512) * 512;
        if (typeFlag === "L") { longName = field(data, 0, data.length); continue; }
        if (typeFlag === "K") { longLink = field(data, 0, data.length); continue; }
        if (typeFlag === "x") { pax = paxRecords(data); continue; }
        if (typeFlag === "g") continue;
        const magic = field(header, 257, 6);
        // POSIX ustar ("ustar\0") splits long names into prefix + name; GNU ("ustar  ") uses long-name records instead.
        const prefix = magic === "ustar" && header[345] !== 0 ? field(header, 345, 155) : "";
        const name = pax.path ?? longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
        const link = pax.linkpath ?? longLink ?? field(header, 157, 100);
        const type: TarEntry["type"] =
            typeFlag === "0" || typeFlag === "\0" || typeFlag === "7" ? "file"
                : typeFlag === "5" ? "directory"
                    : typeFlag === "2" ? "symlink"
                        : typeFlag === "1" ? "hardlink" : "other";
        entries.push({
            name,
            type,
            typeFlag,
            mode: octal(header, 100, 8),
            size,
            ...(type === "symlink" || type === "hardlink" ? { linkName: link } : {}),
            ...(type === "file" && keep(name) ? { content: Buffer.from(data) } : {}),
        });
        longName = undefined;
        longLink = undefined;
        pax = {};
    }
    return entries;
}

/** The entries of a tar.gz file (see {@link readTar}). Throws when it is not gzip or not tar. */
export function readTarGz(file: string, keep?: (name: string) => boolean): TarEntry[] {
    return readTar(zlib.gunzipSync(fs.readFileSync(file)), keep);
}

/** The dirname of a normalized inside path ("" for the root). */
function parentOf(p: string): string {
    const i = p.lastIndexOf("/");
    return i === -1 ? "" : p.slice(0, i);
}

/**
 * Where a symbolic link at `entry` pointing at `target` resolves, inside the release directory, or undefined when it
 * leaves it. `..` may only lead the target (`../lib/x`), so that resolving by text is resolving on disk.
 */
export function linkTargetInside(entry: string, target: string): string | undefined {
    if (target.startsWith("/") || target === "") return undefined;
    const parts = target.split("/").filter((s) => s !== "" && s !== ".");
    const firstOther = parts.findIndex((s) => s !== "..");
    if (firstOther !== -1 && parts.slice(firstOther).includes("..")) return undefined;
    const base = parentOf(entry).split("/").filter((s) => s !== "");
    for (const part of parts) {
        if (part === "..") {
            if (base.length === 0) return undefined;
            base.pop();
        } else base.push(part);
    }
    return base.join("/");
}

/** What {@link checkArchive} accepts: the manifest, and the entries' normalized names. */
export interface CheckedArchive {
    readonly manifest: AppManifest;
    readonly files: number;
}

/**
 * May these entries be unpacked into a release directory of `expectedVersion`? Every problem at once; each names the
 * entry and the fix. Nothing is written: the caller unpacks only an archive with no problem.
 */
export function checkArchive(entries: readonly TarEntry[], expectedVersion: string): Verdict<CheckedArchive> {
    const problems: string[] = [];
    const byName = new Map<string, TarEntry>();
    const symlinks = new Map<string, string | undefined>(); // entry → where it resolves (undefined: outside)
    for (const e of entries) {
        const name = e.name === "." || e.name === "./" ? "" : insidePath(e.name);
        if (name === undefined) {
            problems.push(
                e.name.startsWith("/")
                    ? `the archive has an absolute path, ${JSON.stringify(e.name)}: every entry must be relative to the release directory. Pack the app's directory with tar -C <directory> . (npm run app:pack does).`
                    : `the archive has the entry ${JSON.stringify(e.name)}, which climbs out of the release directory with "..": pack the app's directory with tar -C <directory> . (npm run app:pack does).`,
            );
            continue;
        }
        if (name === "") continue;
        if (e.type === "other") {
            problems.push(`the archive has ${JSON.stringify(e.name)} of tar type ${JSON.stringify(e.typeFlag)} (a device, FIFO or other special file): a release holds only files, directories and links.`);
            continue;
        }
        byName.set(name, e);
        if (e.type === "symlink") {
            const to = linkTargetInside(name, e.linkName ?? "");
            symlinks.set(name, to);
            if (to === undefined) {
                problems.push(`the archive's link ${JSON.stringify(e.name)} → ${JSON.stringify(e.linkName)} resolves outside the release directory: make it a relative link to a file of the release (without ".." after the first name), or copy the file in.`);
            }
        }
        if (e.type === "hardlink" && insidePath(e.linkName ?? "") === undefined) {
            problems.push(`the archive's hard link ${JSON.stringify(e.name)} → ${JSON.stringify(e.linkName)} points outside the release directory: pack a copy of the file instead.`);
        }
    }
    // An entry under a symbolic link would be written wherever the link points: refused, whatever the link.
    for (const name of byName.keys()) {
        for (let dir = parentOf(name); dir !== ""; dir = parentOf(dir)) {
            if (symlinks.has(dir)) {
                problems.push(`the archive's entry ${JSON.stringify(name)} lies under the symbolic link ${JSON.stringify(dir)}: unpacking would write through the link. Pack the real directory instead of the link.`);
                break;
            }
        }
    }
    const manifestEntry = byName.get(MANIFEST_FILE);
    if (manifestEntry && manifestEntry.type !== "file") {
        problems.push(`the archive's ${MANIFEST_FILE} is a ${manifestEntry.type}, not a regular file: ${FIX}.`);
        return { problems };
    }
    const manifest = parseManifest(manifestEntry ? (manifestEntry.content ?? Buffer.alloc(manifestEntry.size)) : undefined, expectedVersion);
    problems.push(...manifest.problems);
    if (manifest.value) {
        const program = manifest.value.start[0];
        // Follow links (each already checked to stay inside) to what would be executed.
        let at: string | undefined = program;
        let target = byName.get(program);
        for (let hops = 0; target?.type === "symlink" && hops < 8; hops++) {
            at = at === undefined ? undefined : symlinks.get(at);
            target = at === undefined ? undefined : byName.get(at);
        }
        if (!target) {
            problems.push(`${MANIFEST_FILE}: start[0] ${JSON.stringify(program)} is not in the artifact: ship the start script or binary at that path (relative to the release directory).`);
        } else if (target.type !== "file" || (target.mode & 0o111) === 0) {
            problems.push(`${MANIFEST_FILE}: start[0] ${JSON.stringify(program)} is not an executable file (mode ${target.mode.toString(8)}): chmod +x it before packing (npm run app:pack keeps the mode).`);
        }
    }
    if (problems.length > 0 || !manifest.value) return { problems };
    return { problems, value: { manifest: manifest.value, files: byName.size } };
}

/** Quotes one argument for a systemd ExecStart line (`%` and `$` escaped, double quotes when needed). */
export function systemdQuote(arg: string): string {
    const escaped = arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$");
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) && !arg.includes("\\") ? escaped : `"${escaped}"`;
}

/** Where a release lives on a VM, and what the unit reads. */
export interface UnitPaths {
    /** The release directory, e.g. `/opt/app/releases/1.4.2`. */
    readonly releaseDir: string;
    /** The environment file the product writes (mode 600), e.g. `/etc/bluegreen/app.env`. */
    readonly envFile: string;
    /** The service user. @default "app" */
    readonly user?: string;
}

/**
 * The systemd unit that runs a release: its start command from the release directory, as the unprivileged service
 * user, with the product's environment file, the manifest's time limits, stdout/stderr to the journal
 * (`journalctl -u bluegreen-app`), restarted when it fails.
 */
export function systemdUnit(manifest: AppManifest, paths: UnitPaths): string {
    const user = paths.user ?? "app";
    const exec = [`${paths.releaseDir}/${manifest.start[0]}`, ...manifest.start.slice(1)].map(systemdQuote).join(" ");
    return [
        "# Written by vm-scripts/deploy-app.sh from the release's bluegreen.json (docs/app-contract.md). Do not edit:",
        "# the next deployment rewrites it.",
        "[Unit]",
        `Description=bluegreen app ${manifest.name} ${manifest.version}`,
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        `User=${user}`,
        `Group=${user}`,
        `EnvironmentFile=${paths.envFile}`,
        `WorkingDirectory=${paths.releaseDir}`,
        `ExecStart=${exec}`,
        "Restart=on-failure",
        "RestartSec=2",
        "KillSignal=SIGTERM",
        `TimeoutStartSec=${manifest.startTimeoutSeconds}`,
        `TimeoutStopSec=${manifest.stopTimeoutSeconds}`,
        "StandardOutput=journal",
        "StandardError=journal",
        "SyslogIdentifier=bluegreen-app",
        "NoNewPrivileges=true",
        "ProtectSystem=full",
        "PrivateTmp=true",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

/** Reads a release directory's (already checked) manifest. */
export function readInstalledManifest(releaseDir: string, expectedVersion: string): AppManifest {
    const file = `${releaseDir}/${MANIFEST_FILE}`;
    const verdict = parseManifest(fs.existsSync(file) ? fs.readFileSync(file) : undefined, expectedVersion);
    if (!verdict.value) throw new Error(verdict.problems.join("\n"));
    return verdict.value;
}

const USAGE = [
    "usage: node app-contract.js check <artifact.tgz> <version>      refuse (exit 1) or accept an artifact before it is unpacked",
    "       node app-contract.js unit <release-dir> <version> <env-file> [user]   print the release's systemd unit",
    "       node app-contract.js get <release-dir> <version> <key>     print one manifest value (healthPath, runtimePackages, …)",
].join("\n");

/** The command line: what deploy-app.sh calls. Returns the exit code; prints to the given streams. */
export function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
    const [command, ...args] = argv;
    try {
        if (command === "check" && args.length === 2) {
            const [file, version] = args;
            let entries: TarEntry[];
            try {
                entries = readTarGz(file, (name) => insidePath(name) === MANIFEST_FILE);
            } catch (e) {
                err(`app-contract: REFUSED: the artifact is not a readable tar.gz (${(e as Error).message}): pack it with npm run app:pack -- ${version} --app <directory>.`);
                return 1;
            }
            const verdict = checkArchive(entries, version);
            if (!verdict.value) {
                err(`app-contract: REFUSED: the artifact of ${version} breaks the app contract (docs/app-contract.md); nothing on this VM was changed:`);
                for (const p of verdict.problems) err(`  - ${p}`);
                return 1;
            }
            out(`app-contract: ${verdict.value.manifest.name} ${version}: ${verdict.value.files} entries, manifest accepted (start ${JSON.stringify(verdict.value.manifest.start)}, health ${verdict.value.manifest.healthPath})`);
            return 0;
        }
        if (command === "unit" && (args.length === 3 || args.length === 4)) {
            const [releaseDir, version, envFile, user] = args;
            out(systemdUnit(readInstalledManifest(releaseDir, version), { releaseDir, envFile, ...(user ? { user } : {}) }).trimEnd());
            return 0;
        }
        if (command === "get" && args.length === 3) {
            const [releaseDir, version, key] = args;
            const value = (readInstalledManifest(releaseDir, version) as unknown as Record<string, unknown>)[key];
            if (value === undefined) { err(`app-contract: ${MANIFEST_FILE} has no value for ${key}`); return 2; }
            out(Array.isArray(value) ? value.join(" ") : String(value));
            return 0;
        }
    } catch (e) {
        err(`app-contract: ${(e as Error).message}`);
        return 1;
    }
    err(USAGE);
    return 2;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2), (s) => console.log(s), (s) => console.error(s));
}
