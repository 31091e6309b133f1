/**
 * The contract gate: may a contract migration run while these app versions can take traffic?
 *
 * A contract migration removes what only older versions used; its `-- migrate:requires-version` header names the
 * first app version that no longer needs it. Every color that can take traffic (the live one and the instant
 * rollback target) must run at least that version, or the contract breaks it.
 */
import { compareVersions, isVersion } from "../release/versions";

/** The verdict: allowed, or not with the reason (which names the versions and the safe sequence). */
export interface ContractVerdict {
    readonly allowed: boolean;
    /** The running versions older than `requiresVersion` (they would break). */
    readonly tooOld: readonly string[];
    readonly reason?: string;
}

/**
 * Decides whether a contract migration that requires `requiresVersion` may run while `runningVersions` (the versions
 * of every color that can take traffic) run. Allowed only when there is at least one running version and none is
 * older than `requiresVersion`. A value that is not a semantic version is refused, naming it.
 */
export function mayRunContract(requiresVersion: string | undefined, runningVersions: readonly string[]): ContractVerdict {
    if (requiresVersion === undefined || !isVersion(requiresVersion)) {
        return {
            allowed: false,
            tooOld: [],
            reason:
                `its requires-version is ${requiresVersion === undefined ? "missing" : `"${requiresVersion}", not a semantic version`}; ` +
                `add the header "-- migrate:requires-version <first app version that no longer needs what it removes>", e.g. 2.0.0.`,
        };
    }
    if (runningVersions.length === 0) {
        return {
            allowed: false,
            tooOld: [],
            reason: "no running versions were given: pass the version of every color that can take traffic, e.g. --running-versions 2.0.0,2.0.0.",
        };
    }
    const bad = runningVersions.filter((v) => !isVersion(v));
    if (bad.length > 0) {
        return {
            allowed: false,
            tooOld: [],
            reason: `running version(s) ${bad.map((v) => `"${v}"`).join(", ")} are not semantic versions (MAJOR.MINOR.PATCH, e.g. 2.0.0).`,
        };
    }
    const tooOld = runningVersions.filter((v) => compareVersions(v, requiresVersion) < 0);
    if (tooOld.length === 0) return { allowed: true, tooOld };
    return {
        allowed: false,
        tooOld,
        reason:
            `it requires every color that can take traffic to run ${requiresVersion} or newer, but ${tooOld.join(", ")} ` +
            `${tooOld.length === 1 ? "is" : "are"} still running. Safe sequence: deploy ${requiresVersion} or newer to that color ` +
            `(after the rollback window has passed), then run the contract again with the new --running-versions.`,
    };
}
