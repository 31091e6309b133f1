// The app's SQL Server store against a recording fake of the mssql API (tests/support/fakeMssql.ts): query text and
// parameters. Not run against a real SQL Server on this machine.
import { goalSchemaFor } from "../../app/src/store/goalStore";
import { MssqlDriver, mssqlConfigFromUrl, openMssqlGoalStore } from "../../app/src/store/mssqlGoalStore";
import { FakeMssql, fakeRequestError } from "../support/fakeMssql";

const URL_ = "mssql://app_user:p%40ss%3Bword@bg-sql.database.windows.net:1433/appdb";

function setup(version = "1.0.0") {
    const fake = new FakeMssql();
    const store = openMssqlGoalStore(URL_, goalSchemaFor(version), fake.api as unknown as MssqlDriver);
    return { fake, store };
}

describe("MssqlGoalStore", () => {
    it("connects with the settings from DATABASE_URL, TLS on by default", async () => {
        const { fake, store } = setup();
        await (await store).ping();
        expect(fake.configs[0]).toMatchObject({
            server: "bg-sql.database.windows.net",
            port: 1433,
            database: "appdb",
            user: "app_user",
            password: "p@ss;word",
            options: { encrypt: true, trustServerCertificate: false, appName: "bluegreen-app" },
        });
        expect(fake.ops()).toEqual(["connect", "query"]);
        expect(fake.sqlTexts()).toEqual(["SELECT 1 AS ok"]);
    });

    it("connects once for many requests", async () => {
        const { fake, store } = setup();
        const s = await store;
        await Promise.all([s.ping(), s.list(5), s.ping()]);
        expect(fake.ops().filter((op) => op === "connect")).toHaveLength(1);
    });

    it.each([
        ["1.0.0", "dbo.GetGoals_v1", "title"],
        ["2.0.0", "dbo.GetGoals_v2", "name"],
    ])("%s lists the newest goals with %s, @limit an Int parameter", async (version, procedure, column) => {
        const { fake, store } = setup(version);
        fake.when(procedure, { recordset: [{ id: 7, [column]: "Run", created_at: new Date("2026-11-23T10:00:00Z") }] });
        const goals = await (await store).list(5);
        expect(goals).toEqual([{ id: 7, title: "Run", createdAt: "2026-11-23T10:00:00.000Z" }]);
        const call = fake.calls.find((c) => c.op === "execute");
        expect(call?.sql).toBe(procedure);
        expect(call?.params).toEqual({ limit: 5 });
        expect(call?.types).toEqual({ limit: "Int" });
    });

    it.each([
        ["1.0.0", "title"],
        ["2.0.0", "name"],
    ])("%s adds a goal into [%s] as an NVarChar parameter, without OUTPUT (refused on tables with triggers)", async (version, column) => {
        const { fake, store } = setup(version);
        const title = "Swim'; DROP TABLE goals;--";
        fake.when(/INSERT INTO dbo\.goals/, { recordset: [{ id: 8, [column]: title, created_at: new Date("2026-11-23T10:00:00Z") }] });
        const goal = await (await store).add(title);
        expect(goal).toEqual({ id: 8, title, createdAt: "2026-11-23T10:00:00.000Z" });
        const call = fake.calls.find((c) => c.op === "query");
        expect(call?.sql).toBe(
            `INSERT INTO dbo.goals ([${column}]) VALUES (@title);\nSELECT id, [${column}], created_at FROM dbo.goals WHERE id = SCOPE_IDENTITY();`,
        );
        expect(call?.sql).not.toMatch(/OUTPUT/);
        expect(call?.params).toEqual({ title });
        expect(call?.types).toEqual({ title: "NVarChar" });
    });

    it("retries the connection on the next call after a failed connect", async () => {
        const { fake, store } = setup();
        const s = await store;
        fake.connectError = new Error("Login failed");
        await expect(s.ping()).rejects.toThrow("Login failed");
        fake.connectError = undefined;
        await s.ping();
        expect(fake.ops()).toEqual(["connect", "connect", "query"]);
    });

    it("closes the pool", async () => {
        const { fake, store } = setup();
        await (await store).close();
        expect(fake.ops()).toEqual(["close"]);
    });
});

