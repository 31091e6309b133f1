/**
 * The runner against a real PostgreSQL: a throw-away cluster on a free localhost port (tests/support/postgres.ts),
 * one database per test, stopped after the suite. Scenarios: tests/migrator/runnerScenarios.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { createRunner } from "../../migrator/runner";
import { query, startPostgres, TestPostgres } from "../support/postgres";
import { runnerScenarios, ScenarioTarget } from "./runnerScenarios";

let pg: TestPostgres;
let databases = 0;


const postgresTarget: ScenarioTarget = {
    fixtures: path.join(__dirname, "..", "fixtures", "migrations"),
    newDatabase: () => pg.createDatabase(`runner_${++databases}`),
    query,
    async tableExists(url, table) {
        const rows = await query<{ t: string | null }>(url, `SELECT to_regclass('${table}')::text AS t`);
        return rows[0].t !== null;
    },
    async holdLock(url) {
        const holder = new Client({ connectionString: url });
        await holder.connect();
        await holder.query("SELECT pg_advisory_lock(hashtextextended('bluegreen-migrations', 0))");
        return () => holder.end();
    },
};

describe("the migration runner on a real PostgreSQL", () => {
    beforeAll(async () => {
        pg = await startPostgres();
    }, 60_000);

    afterAll(async () => {
        await pg?.stop();
    });

    runnerScenarios(() => postgresTarget);

    it("says every progressEveryMs that a long migration is still running", async () => {
        const url = await pg.createDatabase("heartbeat");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "heartbeat-"));
        try {
            fs.writeFileSync(path.join(dir, "0001_slow.expand.sql"), "SELECT pg_sleep(0.7);\n");
            const lines: string[] = [];
            await createRunner({ url, dir, progressEveryMs: 200, log: (l) => lines.push(l) }).up({ phase: "expand" });
            const still = lines.filter((l) => l.startsWith("still applying 0001_slow.expand.sql ("));
            expect(still.length).toBeGreaterThanOrEqual(2);
            expect(lines.indexOf(still[0])).toBeGreaterThan(lines.findIndex((l) => l.startsWith("applying 0001_slow")));
            expect(lines.findIndex((l) => l.startsWith("applied 0001_slow"))).toBeGreaterThan(lines.indexOf(still[still.length - 1]));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("says at once who holds the lock and since when, then waits", async () => {
        const url = await pg.createDatabase("lock_wait");
        const holder = new Client({ connectionString: url, application_name: "other-runner" });
        await holder.connect();
        try {
            await holder.query("SELECT pg_advisory_lock(hashtextextended('bluegreen-migrations', 0))");
            const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
            const lines: string[] = [];
            const up = createRunner({ url, dir: path.join(__dirname, "..", "fixtures", "migrations", "basic"), lockTimeoutMs: 5_000, log: (l) => lines.push(l) })
                .up({ phase: "expand" });
            for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
            expect(lines[0]).toMatch(
                new RegExp(`^waiting up to 5 s for the migration lock: another runner holds it, by session pid ${pid} \\(other-runner, user \\S+ from 127\\.0\\.0\\.1\\), connected since \\d{4}-\\d\\d-\\d\\dT`),
            );
            await holder.query("SELECT pg_advisory_unlock_all()");
            expect((await up).applied).toHaveLength(2);
        } finally {
            await holder.end();
        }
    });
});

describe("the shipped migrations and ensure-app-user on a real PostgreSQL", () => {
    let server: TestPostgres;
    beforeAll(async () => {
        server = await startPostgres();
    }, 60_000);
    afterAll(async () => {
        await server?.stop();
    });

    it("applies the shipped PostgreSQL migrations (migrations/postgres) and gates their contract", async () => {
        const url = await server.createDatabase("shipped");
        const r = createRunner({ url });
        expect(r.dir).toBe(path.join("migrations", "postgres"));
        const expand = await r.up({ phase: "expand" });
        expect(expand.applied.length).toBeGreaterThan(0);
        const contracts = (await r.status()).migrations.filter((m) => m.phase === "contract" && m.state === "pending");
        expect(contracts.length).toBeGreaterThan(0);
        await expect(r.up({ phase: "contract", runningVersions: ["1.0.0", "1.0.0"] })).rejects.toThrow(/may not run yet/);
        const contract = await r.up({ phase: "contract", runningVersions: ["99.0.0", "99.0.0"] });
        expect(contract.applied).toEqual(contracts.map((m) => m.name));
    });

    it("creates a login that may read and write the app's tables but not the journal, and is idempotent", async () => {
        const url = await server.createDatabase("app_user_test");
        const r = createRunner({ url, dir: path.join(__dirname, "..", "fixtures", "migrations", "basic") });
        await r.up({ phase: "expand" });
        await r.ensureAppUser("app_user", "first-password");
        const hash = async () => (await query<{ p: string }>(url, "SELECT rolpassword AS p FROM pg_authid WHERE rolname = 'app_user'"))[0].p;
        const before = await hash();
        // Again, with another password: the user exists and the live color logs in with it, so it keeps its password.
        await r.ensureAppUser("app_user", "second-password");
        expect(await hash()).toBe(before);
        const appUrl = url.replace("postgres://postgres@", "postgres://app_user:first-password@");
        await query(appUrl, "INSERT INTO goals (name) VALUES ('from app')");
        expect((await query<{ n: number }>(appUrl, "SELECT count(*)::int AS n FROM goals"))[0].n).toBe(3);
        expect((await query(appUrl, "SELECT name FROM migration_journal")).length).toBe(2);
        await expect(query(appUrl, "DELETE FROM migration_journal")).rejects.toThrow(/permission denied/);
        await expect(query(appUrl, "DROP TABLE goals")).rejects.toThrow(/must be owner/);
    });
});
