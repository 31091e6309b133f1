/**
 * The runner's scenarios (tests/migrator/runnerScenarios.ts) against a real SQL Server, when MSSQL_URL is set, e.g.
 *
 *   docker run -e ACCEPT_EULA=Y -e MSSQL_SA_PASSWORD='Str0ng!Passw0rd' -p 1433:1433 mcr.microsoft.com/mssql/server:2022-latest
 *   MSSQL_URL='mssql://sa:Str0ng%21Passw0rd@127.0.0.1:1433/master?encrypt=false' npx jest tests/migrator/mssqlRunner.int.test.ts
 *
 * The URL's login must be allowed to create databases; each test gets its own (dropped after the suite).
 * Without MSSQL_URL the suite is skipped and says why.
 */
import * as mssql from "mssql";
import * as path from "path";
import { parseDatabaseUrl } from "../../migrator/databaseUrl";
import { mssqlConfig } from "../../migrator/drivers/mssql";
import { createRunner } from "../../migrator/runner";
import { runnerScenarios, ScenarioTarget } from "./runnerScenarios";

const MSSQL_URL = process.env.MSSQL_URL;
const created: string[] = [];

async function withPool<T>(url: string, fn: (pool: mssql.ConnectionPool) => Promise<T>): Promise<T> {
    const pool = new mssql.ConnectionPool(mssqlConfig(parseDatabaseUrl(url), { requestTimeoutMs: 60_000 }));
    await pool.connect();
    try {
        return await fn(pool);
    } finally {
        await pool.close();
    }
}

function urlFor(database: string): string {
    const u = new URL(MSSQL_URL as string);
    u.pathname = `/${database}`;
    return u.toString();
}

const mssqlTarget: ScenarioTarget = {
    fixtures: path.join(__dirname, "..", "fixtures", "migrations", "tsql"),
    async newDatabase() {
        const name = `runner_${process.pid}_${created.length + 1}`;
        // Contained, as Azure SQL Database is: ensure-app-user creates a user WITH PASSWORD (33233 otherwise).
        await withPool(MSSQL_URL as string, (p) =>
            p.request().batch(`EXEC sp_configure 'contained database authentication', 1; RECONFIGURE; CREATE DATABASE [${name}] CONTAINMENT = PARTIAL;`),
        );
        created.push(name);
        return urlFor(name);
    },
    async query<T extends Record<string, unknown>>(url: string, sql: string) {
        return withPool(url, async (p) => (await p.request().query(sql)).recordset as unknown as T[]);
    },
    async tableExists(url, table) {
        const rows = await withPool(url, async (p) => (await p.request().input("t", mssql.NVarChar(256), `dbo.${table}`).query("SELECT OBJECT_ID(@t, N'U') AS id")).recordset);
        return rows[0].id !== null;
    },
    async holdLock(url) {
        const pool = new mssql.ConnectionPool({ ...mssqlConfig(parseDatabaseUrl(url)), pool: { min: 1, max: 1 } });
        await pool.connect();
        const r = await pool
            .request()
            .query("DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'bluegreen-migrations', @LockMode = 'Exclusive', @LockOwner = 'Session'; SELECT @r AS result;");
        if (Number(r.recordset[0].result) < 0) throw new Error("test could not take the lock");
        return () => pool.close();
    },
};

if (!MSSQL_URL) {
    console.log("Skipping the SQL Server runner suite: set MSSQL_URL (e.g. a SQL Server container, see the top of this file) to run it.");
    describe.skip("the migration runner on a real SQL Server (skipped: MSSQL_URL is not set)", () => {
        it("runs the same scenarios as on PostgreSQL", () => undefined);
    });
} else {
    describe("the migration runner on a real SQL Server", () => {
        afterAll(async () => {
            for (const name of created) {
                await withPool(MSSQL_URL, (p) =>
                    p.request().batch(`ALTER DATABASE [${name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [${name}];`),
                );
            }
        }, 60_000);

        runnerScenarios(() => mssqlTarget);

        it("ensure-app-user creates a contained user the app can log in as, and leaves its password alone afterwards", async () => {
            const url = await mssqlTarget.newDatabase();
            const runner = createRunner({ url, dir: path.join(__dirname, "..", "fixtures", "migrations", "tsql", "basic"), lint: () => [] });
            await runner.up({ phase: "expand" });
            await runner.ensureAppUser("app_user", "First_Passw0rd!");
            await runner.ensureAppUser("app_user", "Second_Passw0rd!");
            const asApp = (password: string) => {
                const u = new URL(url);
                u.username = "app_user";
                u.password = encodeURIComponent(password);
                return u.toString();
            };
            expect(await mssqlTarget.query(asApp("First_Passw0rd!"), "SELECT COUNT(*) AS n FROM dbo.goals")).toEqual([{ n: expect.any(Number) }]);
            await expect(mssqlTarget.query(asApp("Second_Passw0rd!"), "SELECT 1 AS one")).rejects.toThrow(/Login failed/);
            await expect(mssqlTarget.query(asApp("First_Passw0rd!"), "DELETE FROM dbo.migration_journal")).rejects.toThrow(/permission was denied/);
        }, 60_000);

        it("ensure-app-user on a database that is not contained says what to change instead of failing with 33233", async () => {
            const name = `runner_${process.pid}_plain`;
            await withPool(MSSQL_URL, (p) => p.request().batch(`CREATE DATABASE [${name}];`));
            created.push(name);
            const runner = createRunner({ url: urlFor(name), dir: path.join(__dirname, "..", "fixtures", "migrations", "tsql", "basic"), lint: () => [] });
            await expect(runner.ensureAppUser("app_user", "First_Passw0rd!")).rejects.toThrow(/needs a contained database.*SET CONTAINMENT = PARTIAL/s);
        }, 60_000);
    });
}
