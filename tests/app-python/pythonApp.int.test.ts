/**
 * The second sample app (app-python/, Python 3 with Debian's psycopg2 and pymssql), as the product runs it: packed by
 * `npm run app:pack -- <version> --app app-python`, unpacked, started by its manifest's start command with the
 * contract's environment (PORT, APP_COLOR, APP_VERSION, DATABASE_URL), against a real PostgreSQL whose schema the
 * product's migration runner built from migrations/postgres (expand, then contract) — the app never changes it.
 *
 * The SQL Server variant runs when MSSQL_URL is set (see tests/migrator/mssqlRunner.int.test.ts), e.g.
 *   MSSQL_URL='mssql://sa:Str0ng%21Passw0rd@127.0.0.1:1433/master?encrypt=false' npx jest tests/app-python
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as mssql from "mssql";
import { packApp, PackResult } from "../../app/pack";
import { checkArchive, MANIFEST_FILE, readTarGz } from "../../release/appContract";
import { parseDatabaseUrl } from "../../migrator/databaseUrl";
import { mssqlConfig } from "../../migrator/drivers/mssql";
import { createRunner, Runner } from "../../migrator/runner";
import { appSmokeChecks } from "../../rehearsal/gate";
import { runSmokeChecks, smokeReport } from "../../release/smokeChecks";
import { freePort, startPostgres, TestPostgres } from "../support/postgres";
import { isRefused, request, sleep } from "../app/httpClient";

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, "..", "..");
const APP_DIR = path.join(ROOT, "app-python");
/** The app user's password: URL-encoded in DATABASE_URL, decoded by the app (never printed). */
const PASSWORD = "Sup3r:s3cret@/pw";
const APP_USER = "goals_app";

let work: string;
let pg: TestPostgres;
let runner: Runner;
let appUrl: string;
const releases: Record<string, string> = {};
const packed: Record<string, PackResult> = {};
const children: ChildProcess[] = [];

interface Started {
    readonly port: number;
    readonly child: ChildProcess;
    readonly output: () => string;
    readonly exited: Promise<number | null>;
}

/** Starts a release as the product does: its start command, from the release directory, with the contract's environment only. */
async function launch(version: string, env: Record<string, string> = {}): Promise<Started> {
    const port = await freePort();
    const child = spawn(path.join(releases[version], "bin", "start"), [], {
        cwd: releases[version],
        env: { PATH: "/usr/bin:/bin", PORT: String(port), APP_COLOR: "blue", APP_VERSION: version, DATABASE_URL: appUrl, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    // "close", not "exit": the exit code once everything the app wrote has been read (its last lines can come after "exit").
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    return { port, child, output: () => out, exited };
}

/** Waits for the event line (`"event":"ready"`), failing with what the app said if it exits or stays silent. */
async function waitForEvent(s: Started, event: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!s.output().includes(`"event":"${event}"`)) {
        if (Date.now() > deadline || s.child.exitCode !== null) throw new Error(`no "${event}" from the app; it said:\n${s.output()}`);
        await sleep(20);
    }
}

async function ready(version: string, env: Record<string, string> = {}): Promise<Started> {
    const s = await launch(version, env);
    await waitForEvent(s, "ready");
    return s;
}

async function pack(version: string): Promise<void> {
    packed[version] = await packApp({ version, app: APP_DIR, distDir: path.join(work, "dist"), allowDirty: true });
    releases[version] = path.join(work, "releases", version);
    fs.mkdirSync(releases[version], { recursive: true });
    execFileSync("tar", ["-xzf", packed[version].artifact, "-C", releases[version]]);
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "bg-app-python-"));
    const [postgres] = await Promise.all([startPostgres(), pack("1.0.0"), pack("2.0.0")]);
    pg = postgres;
    const adminUrl = await pg.createDatabase("goals_python");
    // The product's runner builds the schema and the app's least-privilege user, as before a release on Azure.
    runner = createRunner({ url: adminUrl, dir: path.join(ROOT, "migrations", "postgres"), lockRetry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 100 } });
    await runner.up({ phase: "expand" });
    await runner.ensureAppUser(APP_USER, PASSWORD);
    appUrl = `postgres://${APP_USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${pg.port}/goals_python`;
});

afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

