/**
 * The app's settings, read once from the environment (the deploy script writes them to /etc/bluegreen/app.env).
 * Pure: give it an env object, get settings or one error that lists every bad variable with its fix.
 */
import { Color, isColor } from "../../release/colors";

/**
 * Fault the rehearsal can inject into a build: the first three prove the gate refuses a broken build; under
 * `errors-after-flip` the build passes the gate and fails a fifth of its requests once it takes production traffic
 * (once `APP_FAULT_MARKER` exists), which the post-flip watch must catch. Off unless `APP_FAULT` is set.
 */
export type Fault = "unhealthy" | "wrong-version" | "crash-on-start" | "errors-after-flip";
export const FAULTS: readonly Fault[] = ["unhealthy", "wrong-version", "crash-on-start", "errors-after-flip"];

export interface AppConfig {
    /** `APP_COLOR`: the color this instance belongs to (reported by /version and x-served-by). */
    readonly color: Color;
    /** `DATABASE_URL`: `mssql://` / `sqlserver://`, `postgres://` / `postgresql://`, or `memory:` (tests only). */
    readonly databaseUrl: string;
    /** `APP_HOST`: address both listeners bind to. @default "0.0.0.0" */
    readonly host: string;
    /** `PORT` (the app contract's name; `APP_PORT` also works): production port (the load balancer's production rule). 0 = any free port. @default 8080 */
    readonly port: number;
    /**
     * `STAGING_PORT` (or `APP_STAGING_PORT`): a second listener with the same handler. On a VM the product's local proxy
     * serves the staging port and forwards to `PORT`, so the deploy does not set it; the sample's own tests do.
     * @default undefined (one listener)
     */
    readonly stagingPort?: number;
    /** `MAX_CONNECTION_AGE_MS`: keep-alive connections older than this are closed after their next response. @default 30000 */
    readonly maxConnectionAgeMs: number;
    /** `DRAIN_TIMEOUT_MS`: on SIGTERM, in-flight requests get this long before the remaining connections are cut. @default 10000 */
    readonly drainTimeoutMs: number;
    /**
     * `DRAIN_DELAY_MS`: on SIGTERM, keep accepting (answering /health 503 and `Connection: close`) this long before
     * the listeners close, so a load balancer probing this instance takes it out first. @default 0
     */
    readonly drainDelayMs: number;
    /**
     * `BODY_TIMEOUT_MS`: how long a request body may take to arrive, from the end of its headers (which Node already
     * bounds); a slower one is answered 408 and its connection closed, so slow senders cannot hold connections open.
     * @default 10000
     */
    readonly bodyTimeoutMs: number;
    /** `APP_FAULT`: injected fault, for the rehearsal. @default undefined (none) */
    readonly fault?: Fault;
    /**
     * `APP_FAULT_MARKER`: under `errors-after-flip`, the file whose existence means "this build now takes production
     * traffic" (the rehearsal creates it at the flip). Required with that fault, ignored otherwise.
     * @default undefined
     */
    readonly faultMarker?: string;
}

export const DEFAULTS = {
    host: "0.0.0.0",
    port: 8080,
    maxConnectionAgeMs: 30_000,
    drainTimeoutMs: 10_000,
    drainDelayMs: 0,
    bodyTimeoutMs: 10_000,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]): number {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
        problems.push(`${name}=${JSON.stringify(raw)} is not an integer from ${min} to ${max}; set e.g. ${name}=${fallback}.`);
        return fallback;
    }
    return n;
}

/** True when `url` names a database driver the app has (by scheme). */
export function isSupportedDatabaseUrl(url: string): boolean {
    return /^(mssql|sqlserver|postgres|postgresql):\/\//i.test(url) || /^memory:/i.test(url);
}

/**
 * Reads and validates the settings. Throws one Error naming every bad variable, its value and the fix; the
 * process then exits before listening, so a misconfigured deploy fails its health check instead of serving.
 */
export function readAppConfig(env: Env): AppConfig {
    const problems: string[] = [];
    const color = env.APP_COLOR;
    if (!isColor(color)) {
        problems.push(`APP_COLOR=${JSON.stringify(color ?? "")} must be "blue" or "green"; the deploy script writes it to /etc/bluegreen/app.env.`);
    }
    const databaseUrl = env.DATABASE_URL ?? "";
    if (!isSupportedDatabaseUrl(databaseUrl)) {
        // Never echo the URL: it holds the password.
        problems.push(
            databaseUrl === ""
                ? "DATABASE_URL is not set; set it to mssql://user:password@host:1433/db or postgres://user:password@host:5432/db."
                : `DATABASE_URL has scheme "${databaseUrl.split(":")[0]}", which no driver handles; use mssql://, sqlserver://, postgres:// or postgresql://.`,
        );
    }
    // The product gives PORT and STAGING_PORT (docs/app-contract.md); APP_PORT / APP_STAGING_PORT are the sample's older names.
    const portName = env.PORT ? "PORT" : "APP_PORT";
    const stagingPortName = env.STAGING_PORT ? "STAGING_PORT" : "APP_STAGING_PORT";
    const port = integer(env, portName, DEFAULTS.port, 0, 65535, problems);
    const stagingPort = env[stagingPortName] ? integer(env, stagingPortName, 0, 0, 65535, problems) : undefined;
    if (port !== 0 && port === stagingPort) {
        problems.push(`${portName} and ${stagingPortName} are both ${port}; the load balancer needs two backend ports (e.g. 8080 and 8081).`);
    }
    const maxConnectionAgeMs = integer(env, "MAX_CONNECTION_AGE_MS", DEFAULTS.maxConnectionAgeMs, 100, 3_600_000, problems);
    const drainTimeoutMs = integer(env, "DRAIN_TIMEOUT_MS", DEFAULTS.drainTimeoutMs, 0, 600_000, problems);
    const drainDelayMs = integer(env, "DRAIN_DELAY_MS", DEFAULTS.drainDelayMs, 0, 600_000, problems);
    const bodyTimeoutMs = integer(env, "BODY_TIMEOUT_MS", DEFAULTS.bodyTimeoutMs, 100, 600_000, problems);
    const fault = env.APP_FAULT || undefined;
    if (fault !== undefined && !(FAULTS as readonly string[]).includes(fault)) {
        problems.push(`APP_FAULT=${JSON.stringify(fault)} is not a fault; use one of ${FAULTS.join(", ")} or leave it unset.`);
    }
    const faultMarker = env.APP_FAULT_MARKER || undefined;
    if (fault === "errors-after-flip" && faultMarker === undefined) {
        problems.push(
            "APP_FAULT=errors-after-flip needs APP_FAULT_MARKER, the file whose existence turns the errors on; set e.g. APP_FAULT_MARKER=/tmp/bluegreen-production.",
        );
    }
    if (problems.length > 0) {
        throw new Error(`The app's settings are invalid:\n  - ${problems.join("\n  - ")}`);
    }
    return {
        color: color as Color,
        databaseUrl,
        host: env.APP_HOST || DEFAULTS.host,
        port,
        ...(stagingPort !== undefined ? { stagingPort } : {}),
        maxConnectionAgeMs,
        drainTimeoutMs,
        drainDelayMs,
        bodyTimeoutMs,
        ...(fault ? { fault: fault as Fault } : {}),
        ...(fault === "errors-after-flip" && faultMarker ? { faultMarker } : {}),
    };
}
