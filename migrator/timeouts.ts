/**
 * How long one batch may run: pure. Most batches get the runner's request timeout (30 minutes by default); a batch
 * that builds or rebuilds an index online (`ONLINE = ON`, `RESUMABLE = ON`, PostgreSQL `CONCURRENTLY`) is meant to run
 * for as long as the table is big, while the app keeps working, and gets the long timeout (24 hours by default)
 * instead of being cancelled half-way.
 */
import { Dialect, scanTokens } from "./tsql/tokenizer";

export const DEFAULT_LONG_REQUEST_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** True when the batch builds or rebuilds an index online. Reads the batch's words as they go by (no token kept). */
export function buildsIndexOnline(sql: string, dialect: Dialect): boolean {
    let indexWork = false;
    let concurrently = false;
    let online = false;
    // The last two significant tokens' upper-cased text, to see `ONLINE = ON` / `RESUMABLE = ON`.
    let before = "";
    let last = "";
    try {
        scanTokens(sql, { dialect }, (kind, start, end) => {
            if (kind === "whitespace" || kind === "lineComment" || kind === "blockComment" || kind === "go") return;
            const word = kind === "word" ? sql.slice(start, end).toUpperCase() : "";
            if (word === "INDEX") indexWork = true;
            else if (word === "CONCURRENTLY") concurrently = true;
            else if (word === "ON" && last === "=" && (before === "ONLINE" || before === "RESUMABLE")) online = true;
            before = last;
            last = kind === "word" ? word : kind === "punctuation" ? sql.slice(start, end) : "";
        });
    } catch {
        return false;
    }
    if (!indexWork) return false;
    return dialect === "postgres" ? concurrently : online;
}

/** The request timeout of one batch, in ms. */
export function batchTimeoutMs(sql: string, dialect: Dialect, timeouts: { readonly requestMs: number; readonly longMs: number }): number {
    return buildsIndexOnline(sql, dialect) ? Math.max(timeouts.requestMs, timeouts.longMs) : timeouts.requestMs;
}
