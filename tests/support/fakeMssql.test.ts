import * as mssql from "mssql";
import { FakeMssql, fakeRequestError } from "./fakeMssql";

describe("the recording mssql fake", () => {
    it("records query text, parameters with their type names, and the transaction each call ran in", async () => {
        const fake = new FakeMssql();
        const pool = new fake.api.ConnectionPool({ server: "db", requestTimeout: 1000 });
        await pool.connect();
        await pool.request().input("name", mssql.NVarChar(200), "a").input("n", 3).query("SELECT @name, @n");
        const tx = pool.transaction();
        await tx.begin();
        await tx.request().batch("SET XACT_ABORT ON");
        await tx.commit();
        await pool.close();

        expect(fake.configs[0]).toEqual({ server: "db", requestTimeout: 1000 });
        expect(fake.ops()).toEqual(["connect", "query", "begin", "batch", "commit", "close"]);
        expect(fake.calls[1]).toEqual({
            op: "query",
            sql: "SELECT @name, @n",
            params: { name: "a", n: 3 },
            types: { name: "NVarChar" },
            pool: 1,
            session: 52,
            locks: [],
        });
        expect(fake.calls[3]).toMatchObject({ op: "batch", tx: 1 });
    });

    it("answers with the first matching scripted rule and honours times", async () => {
        const fake = new FakeMssql();
        fake.when(/sp_getapplock/, { recordset: [{ result: -1 }] }, { times: 1 });
        fake.when("sp_getapplock", { recordset: [{ result: 0 }] });
        const pool = new fake.api.ConnectionPool({ server: "db" });
        const first = await pool.request().query("EXEC sp_getapplock");
        const second = await pool.request().query("EXEC sp_getapplock");
        const other = await pool.request().query("SELECT 1");
        expect(first.recordset).toEqual([{ result: -1 }]);
        expect(second.recordset).toEqual([{ result: 0 }]);
        expect(other.recordset).toEqual([]);
    });

    it("throws scripted errors shaped like mssql's RequestError, and an aborted transaction refuses commit", async () => {
        const fake = new FakeMssql();
        fake.when("boom", fakeRequestError("Invalid object name 'x'.", { number: 208, lineNumber: 2, abortsTransaction: true }));
        const pool = new fake.api.ConnectionPool({ server: "db" });
        const tx = new fake.api.Transaction(pool);
        await tx.begin();
        await expect(tx.request().batch("boom")).rejects.toMatchObject({ name: "RequestError", number: 208, lineNumber: 2 });
        await expect(tx.commit()).rejects.toMatchObject({ code: "EABORT" });
    });

    it("makes connect fail when connectError is set", async () => {
        const fake = new FakeMssql();
        fake.connectError = new Error("Login failed for user 'x'.");
        await expect(new fake.api.ConnectionPool({ server: "db" }).connect()).rejects.toThrow("Login failed");
    });

    it("replaces a dropped connection silently on the next borrow: same pool, new session, the session's lock gone, no error", async () => {
        // The old fake named only the pool: a test could not tell that the lock had gone with the first session.
        const fake = new FakeMssql();
        const pool = new fake.api.ConnectionPool({ server: "db" });
        await pool.connect();
        await pool.request().input("resource", "L").query("EXEC sp_getapplock @Resource = @resource");
        fake.dropConnection(pool.id);
        await pool.request().query("SELECT 2");
        const [locked, after] = fake.calls.filter((c) => c.op === "query");
        expect(locked).toMatchObject({ pool: 1, locks: [] });
        expect(after.pool).toBe(1);
        expect(after.session).not.toBe(locked.session);
        expect(after.locks).toEqual([]);
        expect(fake.applocks.size).toBe(0);
    });

    it("grants sp_getapplock per session: another session gets -1 until the holder's session ends", async () => {
        const fake = new FakeMssql();
        const a = new fake.api.ConnectionPool({ server: "db" });
        const b = new fake.api.ConnectionPool({ server: "db" });
        const take = (p: typeof a) => p.request().input("resource", "L").query("EXEC sp_getapplock @Resource = @resource");
        expect((await take(a)).recordset).toEqual([{ result: 0 }]);
        expect((await take(b)).recordset).toEqual([{ result: -1 }]);
        fake.dropConnection(a.id);
        expect((await take(b)).recordset).toEqual([{ result: 0 }]);
    });

    it("throws from a lock guard when the session does not hold the lock, before anything else in the request runs", async () => {
        const fake = new FakeMssql();
        const pool = new fake.api.ConnectionPool({ server: "db" });
        const guarded = "IF APPLOCK_MODE(N'public', N'L', N'Session') <> N'Exclusive' THROW 51000, N'no lock', 1;\nSELECT 1";
        await expect(pool.request().query(guarded)).rejects.toMatchObject({ number: 51000, message: "no lock" });
        await pool.request().input("resource", "L").query("EXEC sp_getapplock @Resource = @resource");
        await expect(pool.request().query(guarded)).resolves.toBeDefined();
    });

    it("keeps a transaction on its connection: after a drop its requests and its commit fail, nothing moves to a new session", async () => {
        const fake = new FakeMssql();
        const pool = new fake.api.ConnectionPool({ server: "db" });
        const tx = pool.transaction();
        await tx.begin();
        fake.dropConnection(pool.id);
        await expect(tx.request().batch("SELECT 1")).rejects.toMatchObject({ code: "EINVALIDSTATE" });
        await expect(tx.commit()).rejects.toMatchObject({ code: "EINVALIDSTATE" });
    });

    it("models a transaction the server aborted (XACT_ABORT): later requests get ENOTBEGUN, rollback EABORT", async () => {
        const fake = new FakeMssql().when("boom", fakeRequestError("Lock request time out period exceeded.", { number: 1222, abortsTransaction: true }));
        const pool = new fake.api.ConnectionPool({ server: "db" });
        const tx = pool.transaction();
        await tx.begin();
        await expect(tx.request().batch("boom")).rejects.toMatchObject({ number: 1222 });
        await expect(tx.request().batch("SELECT 1")).rejects.toMatchObject({ name: "TransactionError", code: "ENOTBEGUN" });
        await expect(tx.rollback()).rejects.toMatchObject({ code: "EABORT" });
    });

    it("carries the batch's earlier server errors in precedingErrors, as mssql does", async () => {
        const first = fakeRequestError("Cannot insert the value NULL into column 'name'.", { number: 515 });
        const fake = new FakeMssql().when("bad", fakeRequestError("The statement has been terminated.", { number: 3621, precedingErrors: [first] }));
        const pool = new fake.api.ConnectionPool({ server: "db" });
        await expect(pool.request().batch("bad")).rejects.toMatchObject({ number: 3621, precedingErrors: [first] });
    });
});
