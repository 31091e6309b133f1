/**
 * The SQL Server / Azure SQL driver. A `mssql.ConnectionPool` of exactly one connection is the dedicated connection:
 * the session-owned `sp_getapplock` is taken on it and every batch and transaction runs on it. Every transaction
 * starts with `SET XACT_ABORT ON` (without it a lock timeout, error 1222, leaves the transaction open). Request and
 * connect timeouts are set explicitly (mssql's 15 s default is too short for a migration).
 *
 * A pool of one connection is not one session: before each borrow tarn validates the connection and, when tedious
 * marked it closed (an Azure SQL failover or reconfiguration does), destroys it and opens another WITHOUT an error
 * (tarn/dist/Pool.js `_doAcquire`; mssql/lib/tedious/connection-pool.js `_poolValidate`). The session lock would stay
 * with the dead session while this runner went on. So, once the lock is held:
 *   - the pool may not open another connection: mssql calls `config.beforeConnect` for every new tedious connection,
 *     and the driver closes it there, so the borrow fails instead of silently changing sessions;
 *   - every transaction starts, and every journal write and no-transaction batch is preceded (same request or same
 *     never-replaced connection), by a check that this session holds the lock (`APPLOCK_MODE(...) = 'Exclusive'`).
 * Either way the run stops with a {@link LockLostError} that says what was done and what to do.
 */
import * as mssql from "mssql";
import { booleanOption, DatabaseUrl } from "../databaseUrl";
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
import { DEFAULT_STATEMENT_LOCK_TIMEOUT_MS } from "../retry";
import {
    commitOutcomeUnknown,
    DEFAULT_CONNECT_TIMEOUT_MS,
    DEFAULT_LOCK_NAME,
    DEFAULT_REQUEST_TIMEOUT_MS,
    Driver,
    DriverOptions,
    LockLostError,
    LockTimeoutError,
} from "./driver";

/** The part of a mssql result the driver reads. */
interface ResultLike {
    recordset: Record<string, unknown>[];
}

/** The part of `mssql.Request` the driver uses. */
export interface MssqlRequestLike {
    input(name: string, type: mssql.ISqlType | (() => mssql.ISqlType), value: unknown): MssqlRequestLike;
    query(command: string): Promise<ResultLike>;
    batch(batch: string): Promise<ResultLike>;
}

/** Per-request overrides (mssql 12: `pool.request({ requestTimeout })`, `transaction.request(...)`). */
export interface MssqlRequestConfig {
    requestTimeout?: number;
}

/** The part of `mssql.Transaction` the driver uses. */
export interface MssqlTransactionLike {
    begin(): Promise<unknown>;
    commit(): Promise<void>;
    rollback(): Promise<void>;
    request(config?: MssqlRequestConfig): MssqlRequestLike;
}

/** The part of `mssql.ConnectionPool` the driver uses. */
export interface MssqlPoolLike {
    connect(): Promise<unknown>;
    close(): Promise<void>;
    request(config?: MssqlRequestConfig): MssqlRequestLike;
    transaction(): MssqlTransactionLike;
}

/** The part of the `mssql` module the driver uses: the real module, or tests/support/fakeMssql.ts in tests. */
export interface MssqlApi {
    ConnectionPool: new (config: mssql.config) => MssqlPoolLike;
}

/** What `sp_getapplock`'s return code means (<0: not granted). */
export function describeApplockResult(code: number): { granted: boolean; meaning: string } {
    switch (code) {
        case 0:
            return { granted: true, meaning: "granted at once" };
        case 1:
            return { granted: true, meaning: "granted after waiting for another holder to release it" };
        case -1:
            return { granted: false, meaning: "timed out: another runner held it for the whole wait" };
        case -2:
            return { granted: false, meaning: "the lock request was cancelled" };
        case -3:
            return { granted: false, meaning: "the lock request was chosen as a deadlock victim" };
        case -999:
            return { granted: false, meaning: "parameter validation or another call error" };
        default:
            return { granted: code >= 0, meaning: `unknown return code ${code}` };
    }
}