afterAll(async () => {
    await pg?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("app-python packed by npm run app:pack -- <version> --app app-python", () => {
    it("is an artifact the contract accepts: its manifest, its executable start command, no bytecode", () => {
        const entries = readTarGz(packed["1.0.0"].artifact, (name) => name.replace(/^\.\//, "") === MANIFEST_FILE);
        const verdict = checkArchive(entries, "1.0.0");
        expect(verdict.problems).toEqual([]);
        expect(verdict.value?.manifest).toMatchObject({
            name: "goals-python",
            version: "1.0.0",
            start: ["bin/start"],
            healthPath: "/health",
            runtimePackages: ["python3", "python3-psycopg2", "python3-pymssql"],
        });
        const names = entries.map((e) => e.name.replace(/^\.\//, ""));
        expect(names).toEqual(expect.arrayContaining(["bin/start", "goals/__main__.py", "goals/server.py", "goals/database.py", "goals/config.py"]));
        expect(names.filter((n) => /__pycache__|\.pyc$|node_modules|package\.json/.test(n))).toEqual([]);
    });
});

describe("app-python on PostgreSQL, through the expand/contract example", () => {
    it("answers /health 200 once the database answered, with x-served-by and the contract's version", async () => {
        const app = await ready("1.0.0");
        const health = await request(app.port, "/health");
        expect(health.status).toBe(200);
        expect(health.body).toEqual({ status: "ok" });
        expect(health.headers["x-served-by"]).toBe("blue@1.0.0");
        expect((await request(app.port, "/version")).body).toEqual({ version: "1.0.0", color: "blue" });
        // It listens on 127.0.0.1 only: the product's local proxy connects there.
        expect(app.output()).toContain('"event":"listening","host":"127.0.0.1"');
    });

    it("passes its own smoke checks (app-python/smoke-checks.yaml), as the gate sends them", async () => {
        const app = await ready("1.0.0");
        const { checks } = appSmokeChecks(APP_DIR);
        expect(checks.length).toBeGreaterThan(0);
        const report = smokeReport(await runSmokeChecks(checks, [`127.0.0.1:${app.port}`]));
        expect(report.every((line) => line.endsWith("OK"))).toBe(true);
    });

    it("adds a goal (POST /goals) and lists it back, newest first and limited (GET /goals?limit=N), as the Node sample does", async () => {
        const app = await ready("1.0.0");
        const added = await request(app.port, "/goals", { method: "POST", body: JSON.stringify({ title: "  Read 12 books  " }) });
        expect(added.status).toBe(201);
        expect(added.body).toEqual({ id: expect.any(Number), title: "Read 12 books", createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
        await request(app.port, "/goals", { method: "POST", body: JSON.stringify({ title: "Run a marathon" }) });
        const listed = await request(app.port, "/goals?limit=2");
        expect(listed.status).toBe(200);
        expect((listed.body as { goals: { title: string }[] }).goals.map((g) => g.title)).toEqual(["Run a marathon", "Read 12 books"]);
        expect((await request(app.port, "/goals?limit=0")).status).toBe(400);
        const notJson = await request(app.port, "/goals", { method: "POST", body: "title=x" });
        expect(notJson.status).toBe(400);
        expect(notJson.body).toEqual({ error: expect.stringContaining("body is not JSON") });
        expect((await request(app.port, "/goals", { method: "POST", body: JSON.stringify({ title: "x".repeat(201) }) })).status).toBe(400);
        expect((await request(app.port, "/nowhere")).status).toBe(404);
    });

    it("reads a chunked body as well as one with a Content-Length, and refuses one over 16 KiB (413) closing the connection", async () => {
        const app = await ready("1.0.0");
        const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
            const req = http.request({ host: "127.0.0.1", port: app.port, path: "/goals", method: "POST", agent: false }, (res) => {
                let body = "";
                res.on("data", (d: Buffer) => (body += d.toString()));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            });
            req.on("error", reject);
            req.write('{"title": "Swim');
            req.end(' a mile"}'); // two writes: Node sends them chunked
        });
        expect(chunked.status).toBe(201);
        expect(JSON.parse(chunked.body)).toMatchObject({ title: "Swim a mile" });
        const big = await request(app.port, "/goals", { method: "POST", body: JSON.stringify({ title: "x".repeat(17 * 1024) }) });
        expect(big.status).toBe(413);
        expect(big.headers.connection).toBe("close");
    });

    it("answers /slow?ms=N after sleeping N ms", async () => {
        const app = await ready("1.0.0");
        const started = Date.now();
        const slow = await request(app.port, "/slow?ms=150");
        expect(slow.status).toBe(200);
        expect(slow.body).toEqual({ sleptMs: 150 });
        expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    });

    it("v1 (title) and v2 (name) share the goals after the expand; after the contract v2 goes on and v1's reads fail (why the contract waits for 2.0.0)", async () => {
        const [v1, v2] = await Promise.all([ready("1.0.0"), ready("2.0.0", { APP_COLOR: "green" })]);
        expect(v2.output()).toContain('"schema":{"column":"name","readRoutine":2}');
        await request(v2.port, "/goals", { method: "POST", body: JSON.stringify({ title: "Learn the cello" }) });
        await request(v1.port, "/goals", { method: "POST", body: JSON.stringify({ title: "Plant a tree" }) });
        const titles = async (port: number) => ((await request(port, "/goals?limit=2")).body as { goals: { title: string }[] }).goals.map((g) => g.title);
        expect(await titles(v1.port)).toEqual(["Plant a tree", "Learn the cello"]);
        expect(await titles(v2.port)).toEqual(["Plant a tree", "Learn the cello"]);

        await runner.up({ phase: "contract", runningVersions: ["2.0.0"] });
        const after = await request(v2.port, "/goals", { method: "POST", body: JSON.stringify({ title: "Visit Lisbon" }) });
        expect(after.status).toBe(201);
        expect((await titles(v2.port))[0]).toBe("Visit Lisbon");
        const v1Read = await request(v1.port, "/goals?limit=2");
        expect(v1Read.status).toBe(503);
        expect(v1Read.body).toEqual({ error: "the database did not answer; retry shortly" });
        // The app logs the failure as it answers: the line may reach this process after the answer did.
        await waitForEvent(v1, "request-failed");
    });
});

describe("app-python at start", () => {
    it("APP_FAULT=unhealthy: /health answers 503 while the rest serves", async () => {
        const app = await ready("2.0.0", { APP_FAULT: "unhealthy" });
        const health = await request(app.port, "/health");
        expect(health.status).toBe(503);
        expect(health.body).toEqual({ status: "unhealthy" });
        expect((await request(app.port, "/goals?limit=1")).status).toBe(200);
    });

    it("APP_FAULT=wrong-version: /version and x-served-by report a version no release has (the gate must refuse it)", async () => {
        const app = await ready("2.0.0", { APP_FAULT: "wrong-version" });
        const version = await request(app.port, "/version");
        expect(version.body).toEqual({ version: "0.0.0-wrong-version", color: "blue" });
        expect(version.headers["x-served-by"]).toBe("blue@0.0.0-wrong-version");
    });

    it("APP_FAULT=errors-after-flip: all good until its marker exists, then one request in five is 503 with x-fault: injected; /health stays 200", async () => {
        const marker = path.join(os.tmpdir(), `bg-py-fault-${process.pid}-${Date.now()}`);
        try {
            const app = await ready("2.0.0", { APP_FAULT: "errors-after-flip", APP_FAULT_MARKER: marker });
            const statuses = async (p: string, n: number): Promise<(string | number)[]> => {
                const out: (string | number)[] = [];
                for (let i = 0; i < n; i++) {
                    const r = await request(app.port, p);
                    out.push(r.status === 503 ? `503 ${String(r.headers["x-fault"])}` : r.status);
                }
                return out;
            };
            expect(await statuses("/goals?limit=1", 10)).toEqual(Array(10).fill(200));
            fs.writeFileSync(marker, "");
            const after = await statuses("/goals?limit=1", 20);
            expect(after.filter((s) => s !== 200)).toEqual(Array(4).fill("503 injected"));
            expect(await statuses("/health", 5)).toEqual(Array(5).fill(200));
        } finally {
            fs.rmSync(marker, { force: true });
        }
    });

    it("APP_FAULT=crash-on-start: exits 1 before it listens, saying so", async () => {
        const app = await launch("2.0.0", { APP_FAULT: "crash-on-start" });
        expect(await app.exited).toBe(1);
        expect(app.output()).toContain("APP_FAULT=crash-on-start");
        expect(await isRefused(app.port)).toBe(true);
    });

    it.each([
        ["a scheme no driver handles", `mysql://${APP_USER}:TopSecret1@127.0.0.1/goals`, /DATABASE_URL has scheme "mysql".*use postgres:\/\/, postgresql:\/\/, mssql:\/\/ or sqlserver:\/\//],
        ["a port that is not a number", `postgres://${APP_USER}:TopSecret1@127.0.0.1:pg/goals`, /DATABASE_URL "postgres:\/\/goals_app:\*\*\*@127\.0\.0\.1:pg\/goals" is not a valid URL.*percent-encode/],
        ["no database", `postgres://${APP_USER}:TopSecret1@127.0.0.1:5432`, /DATABASE_URL "postgres:\/\/goals_app:\*\*\*@127\.0\.0\.1:5432" must name a host and one database/],
        ["encrypt that is not true or false", `mssql://${APP_USER}:TopSecret1@db.example.org/goals?encrypt=yes`, /has encrypt=yes: use encrypt=true or encrypt=false/],
    ])("a bad DATABASE_URL (%s) exits 2 before listening, naming the variable and the fix, never the password", async (_what, url, message) => {
        const app = await launch("1.0.0", { DATABASE_URL: url });
        expect(await app.exited).toBe(2);
        expect(app.output()).toMatch(message);
        expect(app.output()).not.toContain("TopSecret1");
        expect(await isRefused(app.port)).toBe(true);
    });

    it("lists every bad variable at once (APP_COLOR, PORT, APP_FAULT)", async () => {
        const app = await launch("1.0.0", { APP_COLOR: "purple", PORT: "http", APP_FAULT: "sometimes" });
        expect(await app.exited).toBe(2);
        expect(app.output()).toContain('APP_COLOR="purple" must be "blue" or "green"');
        expect(app.output()).toContain('PORT="http" is not a port from 1 to 65535');
        expect(app.output()).toContain('APP_FAULT="sometimes" is not a fault; use one of unhealthy, wrong-version, crash-on-start');
    });

    it("waits out a database that drops its first connections (bounded retries), then serves", async () => {
        // A proxy in front of PostgreSQL that cuts the first two connections, as a database still starting does.
        let cut = 0;
        const proxy = net.createServer((socket) => {
            if (cut < 2) {
                cut++;
                socket.destroy();
                return;
            }
            const upstream = net.connect(pg.port, "127.0.0.1");
            socket.pipe(upstream).pipe(socket);
            socket.on("error", () => upstream.destroy());
            upstream.on("error", () => socket.destroy());
        });
        await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
        try {
            const proxyPort = (proxy.address() as net.AddressInfo).port;
            const app = await launch("2.0.0", { DATABASE_URL: appUrl.replace(`:${pg.port}/`, `:${proxyPort}/`) });
            await waitForEvent(app, "ready");
            expect(app.output().match(/"event":"database-not-ready"/g)).toHaveLength(2);
            expect((await request(app.port, "/health")).status).toBe(200);
            expect(cut).toBe(2);
        } finally {
            proxy.close();
        }
    });

    it("exits 1 at once when the database refuses it (a database that does not exist), naming it, without the password", async () => {
        const app = await launch("2.0.0", { DATABASE_URL: appUrl.replace("/goals_python", "/no_such_db") });
        expect(await app.exited).toBe(1);
        expect(app.output()).toMatch(/the database postgres:\/\/127\.0\.0\.1:\d+\/no_such_db refused the app: the database in DATABASE_URL does not exist/);
        expect(app.output()).not.toContain("database-not-ready");
        expect(app.output()).not.toContain(encodeURIComponent(PASSWORD));
        expect(app.output()).not.toContain(PASSWORD);
    });

    it("has written no bytecode into its release directories", () => {
        for (const dir of Object.values(releases)) {
            const found = execFileSync("find", [dir, "-name", "__pycache__", "-o", "-name", "*.pyc"], { encoding: "utf8" }).trim();
            expect(found).toBe("");
        }
    });
});

describe("app-python's SQL Server settings, as FreeTDS reads them (no SQL Server needed)", () => {
    /** FreeTDS's final connection settings for a URL: one connection attempt to a closed port, dumped by TDSDUMPCONFIG. */
    async function freetdsSettings(query: string): Promise<string> {
        const dump = path.join(work, `tdsconfig-${Date.now()}.log`);
        const closed = await freePort();
        const script =
            "import sys, pymssql\n" +
            "from goals.config import parse_database_url\n" +
            "from goals.database import _mssql_connect\n" +
            "try:\n    _mssql_connect(parse_database_url(sys.argv[1]))()\nexcept pymssql.Error:\n    pass\n";
        const result = spawnSync("/usr/bin/python3", ["-B", "-c", script, `mssql://app:pw@127.0.0.1:${closed}/goals${query}`], {
            env: { PATH: "/usr/bin:/bin", PYTHONPATH: APP_DIR, TDSDUMPCONFIG: dump },
            encoding: "utf8",
        });
        expect(result.status).toBe(0);
        return fs.readFileSync(dump, "utf8");
    }

    it("encrypt=true (the default): TLS required, the certificate checked against the system's CAs and the host name", async () => {
        const settings = await freetdsSettings("");
        expect(settings).toMatch(/encrypt level = 3\b/); // TDS_ENCRYPTION_REQUIRE
        expect(settings).toMatch(/cafile = \/etc\/ssl\/certs\/ca-certificates\.crt/);
        expect(settings).toMatch(/check_ssl_hostname = 1/);
    });

    it("encrypt=false: TLS when the server asks for it (Azure SQL always does), nothing checked", async () => {
        const settings = await freetdsSettings("?encrypt=false");
        expect(settings).toMatch(/encrypt level = 2\b/); // TDS_ENCRYPTION_REQUEST
        expect(settings).not.toMatch(/cafile = \//);
    });
});

const MSSQL_URL = process.env.MSSQL_URL;
if (!MSSQL_URL) {
    describe.skip("app-python on a real SQL Server (skipped: MSSQL_URL is not set)", () => {
        it("adds and lists goals through pymssql", () => undefined);
    });
} else {
    describe("app-python on a real SQL Server (MSSQL_URL)", () => {
        const database = `goals_python_${process.pid}`;
        const withPool = async <T>(url: string, fn: (p: mssql.ConnectionPool) => Promise<T>): Promise<T> => {
            const p = new mssql.ConnectionPool(mssqlConfig(parseDatabaseUrl(url), { requestTimeoutMs: 60_000 }));
            await p.connect();
            try {
                return await fn(p);
            } finally {
                await p.close();
            }
        };
        const urlFor = (db: string, user?: { name: string; password: string }): string => {
            const u = new URL(MSSQL_URL);
            u.pathname = `/${db}`;
            if (user) {
                u.username = user.name;
                u.password = encodeURIComponent(user.password);
            }
            return u.toString();
        };
        let mssqlAppUrl: string;
        beforeAll(async () => {
            // Contained, as Azure SQL Database is: ensureAppUser creates a user WITH PASSWORD.
            await withPool(MSSQL_URL, (p) =>
                p.request().batch(`EXEC sp_configure 'contained database authentication', 1; RECONFIGURE; CREATE DATABASE [${database}] CONTAINMENT = PARTIAL;`),
            );
            const mssqlRunner = createRunner({ url: urlFor(database), dir: path.join(ROOT, "migrations") });
            await mssqlRunner.up({ phase: "expand" });
            await mssqlRunner.ensureAppUser(APP_USER, PASSWORD);
            mssqlAppUrl = urlFor(database, { name: APP_USER, password: PASSWORD });
        });
        afterAll(async () => {
            await withPool(MSSQL_URL, (p) => p.request().batch(`ALTER DATABASE [${database}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [${database}];`));
        });

        it.each(["1.0.0", "2.0.0"])("%s adds and lists goals through pymssql (GetGoals_v1 / v2)", async (version) => {
            const app = await ready(version, { DATABASE_URL: mssqlAppUrl });
            const added = await request(app.port, "/goals", { method: "POST", body: JSON.stringify({ title: `Goal of ${version} ✓` }) });
            expect(added.status).toBe(201);
            expect(added.body).toMatchObject({ title: `Goal of ${version} ✓`, createdAt: expect.stringMatching(/Z$/) });
            const listed = (await request(app.port, "/goals?limit=1")).body as { goals: { title: string }[] };
            expect(listed.goals.map((g) => g.title)).toEqual([`Goal of ${version} ✓`]);
        });
    });
}
