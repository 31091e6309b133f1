/**
 * The runner's scenarios against a real database, written once and run on PostgreSQL (runner.int.test.ts, always)
 * and on SQL Server (mssqlRunner.int.test.ts, when MSSQL_URL is set). A target supplies fresh databases, the
 * fixture directory of its dialect, a way to query, and a way to hold the runner's lock from outside.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createRunner, MigrationFailedError, RefusedError, RunnerOptions } from "../../migrator/runner";

const ROOT = path.join(__dirname, "..", "..");

/** What a database target provides to the scenarios. */
export interface ScenarioTarget {
    /** The fixture root: tests/fixtures/migrations (PostgreSQL) or tests/fixtures/migrations/tsql. */
    readonly fixtures: string;
    /** Creates an empty database and returns its URL. */
    newDatabase(): Promise<string>;
    /** Runs one statement and returns its rows. */
    query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]>;
    tableExists(url: string, table: string): Promise<boolean>;
    /** Takes the runner's lock on another connection; the returned function releases it. */
    holdLock(url: string): Promise<() => Promise<void>>;
}

/** Registers the scenarios (call inside a describe whose beforeAll prepares the target). */
export function runnerScenarios(target: () => ScenarioTarget): void {
    const tempDirs: string[] = [];
    afterAll(() => {
        for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
    });

    const fixture = (name: string) => path.join(target().fixtures, name);

    /** A copy of a fixture directory the test may change. */
    function copyFixture(name: string): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bg-migrations-${name}-`));
        tempDirs.push(dir);
        for (const f of fs.readdirSync(fixture(name))) fs.copyFileSync(path.join(fixture(name), f), path.join(dir, f));
        return dir;
    }

    const runner = (url: string, dir: string, extra: Partial<RunnerOptions> = {}) => createRunner({ url, dir, ...extra });
    const journal = (url: string) =>
        target().query<{ name: string; state: string; applied_at: Date }>(url, "SELECT name, state, applied_at FROM migration_journal ORDER BY name");
    const count = async (url: string, sql: string) => Number((await target().query<{ n: number }>(url, sql))[0].n);
    const columnExists = async (url: string, table: string, column: string) =>
        (await count(
            url,
            `SELECT CAST(count(*) AS int) AS n FROM information_schema.columns WHERE table_name = '${table}' AND column_name = '${column}'`,
        )) > 0;

    it("baseline records what the schema already has (checksums, not run), status shows it, up runs only the rest, a second baseline is refused", async () => {
        const url = await target().newDatabase();
        // "Our schema today": what 0001 would create, made by hand, with a row of our own.
        await target().query(url, "CREATE TABLE goals (id int NOT NULL PRIMARY KEY, name varchar(200) NOT NULL)");
        await target().query(url, "INSERT INTO goals (id, name) VALUES (1, 'existing')");
        const r = runner(url, fixture("basic"));
        expect(await r.baseline({ to: "0001_create_goals.expand.sql" })).toEqual(["0001_create_goals.expand.sql"]);
        // Not run: 0001's own INSERT did not happen.
        expect(await count(url, "SELECT CAST(count(*) AS int) AS n FROM goals")).toBe(1);
        const checksum = createHash("sha256").update(fs.readFileSync(path.join(fixture("basic"), "0001_create_goals.expand.sql"))).digest("hex");
        const rows = await target().query<{ name: string; checksum: string; state: string; error: string }>(url, "SELECT name, checksum, state, error FROM migration_journal ORDER BY name");
        expect(rows.map((e) => [e.name, e.checksum, e.state])).toEqual([["0001_create_goals.expand.sql", checksum, "applied"]]);
        expect(rows[0].error).toMatch(/^baselined: recorded without running by npm run db -- baseline at \d{4}-/);
        expect((await r.status()).migrations.map((m) => [m.name, m.state, m.baselined ?? false])).toEqual([
            ["0001_create_goals.expand.sql", "applied", true],
            ["0002_add_goal_title.expand.sql", "pending", false],
            ["0003_drop_goal_name.contract.sql", "pending", false],
        ]);
        expect((await r.up({ phase: "expand" })).applied).toEqual(["0002_add_goal_title.expand.sql"]);
        expect(await count(url, "SELECT CAST(count(*) AS int) AS n FROM goals WHERE title = name")).toBe(1);
        const before = await journal(url);
        await expect(r.baseline({ names: ["0003_drop_goal_name.contract.sql"] })).rejects.toThrow(/the journal already has 2 migration\(s\).*baseline only records the starting point/s);
        expect(await journal(url)).toEqual(before);
    });

    it("baseline records the listed migrations only, and refuses a name that is not a file, recording nothing", async () => {
        const url = await target().newDatabase();
        const r = runner(url, fixture("basic"));
        await expect(r.baseline({ names: ["0001_create_goals.expand.sql", "0009_nope.expand.sql"] })).rejects.toThrow(/0009_nope\.expand\.sql is not a migration file in this directory/);
        expect(await target().tableExists(url, "migration_journal")).toBe(false);
        expect(await r.baseline({ names: ["0002_add_goal_title.expand.sql", "0001_create_goals.expand.sql"] })).toEqual(["0001_create_goals.expand.sql", "0002_add_goal_title.expand.sql"]);
        expect((await r.status()).migrations.filter((m) => m.baselined).map((m) => m.name)).toEqual(["0001_create_goals.expand.sql", "0002_add_goal_title.expand.sql"]);
        expect(await target().tableExists(url, "goals")).toBe(false);
    });

    it("applies the pending expand migrations in order, journals each, and a re-run is a no-op", async () => {
        const url = await target().newDatabase();
        const r = runner(url, fixture("basic"));
        const first = await r.up({ phase: "expand" });
        expect(first.applied).toEqual(["0001_create_goals.expand.sql", "0002_add_goal_title.expand.sql"]);
        expect(await count(url, "SELECT CAST(count(*) AS int) AS n FROM goals WHERE title = name")).toBe(2);
        const before = await journal(url);
        expect(before.map((e) => [e.name, e.state])).toEqual([
            ["0001_create_goals.expand.sql", "applied"],
            ["0002_add_goal_title.expand.sql", "applied"],
        ]);

        const again = await r.up({ phase: "expand" });
        expect(again.applied).toEqual([]);
        expect(await journal(url)).toEqual(before);

        const status = await r.status();
        expect(status.migrations.map((m) => [m.name, m.phase, m.state, m.checksumOk])).toEqual([
            ["0001_create_goals.expand.sql", "expand", "applied", true],
            ["0002_add_goal_title.expand.sql", "expand", "applied", true],
            ["0003_drop_goal_name.contract.sql", "contract", "pending", true],
        ]);
    });

    it("refuses, changing nothing, when an applied migration's file changed or disappeared", async () => {
        const url = await target().newDatabase();
        const dir = copyFixture("basic");
        const second = "0002_add_goal_title.expand.sql";
        fs.rmSync(path.join(dir, second));
        await runner(url, dir).up({ phase: "expand" });
        fs.appendFileSync(path.join(dir, "0001_create_goals.expand.sql"), "\nCREATE TABLE sneaky (id int);\n");
        fs.copyFileSync(path.join(fixture("basic"), second), path.join(dir, second));
        const journalBefore = await journal(url);

        const refused = runner(url, dir).up({ phase: "expand" });
        await expect(refused).rejects.toThrow(RefusedError);
        await expect(refused).rejects.toThrow(/0001_create_goals\.expand\.sql: the file changed after it was applied/);
        expect(await journal(url)).toEqual(journalBefore);
        expect(await target().tableExists(url, "sneaky")).toBe(false);
        expect(await columnExists(url, "goals", "title")).toBe(false);
        expect((await runner(url, dir).status()).migrations[0]).toMatchObject({ state: "applied", checksumOk: false });

        fs.copyFileSync(path.join(fixture("basic"), "0001_create_goals.expand.sql"), path.join(dir, "0001_create_goals.expand.sql"));
        await runner(url, dir).up({ phase: "expand" });
        fs.rmSync(path.join(dir, "0001_create_goals.expand.sql"));
        await expect(runner(url, dir).up({ phase: "expand" })).rejects.toThrow(/0001_create_goals\.expand\.sql is in the journal .* its file is missing/);
    });

    it("rolls a failing migration back, names the file, batch and line, and runs no later migration", async () => {
        const url = await target().newDatabase();
        const r = runner(url, fixture("failing"));
        const err = await r.up({ phase: "expand" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MigrationFailedError);
        const message = (err as Error).message;
        expect(message).toContain("0002_broken.expand.sql:4: batch 2 of 2 (lines 3-4) failed at line 4");
        expect(message).toMatch(/no_such_table/);
        expect(message).toContain("rolled back");
        expect((await journal(url)).map((e) => e.name)).toEqual(["0001_create_goals.expand.sql"]);
        expect(await target().tableExists(url, "notes")).toBe(false);
        expect(await target().tableExists(url, "later")).toBe(false);
        expect((await r.status()).migrations.map((m) => m.state)).toEqual(["applied", "pending", "pending"]);
    });

    it("records a failed no-transaction migration as failed and refuses every run until it is resolved", async () => {
        const url = await target().newDatabase();
        const r = runner(url, fixture("notx"));
        const err = (await r.up({ phase: "expand" }).catch((e: unknown) => e)) as Error;
        expect(err.message).toContain("0002_partial.expand.sql:4: batch 2 of 2");
        expect(err.message).toContain("npm run db -- resolve 0002_partial.expand.sql --applied");
        expect(err.message).toContain("npm run db -- resolve 0002_partial.expand.sql --rolled-back");
        expect(await target().tableExists(url, "part_one")).toBe(true);
        expect((await journal(url)).map((e) => [e.name, e.state])).toEqual([
            ["0001_create_goals.expand.sql", "applied"],
            ["0002_partial.expand.sql", "failed"],
        ]);

        await expect(r.up({ phase: "expand" })).rejects.toThrow(/0002_partial\.expand\.sql failed and is recorded failed.*resolve 0002_partial\.expand\.sql --applied/s);
        expect(await target().tableExists(url, "after_partial")).toBe(false);
        await expect(r.resolve("0001_create_goals.expand.sql", "applied")).rejects.toThrow(/recorded applied; resolve only applies/);

        await r.resolve("0002_partial.expand.sql", "applied");
        expect((await r.up({ phase: "expand" })).applied).toEqual(["0003_after.expand.sql"]);
        expect(await target().tableExists(url, "after_partial")).toBe(true);
    });

    it("after resolve --rolled-back the failed no-transaction migration is pending and runs again", async () => {
        const url = await target().newDatabase();
        const r = runner(url, fixture("notx"));
        await r.up({ phase: "expand" }).catch(() => undefined);
        await target().query(url, "DROP TABLE part_one");
        await r.resolve("0002_partial.expand.sql", "rolled-back");
        expect((await r.status()).migrations.map((m) => m.state)).toEqual(["applied", "pending", "pending"]);
        await expect(r.up({ phase: "expand" })).rejects.toThrow(/no_such_table/);
        expect(await target().tableExists(url, "part_one")).toBe(true);
    });

    it("refuses a contract migration while a color runs a version older than its requires-version, and runs it after", async () => {
        const url = await target().newDatabase();
        const r = runner(url, fixture("basic"));
        await r.up({ phase: "expand" });

        const plan = await r.plan({ phase: "contract", runningVersions: ["1.0.0", "2.0.0"] });
        expect(plan.toRun).toEqual([]);
        expect(plan.refusals.join("\n")).toMatch(/0003_drop_goal_name\.contract\.sql may not run yet.*2\.0\.0 or newer, but 1\.0\.0 is still running/);
        const journalBefore = await journal(url);
        await expect(r.up({ phase: "contract", runningVersions: ["1.0.0", "2.0.0"] })).rejects.toThrow(RefusedError);
        expect(await journal(url)).toEqual(journalBefore);
        expect(await count(url, "SELECT CAST(count(*) AS int) AS n FROM migration_restore_points")).toBe(0);
        expect(await columnExists(url, "goals", "name")).toBe(true);

        const done = await r.up({ phase: "contract", runningVersions: ["2.0.0", "2.1.0"] });
        expect(done.applied).toEqual(["0003_drop_goal_name.contract.sql"]);
        expect(done.restorePoint?.recordedAt).toBeInstanceOf(Date);
        const points = await target().query<{ recorded_at: Date; migrations: string }>(url, "SELECT recorded_at, migrations FROM migration_restore_points");
        expect(points).toEqual([{ recorded_at: done.restorePoint?.recordedAt, migrations: "0003_drop_goal_name.contract.sql" }]);
        expect(await columnExists(url, "goals", "name")).toBe(false);
    });

    it("up --phase expand leaves a pending contract waiting and runs the expand after it", async () => {
        const url = await target().newDatabase();
        const dir = copyFixture("basic");
        fs.writeFileSync(path.join(dir, "0004_add_goal_note.expand.sql"), "ALTER TABLE goals ADD note varchar(100) NULL;\n");
        const r = runner(url, dir);
        const plan = await r.plan({ phase: "expand" });
        expect(plan.waiting).toEqual([expect.objectContaining({ name: "0003_drop_goal_name.contract.sql" })]);
        const result = await r.up({ phase: "expand" });
        expect(result.applied).toEqual(["0001_create_goals.expand.sql", "0002_add_goal_title.expand.sql", "0004_add_goal_note.expand.sql"]);
        expect((await r.status()).migrations.find((m) => m.name.startsWith("0003"))?.state).toBe("pending");
    });

    it("refuses an expand migration with lint errors and changes nothing", async () => {
        const url = await target().newDatabase();
        const r = runner(url, fixture("lint"));
        await expect(r.up({ phase: "expand" })).rejects.toThrow(/0002_drop_goals\.expand\.sql:2: \S+ /);
        expect(await target().tableExists(url, "goals")).toBe(false);
        expect(await target().tableExists(url, "migration_journal")).toBe(false);
    });

    it("a second runner says who holds the lock and since when, waits, and fails clearly after its timeout", async () => {
        const url = await target().newDatabase();
        const release = await target().holdLock(url);
        try {
            const started = Date.now();
            const lines: string[] = [];
            await expect(runner(url, fixture("basic"), { lockTimeoutMs: 700, log: (l) => lines.push(l) }).up({ phase: "expand" })).rejects.toThrow(
                /(Another migration runner holds the lock "bluegreen-migrations"|Another migration runner is running).*--lock-timeout/s,
            );
            expect(Date.now() - started).toBeGreaterThanOrEqual(600);
            expect(lines.find((l) => l.startsWith("waiting"))).toMatch(/another runner holds it, by session (pid )?\d+ \(.*\), connected since \d{4}-\d\d-\d\dT/);
            expect(await target().tableExists(url, "goals")).toBe(false);
        } finally {
            await release();
        }
    });

    it("two runner processes started at once apply each migration exactly once", async () => {
        const url = await target().newDatabase();
        const dir = fixture("concurrent");
        const runCli = () =>
            new Promise<{ code: number | null; out: string }>((resolve, reject) => {
                const child = spawn(
                    process.execPath,
                    [require.resolve("ts-node/dist/bin"), "--transpile-only", "migrator/cli.ts", "up", "--phase", "expand", "--url", url, "--dir", dir],
                    { cwd: ROOT, env: { ...process.env, DATABASE_URL: "" } },
                );
                let out = "";
                child.stdout.on("data", (d) => (out += String(d)));
                child.stderr.on("data", (d) => (out += String(d)));
                child.on("error", reject);
                child.on("close", (code) => resolve({ code, out }));
            });
        const [a, b] = await Promise.all([runCli(), runCli()]);
        expect([a.code, b.code]).toEqual([0, 0]);
        expect([a.out, b.out].filter((o) => o.includes("applied 3 expand migration(s)"))).toHaveLength(1);
        expect([a.out, b.out].filter((o) => o.includes("applied 0 expand migration(s)"))).toHaveLength(1);
        expect(await target().query(url, "SELECT n FROM runs ORDER BY n")).toEqual([{ n: 2 }, { n: 3 }]);
        expect((await journal(url)).length).toBe(3);
    }, 60_000);
}