/** The mssql connection config for a parsed mssql:// URL: one connection, explicit timeouts, encryption on. */
export function mssqlConfig(db: DatabaseUrl, opts: DriverOptions = {}): mssql.config {
    // `encrypt=True` must not quietly turn encryption off: true/false in any case, anything else is refused.
    const flag = (key: string, dflt: boolean): boolean => booleanOption(db, key, dflt);
    return {
        server: db.host,
        ...(db.port !== undefined ? { port: db.port } : {}),
        database: db.database,
        user: db.user,
        password: db.password,
        requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        connectionTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        // One connection: the session-owned applock and every batch live on it.
        pool: { min: 1, max: 1, idleTimeoutMillis: 24 * 60 * 60 * 1000 },
        options: {
            encrypt: flag("encrypt", true),
            trustServerCertificate: flag("trustServerCertificate", false),
            appName: "bluegreen-migrator",
            // tedious logs in with XACT_ABORT OFF: then an error (a lock timeout, 1222) can leave a transaction open.
            abortTransactionOnError: true,
        },
    };
}


/** ensure-app-user on a SQL Server database that is not contained: what it says, and its error number. */
const APP_USER_NOT_CONTAINED = "CREATE USER ... WITH PASSWORD needs a contained database (SQL Server error 33233 otherwise).";
export const APP_USER_NOT_CONTAINED_ERROR = 51002;

/** The error number the lock check throws (user-defined range, >= 50000). */
export const LOCK_GUARD_ERROR = 51000;

