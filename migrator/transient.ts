/**
 * Which database errors are worth waiting out, and what to say when giving up: pure decisions, no database. Used by
 * the migration runner (migrator/runner.ts, when it connects) and the app (app/src/store/transient.ts, reads and its
 * readiness check).
 *
 * Azure SQL's transient errors are Microsoft's list, "Troubleshoot connectivity issues and other errors with Azure SQL
 * Database" → "List of transient fault error codes": 926, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 4221 and
 * 615. Microsoft asks for at least 5 s before the first retry, growing exponentially to at most 60 s. At login, tedious
 * reports the server's error as a ConnectionError (code ELOGIN) that carries only the server's message, so each code is
 * also recognized by its message text.
 *
 * Not transient, never retried: a login that fails (SQL Server 18456, PostgreSQL 28P01) and an address the server
 * refuses (Azure SQL 40615 firewall, 40914 no VNet rule for the subnet; PostgreSQL 28000 no pg_hba.conf entry): the
 * same attempt fails the same way until someone changes something, so the message says what.
 *
 * A server that cannot be reached yet (connection refused or reset, a timeout, PostgreSQL "starting up" 57P03) is
 * waited out too, within the same bound: a database that is being created or restarted answers a little later.
 */

/** One of Microsoft's transient fault error codes of Azure SQL. */
interface KnownError {
    readonly number: number;
    /** How the server's message reads (for login errors, which carry no number). */
    readonly message: RegExp;
    readonly meaning: string;
}

/** Microsoft's "List of transient fault error codes" (Azure SQL Database). */
export const AZURE_SQL_TRANSIENT_ERRORS: readonly KnownError[] = [
    { number: 926, message: /cannot be opened\. It has been marked SUSPECT by recovery/i, meaning: "database cannot be opened during a reconfiguration" },
    { number: 4060, message: /Cannot open database .* requested by the login/i, meaning: "database cannot be opened (reconfiguration or failover)" },
    { number: 40197, message: /The service has encountered an error processing your request/i, meaning: "service error: failover or upgrade" },
    { number: 40501, message: /The service is currently busy\. Retry the request after/i, meaning: "service busy" },
    { number: 40613, message: /is not currently available\. Please retry the connection later/i, meaning: "database not currently available" },
    { number: 49918, message: /Not enough resources to process request/i, meaning: "not enough resources" },
    { number: 49919, message: /Too many create or update operations in progress/i, meaning: "too many create or update operations" },
    { number: 49920, message: /Too many operations in progress for subscription/i, meaning: "too many operations" },
    { number: 4221, message: /Login to read-secondary failed due to long wait/i, meaning: "read-secondary not available yet" },
    { number: 615, message: /Could not find database ID \d+/i, meaning: "database id cache out of date" },
];

/** The errors that are never retried, with what to change. */
const REFUSALS: readonly (KnownError & { readonly fix: string; readonly kind: "login-refused" | "address-refused" })[] = [
    {
        number: 18456,
        message: /Login failed for user/i,
        meaning: "login failed",
        kind: "login-refused",
        fix:
            "the user or password in the connection URL is wrong, or that user does not exist in this database. The app's user is " +
            "created by the expand migration run (it must have run first); the URLs are the Key Vault secrets sql-admin-url and " +
            "app-database-url (az keyvault secret show --vault-name <keyVaultName> --name <secret>). Retrying cannot help.",
    },
    {
        number: 40615,
        message: /Client with IP address .* is not allowed to access the server/i,
        meaning: "the server's firewall refuses this client's IP address",
        kind: "address-refused",
        fix:
            "the database admits the app subnet only (its VNet rule, no IP firewall rule): run this from the release agent or a VM " +
            "of the app subnet (pulumi up does), not from outside the virtual network. Retrying cannot help.",
    },
    {
        number: 40914,
        message: /Client is not allowed to access the server/i,
        meaning: "no VNet rule admits this client's subnet",
        kind: "address-refused",
        fix:
            "the server has no virtual-network rule for this subnet (or the subnet lacks the Microsoft.Sql service endpoint). The " +
            "program creates the rule (sql-app-subnet-rule) before anything connects: let pulumi up finish it, then run again " +
            "(pulumi config set retryTag <next> && pulumi up). Retrying cannot help.",
    },
];

/** PostgreSQL SQLSTATEs: never retried (login, address) and waited out (starting up). */
const PG_REFUSALS: Readonly<Record<string, { meaning: string; kind: "login-refused" | "address-refused"; fix: string }>> = {
    "28P01": { meaning: "password authentication failed", kind: "login-refused", fix: "the user or password in the connection URL is wrong. Retrying cannot help." },
    "28000": { meaning: "no pg_hba.conf entry admits this client", kind: "address-refused", fix: "the server refuses this client's address (pg_hba.conf). Retrying cannot help." },
};
const PG_TRANSIENT: Readonly<Record<string, string>> = {
    "57P03": "the server is starting up",
    "53300": "too many connections",
};
/** Socket and driver codes meaning "no answer yet" (node, tedious/mssql). */
const UNREACHABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EAI_AGAIN", "ESOCKET", "ETIMEOUT", "EPIPE"]);

