import * as path from "path";
import { Client } from "pg";
import { loadMigrationDir, MigrationFile } from "../../../migrator/migrationFile";
import { LocalPostgres, startPostgres } from "../../support/postgres";

/**
 * The PostgreSQL twins of the shipped migrations on a real PostgreSQL, played the way a release uses them:
 * 1.x writes title only, 2.x writes name only, and both must see each other's rows while both run.
 */
const files = loadMigrationDir(path.join(__dirname, "..", "..", "..", "migrations", "postgres"), { dialect: "postgres" });

describe("the PostgreSQL twins of the shipped migrations", () => {
    let pg: LocalPostgres;
    let client: Client;

    beforeAll(async () => {
        pg = await startPostgres();
        client = new Client({ connectionString: await pg.createDatabase("twins") });
        await client.connect();
    }, 60000);

    afterAll(async () => {
        await client?.end();
        await pg?.stop();
    });

    async function apply(file: MigrationFile): Promise<void> {
        for (const batch of file.batches) {
            for (let i = 0; i < batch.repeat; i++) await client.query(batch.sql);
        }
    }
    const v1Insert = (title: string) => client.query("INSERT INTO goals (title) VALUES ($1) RETURNING id", [title]);
    const v2Insert = (name: string) => client.query("INSERT INTO goals (name) VALUES ($1) RETURNING id", [name]);

    it("keep 1.x and 2.x working through expand, backfill and contract", async () => {
        await apply(files[0]);
        for (let i = 0; i < 2500; i++) await v1Insert(`old goal ${i}`);
        expect((await client.query("SELECT count(*)::int AS n FROM get_goals_v1(5000)")).rows[0].n).toBe(2500);

        await apply(files[1]);
        // Both versions run now: each one's writes show up in the other one's column.
        await v1Insert("written by 1.x");
        await v2Insert("written by 2.x");
        const rows = (await client.query("SELECT title, name FROM goals WHERE title LIKE 'written%' OR name LIKE 'written%' ORDER BY id")).rows;
        expect(rows).toEqual([{ title: "written by 1.x", name: "written by 1.x" }, { title: "written by 2.x", name: "written by 2.x" }]);
        await client.query("UPDATE goals SET title = 'renamed by 1.x' WHERE title = 'written by 1.x'");
        expect((await client.query("SELECT name FROM goals WHERE title = 'renamed by 1.x'")).rows).toEqual([{ name: "renamed by 1.x" }]);
        expect((await client.query("SELECT count(*)::int AS n FROM goals WHERE name IS NULL")).rows[0].n).toBe(2500);

        await apply(files[2]);
        await apply(files[2]); // safe to re-run
        expect((await client.query("SELECT count(*)::int AS n FROM goals WHERE name IS NULL OR name <> title")).rows[0].n).toBe(0);
        expect((await client.query("SELECT name FROM get_goals_v2(1)")).rows).toEqual([{ name: "written by 2.x" }]);

        await apply(files[3]);
        await v2Insert("after contract");
        const columns = (await client.query("SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = 'goals' ORDER BY ordinal_position")).rows;
        expect(columns).toEqual([
            { column_name: "id", is_nullable: "NO" }, { column_name: "created_at", is_nullable: "NO" }, { column_name: "name", is_nullable: "NO" },
        ]);
        await expect(client.query("SELECT * FROM get_goals_v1(1)")).rejects.toThrow(/does not exist/);
        expect((await client.query("SELECT count(*)::int AS n FROM get_goals_v2(10000)")).rows[0].n).toBe(2503);
    }, 60000);
});
