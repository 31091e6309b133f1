/**
 * The PostgreSQL driver (the local rehearsal and the test suites; the product runs on SQL Server). One `pg.Client`
 * is the dedicated connection; the lock is a session-level advisory lock on it (`pg_try_advisory_lock` in a wait
 * loop, so the wait has a timeout); `statement_timeout` is set explicitly.
 */
import { Client, DatabaseError } from "pg";
import {
    JournalEntry,
    journalEntryOf,
    isUnfinished,
    JournalRow,
    JournalWrite,
    JOURNAL_COLUMNS,
    JOURNAL_TABLE,
    RestorePoint,
    RESTORE_POINT_TABLE,
} from "../journal";
import {
    commitOutcomeUnknown,
    DEFAULT_CONNECT_TIMEOUT_MS,
    DEFAULT_LOCK_NAME,
    DEFAULT_REQUEST_TIMEOUT_MS,
    Driver,
    DriverOptions,
    lineAt,
    LockTimeoutError,
} from "./driver";

import { DEFAULT_STATEMENT_LOCK_TIMEOUT_MS } from "../retry";

const LOCK_POLL_MS = 200;

/** SQLSTATEs that end the session: class 08 (connection exception), 57P01-57P03 (shutdown, crash, cannot connect now). */
const SESSION_ENDED = /^(08|57P0[123])/;

/** The PostgreSQL {@link Driver}. `url` is a postgres:// URL. */
export class PostgresDriver implements Driver {
    readonly dialect = "postgres" as const;
    private readonly client: Client;
    private readonly lockName: string;

    constructor(url: string, opts: DriverOptions = {}) {
        const requestTimeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
        this.client = new Client({
            connectionString: url,
            connectionTimeoutMillis: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
            statement_timeout: requestTimeout,
            query_timeout: requestTimeout,
            // A DDL statement waiting for its lock queues every later query on the table behind it: give up soon.
            lock_timeout: opts.statementLockTimeoutMs ?? DEFAULT_STATEMENT_LOCK_TIMEOUT_MS,
            application_name: "bluegreen-migrator",
        });
        this.lockName = opts.lockName ?? DEFAULT_LOCK_NAME;
        this.requestTimeoutMs = requestTimeout;
        // A dropped connection is also emitted as an 'error' event: unhandled, it would end the process with a stack
        // trace. The query in flight is rejected with it anyway, and the runner reports it from there.
        this.client.on("error", () => undefined);
    }

    private readonly requestTimeoutMs: number;

    async connect(): Promise<void> {
        await this.client.connect();
    }

    async close(): Promise<void> {
        await this.client.end();
    }

