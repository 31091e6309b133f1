/**
 * The runner when its connection dies mid-migration, on a real PostgreSQL: the session is terminated from outside
 * (pg_terminate_backend) or the server is stopped while a batch, or the COMMIT, runs. The runner must end with the
 * file, batch and line, whether the batch is known to be committed, and what to do next — never a stack trace,
 * never a no-transaction migration run twice.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createRunner, MigrationFailedError, RefusedError } from "../../migrator/runner";
import { query, startPostgres, TestPostgres } from "../support/postgres";

let pg: TestPostgres;
let databases = 0;
const tempDirs: string[] = [];


/** A migrations directory holding `files` (name → SQL). */
function migrations(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-drop-"));
    tempDirs.push(dir);
    for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
    return dir;
}

/** Waits until the runner's session runs a statement matching `like`, and returns its pid. */
async function runnerSession(url: string, like: string): Promise<number> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
        const rows = await query<{ pid: number }>(
            url,
            `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'bluegreen-migrator' AND state = 'active' AND query LIKE '${like}'`,
        );
        if (rows.length > 0) return rows[0].pid;
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the runner never ran ${like}`);
}

const terminate = (url: string, pid: number) => query(url, `SELECT pg_terminate_backend(${pid})`);

const NOTX = {
    "0001_events.expand.sql": "CREATE TABLE events (id serial PRIMARY KEY, what text NOT NULL);\n",
    "0002_backfill.expand.sql":
        "-- migrate:no-transaction\nINSERT INTO events (what) VALUES ('backfilled');\nGO\nSELECT pg_sleep(30);\nGO\nCREATE TABLE after_sleep (id int);\n",
};

describe("the runner when the connection drops mid-migration (real PostgreSQL)", () => {
    beforeAll(async () => {
        pg = await startPostgres();
    }, 60_000);
    afterAll(async () => {
        await pg?.stop();
        for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
    });

    it("a no-transaction migration cut off half-way is journaled unfinished and never run again from its start", async () => {
        const url = await pg.createDatabase(`drop_${++databases}`);
        const runner = createRunner({ url, dir: migrations(NOTX) });
        const up = runner.up({ phase: "expand" }).catch((e: unknown) => e);
        await terminate(url, await runnerSession(url, "%SELECT pg_sleep%"));
        const err = (await up) as Error;

        expect(err).toBeInstanceOf(MigrationFailedError);
        expect(err.message).toContain("0002_backfill.expand.sql:4: batch 2 of 3 (lines 4-4) failed: terminating connection");
        expect(err.message).toMatch(/connection to the database was lost/);
        expect(err.message).toMatch(/batch 1 before it stayed applied \(known\), whether batch 2 \(lines 4-4\) took effect is UNKNOWN/);
        expect(err.message).toContain("npm run db -- resolve 0002_backfill.expand.sql --applied");
        const row = await query<{ state: string; error: string }>(url, "SELECT state, error FROM migration_journal WHERE name = '0002_backfill.expand.sql'");
        expect(row).toEqual([{ state: "failed", error: expect.stringMatching(/^unfinished: started .*batch 1 of 3 done.*batch 2 of 3 \(lines 4-4\) started/) }]);

        const again = runner.up({ phase: "expand" });
        await expect(again).rejects.toThrow(RefusedError);
        await expect(again).rejects.toThrow(/0002_backfill\.expand\.sql did not finish.*batch 1 of 3 done.*resolve 0002_backfill\.expand\.sql --rolled-back/s);
        expect(await query(url, "SELECT what FROM events")).toEqual([{ what: "backfilled" }]);
        expect((await runner.status()).migrations.map((m) => m.state)).toEqual(["applied", "failed"]);
    }, 30_000);

    it("the journal row is written before the first batch, so a runner killed during it leaves a refusal, not a re-run", async () => {
        const url = await pg.createDatabase(`drop_${++databases}`);
        const dir = migrations({ ...NOTX, "0002_backfill.expand.sql": "-- migrate:no-transaction\nSELECT pg_sleep(30);\nGO\nINSERT INTO events (what) VALUES ('x');\n" });
        const up = createRunner({ url, dir }).up({ phase: "expand" }).catch((e: unknown) => e);
        const pid = await runnerSession(url, "%SELECT pg_sleep%");
        const row = await query<{ error: string }>(url, "SELECT error FROM migration_journal WHERE name = '0002_backfill.expand.sql'");
        expect(row).toEqual([{ error: expect.stringMatching(/^unfinished: started .*no batch done yet; batch 1 of 2 \(lines 1-2\) started/) }]);
        await terminate(url, pid);
        await up;
        await expect(createRunner({ url, dir }).up({ phase: "expand" })).rejects.toThrow(/did not finish/);
    }, 30_000);

    it("a drop inside a transactional migration says it is known rolled back and to run up again", async () => {
        const url = await pg.createDatabase(`drop_${++databases}`);
        const dir = migrations({
            "0001_events.expand.sql": "CREATE TABLE events (id serial PRIMARY KEY);\nGO\nSELECT pg_sleep(30);\n",
        });
        const up = createRunner({ url, dir }).up({ phase: "expand" }).catch((e: unknown) => e);
        await terminate(url, await runnerSession(url, "%SELECT pg_sleep%"));
        const err = (await up) as Error;
        expect(err).toBeInstanceOf(MigrationFailedError);
        expect(err.message).toContain("0001_events.expand.sql:3: batch 2 of 2 (lines 3-3) failed: terminating connection");
        expect(err.message).toMatch(/never committed.*none of it is applied \(known\).*run up again/s);
        expect(await query(url, "SELECT to_regclass('events')::text AS t")).toEqual([{ t: null }]);
    }, 30_000);

    it("a drop during COMMIT says the outcome is unknown and how to find out", async () => {
        const url = await pg.createDatabase(`drop_${++databases}`);
        // A deferred constraint trigger runs at COMMIT: it makes the COMMIT slow enough to cut.
        const dir = migrations({
            "0001_slow_commit.expand.sql":
                "CREATE TABLE t (id int);\n" +
                "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;\n" +
                "CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow();\n" +
                "INSERT INTO t VALUES (1);\n",
        });
        const up = createRunner({ url, dir }).up({ phase: "expand" }).catch((e: unknown) => e);
        await terminate(url, await runnerSession(url, "COMMIT"));
        const err = (await up) as Error;
        expect(err).toBeInstanceOf(MigrationFailedError);
        expect(err.message).toMatch(/0001_slow_commit\.expand\.sql: COMMIT of 0001_slow_commit\.expand\.sql failed after all 1 batch\(es\) ran/);
        expect(err.message).toMatch(/whether 0001_slow_commit\.expand\.sql committed is UNKNOWN.*npm run db -- status.*"pending" means none of it did \(run up again\)/s);
    }, 30_000);

    it("the server stopped mid-batch ends the CLI with the file, batch and what to do, and no stack trace", async () => {
        const own = await startPostgres();
        try {
            const url = await own.createDatabase("stopped");
            const lines: string[] = [];
            const io = { stdout: { write: (t: string) => lines.push(t) }, stderr: { write: (t: string) => lines.push(t) } };
            const { main } = await import("../../migrator/cli");
            const run = main(["up", "--phase", "expand", "--url", url, "--dir", migrations(NOTX)], io);
            await runnerSession(url, "%SELECT pg_sleep%");
            await own.stop();
            expect(await run).toBe(1);
            const out = lines.join("");
            expect(out).toContain("0002_backfill.expand.sql:4: batch 2 of 3");
            expect(out).toMatch(/UNKNOWN.*resolve 0002_backfill\.expand\.sql --applied/s);
            expect(out).not.toMatch(/\n\s+at \S+ \(/);
        } finally {
            await own.stop();
        }
    }, 60_000);
});