/** What an error from connecting or querying is. */
export interface ErrorClass {
    readonly kind: "transient" | "unreachable" | "login-refused" | "address-refused" | "other";
    /** The database's code (e.g. `40613`, `18456`, `57P03`) or the socket's (`ECONNREFUSED`); undefined when none. */
    readonly code?: string;
    readonly meaning?: string;
    /** For a refusal: what to change. */
    readonly fix?: string;
}

interface ErrorLike {
    number?: unknown;
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    originalError?: unknown;
    info?: { number?: unknown };
    precedingErrors?: unknown;
    errors?: unknown;
}

/** The errors inside `err`: itself, what it wraps, and the earlier errors of the same batch. */
function errorsIn(err: unknown, depth = 0): ErrorLike[] {
    if (err === null || typeof err !== "object" || depth > 4) return [];
    const e = err as ErrorLike;
    const inner = [e.originalError, e.cause, ...(Array.isArray(e.precedingErrors) ? e.precedingErrors : []), ...(Array.isArray(e.errors) ? e.errors : [])];
    return [e, ...inner.flatMap((x) => errorsIn(x, depth + 1))];
}

/** Classifies a database error (SQL Server through mssql/tedious, or PostgreSQL through pg). */
export function classifyDatabaseError(err: unknown): ErrorClass {
    const all = errorsIn(err);
    const numbers = all.map((e) => (typeof e.number === "number" ? e.number : typeof e.info?.number === "number" ? e.info.number : undefined));
    const messages = all.map((e) => (typeof e.message === "string" ? e.message : ""));
    const codes = all.map((e) => (typeof e.code === "string" ? e.code : undefined));
    const matches = (k: KnownError) => numbers.includes(k.number) || messages.some((m) => k.message.test(m));
    // Refusals first: a refused login is never taken for a transient error named in the same batch.
    for (const r of REFUSALS) if (matches(r)) return { kind: r.kind, code: String(r.number), meaning: r.meaning, fix: r.fix };
    for (const code of codes) {
        if (code && PG_REFUSALS[code]) return { kind: PG_REFUSALS[code].kind, code, meaning: PG_REFUSALS[code].meaning, fix: PG_REFUSALS[code].fix };
    }
    for (const t of AZURE_SQL_TRANSIENT_ERRORS) if (matches(t)) return { kind: "transient", code: String(t.number), meaning: t.meaning };
    for (const code of codes) if (code && PG_TRANSIENT[code]) return { kind: "transient", code, meaning: PG_TRANSIENT[code] };
    for (const code of codes) if (code && UNREACHABLE.has(code)) return { kind: "unreachable", code, meaning: "no answer" };
    const number = numbers.find((n) => n !== undefined);
    return { kind: "other", ...(number !== undefined ? { code: String(number) } : codes[0] ? { code: codes[0] } : {}) };
}

/** How often and how patiently to wait out a transient error. */
export interface TransientPolicy {
    /** Attempts in all, the first included. */
    readonly attempts: number;
    /** The wait before the first retry, in ms; doubled for each later one. */
    readonly baseDelayMs: number;
    /** The longest wait, in ms. */
    readonly maxDelayMs: number;
}

/** Microsoft's advice: 5 s before the first retry, doubling, at most 60 s; 6 attempts wait 135 s in all. */
export const CONNECT_RETRY_POLICY: TransientPolicy = { attempts: 6, baseDelayMs: 5_000, maxDelayMs: 60_000 };

/** The decision after attempt `attempt` (1-based) of `what` failed with `err`. */
export type TransientDecision =
    | { readonly retry: true; readonly delayMs: number; readonly note: string; readonly class: ErrorClass }
    | { readonly retry: false; readonly note?: string; readonly class: ErrorClass };

function label(c: ErrorClass): string {
    return `${c.code ?? "no code"}${c.meaning ? ` (${c.meaning})` : ""}`;
}

/** Decides whether to try `what` again after a failed attempt, and says so. */
export function decideTransientRetry(what: string, err: unknown, attempt: number, policy: TransientPolicy): TransientDecision {
    const c = classifyDatabaseError(err);
    if (c.kind === "login-refused" || c.kind === "address-refused") {
        return { retry: false, class: c, note: `${what} was refused with ${label(c)}, which is not transient and was not retried: ${c.fix}` };
    }
    if (c.kind === "other") return { retry: false, class: c };
    if (attempt >= policy.attempts) {
        let waited = 0;
        for (let n = 1; n < attempt; n++) waited += Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
        return {
            retry: false,
            class: c,
            note:
                `${what} failed with ${label(c)} in each of ${attempt} attempts over ${Math.round(waited / 1000)} s. ` +
                (c.kind === "transient"
                    ? "Azure SQL is reconfiguring or busy for longer than usual: check the Azure status page and the database's resource limits, then run again (pulumi config set retryTag <next> && pulumi up)."
                    : "Check that the server exists and is started and that the host and port in the connection URL are right, then run again (pulumi config set retryTag <next> && pulumi up)."),
        };
    }
    const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    return {
        retry: true,
        class: c,
        delayMs,
        note: `${what} failed with ${label(c)}, ${c.kind === "transient" ? "a transient error" : "the server may not be up yet"}; retrying in ${Math.round(delayMs / 100) / 10} s (attempt ${attempt} of ${policy.attempts})`,
    };
}
