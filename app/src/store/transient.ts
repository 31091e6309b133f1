/**
 * Azure SQL's transient errors, retried with bounds on reads and pings: Microsoft's "List of transient fault error
 * codes" (926, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 4221, 615; classified by migrator/transient.ts, the
 * runner's own list) and 1205 deadlock victim. Writes are not retried here: an INSERT whose answer was lost may have
 * committed. A refused login (18456) or address (40615, 40914) is never retried. Each retry is said through `onRetry`.
 */
import { AZURE_SQL_TRANSIENT_ERRORS, classifyDatabaseError } from "../../../migrator/transient";

/** SQL Server: "Transaction (Process ID n) was deadlocked ... and has been chosen as the deadlock victim." */
const DEADLOCK_VICTIM = 1205;

/** The SQL Server error numbers a read is retried on. */
export const TRANSIENT_SQL_ERRORS: ReadonlySet<number> = new Set([...AZURE_SQL_TRANSIENT_ERRORS.map((e) => e.number), DEADLOCK_VICTIM]);

/** The transient code `err` carries (see the module comment), or undefined when it is not transient. */
export function transientSqlCode(err: unknown): string | undefined {
    const e = err as { number?: unknown; originalError?: { number?: unknown; info?: { number?: unknown } } } | undefined;
    const n = e?.number ?? e?.originalError?.number ?? e?.originalError?.info?.number;
    if (n === DEADLOCK_VICTIM) return String(n);
    const c = classifyDatabaseError(err);
    return c.kind === "transient" && c.code !== undefined && /^\d+$/.test(c.code) ? c.code : undefined;
}

/** True when `err` (or tedious's `originalError` under it) carries one of {@link TRANSIENT_SQL_ERRORS}. */
export function isTransientSqlError(err: unknown): boolean {
    return transientSqlCode(err) !== undefined;
}

/** One retry, as the store reports it. */
export interface TransientRetry {
    readonly code: string;
    /** The attempt that failed (1-based). */
    readonly attempt: number;
    readonly attempts: number;
    readonly retryInMs: number;
}

export interface TransientRetryOptions {
    /** Attempts in all, the first included. @default 3 */
    readonly attempts?: number;
    /** Wait before the first retry, in ms; doubled each time. @default 200 */
    readonly baseDelayMs?: number;
    /** Tests: how to wait. */
    readonly sleep?: (ms: number) => Promise<void>;
    /** Called before each retry. @default a JSON line `{"event":"db-retry",…}` on stdout */
    readonly onRetry?: (retry: TransientRetry) => void;
}

/** Runs `fn`, again after a transient error, at most `attempts` times in all with doubling waits. */
export async function withTransientRetry<T>(fn: () => Promise<T>, options: TransientRetryOptions = {}): Promise<T> {
    const attempts = options.attempts ?? 3;
    const base = options.baseDelayMs ?? 200;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const onRetry = options.onRetry ?? ((r: TransientRetry) => console.log(JSON.stringify({ time: new Date().toISOString(), event: "db-retry", ...r })));
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn();
        } catch (err) {
            const code = transientSqlCode(err);
            if (attempt >= attempts || code === undefined) throw err;
            const retryInMs = base * 2 ** (attempt - 1);
            onRetry({ code, attempt, attempts, retryInMs });
            await sleep(retryInMs);
        }
    }
}
