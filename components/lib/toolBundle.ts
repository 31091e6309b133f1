/**
 * The release agent's tools: the migration runner (migrator/cli.ts and what it imports, as JavaScript), the post-flip
 * watch (release/watchCli.ts and what it imports), the repository's top-level migrations/ and the packages the runner requires (mssql, pg, semver and theirs), as one
 * reproducible tar.gz named and pinned by its SHA-256. They are the product's: an app's artifact carries the app only
 * (docs/app-contract.md). The program uploads the bundle next to the artifacts (components/toolBundle.ts) and every
 * run on the agent downloads it with the agent's identity and checks that hash before it runs anything from it
 * (vm-scripts/run-migrations.sh, vm-scripts/agent-gate.sh).
 *
 * The same sources give the same bytes (sorted entries, one fixed time, no owner; transpiled with the pinned
 * TypeScript), so a checkout has one hash wherever `pulumi up` runs, and the hash changes exactly when the runner, a
 * migration or a locked package does. Built once per content: `dist/.tools/` keeps it under a hash of its inputs.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dependencyClosure, isNeededAtRunTime, requiredPackages } from "../../app/pack";
import { writeReproducibleTarGz } from "../../app/reproducible";
import { transpileForVm } from "./vmScripts";

/** The runner's entry point, relative to the repository (and, as .js under dist/, to the bundle). */
export const RUNNER_ENTRY = "migrator/cli.ts";
/** The bundle's entry point once unpacked: `node <dir>/dist/migrator/cli.js … --dir <dir>/migrations`. */
export const BUNDLE_RUNNER = "dist/migrator/cli.js";
export const BUNDLE_MIGRATIONS = "migrations";
/** The post-flip watch's command line (docs/post-flip-watch.md): `node <dir>/dist/release/watchCli.js run …`. */
export const WATCH_ENTRY = "release/watchCli.ts";
export const BUNDLE_WATCH = "dist/release/watchCli.js";
/** Bump when the bundle's layout changes (a new hash for the same sources). 3: the watch's entry point. */
const LAYOUT = "3";

/** A built bundle. */
export interface ToolBundleFile {
    /** Absolute path of the tar.gz. */
    readonly file: string;
    /** Hex SHA-256 of the file: the pin every agent run checks. */
    readonly sha256: string;
    /** The blob name it is published under: `bluegreen-tools-<first 12 hex of the SHA-256>.tgz`. */
    readonly blobName: string;
}

/** The blob name of a bundle with this SHA-256. */
export function toolBundleBlobName(sha256: string): string {
    return `bluegreen-tools-${sha256.slice(0, 12)}.tgz`;
}

/** The repository files the runner is made of: `entry` and every relative import it reaches, sorted. */
export function runnerSources(root: string, entry: string = RUNNER_ENTRY): string[] {
    const seen = new Set<string>();
    const queue = [path.normalize(entry)];
    while (queue.length > 0) {
        const rel = queue.shift() as string;
        if (seen.has(rel)) continue;
        seen.add(rel);
        const text = fs.readFileSync(path.join(root, rel), "utf8");
        for (const m of text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
            const base = path.normalize(path.join(path.dirname(rel), m[1]));
            const file = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(path.join(root, f)));
            if (file) queue.push(file);
        }
    }
    return [...seen].sort();
}

/** The files of every program in the bundle: the runner's, and the watch's when the checkout has it; sorted. */
export function bundleSources(root: string): string[] {
    const entries = [RUNNER_ENTRY, ...(fs.existsSync(path.join(root, WATCH_ENTRY)) ? [WATCH_ENTRY] : [])];
    return [...new Set(entries.flatMap((entry) => runnerSources(root, entry)))].sort();
}

function filesUnder(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .sort();
}

/** A hash of everything the bundle is built from (the cache key; not the pin). */
export function toolInputsHash(root: string): string {
    const h = createHash("sha256").update(`layout ${LAYOUT}\0`);
    for (const rel of bundleSources(root)) h.update(`${rel}\0`).update(fs.readFileSync(path.join(root, rel))).update("\0");
    for (const rel of filesUnder(path.join(root, BUNDLE_MIGRATIONS))) h.update(`migrations/${rel}\0`).update(fs.readFileSync(path.join(root, BUNDLE_MIGRATIONS, rel))).update("\0");
    h.update(fs.readFileSync(path.join(root, "package-lock.json")));
    h.update(require("typescript").version as string);
    return h.digest("hex");
}

/**
 * The bundle of the checkout at `root`: built into `cacheDir` (default `<root>/dist/.tools`) unless a bundle of the
 * same inputs is there already.
 */
export function buildToolBundle(root: string, cacheDir: string = path.join(root, "dist", ".tools")): ToolBundleFile {
    const key = toolInputsHash(root).slice(0, 24);
    const file = path.join(cacheDir, `tools-${key}.tgz`);
    const shaFile = `${file}.sha256`;
    if (fs.existsSync(file) && fs.existsSync(shaFile)) {
        const sha256 = fs.readFileSync(shaFile, "utf8").trim();
        return { file, sha256, blobName: toolBundleBlobName(sha256) };
    }
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), "bg-tools-"));
    fs.chmodSync(staging, 0o755);
    try {
        const required = new Set<string>();
        for (const rel of bundleSources(root)) {
            const js = transpileForVm(fs.readFileSync(path.join(root, rel), "utf8"), path.basename(rel));
            const out = path.join(staging, "dist", rel.replace(/\.ts$/, ".js"));
            fs.mkdirSync(path.dirname(out), { recursive: true });
            fs.writeFileSync(out, js);
            for (const name of requiredPackages(js)) required.add(name);
        }
        const migrations = path.join(root, BUNDLE_MIGRATIONS);
        if (fs.existsSync(migrations)) fs.cpSync(migrations, path.join(staging, BUNDLE_MIGRATIONS), { recursive: true });
        for (const dir of dependencyClosure([...required].sort(), root).keys()) {
            const nested = path.join(dir, "node_modules");
            fs.cpSync(dir, path.join(staging, path.relative(root, dir)), { recursive: true, dereference: true, filter: (p) => !p.startsWith(nested) && isNeededAtRunTime(p) });
        }
        fs.mkdirSync(cacheDir, { recursive: true });
        const partial = `${file}.${process.pid}.partial`;
        writeReproducibleTarGz(staging, partial, 0);
        const sha256 = createHash("sha256").update(fs.readFileSync(partial)).digest("hex");
        fs.renameSync(partial, file);
        fs.writeFileSync(shaFile, `${sha256}\n`);
        return { file, sha256, blobName: toolBundleBlobName(sha256) };
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
    }
}
