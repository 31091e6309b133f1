/**
 * What the engine needs from a database: one dedicated connection, a lock held on it for the whole run,
 * transactions, running one batch, and the journal. One implementation per dialect (postgres.ts, mssql.ts); the
 * engine (migrator/runner.ts) holds every decision.
 */
import { Dialect } from "../databaseUrl";
import { JournalEntry, JournalWrite, RestorePoint } from "../journal";

export interface Driver {
    readonly dialect: Dialect;
    /** Opens the one connection every later call uses (the lock is bound to it). */
    connect(): Promise<void>;
    /** Closes it (which also frees the lock if it is still held). */
    close(): Promise<void>;
    /** The journal, or [] when its table does not exist yet. Never creates anything. */
    readJournal(): Promise<JournalEntry[]>;
    /** Creates the journal tables when missing. */
    ensureJournal(): Promise<void>;
    /**
     * Takes the runner's exclusive lock, waiting up to `timeoutMs`; throws a clear error when not granted. When it
     * has to wait and can tell who holds the lock, it calls `onWait` once with a description of the holder.
     */
    lock(timeoutMs: number, onWait?: (holder: string) => void): Promise<void>;
    /** Releases the lock. */
    unlock(): Promise<void>;
    begin(): Promise<void>;
    commit(): Promise<void>;
    rollback(): Promise<void>;
    /** Runs one batch (inside the open transaction, if any), with its own timeout when given (ms). */
    execBatch(sql: string, timeoutMs?: number): Promise<void>;
    /** The 1-based line within the batch `sql` where the database says `err` happened, when it says. */
    errorLine(err: unknown, sql: string): number | undefined;
    /**
     * True when `err` means the connection is gone (server stopped, session terminated, network cut) rather than
     * the database answering with an error: what was in flight then may or may not have been committed. Without
     * it, the runner takes a batch's error as the database's answer and a failed COMMIT as of unknown outcome.
     */
    connectionLost?(err: unknown): boolean;
    /** Inserts or replaces the journal row of `entry.name` (inside the open transaction, if any). */
    writeJournal(entry: JournalWrite): Promise<void>;
    /** Deletes the journal row of `name`. */
    deleteJournal(name: string): Promise<void>;
    /** Records the server time now as the restore point of a contract run, and returns it. */
    recordRestorePoint(migrations: readonly string[]): Promise<RestorePoint>;
    /**
     * Creates the app's least-privilege database user (read/write data, execute procedures, nothing else) and
     * re-applies its grants. An existing user keeps its password (the live color logs in with it). Idempotent. The
     * password is never printed.
     */
    ensureAppUser(user: string, password: string): Promise<"created" | "existing">;
}

/** Options every driver takes. */
export interface DriverOptions {
    /** Timeout of one request (one batch), in ms. Migrations can be long: the default is 30 minutes. */
    readonly requestTimeoutMs?: number;
    /** Timeout to open the connection, in ms. @default 30000 */
    readonly connectTimeoutMs?: number;
    /** The lock's name. @default "bluegreen-migrations" */
    readonly lockName?: string;
    /**
     * How long one statement may wait for a table or row lock, in ms (SQL Server `SET LOCK_TIMEOUT`, PostgreSQL
     * `lock_timeout`), so that a migration's DDL never queues the live app behind it for long. 0 = wait forever.
     * @default 5000 (migrator/retry.ts DEFAULT_STATEMENT_LOCK_TIMEOUT_MS)
     */
    readonly statementLockTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30 * 60 * 1000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 30 * 1000;
export const DEFAULT_LOCK_NAME = "bluegreen-migrations";

/** The error a driver throws when the lock is not granted in time. */
export class LockTimeoutError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "LockTimeoutError";
    }
}

/**
 * The runner's lock is gone: the session that held it ended (a failover, a reconfiguration, a network drop) and the
 * driver refused to go on without it. Nothing ran after the loss was seen; the message says what to do.
 */
export class LockLostError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "LockLostError";
    }
}

/** A migration that failed while running; the message names the file, the batch and the line. */
export class MigrationFailedError extends Error {
    constructor(
        message: string,
        readonly migration: string,
        readonly line: number | undefined,
        readonly cause: unknown,
    ) {
        super(message);
        this.name = "MigrationFailedError";
    }
}

/**
 * The connection dropped while a COMMIT was on its way: the server may or may not have committed. The one way the
 * engine reports it: a driver's `commit()` throws it (built by {@link commitOutcomeUnknown}, naming the query that
 * tells which); the runner only adds the file. A {@link MigrationFailedError} of the migration being committed.
 */
export class OutcomeUnknownError extends MigrationFailedError {
    constructor(message: string, migration: string, cause: unknown) {
        super(message, migration, undefined, cause);
        this.name = "OutcomeUnknownError";
    }
}

/**
 * The {@link OutcomeUnknownError} of a COMMIT that failed with `cause` (a dropped connection). `name`: the migration
 * whose journal row the transaction wrote; `journalQuery`: the query that reads that row (the dialect's).
 */
export function commitOutcomeUnknown(name: string | undefined, cause: unknown, journalQuery?: string): OutcomeUnknownError {
    const why = cause instanceof Error ? cause.message : String(cause);
    const which = name !== undefined ? ` of ${name}` : "";
    return new OutcomeUnknownError(
        `The connection failed while the COMMIT${which} was on its way (${why}): the outcome is unknown — the server may or ` +
            `may not have committed${name !== undefined ? `, so whether ${name} committed is UNKNOWN` : ""}. To tell, once the ` +
            `database answers: npm run db -- status${journalQuery !== undefined ? `, or ${journalQuery}` : ""}. The journal row is ` +
            `written in the same transaction, so "applied" (a row) means all of it committed (nothing more to do) and "pending" ` +
            `means none of it did (run up again).`,
        name ?? "",
        cause,
    );
}

/** A line of `sql` (1-based) from a 1-based character position in it. */
export function lineAt(sql: string, position: number): number {
    let line = 1;
    for (let i = 0; i < Math.min(position - 1, sql.length); i++) if (sql[i] === "\n") line++;
    return line;
}
