/**
 * Lock timeout and retry on a real PostgreSQL: a migration's ALTER TABLE that cannot get its lock (a long transaction
 * of the "live app" holds one on the table) gives up after lock_timeout instead of queueing every later query behind
 * it, is retried with backoff while the app's queries keep being answered, and applies once the blocker is gone.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { createRunner } from "../../migrator/runner";
import { startPostgres, TestPostgres } from "../support/postgres";

let pg: TestPostgres;

beforeAll(async () => {
    pg = await startPostgres();
}, 60_000);

afterAll(async () => {
    await pg?.stop();
});

function migrationsDir(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lock-timeout-"));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
}

async function connect(url: string): Promise<Client> {
    const c = new Client({ connectionString: url });
    await c.connect();
    return c;
}

describe("a migration that waits for a lock on a live table (PostgreSQL)", () => {
    it("gives up after lock_timeout, retries with backoff while the app's queries keep being answered, then applies", async () => {
        const url = await pg.createDatabase("lock_timeout_retry");
        const dir = migrationsDir({
            "0001_goals.expand.sql": "CREATE TABLE goals (id bigserial PRIMARY KEY, title text NOT NULL);\nINSERT INTO goals (title) SELECT 'g' || n FROM generate_series(1, 100) AS n;\n",
        });
        const base = { url, dir, lint: () => [], statementLockTimeoutMs: Number(process.env.LOCK_TIMEOUT_MS ?? 200) } as const;
        await createRunner(base).up({ phase: "expand" });
        fs.writeFileSync(path.join(dir, "0002_add_name.expand.sql"), "ALTER TABLE goals ADD COLUMN name text NULL;\n");
        const admin = await connect(url);

        // The blocker: a long read transaction of the live app holds ACCESS SHARE on goals.
        const blocker = await connect(url);
        await blocker.query("BEGIN; SELECT count(*) FROM goals;");

        // The live app keeps querying the table; each query's latency is recorded.
        const app = await connect(url);
        const latencies: number[] = [];
        let failed = 0;
        let running = true;
        const traffic = (async () => {
            while (running) {
                const t = Date.now();
                await app.query("SELECT id, title FROM goals ORDER BY id DESC LIMIT 10").catch(() => failed++);
                latencies.push(Date.now() - t);
                await new Promise((r) => setTimeout(r, 10));
            }
        })();

        const lines: string[] = [];
        const release = setTimeout(() => void blocker.query("COMMIT"), 1_500);
        try {
            const result = await createRunner({ ...base, lockRetry: { attempts: 8, baseDelayMs: 100, maxDelayMs: 400 }, log: (l) => lines.push(l) }).up({
                phase: "expand",
            });
            expect(result.applied).toEqual(["0002_add_name.expand.sql"]);
        } finally {
            clearTimeout(release);
            running = false;
            await traffic;
            await blocker.end();
            await app.end();
        }
        const cols = await admin.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'goals' AND column_name = 'name'");
        await admin.end();
        if (process.env.LOCK_TIMEOUT_MS) console.log(`max app latency ${Math.max(...latencies)} ms over ${latencies.length} queries`);
        expect(cols.rowCount).toBe(1);
        const retries = lines.filter((l) => /^0002_add_name\.expand\.sql: lock timeout \(attempt \d of 8\); retrying the migration in \d+ ms$/.test(l));
        expect(retries.length).toBeGreaterThanOrEqual(2);
        // The app was never queued behind the waiting ALTER for longer than about one lock_timeout (200 ms; the
        // blocker held its lock for 1.5 s). Loose bound for a loaded machine; without lock_timeout it is the full 1.5 s.
        expect(failed).toBe(0);
        expect(Math.max(...latencies)).toBeLessThan(1_000);
    }, 30_000);
});

describe("a failed no-transaction migration that opened a transaction of its own (PostgreSQL)", () => {
    it("is recorded failed outside that transaction, so the next up refuses instead of running it again", async () => {
        const url = await pg.createDatabase("notx_open_tx");
        const dir = migrationsDir({
            "0001_own_tx.expand.sql": "-- migrate:no-transaction\nBEGIN;\nCREATE TABLE half (id int);\nSELECT * FROM no_such_table;\n",
        });
        const runner = createRunner({ url, dir, lint: () => [] });
        await expect(runner.up({ phase: "expand" })).rejects.toThrow(/no_such_table/);
        const admin = await connect(url);
        try {
            const rows = await admin.query("SELECT name, state FROM migration_journal");
            expect(rows.rows).toEqual([{ name: "0001_own_tx.expand.sql", state: "failed" }]);
        } finally {
            await admin.end();
        }
        await expect(runner.up({ phase: "expand" })).rejects.toThrow(/0001_own_tx\.expand\.sql failed and is recorded failed/);
    }, 30_000);
});

describe("an index built CONCURRENTLY (PostgreSQL)", () => {
    it("runs as a batch of its own with the long statement timeout (SET statement_timeout around it)", async () => {
        const url = await pg.createDatabase("concurrent_index");
        const dir = migrationsDir({
            "0001_t.expand.sql": "CREATE TABLE t (id int PRIMARY KEY, a int NULL);\n",
            "0002_ix.expand.sql": "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY ix_t_a ON t (a);\n",
        });
        await createRunner({ url, dir, lint: () => [], requestTimeoutMs: 120_000, longRequestTimeoutMs: 3_600_000 }).up({ phase: "expand" });
        const admin = await connect(url);
        try {
            expect((await admin.query("SELECT indexname FROM pg_indexes WHERE tablename = 't' AND indexname = 'ix_t_a'")).rowCount).toBe(1);
        } finally {
            await admin.end();
        }
    }, 30_000);
});
