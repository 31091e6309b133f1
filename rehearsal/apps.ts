/**
 * The releases the rehearsal deploys: real artifacts of any app that follows the contract (docs/app-contract.md).
 *
 * The app is packed once, as `npm run app:pack -- <version> --app <directory>` does (app/pack.ts; the Node sample
 * when no directory is given), and each other version is that artifact with its manifest's version changed (and the
 * Node sample's own build-info stamp, when present): one pack, not three — a pack of the Node sample compiles it and
 * copies its node_modules. The broken v3 is made broken by the rehearsal, not by the app, where it can be:
 *
 *   - `wrong-version`: v3's manifest says another version, so each VM refuses the artifact (any app);
 *   - `crash-on-start`: v3's start command is a script that exits 1 (any app);
 *   - `unhealthy`: v3 runs with the app setting `APP_FAULT=unhealthy`, so its /health answers 503 (the samples honour
 *     it; an app that does not is simply healthy, and the rehearsal says so).
 *
 * `errors-after-flip` breaks v2 instead, in a way no gate sees: it runs with the app settings
 * `APP_FAULT=errors-after-flip` and `APP_FAULT_MARKER=<file>`, and once the rehearsal creates that file (at the flip
 * to it) every fifth request other than /health answers 503 with `x-fault: injected` (the samples honour it).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { packApp } from "../app/pack";
import { Fault } from "../app/src/config";

/** The repository root (where app/ and node_modules/ are). */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** The start script of v3 with the `crash-on-start` fault. */
export const CRASH_SCRIPT = "bin/bluegreen-rehearsal-crash";

/** One artifact of the rehearsal: the file and the version its manifest says. */
export interface ReleaseArtifact {
    readonly version: string;
    readonly file: string;
    /** The app settings the release runs with (`APP_FAULT=unhealthy`), as `<color>AppSettings` would. */
    readonly appSettings?: string;
}

/** The manifest's name of the packed app (for the timeline). */
export interface PreparedReleases {
    readonly appName: string;
    readonly artifacts: Readonly<Record<string, ReleaseArtifact>>;
}

/**
 * Packs the app (`appDir`, or the Node sample) once and writes one artifact per version under `work/artifacts/`;
 * `broken` is the version made broken by `fault`.
 */
export async function prepareReleases(
    work: string,
    versions: readonly string[],
    log: (line: string) => void,
    opts: { readonly appDir?: string; readonly broken?: string; readonly fault?: Fault; readonly faultMarker?: string } = {},
): Promise<PreparedReleases> {
    const started = Date.now();
    // The rehearsal rehearses this working tree, uncommitted changes included: its artifact never leaves the
    // machine, so the dirty-tree refusal of app:pack does not apply (the stamp says dirty).
    const packed = await packApp({ version: versions[0], distDir: path.join(work, "dist"), allowDirty: true, ...(opts.appDir ? { app: path.resolve(opts.appDir) } : {}) });
    const dir = path.join(work, "artifacts");
    fs.mkdirSync(dir, { recursive: true });
    const tree = path.join(work, "unpacked");
    fs.mkdirSync(tree, { recursive: true });
    execFileSync("tar", ["-xzf", packed.artifact, "-C", tree]);
    const manifestFile = path.join(tree, "bluegreen.json");
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
    const artifacts: Record<string, ReleaseArtifact> = {};
    for (const version of versions) {
        const file = path.join(dir, `app-${version}.tgz`);
        const broken = version === opts.broken ? opts.fault : undefined;
        if (version === versions[0] && !broken) {
            fs.copyFileSync(packed.artifact, file);
        } else {
            stamp(tree, manifest, version, broken);
            execFileSync("tar", ["-czf", file, "-C", tree, "."]);
            stamp(tree, manifest, versions[0], undefined);
        }
        const appSettings = faultSettings(broken, opts.faultMarker);
        artifacts[version] = { version, file, ...(appSettings ? { appSettings } : {}) };
    }
    fs.rmSync(tree, { recursive: true, force: true });
    log(
        `packed ${String(manifest.name)} once (npm run app:pack -- ${versions[0]}${opts.appDir ? ` --app ${opts.appDir}` : ""}: ` +
            `${(packed.bytes / 1024 / 1024).toFixed(1)} MiB, ${Date.now() - started} ms) and made ${versions.length} releases: ${versions.join(", ")}` +
            (opts.broken && opts.fault ? ` (${opts.broken} broken: ${faultText(opts.fault)})` : ""),
    );
    return { appName: String(manifest.name), artifacts };
}

/** The app settings that make a release broken by `fault` (undefined when the fault is not a setting). */
export function faultSettings(fault: Fault | undefined, marker: string | undefined): string | undefined {
    if (fault === "unhealthy") return "APP_FAULT=unhealthy";
    if (fault === "errors-after-flip") {
        if (!marker) throw new Error("the errors-after-flip fault needs the marker file the rehearsal creates at the flip");
        return `APP_FAULT=errors-after-flip\nAPP_FAULT_MARKER=${marker}`;
    }
    return undefined;
}

/** What the rehearsal does to make a release broken. */
export function faultText(fault: Fault): string {
    switch (fault) {
        case "wrong-version":
            return "its manifest names another version, so every VM refuses it";
        case "crash-on-start":
            return `its start command is ${CRASH_SCRIPT}, which exits 1`;
        case "unhealthy":
            return "it runs with APP_FAULT=unhealthy, so its /health answers 503";
        case "errors-after-flip":
            return "it runs with APP_FAULT=errors-after-flip, so once it takes production traffic one request in five answers 503 (x-fault: injected); /health stays 200";
    }
}

/** Writes the unpacked tree's manifest (and the Node sample's build-info.json) for `version`, broken by `fault`. */
function stamp(tree: string, manifest: Record<string, unknown>, version: string, fault: Fault | undefined): void {
    const crash = path.join(tree, CRASH_SCRIPT);
    fs.rmSync(crash, { force: true });
    const out: Record<string, unknown> = { ...manifest, version: fault === "wrong-version" ? `${version}-not-this-one` : version };
    if (fault === "crash-on-start") {
        fs.mkdirSync(path.dirname(crash), { recursive: true });
        fs.writeFileSync(crash, "#!/bin/sh\necho 'rehearsal fault: crash-on-start' >&2\nexit 1\n", { mode: 0o755 });
        out.start = [CRASH_SCRIPT];
    }
    fs.writeFileSync(path.join(tree, "bluegreen.json"), JSON.stringify(out, null, 2) + "\n");
    const buildInfo = path.join(tree, "build-info.json");
    if (fs.existsSync(buildInfo)) {
        fs.writeFileSync(buildInfo, JSON.stringify({ ...JSON.parse(fs.readFileSync(buildInfo, "utf8")), version }, null, 2) + "\n");
    }
}
