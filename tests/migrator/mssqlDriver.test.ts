/**
 * The SQL Server driver and the engine on it, against the recording fake of the mssql API
 * (tests/support/fakeMssql.ts): the lock call and its return codes, XACT_ABORT, GO batches, commit and rollback.
 * The real SQL Server runs the same scenarios in mssqlRunner.int.test.ts when MSSQL_URL is set.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DatabaseUrlError, parseDatabaseUrl } from "../../migrator/databaseUrl";
import { LockLostError, LockTimeoutError, OutcomeUnknownError } from "../../migrator/drivers/driver";
import { loadMigrationDir } from "../../migrator/migrationFile";
import { describeApplockResult, MssqlDriver, mssqlConfig } from "../../migrator/drivers/mssql";
import { createRunner, MigrationFailedError, RefusedError } from "../../migrator/runner";
import { FakeCall, FakeMssql, fakeLoginError, fakeRequestError } from "../support/fakeMssql";

const URL = "mssql://sqladmin:s3cret%21@bg-sql.database.windows.net:1433/goals?encrypt=true";
const TSQL = path.join(__dirname, "..", "fixtures", "migrations", "tsql");

function runnerOn(fake: FakeMssql, scenario: string) {
    return createRunner({ url: URL, dir: path.join(TSQL, scenario), mssqlApi: fake.api, lint: () => [], sleep: async () => undefined });
}

/** A fake with the lock granted and no journal table yet. */
function freshDatabase(): FakeMssql {
    return new FakeMssql().when(/sp_getapplock/, { recordset: [{ result: 0 }] }).when(/OBJECT_ID\(@table/, { recordset: [{ id: null }] });
}

const isMigrationBatch = (c: FakeCall) =>
    c.op === "batch" && !/XACT_ABORT|LOCK_TIMEOUT|CREATE TABLE dbo\.migration_journal/.test(c.sql ?? "") && !/^IF APPLOCK_MODE[^\n]*$/.test(c.sql ?? "");

describe("mssqlConfig", () => {
    it("sets the request and connect timeouts explicitly, one pooled connection, and encryption on", () => {
        const config = mssqlConfig(parseDatabaseUrl(URL));
        expect(config).toMatchObject({
            server: "bg-sql.database.windows.net",
            port: 1433,
            database: "goals",
            user: "sqladmin",
            password: "s3cret!",
            requestTimeout: 30 * 60 * 1000,
            connectionTimeout: 30_000,
            pool: { min: 1, max: 1 },
            options: { encrypt: true, trustServerCertificate: false },
        });
        expect(mssqlConfig(parseDatabaseUrl(URL), { requestTimeoutMs: 120_000 }).requestTimeout).toBe(120_000);
    });

    it.each([
        ["encrypt=True", { encrypt: true, trustServerCertificate: false }],
        ["encrypt=FALSE&trustServerCertificate=TRUE", { encrypt: false, trustServerCertificate: true }],
    ])("reads %s in any letter case (encrypt=True must not turn encryption off)", (query, options) => {
        expect(mssqlConfig(parseDatabaseUrl(`mssql://u:p@srv:1433/goals?${query}`)).options).toMatchObject(options);
    });

    it.each(["encrypt=yes", "trustServerCertificate=1"])("refuses %s, naming it and the fix, with the password masked", (query) => {
        const make = () => mssqlConfig(parseDatabaseUrl(`mssql://u:hunter2@srv:1433/goals?${query}`));
        expect(make).toThrow(DatabaseUrlError);
        expect(make).toThrow(new RegExp(`"mssql://u:\\*\\*\\*@srv:1433/goals\\?${query}" has ${query}: use ${query.split("=")[0]}=true or ${query.split("=")[0]}=false`));
    });
});

describe("sp_getapplock", () => {
    it.each([
        [0, true],
        [1, true],
        [-1, false],
        [-2, false],
        [-3, false],
        [-999, false],
    ])("return code %i means granted = %s", (code, granted) => {
        expect(describeApplockResult(code).granted).toBe(granted);
    });

    it("asks for an exclusive session-owned lock with the timeout in ms, on the runner's one connection", async () => {
        const fake = new FakeMssql().when(/sp_getapplock/, { recordset: [{ result: 1 }] });
        const driver = new MssqlDriver(parseDatabaseUrl(URL), {}, fake.api);
        await driver.connect();
        await driver.lock(45_000);
        const call = fake.calls.find((c) => c.sql?.includes("sp_getapplock"));
        expect(call?.sql).toMatch(/EXEC @result = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = @timeout/);
        expect(call?.params).toEqual({ resource: "bluegreen-migrations", timeout: 45_000 });
        expect(call?.types).toEqual({ resource: "NVarChar", timeout: "Int" });
        expect(fake.configs).toHaveLength(1);
    });

    it("a runner that must wait says who holds the lock and since when, before it waits", async () => {
        const fake = new FakeMssql();
        const other = fake.takeLockElsewhere("bluegreen-migrations");
        fake.when(/sys\.dm_tran_locks/, { recordset: [{
            spid: other, app: "bluegreen-migrate", login: "sqladmin", host: "bg-agent", addr: "10.0.2.4",
            since: new Date("2026-12-01T17:00:00.000Z"), lastRequest: new Date("2026-12-01T17:02:30.000Z"),
        }] });
        const lines: string[] = [];
        const run = createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api, lint: () => [], lockTimeoutMs: 5_000, log: (l) => lines.push(l) });
        await expect(run.up({ phase: "expand" })).rejects.toThrow(LockTimeoutError);
        expect(lines).toContain(
            `waiting up to 5 s for the migration lock: another runner holds it, by session ${other} (bluegreen-migrate, login sqladmin on bg-agent ` +
                "from 10.0.2.4), connected since 2026-12-01T17:00:00.000Z, last request started 2026-12-01T17:02:30.000Z",
        );
        const sql = fake.sqlTexts();
        const holderQuery = fake.calls.find((c) => c.sql?.includes("sys.dm_tran_locks"));
        expect(holderQuery?.params).toEqual({ resource: "bluegreen-migrations" });
        expect(holderQuery?.sql).toMatch(/resource_type = N'APPLICATION' AND l\.resource_database_id = DB_ID\(\) AND l\.request_status = N'GRANT'/);
        expect(sql.findIndex((q) => q.includes("sys.dm_tran_locks"))).toBeLessThan(sql.findIndex((q) => q.includes("sp_getapplock")));
    });

    it("says nothing and asks nothing about holders when the lock is free", async () => {
        const fake = new FakeMssql().when(/OBJECT_ID\(@table/, { recordset: [{ id: null }] });
        const lines: string[] = [];
        await createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api, lint: () => [], log: (l) => lines.push(l) }).up({ phase: "expand" });
        expect(lines.filter((l) => l.startsWith("waiting"))).toEqual([]);
        expect(fake.sqlTexts().filter((q) => q.includes("sys.dm_tran_locks"))).toEqual([]);
        expect(fake.sqlTexts().some((q) => q.includes("APPLOCK_TEST"))).toBe(true);
    });

    it("still waits, and says it cannot tell who holds the lock, when this login may not read sys.dm_tran_locks", async () => {
        const fake = new FakeMssql();
        fake.takeLockElsewhere("bluegreen-migrations");
        fake.when(/sys\.dm_tran_locks/, fakeRequestError("VIEW DATABASE STATE permission denied in database 'goals'.", { number: 297 }));
        const lines: string[] = [];
        const run = createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api, lint: () => [], lockTimeoutMs: 5_000, log: (l) => lines.push(l) });
        await expect(run.up({ phase: "expand" })).rejects.toThrow(LockTimeoutError);
        expect(lines.find((l) => l.startsWith("waiting"))).toMatch(/another runner holds it, by a session this runner cannot identify \(VIEW DATABASE STATE permission denied.*needs VIEW DATABASE STATE\)/);
        expect(fake.sqlTexts().some((q) => q.includes("sp_getapplock"))).toBe(true);
    });

    it("lets the lock request itself run longer than a long lock timeout", async () => {
        const fake = freshDatabase();
        await createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api, lint: () => [], lockTimeoutMs: 1_800_000 }).up({ phase: "expand" });
        expect(fake.calls.find((c) => c.sql?.includes("sp_getapplock"))?.params).toMatchObject({ timeout: 1_800_000 });
        expect(fake.configs[0].requestTimeout).toBeGreaterThan(1_800_000);
    });

    it.each([
        [-1, LockTimeoutError, /return code -1: timed out.*Another migration runner is running.*--lock-timeout/s],
        [-3, Error, /return code -3: the lock request was chosen as a deadlock victim/],
        [-999, Error, /return code -999: parameter validation/],
    ])("fails clearly on return code %i and applies nothing", async (code, type, message) => {
        const fake = new FakeMssql().when(/sp_getapplock/, { recordset: [{ result: code }] });
        const run = runnerOn(fake, "basic").up({ phase: "expand" });
        await expect(run).rejects.toThrow(type);
        await expect(runnerOn(fake, "basic").up({ phase: "expand" })).rejects.toThrow(message);
        expect(fake.calls.filter(isMigrationBatch)).toEqual([]);
        expect(fake.ops().filter((op) => op === "begin")).toEqual([]);
        expect(fake.ops().at(-1)).toBe("close");
    });
});

