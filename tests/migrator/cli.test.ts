import { main } from "../../migrator/cli";
import { Plan } from "../../migrator/plan";
import { RefusedError, Runner, RunnerOptions, UpRequest } from "../../migrator/runner";

function capture() {
    let out = "";
    let err = "";
    return {
        io: { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) } },
        out: () => out,
        err: () => err,
    };
}

const emptyPlan: Plan = { status: [], toRun: [], waiting: [], refusals: [] };

/** A runner stand-in that records what the CLI asked of it. */
function stubRunner(overrides: Partial<Runner> = {}) {
    const calls: { method: string; args: unknown[] }[] = [];
    const options: RunnerOptions[] = [];
    const runner: Runner = {
        dialect: "postgres",
        dir: "migrations/postgres",
        status: async () => (calls.push({ method: "status", args: [] }), { migrations: [{ name: "0001_a.expand.sql", phase: "expand", state: "applied", checksumOk: true }], refusals: [] }),
        plan: async (r: UpRequest) => (calls.push({ method: "plan", args: [r] }), emptyPlan),
        up: async (r: UpRequest) => (calls.push({ method: "up", args: [r] }), { applied: ["0002_b.expand.sql"] }),
        resolve: async (name, resolution) => void calls.push({ method: "resolve", args: [name, resolution] }),
        baseline: async (request) => (calls.push({ method: "baseline", args: [request] }), ["0001_a.expand.sql"]),
        ensureAppUser: async (user, password) => void calls.push({ method: "ensureAppUser", args: [user, password] }),
        ...overrides,
    };
    return { calls, options, make: (o: RunnerOptions) => (options.push(o), runner) };
}