describe("mssqlConfigFromUrl", () => {
    it("logs in with the VM's managed identity when asked, with no password", () => {
        const config = mssqlConfigFromUrl("sqlserver://bg-sql.database.windows.net/appdb?authentication=azure-active-directory-msi-vm&clientId=abc");
        expect(config.authentication).toEqual({ type: "azure-active-directory-msi-vm", options: { clientId: "abc" } });
        expect(config.password).toBeUndefined();
        expect(config.port).toBe(1433);
    });

    it("reads encrypt=True (any letter case) as true, as the migration runner does", () => {
        expect(mssqlConfigFromUrl("mssql://u:p@localhost:14330/db?encrypt=True&trustServerCertificate=FALSE").options).toMatchObject({
            encrypt: true,
            trustServerCertificate: false,
        });
    });

    it("validates pooled connections by their socket, not with a SELECT 1 round trip per request", () => {
        expect(mssqlConfigFromUrl(URL_).validateConnection).toBe("socket");
    });

    it("honours encrypt and trustServerCertificate", () => {
        expect(mssqlConfigFromUrl("mssql://u:p@localhost:14330/db?encrypt=false&trustServerCertificate=true").options).toMatchObject({
            encrypt: false,
            trustServerCertificate: true,
        });
    });

    it.each([
        ["mssql://u:secret@host:1433", /must name a host and one database/],
        ["mssql://u:secret@host/db?authentication=ntlm", /authentication=ntlm; only azure-active-directory-msi-vm/],
        ["mssql://u:secret@[bad/db", /not a valid URL/],
        ["mssql://u:secret@host/db?encrypt=yes", /has encrypt=yes: use encrypt=true or encrypt=false/],
        ["mssql://u:secret@host/db?trustServerCertificate=1", /has trustServerCertificate=1: use trustServerCertificate=true/],
    ])("refuses %s without printing the password", (url, message) => {
        expect(() => mssqlConfigFromUrl(url)).toThrow(message);
        expect(() => mssqlConfigFromUrl(url)).toThrow(/^((?!secret).)*$/s);
    });
});

describe("MssqlGoalStore on Azure SQL's transient errors", () => {
    const transient = () => fakeRequestError("Database 'appdb' on server 'bg-sql' is not currently available.", { number: 40613 });
    const open = (fake: FakeMssql, waits: number[]) =>
        openMssqlGoalStore(URL_, goalSchemaFor("1.0.0"), fake.api as unknown as MssqlDriver, { sleep: async (ms) => void waits.push(ms), onRetry: () => undefined });

    it("retries a read and a ping after a transient error, with doubling waits", async () => {
        const waits: number[] = [];
        const fake = new FakeMssql()
            .when("dbo.GetGoals_v1", transient(), { times: 2 })
            .when("dbo.GetGoals_v1", { recordset: [] })
            .when("SELECT 1 AS ok", fakeRequestError("Transaction (Process ID 71) was deadlocked", { number: 1205 }), { times: 1 });
        const store = await open(fake, waits);
        await expect(store.list(5)).resolves.toEqual([]);
        await expect(store.ping()).resolves.toBeUndefined();
        expect(waits).toEqual([200, 400, 200]);
        expect(fake.calls.filter((c) => c.sql === "dbo.GetGoals_v1")).toHaveLength(3);
    });

    it("says each retry with its code (the default is a db-retry JSON line), and retries every code on Microsoft's list", async () => {
        const retries: unknown[] = [];
        const fake = new FakeMssql()
            .when("dbo.GetGoals_v1", fakeRequestError("Too many operations in progress", { number: 49920 }), { times: 1 })
            .when("dbo.GetGoals_v1", { recordset: [] });
        const store = await openMssqlGoalStore(URL_, goalSchemaFor("1.0.0"), fake.api as unknown as MssqlDriver, { sleep: async () => undefined, onRetry: (r) => void retries.push(r) });
        await store.list(5);
        expect(retries).toEqual([{ code: "49920", attempt: 1, attempts: 3, retryInMs: 200 }]);
    });

    it("never retries a refused login, even when a transient error preceded it", async () => {
        const fake = new FakeMssql().when("SELECT 1 AS ok", fakeRequestError("Login failed for user 'app_user'.", { number: 18456, precedingErrors: [fakeRequestError("busy", { number: 40501 })] }));
        const store = await open(fake, []);
        await expect(store.ping()).rejects.toThrow(/Login failed/);
        expect(fake.calls.filter((c) => c.sql === "SELECT 1 AS ok")).toHaveLength(1);
    });

    it("gives up after 3 attempts, and never retries a write (it may have committed) or a non-transient error", async () => {
        const waits: number[] = [];
        const fake = new FakeMssql()
            .when("dbo.GetGoals_v1", transient())
            .when("INSERT INTO dbo.goals", transient())
            .when("SELECT 1 AS ok", fakeRequestError("Invalid object name 'x'.", { number: 208 }));
        const store = await open(fake, waits);
        await expect(store.list(5)).rejects.toThrow(/not currently available/);
        expect(fake.calls.filter((c) => c.sql === "dbo.GetGoals_v1")).toHaveLength(3);
        await expect(store.add("Run")).rejects.toThrow(/not currently available/);
        expect(fake.calls.filter((c) => c.sql?.startsWith("INSERT INTO dbo.goals"))).toHaveLength(1);
        await expect(store.ping()).rejects.toThrow(/Invalid object name/);
        expect(fake.calls.filter((c) => c.sql === "SELECT 1 AS ok")).toHaveLength(1);
    });
});
