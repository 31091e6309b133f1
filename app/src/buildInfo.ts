/**
 * The build stamp: which version this artifact is. `npm run app:pack -- <version>` writes `build-info.json` at the
 * root of the artifact; the app reads it once at start. The deployment never passes the version in, so `/version`
 * proves which build runs.
 */
import * as fs from "fs";
import * as path from "path";
import { isVersion } from "../../release/versions";

export interface BuildInfo {
    /** Semantic version stamped by the pack, e.g. `1.4.2`. */
    readonly version: string;
    /** Git commit the artifact was built from, when the pack could tell. */
    readonly commit?: string;
    /** ISO time of the build. */
    readonly builtAt?: string;
    /** Present when packed with --allow-dirty from a tree with changes no commit holds: those files (`git status` lines). */
    readonly dirty?: readonly string[];
}

/** File name of the stamp, at the root of an artifact. */
export const BUILD_INFO_FILE = "build-info.json";

/** Version reported by a checkout that was never packed (running from source). */
export const UNPACKED_VERSION = "0.0.0-dev";

/**
 * Where the stamp of the running code is: next to the nearest package.json above this module, i.e. the artifact
 * root (`<root>/dist/app/src/buildInfo.js` → `<root>/build-info.json`), or the checkout root when running from source.
 */
export function defaultBuildInfoPath(from: string = __dirname): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "package.json"))) return path.join(dir, BUILD_INFO_FILE);
        if (dir === path.dirname(dir)) return path.resolve(from, "..", "..", BUILD_INFO_FILE);
    }
}

/** Parses a stamp, refusing one whose version is not semver (naming the file and the value). */
export function parseBuildInfo(text: string, source: string): BuildInfo {
    let data: unknown;
    try {
        data = JSON.parse(text);
    } catch (e) {
        throw new Error(`${source} is not JSON (${(e as Error).message}); rebuild the artifact with npm run app:pack -- <version>.`);
    }
    const version = (data as { version?: unknown } | null)?.version;
    if (typeof version !== "string" || !isVersion(version)) {
        throw new Error(
            `${source} has version ${JSON.stringify(version)}, which is not a semantic version (e.g. 1.4.2); ` +
                "rebuild the artifact with npm run app:pack -- <version>.",
        );
    }
    const { commit, builtAt, dirty } = data as { commit?: unknown; builtAt?: unknown; dirty?: unknown };
    return {
        version,
        ...(typeof commit === "string" ? { commit } : {}),
        ...(typeof builtAt === "string" ? { builtAt } : {}),
        ...(Array.isArray(dirty) ? { dirty: dirty.map(String) } : {}),
    };
}

/**
 * Reads the stamp at `file`. A checkout that was never packed has none: it runs as {@link UNPACKED_VERSION}
 * (only when `allowMissing`, which the entry point grants when running from source).
 */
export function readBuildInfo(file: string, allowMissing: boolean): BuildInfo {
    if (!fs.existsSync(file)) {
        if (allowMissing) return { version: UNPACKED_VERSION };
        throw new Error(`${file} is missing: this is not a packed artifact. Build one with npm run app:pack -- <version>.`);
    }
    return parseBuildInfo(fs.readFileSync(file, "utf8"), file);
}

/** Writes a stamp (used by the pack, and by the local rehearsal to give one checkout several versions). */
export function writeBuildInfo(file: string, info: BuildInfo): void {
    if (!isVersion(info.version)) {
        throw new Error(`"${info.version}" is not a semantic version (e.g. 1.4.2).`);
    }
    fs.writeFileSync(file, JSON.stringify(info, null, 2) + "\n");
}