    async readJournal(): Promise<JournalEntry[]> {
        const exists = await this.client.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [JOURNAL_TABLE]);
        if (!exists.rows[0]?.t) return [];
        const r = await this.client.query<JournalRow>(`SELECT ${JOURNAL_COLUMNS} FROM ${JOURNAL_TABLE} ORDER BY name`);
        return r.rows.map(journalEntryOf);
    }

    async ensureJournal(): Promise<void> {
        await this.client.query(`
            CREATE TABLE IF NOT EXISTS ${JOURNAL_TABLE} (
                name        text PRIMARY KEY,
                phase       text NOT NULL CHECK (phase IN ('expand', 'contract')),
                checksum    char(64) NOT NULL,
                applied_at  timestamptz NOT NULL,
                applied_by  text NOT NULL,
                duration_ms integer NOT NULL,
                state       text NOT NULL CHECK (state IN ('applied', 'failed')),
                error       text NULL
            );
            CREATE TABLE IF NOT EXISTS ${RESTORE_POINT_TABLE} (
                id          bigserial PRIMARY KEY,
                recorded_at timestamptz NOT NULL,
                recorded_by text NOT NULL,
                migrations  text NOT NULL
            );`);
    }

    async lock(timeoutMs: number, onWait?: (holder: string) => void): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (let attempt = 0; ; attempt++) {
            const r = await this.client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [
                this.lockName,
            ]);
            if (r.rows[0]?.ok) return;
            if (attempt === 0 && onWait) onWait(await this.lockHolder());
            if (Date.now() >= deadline) {
                throw new LockTimeoutError(
                    `Another migration runner holds the lock "${this.lockName}" on this database; waited ${Math.round(timeoutMs / 1000)} s. ` +
                        `Let it finish and run again, or wait longer with --lock-timeout <seconds>. To see who holds it: ` +
                        `SELECT a.pid, a.application_name, a.query_start FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory';`,
                );
            }
            await new Promise((resolve) => setTimeout(resolve, Math.min(LOCK_POLL_MS, Math.max(0, deadline - Date.now()))));
        }
    }

    /** Who holds the advisory lock: its session's pid, application, user, client address and times. */
    private async lockHolder(): Promise<string> {
        const r = await this.client.query<{ pid: number; app: string; usename: string; addr: string | null; since: Date; query_start: Date | null }>(
            `SELECT a.pid, a.application_name AS app, a.usename, host(a.client_addr) AS addr, a.backend_start AS since, a.query_start
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`,
            [this.lockName],
        );
        const h = r.rows[0];
        if (!h) return "by a session that has just let go of it";
        return (
            `by session pid ${h.pid} (${h.app || "no application name"}, user ${h.usename}${h.addr ? ` from ${h.addr}` : ""}), ` +
            `connected since ${h.since.toISOString()}${h.query_start ? `, last statement started ${h.query_start.toISOString()}` : ""}`
        );
    }

    async unlock(): Promise<void> {
        await this.client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [this.lockName]);
    }

    async begin(): Promise<void> {
        await this.client.query("BEGIN");
        this.inTx = true;
    }

    async commit(): Promise<void> {
        const name = this.journaledInTx;
        this.inTx = false;
        this.journaledInTx = undefined;
        try {
            await this.client.query("COMMIT");
        } catch (err) {
            // The server answered (a deferred constraint, say): it rolled back, the outcome is known.
            if (!this.connectionLost(err)) throw err;
            throw commitOutcomeUnknown(
                name,
                err,
                name !== undefined ? `SELECT state, applied_at FROM ${JOURNAL_TABLE} WHERE name = ${this.client.escapeLiteral(name)};` : undefined,
            );
        }
    }

    async rollback(): Promise<void> {
        this.inTx = false;
        this.journaledInTx = undefined;
        await this.client.query("ROLLBACK");
    }

    private inTx = false;
    /** The migration whose journal row the open transaction wrote (to say how to check a COMMIT that dropped). */
    private journaledInTx?: string;

    async execBatch(sql: string, timeoutMs?: number): Promise<void> {
        if (timeoutMs === undefined || timeoutMs === this.requestTimeoutMs) {
            await this.client.query(sql);
            return;
        }
        // A longer statement_timeout for this batch only (an index built CONCURRENTLY, say), then back.
        await this.client.query(`SET statement_timeout = ${Math.round(timeoutMs)}`);
        try {
            await this.client.query({ text: sql, query_timeout: timeoutMs } as unknown as string);
        } finally {
            await this.client.query(`SET statement_timeout = ${this.requestTimeoutMs}`).catch(() => undefined);
        }
    }

    errorLine(err: unknown, sql: string): number | undefined {
        if (err instanceof DatabaseError && err.position) return lineAt(sql, Number(err.position));
        return undefined;
    }

    connectionLost(err: unknown): boolean {
        if (err instanceof DatabaseError) return SESSION_ENDED.test(err.code ?? "");
        const code = (err as { code?: unknown } | undefined)?.code;
        if (typeof code === "string" && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT)$/.test(code)) return true;
        return err instanceof Error && /Connection terminated|not queryable|Connection ended/i.test(err.message);
    }

    async writeJournal(e: JournalWrite): Promise<void> {
        // A failed no-transaction file may have left its own transaction open (or aborted): end it first, so that the
        // failure row is not written inside it and lost with it. (ROLLBACK with no transaction is only a warning.)
        // (Not for the "unfinished" row written around each batch of a running no-transaction file: that is no failure.)
        if (!this.inTx && e.state === "failed" && !isUnfinished(e)) await this.client.query("ROLLBACK");
        if (this.inTx) this.journaledInTx = e.name;
        await this.client.query(
            `INSERT INTO ${JOURNAL_TABLE} (name, phase, checksum, applied_at, applied_by, duration_ms, state, error)
             VALUES ($1, $2, $3, clock_timestamp(), session_user, $4, $5, $6)
             ON CONFLICT (name) DO UPDATE SET phase = EXCLUDED.phase, checksum = EXCLUDED.checksum,
               applied_at = EXCLUDED.applied_at, applied_by = EXCLUDED.applied_by, duration_ms = EXCLUDED.duration_ms,
               state = EXCLUDED.state, error = EXCLUDED.error`,
            [e.name, e.phase, e.checksum, e.durationMs, e.state, e.error ?? null],
        );
    }

    async deleteJournal(name: string): Promise<void> {
        await this.client.query(`DELETE FROM ${JOURNAL_TABLE} WHERE name = $1`, [name]);
    }

    async recordRestorePoint(migrations: readonly string[]): Promise<RestorePoint> {
        const r = await this.client.query<{ recorded_at: Date; recorded_by: string; migrations: string }>(
            `INSERT INTO ${RESTORE_POINT_TABLE} (recorded_at, recorded_by, migrations)
             VALUES (clock_timestamp(), session_user, $1) RETURNING recorded_at, recorded_by, migrations`,
            [migrations.join(",")],
        );
        const row = r.rows[0];
        return { recordedAt: row.recorded_at, recordedBy: row.recorded_by, migrations: row.migrations };
    }

    async ensureAppUser(user: string, password: string): Promise<"created" | "existing"> {
        const role = this.client.escapeIdentifier(user);
        const secret = this.client.escapeLiteral(password);
        const db = await this.client.query<{ db: string }>("SELECT current_database() AS db");
        const database = this.client.escapeIdentifier(db.rows[0].db);
        const exists = await this.client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [user]);
        // An existing role keeps its password: the live color logs in with it (rotation: docs/migrations.md).
        if (!exists.rowCount) await this.client.query(`CREATE ROLE ${role} WITH LOGIN PASSWORD ${secret}`);
        await this.client.query(`
            GRANT CONNECT ON DATABASE ${database} TO ${role};
            GRANT USAGE ON SCHEMA public TO ${role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role};
            GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role};
            GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${role};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${role};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO ${role};
            REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ${JOURNAL_TABLE}, ${RESTORE_POINT_TABLE} FROM ${role};`);
        return exists.rowCount ? "existing" : "created";
    }
}
