/**
 * How long one batch may run: pure. Most batches get the runner's request timeout (30 minutes by default); a batch
 * that builds or rebuilds an index online (`ONLINE = ON`, `RESUMABLE = ON`, PostgreSQL `CONCURRENTLY`) is meant to run
 * for as long as the table is big, while the app keeps working, and gets the long timeout (24 hours by default)
 * instead of being cancelled half-way.
 */
import { Dialect, isTrivia, keywordOf, tokenize } from "./tsql/tokenizer";

export const DEFAULT_LONG_REQUEST_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** True when the batch builds or rebuilds an index online. */
export function buildsIndexOnline(sql: string, dialect: Dialect): boolean {
    let tokens;
    try {
        tokens = tokenize(sql, { dialect }).filter((t) => !isTrivia(t));
    } catch {
        return false;
    }
    const words = tokens.map((t) => keywordOf(t));
    const indexWork = words.includes("INDEX");
    if (!indexWork) return false;
    if (dialect === "postgres") return words.includes("CONCURRENTLY");
    return tokens.some(
        (_, i) => (words[i] === "ONLINE" || words[i] === "RESUMABLE") && tokens[i + 1]?.text === "=" && words[i + 2] === "ON",
    );
}

/** The request timeout of one batch, in ms. */
export function batchTimeoutMs(sql: string, dialect: Dialect, timeouts: { readonly requestMs: number; readonly longMs: number }): number {
    return buildsIndexOnline(sql, dialect) ? Math.max(timeouts.requestMs, timeouts.longMs) : timeouts.requestMs;
}