/** The T-SQL that stops a request unless its session holds the application lock `lockName` (put it first). */
export function lockGuardSql(lockName: string): string {
    const name = lockName.replace(/'/g, "''");
    return (
        `IF APPLOCK_MODE(N'public', N'${name}', N'Session') <> N'Exclusive' THROW ${LOCK_GUARD_ERROR}, ` +
        `N'bluegreen-migrator: this session does not hold the migration lock ${name}', 1;\n`
    );
}

/** A row of {@link LOCK_HOLDER_SQL}. */
export interface MssqlHolderRow {
    readonly spid: number;
    readonly app: string | null;
    readonly login: string | null;
    readonly host: string | null;
    readonly addr: string | null;
    readonly since: Date | null;
    readonly lastRequest: Date | null;
}

/** The session holding the application lock `@resource` in this database (see MssqlDriver's lockHolder). */
export const LOCK_HOLDER_SQL = `SELECT TOP (1) l.request_session_id AS spid, s.program_name AS app, s.login_name AS login, s.host_name AS host,
       c.client_net_address AS addr, s.login_time AS since, s.last_request_start_time AS lastRequest
  FROM sys.dm_tran_locks AS l
  JOIN sys.dm_exec_sessions AS s ON s.session_id = l.request_session_id
  LEFT JOIN sys.dm_exec_connections AS c ON c.session_id = l.request_session_id
 WHERE l.resource_type = N'APPLICATION' AND l.resource_database_id = DB_ID() AND l.request_status = N'GRANT'
   AND CHARINDEX(N'[' + LEFT(@resource, 32) + N']', l.resource_description) > 0;`;

/** "by session 57 (program, login x on host y from address), connected since …, last request started …". */
export function describeLockHolder(h: MssqlHolderRow): string {
    const where = [h.host ? `on ${h.host}` : "", h.addr ? `from ${h.addr}` : ""].filter(Boolean).join(" ");
    return (
        `by session ${h.spid} (${h.app?.trim() || "no program name"}, login ${h.login ?? "unknown"}${where ? ` ${where}` : ""})` +
        `${h.since ? `, connected since ${new Date(h.since).toISOString()}` : ""}` +
        `${h.lastRequest ? `, last request started ${new Date(h.lastRequest).toISOString()}` : ""}`
    );
}

/** The SQL Server {@link Driver}. */
export class MssqlDriver implements Driver {
    readonly dialect = "mssql" as const;
    private readonly pool: MssqlPoolLike;
    private readonly lockName: string;
    private readonly lockTimeoutSlackMs: number;
    private readonly statementLockTimeoutMs: number;
    private tx?: MssqlTransactionLike;
    /** True from the granted sp_getapplock to the release: the session must not change. */
    private lockHeld = false;
    /** Set when the pool tried to replace the lock's connection (and was stopped). */
    private sessionLost = false;
    /** The migration whose journal row the open transaction wrote (to say how to check a COMMIT that dropped). */
    private journaledInTx?: string;

    constructor(db: DatabaseUrl, opts: DriverOptions = {}, api: MssqlApi = mssql) {
        const config = mssqlConfig(db, opts);
        this.pool = new api.ConnectionPool({
            ...config,
            // Called by mssql for every new tedious connection, before it logs in (mssql/lib/tedious/connection-pool.js).
            beforeConnect: (conn) => {
                if (!this.lockHeld) return;
                this.sessionLost = true;
                conn.close();
            },
        });
        this.lockName = opts.lockName ?? DEFAULT_LOCK_NAME;
        this.lockTimeoutSlackMs = config.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS;
        this.statementLockTimeoutMs = Math.max(0, Math.round(opts.statementLockTimeoutMs ?? DEFAULT_STATEMENT_LOCK_TIMEOUT_MS));
    }

    private request(config?: MssqlRequestConfig): MssqlRequestLike {
        return this.tx ? this.tx.request(config) : this.pool.request(config);
    }

    /** The lock check to put first in a request, once the lock is held. */
    private guard(): string {
        return this.lockHeld ? lockGuardSql(this.lockName) : "";
    }

    /** Runs `fn`; turns a lost session or a failed lock check into a {@link LockLostError} naming `what`. */
    private async guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
        if (this.sessionLost) throw this.lockLost(what, undefined);
        try {
            return await fn();
        } catch (err) {
            if (this.sessionLost || isLockGuardError(err)) throw this.lockLost(what, err);
            throw err;
        }
    }

    private lockLost(what: string, cause: unknown): LockLostError {
        const seen = cause instanceof Error ? ` (${cause.message})` : "";
        return new LockLostError(
            `The migration lock "${this.lockName}" was lost before ${what}${seen}: the connection (SQL Server session) that ` +
                `held it ended — an Azure SQL failover or reconfiguration, or a network drop — and the lock ended with it, so ` +
                `another runner may be migrating now. This runner stopped and ran nothing more. What was done: the migrations ` +
                `recorded applied in the journal; a transaction in flight was rolled back by the server with its session. ` +
                `What to do: npm run db -- status (a no-transaction migration may be partly applied), then run up again: it ` +
                `waits for the lock and continues from the journal.`,
        );
    }

    async connect(): Promise<void> {
        await this.pool.connect();
    }

    async close(): Promise<void> {
        await this.pool.close();
    }

    async readJournal(): Promise<JournalEntry[]> {
        return this.guarded("reading the journal", async () => {
            const exists = await this.pool
                .request()
                .input("table", mssql.NVarChar(256), `dbo.${JOURNAL_TABLE}`)
                .query(`${this.guard()}SELECT OBJECT_ID(@table, N'U') AS id`);
            if (exists.recordset[0]?.id == null) return [];
            const r = await this.pool.request().query(`${this.guard()}SELECT ${JOURNAL_COLUMNS} FROM dbo.${JOURNAL_TABLE} ORDER BY name`);
            return (r.recordset as unknown as JournalRow[]).map(journalEntryOf);
        });
    }

    async ensureJournal(): Promise<void> {
        await this.guarded("creating the journal", () => this.pool.request().batch(`${this.guard()}
IF OBJECT_ID(N'dbo.${JOURNAL_TABLE}', N'U') IS NULL
    CREATE TABLE dbo.${JOURNAL_TABLE} (
        name        nvarchar(255) NOT NULL CONSTRAINT PK_${JOURNAL_TABLE} PRIMARY KEY,
        phase       varchar(8)    NOT NULL CONSTRAINT CK_${JOURNAL_TABLE}_phase CHECK (phase IN ('expand', 'contract')),
        checksum    char(64)      NOT NULL,
        applied_at  datetime2(3)  NOT NULL,
        applied_by  nvarchar(128) NOT NULL,
        duration_ms int           NOT NULL,
        state       varchar(8)    NOT NULL CONSTRAINT CK_${JOURNAL_TABLE}_state CHECK (state IN ('applied', 'failed')),
        error       nvarchar(max) NULL
    );
IF OBJECT_ID(N'dbo.${RESTORE_POINT_TABLE}', N'U') IS NULL
    CREATE TABLE dbo.${RESTORE_POINT_TABLE} (
        id          bigint IDENTITY(1, 1) NOT NULL CONSTRAINT PK_${RESTORE_POINT_TABLE} PRIMARY KEY,
        recorded_at datetime2(3)  NOT NULL,
        recorded_by nvarchar(128) NOT NULL,
        migrations  nvarchar(max) NOT NULL
    );`));
    }

    async lock(timeoutMs: number, onWait?: (holder: string) => void): Promise<void> {
        if (timeoutMs >= this.lockTimeoutSlackMs) {
            throw new Error(`The lock timeout (${timeoutMs} ms) must be shorter than the request timeout (${this.lockTimeoutSlackMs} ms).`);
        }
        if (onWait) {
            // sp_getapplock waits on the server without a word: ask first whether it is free, and if not, who has it.
            const test = await this.pool
                .request()
                .input("resource", mssql.NVarChar(255), this.lockName)
                .query("SELECT APPLOCK_TEST(N'public', @resource, N'Exclusive', N'Session') AS free;");
            if (Number(test.recordset[0]?.free) === 0) onWait(await this.lockHolder());
        }
        const r = await this.pool
            .request()
            .input("resource", mssql.NVarChar(255), this.lockName)
            .input("timeout", mssql.Int, Math.round(timeoutMs))
            .query(
                "DECLARE @result int;\n" +
                    "EXEC @result = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = @timeout;\n" +
                    "SELECT @result AS result;",
            );
        const code = Number(r.recordset[0]?.result);
        const verdict = describeApplockResult(code);
        if (verdict.granted) {
            this.lockHeld = true;
            // For the whole session (a plain batch: a SET inside sp_executesql would end with it). 1222 after this
            // long instead of queueing the live app behind a DDL statement that waits for its lock; -1 = forever.
            const lockTimeout = this.statementLockTimeoutMs === 0 ? -1 : this.statementLockTimeoutMs;
            await this.guarded("setting the lock timeout", () => this.pool.request().batch(`${this.guard()}SET LOCK_TIMEOUT ${lockTimeout};`));
            return;
        }
        const message =
            `sp_getapplock did not grant the lock "${this.lockName}" (return code ${code}: ${verdict.meaning}). ` +
            (code === -1
                ? `Another migration runner is running; let it finish and run again, or wait longer with --lock-timeout <seconds>. ` +
                  `To see who holds it: SELECT request_session_id FROM sys.dm_tran_locks WHERE resource_type = 'APPLICATION';`
                : "Run again; if it persists, check the database's error log.");
        throw code === -1 ? new LockTimeoutError(message) : new Error(message);
    }

    /**
     * Who holds the application lock: its session id, program, login, host and address, when it connected and when its
     * last request started (SQL Server does not record when a lock was granted; the runner takes it right after it
     * connects). sys.dm_tran_locks shows the first 32 characters of the name in brackets (`0:[name]:(hash)`). Reading
     * other sessions needs VIEW DATABASE STATE (Azure SQL) or VIEW SERVER STATE: without it, says so.
     */
    private async lockHolder(): Promise<string> {
        let row: MssqlHolderRow | undefined;
        try {
            const r = await this.pool
                .request()
                .input("resource", mssql.NVarChar(255), this.lockName)
                .query(LOCK_HOLDER_SQL);
            row = r.recordset[0] as unknown as MssqlHolderRow | undefined;
        } catch (err) {
            return `by a session this runner cannot identify (${(err as Error).message}; reading sys.dm_tran_locks needs VIEW DATABASE STATE)`;
        }
        if (!row) return "by a session that has just let go of it, or that this login cannot see (sys.dm_tran_locks needs VIEW DATABASE STATE)";
        return describeLockHolder(row);
    }

    async unlock(): Promise<void> {
        if (this.sessionLost) return; // the lock went with the old session
        this.lockHeld = false;
        await this.pool
            .request()
            .input("resource", mssql.NVarChar(255), this.lockName)
            .query("EXEC sp_releaseapplock @Resource = @resource, @LockOwner = 'Session';");
    }

    async begin(): Promise<void> {
        await this.guarded("starting a transaction", async () => {
            const tx = this.pool.transaction();
            await tx.begin();
            this.tx = tx;
            // The transaction keeps its connection to the end (mssql's _acquiredConnection): checked once, here.
            // XACT_ABORT makes any error (including lock timeout 1222) roll the whole transaction back.
            await tx.request().batch(`${this.guard()}SET XACT_ABORT ON;`);
        });
    }

    async commit(): Promise<void> {
        const tx = this.tx;
        const name = this.journaledInTx;
        this.tx = undefined;
        this.journaledInTx = undefined;
        try {
            await tx?.commit();
        } catch (err) {
            // EABORT: the server rolled the transaction back before the COMMIT (XACT_ABORT): the outcome is known.
            if ((err as { code?: string }).code === "EABORT") throw err;
            throw commitOutcomeUnknown(
                name,
                err,
                name !== undefined ? `SELECT state, applied_at FROM dbo.${JOURNAL_TABLE} WHERE name = N'${name.replace(/'/g, "''")}';` : undefined,
            );
        }
    }

    async rollback(): Promise<void> {
        const tx = this.tx;
        this.tx = undefined;
        try {
            await tx?.rollback();
        } catch (err) {
            // With XACT_ABORT the server has already rolled back; mssql then reports EABORT. Nothing is left open.
            if ((err as { code?: string }).code !== "EABORT") throw err;
        }
    }

    async execBatch(sql: string, timeoutMs?: number): Promise<void> {
        if (!this.tx && this.lockHeld) {
            // Outside a transaction each request borrows the connection again: check the session first. The pool cannot
            // swap the connection between the check and the batch (beforeConnect refuses a new one while the lock is held).
            await this.guarded("running a no-transaction batch", () => this.pool.request().batch(this.guard()));
        }
        try {
            await this.request(timeoutMs !== undefined ? { requestTimeout: timeoutMs } : undefined).batch(sql);
        } catch (err) {
            throw withPrecedingErrors(err);
        }
    }

    errorLine(err: unknown): number | undefined {
        const e = err as { lineNumber?: unknown; procName?: unknown; originalError?: { info?: { lineNumber?: unknown; procName?: unknown } } };
        // Raised inside a procedure, function or trigger the batch called: the line is in that module, not in the batch.
        const procName = e?.procName ?? e?.originalError?.info?.procName;
        if (typeof procName === "string" && procName !== "") return undefined;
        const line = e?.lineNumber ?? e?.originalError?.info?.lineNumber;
        return typeof line === "number" && line > 0 ? line : undefined;
    }

    connectionLost(err: unknown): boolean {
        // tedious/mssql codes for a closed or broken connection (the server stopped, the session was killed, the network cut).
        const code = (err as { code?: unknown } | undefined)?.code;
        return typeof code === "string" && ["ECONNCLOSED", "ESOCKET", "ECONNRESET", "ENOTOPEN"].includes(code);
    }

    async writeJournal(e: JournalWrite): Promise<void> {
        if (this.tx) this.journaledInTx = e.name;
        // A failed no-transaction file may have opened a transaction of its own and left it open: the failure row must
        // not be written inside it (it would be rolled back with it, and the next up would run the file again).
        // (Not for the "unfinished" row written around each batch of a running no-transaction file: that is no failure.)
        const rollbackOpen = !this.tx && e.state === "failed" && !isUnfinished(e) ? "IF @@TRANCOUNT > 0 ROLLBACK;\n" : "";
        await this.guarded(`writing the journal row of ${e.name}`, () => this.request()
            .input("name", mssql.NVarChar(255), e.name)
            .input("phase", mssql.VarChar(8), e.phase)
            .input("checksum", mssql.Char(64), e.checksum)
            .input("duration", mssql.Int, e.durationMs)
            .input("state", mssql.VarChar(8), e.state)
            .input("error", mssql.NVarChar(mssql.MAX), e.error ?? null)
            .query(
                `${this.guard()}${rollbackOpen}UPDATE dbo.${JOURNAL_TABLE} SET phase = @phase, checksum = @checksum, applied_at = SYSUTCDATETIME(), ` +
                    `applied_by = SUSER_SNAME(), duration_ms = @duration, state = @state, error = @error WHERE name = @name;\n` +
                    `IF @@ROWCOUNT = 0\n` +
                    `    INSERT INTO dbo.${JOURNAL_TABLE} (name, phase, checksum, applied_at, applied_by, duration_ms, state, error) ` +
                    `VALUES (@name, @phase, @checksum, SYSUTCDATETIME(), SUSER_SNAME(), @duration, @state, @error);`,
            ));
    }

    async deleteJournal(name: string): Promise<void> {
        await this.guarded(`deleting the journal row of ${name}`, () =>
            this.request().input("name", mssql.NVarChar(255), name).query(`${this.guard()}DELETE FROM dbo.${JOURNAL_TABLE} WHERE name = @name;`),
        );
    }

    async recordRestorePoint(migrations: readonly string[]): Promise<RestorePoint> {
        const r = await this.guarded("recording the restore point", () => this.request()
            .input("migrations", mssql.NVarChar(mssql.MAX), migrations.join(","))
            .query(
                `${this.guard()}INSERT INTO dbo.${RESTORE_POINT_TABLE} (recorded_at, recorded_by, migrations) ` +
                    `OUTPUT inserted.recorded_at, inserted.recorded_by, inserted.migrations ` +
                    `VALUES (SYSUTCDATETIME(), SUSER_SNAME(), @migrations);`,
            ));
        const row = r.recordset[0] as { recorded_at: Date; recorded_by: string; migrations: string };
        return { recordedAt: row.recorded_at, recordedBy: row.recorded_by, migrations: row.migrations };
    }

    async ensureAppUser(user: string, password: string): Promise<"created" | "existing"> {
        // CREATE USER takes no variables: the names go through QUOTENAME in dynamic SQL, never into the text here.
        // An existing user keeps its password: the live color logs in with it (rotation: docs/migrations.md).
        // A user WITH PASSWORD needs a contained database: Azure SQL Database (engine edition 5) always is one; on SQL
        // Server (the CI container, a Managed Instance) the database must be CONTAINMENT = PARTIAL, or error 33233.
        const r = await this.guarded("creating the app user", () => this.pool
            .request()
            .input("user", mssql.NVarChar(128), user)
            .input("password", mssql.NVarChar(128), password)
            .query(`${this.guard()}
DECLARE @u nvarchar(258) = QUOTENAME(@user);
DECLARE @p nvarchar(258) = QUOTENAME(@password, '''');
DECLARE @created bit = 0;
IF DATABASE_PRINCIPAL_ID(@user) IS NULL
BEGIN
    IF CAST(SERVERPROPERTY('EngineEdition') AS int) <> 5
       AND (SELECT containment FROM sys.databases WHERE database_id = DB_ID()) = 0
    BEGIN
        DECLARE @why nvarchar(2048) = N'${APP_USER_NOT_CONTAINED}'
            + N' Database ' + QUOTENAME(DB_NAME()) + N' is not contained. Fix, as a server administrator: '
            + N'EXEC sp_configure ''contained database authentication'', 1; RECONFIGURE; '
            + N'ALTER DATABASE ' + QUOTENAME(DB_NAME()) + N' SET CONTAINMENT = PARTIAL; (Azure SQL Database needs nothing.)';
        THROW ${APP_USER_NOT_CONTAINED_ERROR}, @why, 1;
    END
    EXEC (N'CREATE USER ' + @u + N' WITH PASSWORD = ' + @p);
    SET @created = 1;
END
IF IS_ROLEMEMBER(N'db_datareader', @user) = 0 EXEC (N'ALTER ROLE db_datareader ADD MEMBER ' + @u);
IF IS_ROLEMEMBER(N'db_datawriter', @user) = 0 EXEC (N'ALTER ROLE db_datawriter ADD MEMBER ' + @u);
EXEC (N'GRANT EXECUTE ON SCHEMA::dbo TO ' + @u);
EXEC (N'DENY INSERT, UPDATE, DELETE ON dbo.${JOURNAL_TABLE} TO ' + @u);
EXEC (N'DENY INSERT, UPDATE, DELETE ON dbo.${RESTORE_POINT_TABLE} TO ' + @u);
SELECT @created AS created;`));
        return r.recordset[0]?.created === true || r.recordset[0]?.created === 1 ? "created" : "existing";
    }
}

/**
 * mssql throws the batch's LAST server error ("The statement has been terminated.", "See previous errors") and keeps
 * the others in `precedingErrors`: put them all in the message, first to last.
 */
export function withPrecedingErrors(err: unknown): unknown {
    const e = err as { message?: unknown; precedingErrors?: unknown } | undefined;
    if (!(err instanceof Error) || !Array.isArray(e?.precedingErrors) || e.precedingErrors.length === 0) return err;
    const earlier = (e.precedingErrors as { message?: unknown; lineNumber?: unknown }[])
        .map((p) => `${String(p.message)}${typeof p.lineNumber === "number" ? ` (line ${p.lineNumber})` : ""}`)
        .filter((m) => m !== err.message);
    if (earlier.length > 0) err.message = `${earlier.join(" / ")} / ${err.message}`;
    return err;
}

/** True for the error {@link lockGuardSql} throws. */
export function isLockGuardError(err: unknown): boolean {
    const e = err as { number?: unknown; originalError?: { info?: { number?: unknown } } } | undefined;
    return (e?.number ?? e?.originalError?.info?.number) === LOCK_GUARD_ERROR;
}
