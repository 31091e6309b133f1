/**
 * Builds an app's immutable artifact (docs/app-contract.md): `npm run app:pack -- <version> [--app <directory>]` writes
 * `dist/app-<version>.tgz` and `dist/app-<version>.tgz.sha256` (`<hex>  app-<version>.tgz`, as `sha256sum -c` reads).
 *
 * Any directory that follows the contract can be packed: it holds `bluegreen.json` (the manifest; the pack writes the
 * version and where it was built from into it) and what the manifest's start command runs. How it is built:
 *   - a directory with a `tsconfig.pack.json` (the Node sample, `app/`, the default) is compiled, its runtime
 *     packages are copied from this checkout's node_modules, and its `bin/` is copied: the VM needs Node only;
 *   - any other directory is packed as it is (build it first: `dotnet publish -o out`, `go build`, a Python tree …).
 * The archive is checked with the very function a VM refuses artifacts with (release/appContract.ts `checkArchive`)
 * before it is published: the pack never writes an artifact a VM would refuse.
 *
 * It refuses a version that is not semver, refuses to overwrite an artifact of the same version, and refuses a working
 * tree with uncommitted, untracked or ignored files in what goes into the artifact (`--allow-dirty` packs it anyway,
 * listed in the manifest's `source.dirty`). The same checkout packs to the same bytes (app/reproducible.ts): build a
 * version once and publish those bytes everywhere. The artifact carries the app only: the migrations and their runner
 * are the product's, shipped to the release agent from this repository (components/lib/toolBundle.ts).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import { builtinModules } from "module";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { BUILD_INFO_FILE, writeBuildInfo } from "./src/buildInfo";
import { checkArchive, MANIFEST_FILE, readTarGz } from "../release/appContract";
import { isVersion } from "../release/versions";
import { sourceDateEpoch, writeReproducibleTarGz } from "./reproducible";
import { refuseDirtyTree, workingTreeState } from "../delivery/workingTree";
import { removeTempPath, removeTempPathsOnSignals, signalsHandled, tempPath } from "./tempPaths";

/** What goes into the sample's artifact from the checkout (node_modules is checked by its lock file). */
export const PACKED_PATHS = ["app", "release", "migrator", "package.json", "package-lock.json"];

/** The directory packed when no `--app` is given: the Node sample. */
export const SAMPLE_APP_DIR = "app";

export interface PackOptions {
    /** The version to stamp, semver (e.g. `1.4.2`). */
    readonly version: string;
    /** The checkout to build from. @default the repository this file is in */
    readonly root?: string;
    /** Where the artifact and its checksum go. @default `<root>/dist` */
    readonly distDir?: string;
    /** Where progress lines go. @default nowhere */
    readonly log?: (line: string) => void;
    /** Pack a tree with uncommitted changes anyway; the stamp then lists them (`dirty`). @default false */
    readonly allowDirty?: boolean;
    /** The app's directory (it holds bluegreen.json). @default `<root>/app`, the Node sample */
    readonly app?: string;
}

export interface PackResult {
    /** Absolute path of `app-<version>.tgz`. */
    readonly artifact: string;
    /** Absolute path of `app-<version>.tgz.sha256`. */
    readonly checksumFile: string;
    /** Hex SHA-256 of the artifact. */
    readonly sha256: string;
    readonly bytes: number;
    /** The npm packages copied into the artifact, `name@version`, sorted. */
    readonly packages: readonly string[];
}

/** File name of a version's artifact: one per version, never overwritten. */
export function artifactName(version: string): string {
    return `app-${version}.tgz`;
}

/**
 * The npm package names a compiled file requires (`require("pg")`, `require("@azure/identity/x")` → `@azure/identity`),
 * leaving out Node's built-ins and relative paths.
 */
export function requiredPackages(js: string): string[] {
    const names = new Set<string>();
    for (const m of js.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = m[1];
        if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("node:")) continue;
        const parts = spec.split("/");
        const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
        if (!builtinModules.includes(name)) names.add(name);
    }
    return [...names].sort();
}

/** Compiles the pack's tsconfig into `outDir`; throws with the compiler's messages when it does not compile. */
function compile(root: string, configPath: string, outDir: string): string[] {
    const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
    if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(configPath), { outDir });
    const program = ts.createProgram(parsed.fileNames, parsed.options);
    const emitted: string[] = [];
    const result = program.emit(undefined, (file, text) => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
        emitted.push(file);
    });
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
    if (diagnostics.length > 0) {
        const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" };
        throw new Error(`The app does not compile (${path.relative(root, configPath)}), so no artifact was built:\n${ts.formatDiagnostics(diagnostics, host)}`);
    }
    return emitted;
}

