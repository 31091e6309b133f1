import * as semver from "semver";

/**
 * True when `value` is a semantic version such as `1.4.2` or `2.0.0-rc.1` (no leading `v`, no range).
 * Every version in this project (app builds, `requires-version` headers, stack config) goes through here.
 */
export function isVersion(value: string): boolean {
    return typeof value === "string" && semver.valid(value) === value;
}

/**
 * Compares two semantic versions: negative when `a` is older than `b`, 0 when equal, positive when newer.
 * Pre-releases sort before their release (`2.0.0-rc.1` < `2.0.0`), as semver says.
 * Throws on a value that is not a version, naming it, rather than guessing an order.
 */
export function compareVersions(a: string, b: string): number {
    for (const v of [a, b]) {
        if (!isVersion(v)) {
            throw new Error(`"${v}" is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.4.2).`);
        }
    }
    return semver.compare(a, b);
}
