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
});