/** Where Node would find package `name` when required from `fromDir` (walking up to `root`). */
function resolvePackageDir(name: string, fromDir: string, root: string): string | undefined {
    for (let dir = fromDir; ; dir = path.dirname(dir)) {
        const candidate = path.join(dir, "node_modules", name);
        if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
        if (dir === root || dir === path.dirname(dir)) return undefined;
    }
}

/**
 * The installed package directories needed at run time by `names`: each package and, recursively, its
 * `dependencies` and installed `optionalDependencies` / `peerDependencies`, resolved the way Node resolves them.
 */
export function dependencyClosure(names: readonly string[], root: string): Map<string, string> {
    const found = new Map<string, string>(); // package dir → name@version
    const queue: { name: string; from: string; required: boolean }[] = names.map((name) => ({ name, from: root, required: true }));
    while (queue.length > 0) {
        const { name, from, required } = queue.shift()!;
        const dir = resolvePackageDir(name, from, root);
        if (!dir) {
            if (required) throw new Error(`The app requires "${name}", which is not installed; run npm ci, then pack again.`);
            continue;
        }
        if (found.has(dir)) continue;
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
            version: string;
            dependencies?: Record<string, string>;
            optionalDependencies?: Record<string, string>;
            peerDependencies?: Record<string, string>;
        };
        found.set(dir, `${name}@${pkg.version}`);
        for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir, required: !(dep in (pkg.optionalDependencies ?? {})) });
        for (const dep of Object.keys({ ...pkg.optionalDependencies, ...pkg.peerDependencies })) queue.push({ name: dep, from: dir, required: false });
    }
    return found;
}

/**
 * Files of an npm package that Node never loads: source maps, TypeScript sources and declarations, markdown.
 * Left out of the artifact (they are two thirds of its files); licences and everything else stay.
 */
export function isNeededAtRunTime(file: string): boolean {
    return !/\.(map|[mc]?ts|md|markdown)$/i.test(file);
}

function copyTree(src: string, dest: string, filter: (p: string) => boolean = () => true): void {
    fs.cpSync(src, dest, { recursive: true, filter, dereference: true });
}

/** The manifest template of an app directory (its bluegreen.json, version not yet written). */
function readManifestTemplate(appDir: string): Record<string, unknown> {
    const file = path.join(appDir, MANIFEST_FILE);
    if (!fs.existsSync(file)) {
        throw new Error(`${appDir} has no ${MANIFEST_FILE}, so it does not follow the app contract: write one (docs/app-contract.md), then pack again.`);
    }
    try {
        const data = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
        if (typeof data !== "object" || data === null || Array.isArray(data)) throw new Error("not a JSON object");
        return data as Record<string, unknown>;
    } catch (e) {
        throw new Error(`${file} is not a JSON object (${(e as Error).message}): fix it (docs/app-contract.md), then pack again.`);
    }
}

/**
 * Builds the Node sample (a directory with tsconfig.pack.json) into `staging`: compiled code, `bin/`, the runtime
 * packages it requires (copied from this checkout's node_modules), a package.json and its own build-info.json (the
 * sample reports it on /version; the product never reads it).
 */
