/**
 * When the runner retries after a lock timeout: pure decisions, no database.
 *
 * Migration sessions set a short lock timeout (SQL Server `SET LOCK_TIMEOUT`, PostgreSQL `lock_timeout`): a DDL
 * statement that waits for its schema-modification lock queues every later query of the live app on that table behind
 * it, so it must give up quickly (SQL Server error 1222, PostgreSQL SQLSTATE 55P03) and try again later instead.
 *
 * What may be retried is decided per batch:
 *   - a transactional migration: the whole migration, from its first batch (the failure rolled everything back,
 *     journal row included);
 *   - a no-transaction batch of exactly one plain statement (not WHILE/IF/BEGIN…END, not EXEC/CALL/DO, which may
 *     commit part of their work): that batch alone (a statement that timed out waiting for a lock changed nothing);
 *   - any other no-transaction batch: never (statements before the one that waited are committed; running it again
 *     would run them twice). It fails as any no-transaction failure does.
 * Retries back off exponentially (base, 2×base, 4×base … capped) and are bounded by a number of attempts.
 */
import { splitStatements } from "./tsql/statements";
import { streamBatches } from "./tsql/batches";
import { Dialect, Token, keywordOf } from "./tsql/tokenizer";

/** How often and how patiently to retry a migration that hit the lock timeout. */
export interface RetryPolicy {
    /** Attempts in all, the first included (1 = never retry). */
    readonly attempts: number;
    /** The wait before the first retry, in ms; doubled for each later one. */
    readonly baseDelayMs: number;
    /** The longest wait between two attempts, in ms. */
    readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 2_000, maxDelayMs: 30_000 };

/** How long one statement of a migration may wait for a lock before it gives up (and the runner retries). */
export const DEFAULT_STATEMENT_LOCK_TIMEOUT_MS = 5_000;

/** SQL Server: "Lock request time out period exceeded." */
export const MSSQL_LOCK_TIMEOUT = 1222;
/** PostgreSQL: lock_not_available ("canceling statement due to lock timeout"). */
export const PG_LOCK_NOT_AVAILABLE = "55P03";

interface ErrorLike {
    number?: unknown;
    code?: unknown;
    cause?: unknown;
    originalError?: unknown;
    info?: { number?: unknown };
    precedingErrors?: unknown;
}

/** True when `err` (or what it wraps, or an earlier error of the same batch) is a lock timeout of `dialect`. */
export function isLockTimeout(dialect: "mssql" | "postgres", err: unknown, depth = 0): boolean {
    if (err === null || typeof err !== "object" || depth > 4) return false;
    const e = err as ErrorLike;
    if (dialect === "mssql" && (e.number === MSSQL_LOCK_TIMEOUT || e.info?.number === MSSQL_LOCK_TIMEOUT)) return true;
    if (dialect === "postgres" && e.code === PG_LOCK_NOT_AVAILABLE) return true;
    const inner = [e.cause, e.originalError, ...(Array.isArray(e.precedingErrors) ? e.precedingErrors : [])];
    return inner.some((x) => isLockTimeout(dialect, x, depth + 1));
}

/** What may be retried after a lock timeout in a batch (see the module comment). */
export type RetryScope = "migration" | "batch" | "none";

const NOT_ONE_STEP = new Set(["WHILE", "IF", "BEGIN", "EXEC", "EXECUTE", "DO", "CALL", "DECLARE", "GOTO"]);

/** The retry scope of one batch of a migration. */
export function retryScopeOf(migration: { readonly noTransaction: boolean }, batchSql: string, dialect: Dialect): RetryScope {
    if (!migration.noTransaction) return "migration";
    let statements;
    try {
        // One batch, read as the linter reads it (bulk VALUES rows folded); too large to hold counts as not one step.
        let tokens: Token[] = [];
        streamBatches(batchSql, { dialect, onBatch: (batch) => { tokens = tokens.concat(batch); } });
        statements = splitStatements(tokens, dialect);
    } catch {
        return "none";
    }
    if (statements.length !== 1) return "none";
    const [only] = statements;
    if (only.conditional || only.isCondition || only.inLoop) return "none";
    const first = only.tokens[0];
    return first && !NOT_ONE_STEP.has(keywordOf(first)) ? "batch" : "none";
}

/** The decision after attempt `attempt` (1-based) failed with `err`. */
export type RetryDecision =
    | { readonly retry: true; readonly delayMs: number; readonly note: string }
    | { readonly retry: false; readonly note?: string };

/** Decides whether to retry after a failed attempt, and after how long. */
export function decideRetry(input: {
    readonly dialect: "mssql" | "postgres";
    readonly err: unknown;
    readonly scope: RetryScope;
    readonly attempt: number;
    readonly policy: RetryPolicy;
}): RetryDecision {
    const { dialect, err, scope, attempt, policy } = input;
    if (!isLockTimeout(dialect, err)) return { retry: false };
    if (scope === "none") {
        return {
            retry: false,
            note:
                "It timed out waiting for a lock held by another session (the live app, most likely). It was not retried: " +
                "a no-transaction batch of several statements (or a loop, IF or EXEC) may have committed part of its work.",
        };
    }
    if (attempt >= policy.attempts) {
        return {
            retry: false,
            note:
                `It timed out waiting for a lock held by another session in each of ${attempt} attempts` +
                `${scope === "migration" ? " (rolled back each time: the database and the journal are as they were)" : ""}. Find the blocker ` +
                `(SQL Server: SELECT session_id, blocking_session_id, wait_type, command FROM sys.dm_exec_requests WHERE blocking_session_id <> 0; ` +
                `PostgreSQL: SELECT pid, pg_blocking_pids(pid), query FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0;) ` +
                `and run up again when it is done, or at a quieter time.`,
        };
    }
    const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    return {
        retry: true,
        delayMs,
        note: `lock timeout (attempt ${attempt} of ${policy.attempts}); retrying the ${scope} in ${delayMs} ms`,
    };
}
