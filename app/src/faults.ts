/**
 * Faults the local rehearsal injects (`APP_FAULT`) to prove that a broken build never takes traffic.
 * Off unless set; each is a small pure rule here so the server stays readable.
 */
import { Fault } from "./config";

/** What `/version` and `x-served-by` report: the stamped version, or a wrong one under `wrong-version`. */
export function reportedVersion(stamped: string, fault: Fault | undefined): string {
    return fault === "wrong-version" ? WRONG_VERSION : stamped;
}

/** The version a `wrong-version` build reports: valid semver, never a real release. */
export const WRONG_VERSION = "0.0.0-wrong-version";

/** True when the build must never report healthy (`unhealthy`). */
export function neverHealthy(fault: Fault | undefined): boolean {
    return fault === "unhealthy";
}

/** Throws before the app listens under `crash-on-start` (the process then exits 1, as a real crash would). */
export function crashIfAsked(fault: Fault | undefined): void {
    if (fault === "crash-on-start") {
        throw new Error("APP_FAULT=crash-on-start: crashing on start, as asked (unset APP_FAULT to run normally).");
    }
}

/** Under `errors-after-flip`, one request in this many fails once the build takes production traffic (20%). */
export const INJECTED_ERROR_EVERY = 5;

/** The header (and its value) on every injected failure, so a client tells the fault apart from any other 5xx. */
export const FAULT_HEADER = "x-fault";
export const FAULT_HEADER_VALUE = "injected";

/**
 * True when the `n`-th request (counted from 1, over the requests that are not the health check) gets an injected
 * 503: only under `errors-after-flip`, only once `inProduction` (its marker exists), every
 * {@link INJECTED_ERROR_EVERY}-th request. `/health` always answers truly: the build passes the gate and the load
 * balancer's probe, and fails its users.
 */
export function injectsError(fault: Fault | undefined, inProduction: boolean, path: string, n: number): boolean {
    return fault === "errors-after-flip" && inProduction && path !== "/health" && n % INJECTED_ERROR_EVERY === 0;
}