async function buildNodeApp(root: string, appDir: string, staging: string, stamp: { version: string; commit?: string; dirty?: string[]; builtAt: string }, log: (line: string) => void): Promise<string[]> {
    log(`compiling ${path.relative(root, appDir) || "."} (${path.relative(root, path.join(appDir, "tsconfig.pack.json"))})`);
    const emitted = compile(root, path.join(appDir, "tsconfig.pack.json"), path.join(staging, "dist"));
    await signalsHandled();
    if (fs.existsSync(path.join(appDir, "bin"))) copyTree(path.join(appDir, "bin"), path.join(staging, "bin"));
    const required = [...new Set(emitted.filter((f) => f.endsWith(".js")).flatMap((f) => requiredPackages(fs.readFileSync(f, "utf8"))))].sort();
    const closure = dependencyClosure(required, root);
    for (const dir of closure.keys()) {
        const nested = path.join(dir, "node_modules");
        copyTree(dir, path.join(staging, path.relative(root, dir)), (p) => !p.startsWith(nested) && isNeededAtRunTime(p));
    }
    await signalsHandled();
    const packages = [...closure.values()].sort();
    log(`copied ${packages.length} packages for ${required.join(", ")}`);
    const rootPkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    const dependencies = Object.fromEntries(required.map((n) => [n, rootPkg.dependencies?.[n] ?? "*"]));
    fs.writeFileSync(
        path.join(staging, "package.json"),
        JSON.stringify({
            name: "bluegreen-app",
            version: stamp.version,
            private: true,
            description: "Blue/green sample app (built by npm run app:pack; node_modules included).",
            main: "dist/app/src/main.js",
            scripts: { start: "node dist/app/src/main.js" },
            engines: { node: ">=20" },
            dependencies,
        }, null, 2) + "\n",
    );
    writeBuildInfo(path.join(staging, BUILD_INFO_FILE), {
        version: stamp.version,
        ...(stamp.commit ? { commit: stamp.commit } : {}),
        ...(stamp.dirty ? { dirty: stamp.dirty } : {}),
        builtAt: stamp.builtAt,
    });
    return packages;
}

