/**
 * Azure SQL's transient errors, retried with bounds on reads and pings (Microsoft's "troubleshoot transient connection
 * errors" list): 40613 database unavailable, 40197 service error (failover, reconfiguration), 40501 service busy,
 * 49918 not enough resources, and 1205 deadlock victim. Writes are not retried here: an INSERT whose answer was lost
 * may have committed.
 */
export const TRANSIENT_SQL_ERRORS: ReadonlySet<number> = new Set([40613, 40197, 40501, 49918, 1205]);

/** True when `err` (or tedious's `originalError` under it) carries one of {@link TRANSIENT_SQL_ERRORS}. */
export function isTransientSqlError(err: unknown): boolean {
    const e = err as { number?: unknown; originalError?: { number?: unknown; info?: { number?: unknown } } } | undefined;
    const n = e?.number ?? e?.originalError?.number ?? e?.originalError?.info?.number;
    return typeof n === "number" && TRANSIENT_SQL_ERRORS.has(n);
}

export interface TransientRetryOptions {
    /** Attempts in all, the first included. @default 3 */
    readonly attempts?: number;
    /** Wait before the first retry, in ms; doubled each time. @default 200 */
    readonly baseDelayMs?: number;
    /** Tests: how to wait. */
    readonly sleep?: (ms: number) => Promise<void>;
}

/** Runs `fn`, again after a transient error, at most `attempts` times in all with doubling waits. */
export async function withTransientRetry<T>(fn: () => Promise<T>, options: TransientRetryOptions = {}): Promise<T> {
    const attempts = options.attempts ?? 3;
    const base = options.baseDelayMs ?? 200;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn();
        } catch (err) {
            if (attempt >= attempts || !isTransientSqlError(err)) throw err;
            await sleep(base * 2 ** (attempt - 1));
        }
    }
}
