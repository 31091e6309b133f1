import { Client } from "pg";
import { startPostgres, TestPostgres } from "./postgres";

describe("test PostgreSQL", () => {
    let pg: TestPostgres;
    beforeAll(async () => { pg = await startPostgres(); }, 60000);
    afterAll(async () => { await pg?.stop(); });

    it("starts a real server that answers queries in a fresh database", async () => {
        const url = await pg.createDatabase("support_check");
        const c = new Client({ connectionString: url });
        await c.connect();
        const r = await c.query("select current_database() as db, version() as v");
        await c.end();
        expect(r.rows[0].db).toBe("support_check");
        expect(r.rows[0].v).toMatch(/PostgreSQL/);
    });
});