/** Builds the artifact of `version` (see the file's comment). */
export async function packApp(options: PackOptions): Promise<PackResult> {
    const { version } = options;
    const root = path.resolve(options.root ?? path.join(__dirname, ".."));
    const appDir = path.resolve(root, options.app ?? SAMPLE_APP_DIR);
    const distDir = path.resolve(options.distDir ?? path.join(root, "dist"));
    const log = options.log ?? (() => undefined);
    if (!isVersion(version)) {
        throw new Error(`"${version}" is not a semantic version; pass MAJOR.MINOR.PATCH, e.g. npm run app:pack -- 1.4.2`);
    }
    if (!fs.existsSync(appDir) || !fs.statSync(appDir).isDirectory()) {
        throw new Error(`--app ${appDir} is not a directory; pass the directory that holds the app's ${MANIFEST_FILE} (docs/app-contract.md).`);
    }
    const template = readManifestTemplate(appDir);
    const artifact = path.join(distDir, artifactName(version));
    const checksumFile = `${artifact}.sha256`;
    for (const existing of [artifact, checksumFile]) {
        if (fs.existsSync(existing)) {
            throw new Error(
                `${existing} already exists: artifacts are immutable, one per version. ` +
                    "Pack the change as a new version (e.g. bump the patch number) instead of rebuilding this one.",
            );
        }
    }

    // The Node sample is built from this checkout (its compile reaches release/ and migrator/); another app is its
    // own directory, in whatever git checkout holds it.
    const nodeBuild = fs.existsSync(path.join(appDir, "tsconfig.pack.json"));
    const sample = nodeBuild && path.relative(root, appDir) === SAMPLE_APP_DIR;
    const treeRoot = sample ? root : appDir;
    const tree = refuseDirtyTree(
        workingTreeState(treeRoot, sample ? PACKED_PATHS : ["."]),
        { what: "app:pack", override: "pass --allow-dirty (npm run app:pack -- <version> --allow-dirty)" },
        options.allowDirty ?? false,
    );

    const epoch = sourceDateEpoch(treeRoot); // the commit's time, not now: the same checkout packs to the same bytes
    const { commit, dirty } = tree;
    const stamp = {
        version,
        ...(commit ? { commit } : {}),
        ...(dirty.length > 0 || !commit ? { dirty: dirty.length > 0 ? [...dirty] : ["(not a git checkout)"] } : {}),
        builtAt: new Date(epoch * 1000).toISOString(),
    };
    const staging = tempPath(fs.mkdtempSync(path.join(os.tmpdir(), "bg-pack-")));
    fs.chmodSync(staging, 0o755); // the archive's root entry: the service user must be able to enter the release
    try {
        let packages: string[] = [];
        if (nodeBuild) {
            packages = await buildNodeApp(root, appDir, staging, stamp, log);
        } else {
            log(`packing ${appDir} as it is`);
            copyTree(appDir, staging, (p) => path.basename(p) !== ".git");
        }
        const { version: _template, source: _source, ...rest } = template;
        const { version: _v, ...source } = stamp;
        fs.writeFileSync(path.join(staging, MANIFEST_FILE), JSON.stringify({ ...rest, version, source }, null, 2) + "\n");

        fs.mkdirSync(distDir, { recursive: true });
        const partial = tempPath(path.join(distDir, `.${artifactName(version)}.${process.pid}.partial`));
        try {
            writeReproducibleTarGz(staging, partial, epoch);
            // What a VM would say about it: never publish an artifact the VMs refuse.
            const verdict = checkArchive(readTarGz(partial, (n) => n.replace(/^\.\//, "") === MANIFEST_FILE), version);
            if (!verdict.value) {
                throw new Error(`the artifact of ${appDir} breaks the app contract (docs/app-contract.md), so it was not written:\n  - ${verdict.problems.join("\n  - ")}`);
            }
            const sha256 = crypto.createHash("sha256").update(fs.readFileSync(partial)).digest("hex");
            // Link, not rename: fails if another pack of the same version got there first.
            fs.linkSync(partial, artifact);
            fs.writeFileSync(checksumFile, `${sha256}  ${artifactName(version)}\n`, { flag: "wx" });
            const bytes = fs.statSync(artifact).size;
            log(`${artifact} (${(bytes / 1024 / 1024).toFixed(1)} MiB) sha256 ${sha256}`);
            return { artifact, checksumFile, sha256, bytes, packages };
        } finally {
            removeTempPath(partial);
        }
    } finally {
        removeTempPath(staging);
    }
}

/** What `npm run app:pack -- --help` prints. */
export const PACK_USAGE = `Usage: npm run app:pack -- <version> [--app <directory>] [--allow-dirty]   (e.g. npm run app:pack -- 1.4.2 --app ../my-service/out)

Packs the app (the sample in app/, or any directory that follows docs/app-contract.md) into dist/app-<version>.tgz and
writes its SHA-256 to dist/app-<version>.tgz.sha256; ends with the pulumi config commands that deploy it to the idle
color.

  --app <dir>     the app to pack (default: the sample, app/)
  --allow-dirty   pack even when the app has uncommitted changes (stamped dirty)
  --help          this text`;

/** The commands that deploy a packed version to a color: its version and its checksum together, one line per color. */
export function deployCommands(version: string, sha256: string): string {
    return [
        "Then deploy it to the idle color (one update; the guard refuses a version without its checksum):",
        ...(["green", "blue"] as const).map(
            (c) => `  # ${c} idle:\n  pulumi config set ${c}Version ${version} && pulumi config set ${c}ArtifactSha256 ${sha256} && pulumi up`,
        ),
    ].join("\n");
}

/** The command line's options, `help`, or a usage error. */
export function parsePackArgs(args: readonly string[]): { version: string; allowDirty: boolean; app?: string } | { help: true } | { error: string } {
    if (args.includes("--help") || args.includes("-h")) return { help: true };
    let allowDirty = false;
    let app: string | undefined;
    const positional: string[] = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--allow-dirty") allowDirty = true;
        else if (args[i] === "--app") {
            app = args[++i];
            if (app === undefined || app.startsWith("-")) return { error: `--app needs a directory.\n${PACK_USAGE}` };
        } else if (args[i].startsWith("-")) return { error: `unknown option ${args[i]}.\n${PACK_USAGE}` };
        else positional.push(args[i]);
    }
    if (positional.length !== 1) return { error: PACK_USAGE };
    return { version: positional[0], allowDirty, ...(app !== undefined ? { app } : {}) };
}

if (require.main === module) {
    const parsed = parsePackArgs(process.argv.slice(2));
    if ("help" in parsed) {
        console.log(PACK_USAGE);
        process.exit(0);
    }
    if ("error" in parsed) {
        console.error(parsed.error);
        process.exit(2);
    }
    removeTempPathsOnSignals();
    const app = parsed.app !== undefined ? path.resolve(process.cwd(), parsed.app) : undefined;
    packApp({ version: parsed.version, allowDirty: parsed.allowDirty, ...(app ? { app } : {}), log: (line) => console.log(line) }).then(
        (r) => {
            console.log(`\nUpload it (see docs/app.md):\n  az storage blob upload --auth-mode login --account-name <account> --container-name <container> \\\n    --name ${path.basename(r.artifact)} --file ${path.relative(process.cwd(), r.artifact)}`);
            console.log(`\n${deployCommands(parsed.version, r.sha256)}`);
        },
        (e: unknown) => {
            console.error(`app:pack: ${(e as Error).message}`);
            process.exit(1);
        },
    );
}