describe("errorLine", () => {
    const driver = new MssqlDriver(parseDatabaseUrl(URL), {}, new FakeMssql().api);
    const requestError = (info: Record<string, unknown>) => Object.assign(new Error("boom"), { code: "EREQUEST", ...info });

    it.each([
        ["a line in the batch", { lineNumber: 3, procName: "" }, 3],
        ["a line in the batch (tedious's error in originalError)", { originalError: { info: { lineNumber: 2, procName: "" } } }, 2],
        ["a line in a procedure the batch called, not in the batch", { lineNumber: 40, procName: "dbo.backfill_goal_name" }, undefined],
        ["no line", {}, undefined],
    ])("reports %s", (_, info, line) => {
        expect(driver.errorLine(requestError(info))).toBe(line);
    });
});

describe("the engine on the SQL Server driver", () => {
    it("runs each migration in its own transaction after SET XACT_ABORT ON, one batch per GO (repeated for GO n), journal row inside", async () => {
        const fake = freshDatabase();
        const result = await runnerOn(fake, "basic").up({ phase: "expand" });
        expect(result.applied).toEqual(["0001_create_goals.expand.sql", "0002_add_goal_title.expand.sql"]);

        const summary = fake.calls.map((c) => {
            const sql = c.sql ?? "";
            if (c.op !== "query" && c.op !== "batch") return c.op;
            if (sql.includes("sp_getapplock")) return "lock";
            if (sql.includes("APPLOCK_TEST")) return "lock free?";
            if (sql.includes("sp_releaseapplock")) return "unlock";
            if (sql.includes("SET LOCK_TIMEOUT")) return "lock_timeout";
            if (sql.includes("OBJECT_ID(@table")) return "journal?";
            if (sql.includes("CREATE TABLE dbo.migration_journal")) return "create journal";
            if (sql.includes("XACT_ABORT")) return "xact_abort";
            if (sql.includes("INSERT INTO dbo.migration_journal")) return `journal ${String(c.params?.name)} ${String(c.params?.state)}${c.tx ? " (in tx)" : ""}`;
            return `${c.op}: ${sql.trim().split("\n")[0]}`;
        });
        expect(summary).toEqual([
            "connect",
            "lock free?",
            "lock",
            "lock_timeout",
            "journal?",
            "create journal",
            "begin",
            "xact_abort",
            "batch: CREATE TABLE dbo.goals (",
            "batch: CREATE PROCEDURE dbo.GetGoals_v1",
            "batch: INSERT INTO dbo.goals (name) VALUES (N'seed');",
            "batch: INSERT INTO dbo.goals (name) VALUES (N'seed');",
            "journal 0001_create_goals.expand.sql applied (in tx)",
            "commit",
            "begin",
            "xact_abort",
            "batch: -- Expand: the new column, filled from the old one.",
            "batch: UPDATE dbo.goals SET title = name WHERE title IS NULL;",
            "journal 0002_add_goal_title.expand.sql applied (in tx)",
            "commit",
            "unlock",
            "close",
        ]);
        const batches = fake.calls.filter(isMigrationBatch);
        expect(batches.every((c) => c.tx !== undefined)).toBe(true);
        expect(batches.some((c) => /^\s*GO\b/im.test(c.sql ?? ""))).toBe(false);
    });

    it("rolls back a failing migration, names the file line from the batch's line number, and runs no later one", async () => {
        const fake = freshDatabase().when("dbo.no_such_table", fakeRequestError("Invalid object name 'dbo.no_such_table'.", { number: 208, lineNumber: 2 }));
        const err = await runnerOn(fake, "failing").up({ phase: "expand" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MigrationFailedError);
        expect((err as Error).message).toContain("0002_broken.expand.sql:4: batch 2 of 2 (lines 3-4) failed at line 4: Invalid object name 'dbo.no_such_table'.");
        expect((err as MigrationFailedError).line).toBe(4);
        expect(fake.ops().slice(-4)).toEqual(["batch", "rollback", "query", "close"]);
        expect(fake.sqlTexts().some((s) => s.includes("dbo.later"))).toBe(false);
        const journalWrites = fake.calls.filter((c) => c.sql?.includes("INSERT INTO dbo.migration_journal")).map((c) => c.params?.name);
        expect(journalWrites).toEqual(["0001_create_goals.expand.sql"]);
    });

    it("treats the EABORT of a transaction SQL Server already rolled back (XACT_ABORT) as rolled back", async () => {
        const fake = freshDatabase().when(
            "dbo.no_such_table",
            fakeRequestError("Lock request time out period exceeded.", { number: 1222, lineNumber: 1, abortsTransaction: true }),
        );
        await expect(runnerOn(fake, "failing").up({ phase: "expand" })).rejects.toThrow(/Lock request time out period exceeded.*rolled back each time/s);
        expect(fake.ops()).toContain("rollback");
    });

    it("runs a no-transaction migration without BEGIN and records it failed when a batch fails", async () => {
        const fake = freshDatabase().when("dbo.no_such_table", fakeRequestError("Invalid object name 'dbo.no_such_table'.", { number: 208, lineNumber: 1 }));
        await expect(runnerOn(fake, "notx").up({ phase: "expand" })).rejects.toThrow(/resolve 0002_partial\.expand\.sql --applied/);
        const partial = fake.calls.filter((c) => c.sql?.includes("part_one") || c.sql?.includes("no_such_table"));
        expect(partial.map((c) => c.tx)).toEqual([undefined, undefined]);
        // Journaled "unfinished" before its first batch, then "failed" with the error: the last write counts.
        const failed = fake.calls.filter((c) => c.params?.name === "0002_partial.expand.sql").pop();
        expect(failed?.params).toMatchObject({ state: "failed", error: expect.stringContaining("Invalid object name") });
        expect(failed?.tx).toBeUndefined();
    });

    it("refuses before taking any action when the journal has a failed migration", async () => {
        const fake = new FakeMssql()
            .when(/sp_getapplock/, { recordset: [{ result: 0 }] })
            .when(/OBJECT_ID\(@table/, { recordset: [{ id: 123 }] })
            .when(/SELECT name, phase/, {
                recordset: [
                    {
                        name: "0001_create_goals.expand.sql",
                        phase: "expand",
                        checksum: "0".repeat(64),
                        applied_at: new Date("2026-11-20T10:00:00Z"),
                        applied_by: "sqladmin",
                        duration_ms: 10,
                        state: "failed",
                        error: "boom",
                    },
                ],
            });
        await expect(runnerOn(fake, "basic").up({ phase: "expand" })).rejects.toThrow(RefusedError);
        expect(fake.ops()).not.toContain("begin");
        expect(fake.calls.filter(isMigrationBatch)).toEqual([]);
    });

    it("records the restore point (server time) before a contract run", async () => {
        const at = new Date("2026-11-23T12:00:00.123Z");
        const journalRows = ["0001_create_goals.expand.sql", "0002_add_goal_title.expand.sql"];
        const fake = new FakeMssql()
            .when(/sp_getapplock/, { recordset: [{ result: 0 }] })
            .when(/OBJECT_ID\(@table/, { recordset: [{ id: 123 }] })
            .when(/INSERT INTO dbo\.migration_restore_points/, { recordset: [{ recorded_at: at, recorded_by: "sqladmin", migrations: "0003_drop_goal_name.contract.sql" }] });
        // The journal rows must match the files' checksums: take them from the files.
        const files = loadMigrationDir(path.join(TSQL, "basic"));
        fake.when(/SELECT name, phase/, {
            recordset: files
                .filter((f) => journalRows.includes(f.name))
                .map((f) => ({ name: f.name, phase: f.phase, checksum: f.checksum, applied_at: at, applied_by: "x", duration_ms: 1, state: "applied", error: null })),
        });
        const result = await runnerOn(fake, "basic").up({ phase: "contract", runningVersions: ["2.0.0", "2.0.0"] });
        expect(result.restorePoint?.recordedAt).toEqual(at);
        const ops = fake.calls.map((c) => (c.sql?.includes("migration_restore_points") ? "restore point" : c.op));
        expect(ops.indexOf("restore point")).toBeLessThan(ops.indexOf("begin"));
        expect(fake.calls.find((c) => c.sql?.includes("INSERT INTO dbo.migration_restore_points"))?.sql).toContain("SYSUTCDATETIME()");
    });

    it("creates the app user through QUOTENAME'd dynamic SQL with the password only as a parameter", async () => {
        const fake = freshDatabase();
        await createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api }).ensureAppUser("app_user", "Pa55word!'x");
        const call = fake.calls.find((c) => c.sql?.includes("CREATE USER"));
        expect(call?.params).toEqual({ user: "app_user", password: "Pa55word!'x" });
        expect(call?.sql).not.toContain("Pa55word");
        expect(call?.sql).toMatch(/QUOTENAME\(@password, ''''\)/);
        expect(call?.sql).toMatch(/db_datareader.*db_datawriter.*GRANT EXECUTE ON SCHEMA::dbo/s);
        expect(call?.sql).toMatch(/DENY INSERT, UPDATE, DELETE ON dbo\.migration_journal/);
    });

    it("never changes the password of an existing user (the live color logs in with it), and says so", async () => {
        const lines: string[] = [];
        const fake = freshDatabase().when("CREATE USER", { recordset: [{ created: false }] });
        await createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api, log: (l) => lines.push(l) }).ensureAppUser("app_user", "Pa55word!x");
        const sql = fake.calls.find((c) => c.sql?.includes("CREATE USER"))?.sql ?? "";
        expect(sql).not.toMatch(/ALTER USER/);
        expect(sql).toMatch(/IF DATABASE_PRINCIPAL_ID\(@user\) IS NULL\s+BEGIN[\s\S]*CREATE USER[\s\S]*END/);
        expect(lines).toEqual([expect.stringMatching(/database user app_user ensured: it exists, grants re-applied, password left unchanged.*rotate/)]);
    });

    it("refuses CREATE USER ... WITH PASSWORD on a SQL Server database that is not contained, naming the fix (not error 33233)", async () => {
        const fake = freshDatabase();
        await createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api }).ensureAppUser("app_user", "Pa55word!x");
        const sql = fake.calls.find((c) => c.sql?.includes("CREATE USER"))?.sql ?? "";
        expect(sql).toMatch(/SERVERPROPERTY\('EngineEdition'\) AS int\) <> 5\s+AND \(SELECT containment FROM sys\.databases WHERE database_id = DB_ID\(\)\) = 0/);
        expect(sql).toMatch(/needs a contained database.*sp_configure ''contained database authentication'', 1; RECONFIGURE; .*SET CONTAINMENT = PARTIAL/s);
        expect(sql.indexOf("THROW 51002")).toBeLessThan(sql.indexOf("EXEC (N'CREATE USER"));
    });
});

describe("the lock that cannot be lost (sessions modelled: a failover replaces the pool's connection silently)", () => {
    const LOCK = "bluegreen-migrations";
    /** A fake whose session model grants the lock; the journal table does not exist yet. */
    const modelled = () => new FakeMssql().when(/OBJECT_ID\(@table/, { recordset: [{ id: null }] });
    const isWork = (c: FakeCall) =>
        isMigrationBatch(c) || c.op === "begin" || c.op === "commit" || /migration_journal|migration_restore_points/.test(c.sql ?? "");

    it("stops before the next migration when the lock's session was replaced after a commit, while another runner took the lock", async () => {
        const fake = modelled();
        let other: number | undefined;
        fake.after(
            (c) => c.op === "commit",
            () => {
                fake.dropConnection(1);
                other = fake.takeLockElsewhere(LOCK);
            },
            { times: 1 },
        );
        const err = await runnerOn(fake, "basic").up({ phase: "expand" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LockLostError);
        expect((err as Error).message).toMatch(/lock "bluegreen-migrations" was lost before starting a transaction.*npm run db -- status.*run up again/s);
        // Nothing of 0002 ran here, and every piece of work ran on a session that held the lock at the time.
        expect(fake.sqlTexts().some((s) => s.includes("ADD title"))).toBe(false);
        expect(fake.calls.filter(isWork).every((c) => c.locks?.includes(LOCK))).toBe(true);
        // The other runner keeps its lock: this runner neither released nor used it.
        expect(fake.applocks.get(LOCK)).toBe(other);
        expect(fake.ops().at(-1)).toBe("close");
    });

    it("stops between two no-transaction batches when the session was replaced: the second batch is never sent", async () => {
        const fake = modelled();
        fake.after("part_one", () => fake.dropConnection(1), { times: 1 });
        await expect(runnerOn(fake, "notx").up({ phase: "expand" })).rejects.toThrow(LockLostError);
        expect(fake.sqlTexts().some((s) => s.includes("no_such_table"))).toBe(false);
        expect(fake.calls.filter(isWork).every((c) => c.locks?.includes(LOCK))).toBe(true);
    });

    it("checks the lock in the same request as the journal write: a session that lost the lock writes nothing and rolls back", async () => {
        const fake = modelled();
        // The lock vanishes from the session (e.g. released by a statement of the migration) during 0001.
        fake.after("INSERT INTO dbo.goals", () => fake.applocks.delete(LOCK), { times: 1 });
        const err = await runnerOn(fake, "basic").up({ phase: "expand" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LockLostError);
        expect((err as Error).message).toMatch(/lost before writing the journal row of 0001_create_goals\.expand\.sql/);
        const write = fake.calls.find((c) => c.sql?.includes("INSERT INTO dbo.migration_journal"));
        expect(write?.sql).toMatch(/^IF APPLOCK_MODE\(N'public', N'bluegreen-migrations', N'Session'\) <> N'Exclusive' THROW 51000/);
        expect(fake.ops()).toContain("rollback");
        expect(fake.ops()).not.toContain("commit");
    });

    it("refuses to let the pool open a second session while the lock is held (mssql's beforeConnect closes it)", async () => {
        const fake = modelled();
        const driver = new MssqlDriver(parseDatabaseUrl(URL), {}, fake.api);
        await driver.connect();
        await driver.lock(1000);
        const sessionsBefore = fake.sessions.size;
        fake.dropConnection(1);
        await expect(driver.execBatch("SELECT 1")).rejects.toThrow(/lost before running a no-transaction batch \(The connection ended/);
        // One new connection was attempted and closed before login; no request ran on it.
        expect(fake.sessions.size).toBe(sessionsBefore + 1);
        expect(fake.sqlTexts().filter((s) => s === "SELECT 1")).toEqual([]);
        await driver.unlock();
        await driver.close();
    });
});

describe("migrations never stall the live app: lock timeout and bounded retry", () => {
    const lockTimeout = () => fakeRequestError("Lock request time out period exceeded.", { number: 1222, lineNumber: 1, abortsTransaction: true });
    const quick = { attempts: 3, baseDelayMs: 100, maxDelayMs: 150 };

    it("sets the session's LOCK_TIMEOUT (5 s by default, as a plain batch) right after taking the migration lock", async () => {
        const fake = freshDatabase();
        await runnerOn(fake, "basic").up({ phase: "expand" });
        const texts = fake.sqlTexts();
        const set = texts.findIndex((s) => /SET LOCK_TIMEOUT 5000;$/.test(s));
        expect(set).toBe(texts.findIndex((s) => s.includes("sp_getapplock")) + 1);
        expect(fake.calls.filter((c) => c.sql?.includes("SET LOCK_TIMEOUT"))[0].op).toBe("batch");
    });

    it("retries a transactional migration that hit the lock timeout, from its first batch, with backoff, saying so", async () => {
        const fake = freshDatabase().when("UPDATE dbo.goals SET title", lockTimeout(), { times: 2 });
        const lines: string[] = [];
        const waits: number[] = [];
        const runner = createRunner({
            url: URL,
            dir: path.join(TSQL, "basic"),
            mssqlApi: fake.api,
            lint: () => [],
            lockRetry: quick,
            sleep: async (ms) => void waits.push(ms),
            log: (l) => lines.push(l),
        });
        expect((await runner.up({ phase: "expand" })).applied).toEqual(["0001_create_goals.expand.sql", "0002_add_goal_title.expand.sql"]);
        expect(waits).toEqual([100, 150]);
        expect(lines).toContain("0002_add_goal_title.expand.sql: lock timeout (attempt 1 of 3); retrying the migration in 100 ms");
        expect(fake.sqlTexts().filter((s) => s.includes("ADD title"))).toHaveLength(3);
        expect(fake.ops().filter((op) => op === "rollback")).toHaveLength(2);
    });

    it("gives up after the last attempt: rolled back, the blocker query in the message, no later migration", async () => {
        const fake = freshDatabase().when("UPDATE dbo.goals SET title", lockTimeout());
        const runner = createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api, lint: () => [], lockRetry: quick, sleep: async () => undefined });
        const err = await runner.up({ phase: "expand" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MigrationFailedError);
        expect((err as Error).message).toMatch(/Lock request time out period exceeded\..*in each of 3 attempts \(rolled back each time.*blocking_session_id/s);
        expect((err as Error).message).not.toMatch(/Fix .* and run up again/);
        expect(fake.sqlTexts().filter((s) => s.includes("ADD title"))).toHaveLength(3);
    });

    it("retries a no-transaction batch of one statement alone (it changed nothing), and no earlier batch", async () => {
        const fake = freshDatabase().when("no_such_table", fakeRequestError("Lock request time out period exceeded.", { number: 1222, lineNumber: 1 }));
        const sleep = jest.fn(async () => undefined);
        const runner = createRunner({ url: URL, dir: path.join(TSQL, "notx"), mssqlApi: fake.api, lint: () => [], lockRetry: quick, sleep });
        await expect(runner.up({ phase: "expand" })).rejects.toThrow(/batch 2 of 2.*Lock request time out.*in each of 3 attempts\. Find the blocker/s);
        expect(fake.sqlTexts().filter((s) => s.includes("no_such_table"))).toHaveLength(3);
        expect(fake.sqlTexts().filter((s) => s.includes("CREATE TABLE dbo.part_one"))).toHaveLength(1);
        expect(sleep).toHaveBeenCalledTimes(2);
    });

    it("journals a no-transaction batch retried after a lock timeout once, when it has run: never done twice, never skipped", async () => {
        const fake = freshDatabase().when("no_such_table", fakeRequestError("Lock request time out period exceeded.", { number: 1222, lineNumber: 1 }), {
            times: 1,
        });
        const runner = createRunner({ url: URL, dir: path.join(TSQL, "notx"), mssqlApi: fake.api, lint: () => [], lockRetry: quick, sleep: async () => undefined });
        expect((await runner.up({ phase: "expand" })).applied).toContain("0002_partial.expand.sql");
        const work = fake.calls
            .filter((c) => c.params?.name === "0002_partial.expand.sql" || /part_one|no_such_table/.test(c.sql ?? ""))
            .map((c) => (c.params?.name ? `journal ${String(c.params.state)}: ${String(c.params.error ?? "")}` : `batch ${c.sql?.includes("part_one") ? 1 : 2}`));
        expect(work).toEqual([
            expect.stringMatching(/^journal failed: unfinished: started .*no batch done yet; batch 1 of 2 \(lines 1-2\) started/),
            "batch 1",
            expect.stringMatching(/^journal failed: unfinished: started .*batch 1 of 2 done.*; batch 2 of 2 \(lines 4-4\) started/),
            "batch 2",
            "batch 2",
            "journal applied: ",
        ]);
    });

    it("does not retry a no-transaction batch of several statements (part of it may be committed), and says so", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "notx-multi-"));
        fs.writeFileSync(path.join(dir, "0001_two.expand.sql"), "-- migrate:no-transaction\nCREATE TABLE dbo.a (id int);\nINSERT INTO dbo.a VALUES (1);\n");
        const fake = freshDatabase().when("INSERT INTO dbo.a", fakeRequestError("Lock request time out period exceeded.", { number: 1222, lineNumber: 2 }));
        const sleep = jest.fn(async () => undefined);
        const runner = createRunner({ url: URL, dir, mssqlApi: fake.api, lint: () => [], lockRetry: quick, sleep });
        await expect(runner.up({ phase: "expand" })).rejects.toThrow(/Lock request time out.*not retried: a no-transaction batch of several statements/s);
        expect(fake.sqlTexts().filter((s) => s.includes("INSERT INTO dbo.a"))).toHaveLength(1);
        expect(sleep).not.toHaveBeenCalled();
        expect(fake.calls.filter((c) => c.params?.name === "0001_two.expand.sql").pop()?.params).toMatchObject({
            state: "failed",
            error: expect.stringContaining("Lock request time out"),
        });
    });
});

describe("failures that keep their record, and messages that name the cause", () => {
    it("logs in with XACT_ABORT ON on every connection (tedious's abortTransactionOnError), not only in the runner's transactions", () => {
        expect(mssqlConfig(parseDatabaseUrl(URL)).options).toMatchObject({ abortTransactionOnError: true });
    });

    it("rolls back a transaction a failed no-transaction file left open before recording it failed, in the same request", async () => {
        const fake = freshDatabase().when("dbo.no_such_table", fakeRequestError("Invalid object name 'dbo.no_such_table'.", { number: 208, lineNumber: 1 }));
        await expect(runnerOn(fake, "notx").up({ phase: "expand" })).rejects.toThrow(MigrationFailedError);
        // Journaled "unfinished" before its first batch (and after each), then "failed" with the error: the last write.
        const writes = fake.calls.filter((c) => c.params?.name === "0002_partial.expand.sql");
        const failed = writes.pop();
        expect(failed?.params).toMatchObject({ state: "failed", error: expect.stringContaining("Invalid object name") });
        expect(failed?.sql).toMatch(/^IF APPLOCK_MODE[^\n]*\nIF @@TRANCOUNT > 0 ROLLBACK;\nUPDATE dbo\.migration_journal/);
        // The "unfinished" rows are no failure: they leave a transaction the file keeps open across batches alone.
        expect(writes.map((c) => c.params?.error)).toEqual([expect.stringMatching(/^unfinished: /), expect.stringMatching(/^unfinished: /)]);
        expect(writes.every((c) => !c.sql?.includes("@@TRANCOUNT"))).toBe(true);
        // A successful write, and a write inside the runner's own transaction, roll nothing back.
        const applied = fake.calls.filter((c) => c.params?.state === "applied");
        expect(applied.length).toBeGreaterThan(0);
        expect(applied.every((c) => !c.sql?.includes("@@TRANCOUNT"))).toBe(true);
    });

    it("names every server error of the batch (precedingErrors), not only the last one", async () => {
        const first = fakeRequestError("Cannot insert the value NULL into column 'name', table 'goals.dbo.later'.", { number: 515, lineNumber: 2 });
        const fake = freshDatabase().when(
            "dbo.no_such_table",
            fakeRequestError("The statement has been terminated.", { number: 3621, lineNumber: 2, precedingErrors: [first] }),
        );
        const err = await runnerOn(fake, "failing").up({ phase: "expand" }).catch((e: unknown) => e);
        expect((err as Error).message).toContain(
            "failed at line 4: Cannot insert the value NULL into column 'name', table 'goals.dbo.later'. (line 2) / The statement has been terminated.",
        );
    });

    it("reports a connection lost during COMMIT as outcome unknown, with the query that tells", async () => {
        const fake = freshDatabase().when(
            (c) => c.op === "commit",
            (c) => {
                fake.dropConnection(c.pool);
                return Object.assign(new Error("Connection lost - read ECONNRESET"), { name: "ConnectionError", code: "ESOCKET" });
            },
        );
        const err = await runnerOn(fake, "basic").up({ phase: "expand" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OutcomeUnknownError);
        expect((err as Error).message).toMatch(
            /COMMIT of 0001_create_goals\.expand\.sql was on its way \(Connection lost - read ECONNRESET\): the outcome is unknown.*SELECT state, applied_at FROM dbo\.migration_journal WHERE name = N'0001_create_goals\.expand\.sql'/s,
        );
        expect((err as Error).message).not.toMatch(/rolled back: the database and the journal are as they were/);
        expect(fake.sqlTexts().some((s) => s.includes("ADD title"))).toBe(false);
    });
});

describe("request timeouts per batch", () => {
    it("passes each batch its own request timeout: the long one for an online index build", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "online-index-"));
        fs.writeFileSync(path.join(dir, "0001_index.expand.sql"), "CREATE TABLE dbo.t (id int NOT NULL, a int NULL);\nGO\nCREATE INDEX ix_t_a ON dbo.t (a) WITH (ONLINE = ON);\n");
        const fake = freshDatabase();
        await createRunner({ url: URL, dir, mssqlApi: fake.api, lint: () => [], longRequestTimeoutMs: 6 * 3_600_000 }).up({ phase: "expand" });
        const timeoutOf = (text: string) => fake.calls.find((c) => c.sql?.startsWith(text))?.requestTimeout;
        expect(timeoutOf("CREATE TABLE dbo.t")).toBe(30 * 60 * 1000);
        expect(timeoutOf("CREATE INDEX ix_t_a")).toBe(6 * 3_600_000);
    });
});

describe("baseline on SQL Server (the recording fake)", () => {
    const checksumOf = (name: string) => loadMigrationDir(path.join(TSQL, "basic")).find((m) => m.name === name)!.checksum;

    it("records the migrations in one transaction under the lock, with their checksums and the baselined note, running none of them", async () => {
        const fake = freshDatabase();
        const names = await runnerOn(fake, "basic").baseline({ to: "0002_add_goal_title.expand.sql" });
        expect(names).toEqual(["0001_create_goals.expand.sql", "0002_add_goal_title.expand.sql"]);
        const writes = fake.calls.filter((c) => c.sql?.includes("INSERT INTO dbo.migration_journal"));
        expect(writes.map((c) => [c.params?.name, c.params?.checksum, c.params?.state, c.tx])).toEqual([
            ["0001_create_goals.expand.sql", checksumOf("0001_create_goals.expand.sql"), "applied", 1],
            ["0002_add_goal_title.expand.sql", checksumOf("0002_add_goal_title.expand.sql"), "applied", 1],
        ]);
        expect(String(writes[0].params?.error)).toMatch(/^baselined: recorded without running/);
        expect(writes.every((c) => c.locks?.includes("bluegreen-migrations"))).toBe(true);
        expect(fake.ops().filter((op) => op === "commit")).toHaveLength(1);
        expect(fake.calls.filter(isMigrationBatch)).toEqual([]);
        expect(fake.sqlTexts().some((q) => /CREATE TABLE dbo\.goals|ALTER TABLE dbo\.goals/.test(q))).toBe(false);
    });

    it("is refused, writing nothing, when the journal is not empty", async () => {
        const fake = new FakeMssql()
            .when(/OBJECT_ID\(@table/, { recordset: [{ id: 1 }] })
            .when(/FROM dbo\.migration_journal ORDER BY name/, { recordset: [{
                name: "0001_create_goals.expand.sql", phase: "expand", checksum: "0".repeat(64), applied_at: new Date(), applied_by: "sqladmin",
                duration_ms: 5, state: "applied", error: null,
            }] });
        await expect(runnerOn(fake, "basic").baseline({ to: "0001_create_goals.expand.sql" })).rejects.toThrow(RefusedError);
        await expect(runnerOn(fake, "basic").baseline({ to: "0001_create_goals.expand.sql" })).rejects.toThrow(/the journal already has 1 migration\(s\) \(0001_create_goals\.expand\.sql\)/);
        expect(fake.sqlTexts().filter((q) => q.includes("INSERT INTO dbo.migration_journal"))).toEqual([]);
        expect(fake.ops()).not.toContain("begin");
    });
});

describe("connecting to Azure SQL", () => {
    const quick = { attempts: 4, baseDelayMs: 5_000, maxDelayMs: 60_000 };

    it("waits out Microsoft's transient errors at login, saying each retry, then migrates", async () => {
        const fake = freshDatabase();
        fake.connectErrors.push(
            fakeLoginError("Database 'goals' on server 'bg-sql' is not currently available. Please retry the connection later."),
            fakeLoginError("The service is currently busy. Retry the request after 10 seconds. Incident ID: x. Code: 1."),
        );
        const lines: string[] = [];
        const waits: number[] = [];
        const runner = createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api, lint: () => [], log: (l) => lines.push(l), sleep: async (ms) => void waits.push(ms), connectRetry: quick });
        await runner.up({ phase: "expand" });
        expect(waits).toEqual([5_000, 10_000]);
        expect(lines.filter((l) => l.includes("retrying"))).toEqual([
            expect.stringMatching(/^connecting to mssql:\/\/sqladmin:\*+@bg-sql.* failed with 40613 \(database not currently available\), a transient error; retrying in 5 s \(attempt 1 of 4\)$/),
            expect.stringMatching(/failed with 40501 \(service busy\), a transient error; retrying in 10 s \(attempt 2 of 4\)$/),
        ]);
        expect(fake.ops().filter((op) => op === "connect")).toHaveLength(3);
        expect(fake.calls.some(isMigrationBatch)).toBe(true);
    });

    it("gives up after the last attempt with the code and the fix", async () => {
        const fake = freshDatabase();
        fake.connectError = fakeLoginError("Database 'goals' on server 'bg-sql' is not currently available. Please retry the connection later.");
        const runner = createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api, lint: () => [], sleep: async () => undefined, connectRetry: quick });
        await expect(runner.up({ phase: "expand" })).rejects.toThrow(/Cannot connect to .*\nconnecting to .* failed with 40613 .* in each of 4 attempts over 35 s\. .*pulumi config set retryTag/s);
        expect(fake.ops().filter((op) => op === "connect")).toHaveLength(4);
    });

    it.each([
        ["18456", "Login failed for user 'sqladmin'.", /which is not transient and was not retried: the user or password/],
        ["40615", "Cannot open server 'bg-sql' requested by the login. Client with IP address '198.51.100.7' is not allowed to access the server.", /run this from the release agent/],
    ])("does not retry %s and says what to change", async (_code, message, fix) => {
        const fake = freshDatabase();
        fake.connectError = fakeLoginError(message);
        const waits: number[] = [];
        const runner = createRunner({ url: URL, dir: path.join(TSQL, "basic"), mssqlApi: fake.api, lint: () => [], sleep: async (ms) => void waits.push(ms) });
        await expect(runner.up({ phase: "expand" })).rejects.toThrow(fix);
        expect(waits).toEqual([]);
        expect(fake.ops().filter((op) => op === "connect")).toHaveLength(1);
        expect(fake.calls.some(isMigrationBatch)).toBe(false);
    });
});