describe("npm run db -- <command>", () => {
    it.each([
        [[], /usage: npm run --silent db/],
        [["frobnicate"], /unknown command "frobnicate"/],
        [["up"], /--phase is missing: use --phase expand or --phase contract/],
        [["up", "--phase", "sideways"], /--phase "sideways" is not a phase/],
        [["up", "--phase", "contract"], /--phase contract needs --running-versions <v>,<v>/],
        [["up", "--phase", "expand", "--running-versions", "1.0.0"], /--running-versions is only for --phase contract/],
        [["up", "--phase", "expand", "--lock-timeout", "soon"], /--lock-timeout "soon" is not a positive number of seconds/],
        [["up", "--phase", "expand", "--bogus"], /Unknown option '--bogus'/],
        [["resolve", "0001_a.expand.sql"], /exactly one of --applied or --rolled-back/],
        [["resolve", "--applied"], /resolve needs exactly one migration name/],
        [["baseline"], /baseline needs either --to <name> .* or the names to record, not both/],
        [["baseline", "--to", "0001_a.expand.sql", "0002_b.expand.sql"], /baseline needs either --to <name>/],
        [["status", "extra"], /status takes no arguments/],
    ])("exits 2 with a usage error for %j", async (argv, message) => {
        const c = capture();
        const stub = stubRunner();
        expect(await main(argv, c.io, stub.make)).toBe(2);
        expect(c.err()).toMatch(message);
        expect(stub.calls).toEqual([]);
    });

    it("exits 2 on a missing or bad URL and prints it with the password masked", async () => {
        const c = capture();
        const saved = process.env.DATABASE_URL;
        delete process.env.DATABASE_URL;
        try {
            expect(await main(["status"], c.io)).toBe(2);
            expect(c.err()).toMatch(/No database URL: pass --url <url> or set DATABASE_URL/);
            expect(await main(["frobnicate"], c.io)).toBe(2);
            expect(c.err()).toMatch(/unknown command "frobnicate"/);
            expect(await main(["status", "--url", "oracle://scott:tiger@db/x"], c.io)).toBe(2);
            expect(c.err()).toContain('"oracle://scott:***@db/x"');
            expect(c.err()).not.toContain("tiger");
        } finally {
            if (saved !== undefined) process.env.DATABASE_URL = saved;
        }
    });

    it("passes --url, --dir and the timeouts (seconds → ms) to the runner and runs up with the phase and running versions", async () => {
        const c = capture();
        const stub = stubRunner();
        const argv = ["up", "--phase", "contract", "--running-versions", "2.0.0, 2.1.0", "--url", "postgres://u@h/db", "--dir", "m", "--lock-timeout", "5", "--request-timeout", "90"];
        expect(await main(argv, c.io, stub.make)).toBe(0);
        expect(stub.options[0]).toMatchObject({ url: "postgres://u@h/db", dir: "m", lockTimeoutMs: 5000, requestTimeoutMs: 90_000 });
        expect(stub.calls).toEqual([{ method: "up", args: [{ phase: "contract", runningVersions: ["2.0.0", "2.1.0"] }] }]);
        expect(c.out()).toContain("applied 1 contract migration(s)");
    });

    it("exits 1 and prints every refusal when up is refused", async () => {
        const c = capture();
        const stub = stubRunner({
            up: async () => {
                throw new RefusedError(["0001_a.expand.sql: the file changed after it was applied"]);
            },
        });
        expect(await main(["up", "--phase", "expand"], c.io, stub.make)).toBe(1);
        expect(c.err()).toContain("Refused; nothing was changed:\n  - 0001_a.expand.sql: the file changed after it was applied");
    });

    it("prints status --json as one entry per migration", async () => {
        const c = capture();
        expect(await main(["status", "--json"], c.io, stubRunner().make)).toBe(0);
        expect(JSON.parse(c.out())).toEqual([{ name: "0001_a.expand.sql", phase: "expand", state: "applied", checksumOk: true }]);
    });

    it("dispatches lint to the linter: an expand migration that drops a table exits 1 naming the file and line", async () => {
        const c = capture();
        const file = "tests/fixtures/migrations/tsql/lint/0002_drop_goals.expand.sql";
        expect(await main(["lint", file], c.io)).toBe(1);
        expect(c.out()).toMatch(/0002_drop_goals\.expand\.sql:2: \S+/);
    });

    it("baselines up to a name, or the names listed, and status shows baselined ones as baselined", async () => {
        const stub = stubRunner({
            status: async () => ({ migrations: [{ name: "0001_baseline.expand.sql", phase: "expand", state: "applied", checksumOk: true, appliedAt: "2026-12-01T17:00:00.000Z", baselined: true }, { name: "0002_b.expand.sql", phase: "expand", state: "pending", checksumOk: true }], refusals: [] }),
        });
        const c = capture();
        expect(await main(["baseline", "--to", "0001_baseline.expand.sql"], c.io, stub.make)).toBe(0);
        expect(await main(["baseline", "0001_a.expand.sql", "0003_c.expand.sql"], c.io, stub.make)).toBe(0);
        expect(stub.calls).toEqual([
            { method: "baseline", args: [{ to: "0001_baseline.expand.sql" }] },
            { method: "baseline", args: [{ names: ["0001_a.expand.sql", "0003_c.expand.sql"] }] },
        ]);
        expect(c.out()).toContain("baselined 1 migration(s)");
        const s = capture();
        expect(await main(["status"], s.io, stub.make)).toBe(0);
        expect(s.out()).toMatch(/^ {2}baselined expand {4}0001_baseline\.expand\.sql {2}2026-12-01T17:00:00\.000Z$/m);
        expect(s.out()).toMatch(/^ {2}pending {3}expand {4}0002_b\.expand\.sql$/m);
    });

    it("resolves with the flag given", async () => {
        const stub = stubRunner();
        expect(await main(["resolve", "0003_x.expand.sql", "--rolled-back"], capture().io, stub.make)).toBe(0);
        expect(stub.calls).toEqual([{ method: "resolve", args: ["0003_x.expand.sql", "rolled-back"] }]);
    });

    it("ensure-app-user takes the password from APP_DB_PASSWORD only and never prints it", async () => {
        const c = capture();
        const stub = stubRunner();
        const saved = process.env.APP_DB_PASSWORD;
        try {
            delete process.env.APP_DB_PASSWORD;
            expect(await main(["ensure-app-user"], c.io, stub.make)).toBe(2);
            expect(c.err()).toMatch(/APP_DB_PASSWORD, which is not set/);
            process.env.APP_DB_PASSWORD = "Sup3r-secret-pw";
            expect(await main(["ensure-app-user", "--user", "app_user"], c.io, stub.make)).toBe(0);
            expect(stub.calls).toEqual([{ method: "ensureAppUser", args: ["app_user", "Sup3r-secret-pw"] }]);
            expect(c.out() + c.err()).not.toContain("Sup3r-secret-pw");
        } finally {
            if (saved === undefined) delete process.env.APP_DB_PASSWORD;
            else process.env.APP_DB_PASSWORD = saved;
        }
    });
});
