/**
 * The migration runner against a real PostgreSQL that starts after the runner does (a database being created or
 * restarted): the connection is retried with bounded backoff, each retry said, and the run then applies everything.
 */
import * as path from "path";
import { createRunner } from "../../migrator/runner";
import { findPostgresBin, freePort, query, startPostgres, TestPostgres } from "../support/postgres";

const MIGRATIONS = path.join(__dirname, "..", "..", "migrations", "postgres");
const describeIfPg = findPostgresBin() ? describe : describe.skip;

describeIfPg("the runner and a PostgreSQL that starts late", () => {
    let pg: TestPostgres | undefined;
    afterAll(async () => {
        await pg?.stop();
    });

    it("waits for the server, saying each retry, then migrates", async () => {
        const port = await freePort();
        const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
        const lines: string[] = [];
        const started = Date.now();
        const run = createRunner({ url, dir: MIGRATIONS, lint: () => [], log: (l) => lines.push(l), connectRetry: { attempts: 10, baseDelayMs: 250, maxDelayMs: 2_000 } })
            .up({ phase: "expand" });
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        pg = await startPostgres({ port });
        const result = await run;
        expect(result.applied.length).toBeGreaterThan(0);
        const retries = lines.filter((l) => l.includes("retrying in"));
        expect(retries.length).toBeGreaterThanOrEqual(2);
        expect(retries[0]).toMatch(new RegExp(`^connecting to postgres://postgres@127\\.0\\.0\\.1:${port}/postgres failed with (ECONNREFUSED|57P03) \\(.*\\), .*; retrying in 0\\.3 s \\(attempt 1 of 10\\)$`));
        expect((await query<{ n: string }>(url, "SELECT count(*) AS n FROM migration_journal"))[0].n).toBe(String(result.applied.length));
        expect(Date.now() - started).toBeLessThan(30_000);
    }, 60_000);

    it("gives up within its bound on a server that never starts, naming the code", async () => {
        const port = await freePort();
        const started = Date.now();
        const run = createRunner({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir: MIGRATIONS, lint: () => [], connectRetry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 200 } })
            .up({ phase: "expand" });
        await expect(run).rejects.toThrow(/failed with ECONNREFUSED \(no answer\) in each of 3 attempts over 0 s\. Check that the server exists and is started/);
        expect(Date.now() - started).toBeLessThan(5_000);
    });
});
