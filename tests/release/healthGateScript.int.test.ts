// vm-scripts/health-gate.sh run locally against stand-in app servers on 127.0.0.1 (on Azure it runs in the VNet).
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";

import { healthGateScript } from "../../components/healthGate";
import { agentWorkDir } from "../../components/lib/agentRun";
import { readVmScript } from "../../components/lib/vmScripts";
import { parseSmokeChecks } from "../../release/smokeChecks";

const SCRIPT = path.join(__dirname, "../../vm-scripts/health-gate.sh");
const REPO = path.join(__dirname, "../..");

type Behaviour =
    | { kind: "healthy"; version?: string; color?: string }
    | { kind: "unhealthy" }
    | { kind: "wrong-version"; version: string }
    | { kind: "hangs" }
    | { kind: "healthy-after"; failures: number };

const servers: http.Server[] = [];
let tmp: string;

beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "health-gate-"));
});

afterEach(async () => {
    for (const s of servers.splice(0)) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
    }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Starts a stand-in app VM on 127.0.0.1 and returns "127.0.0.1:<port>". */
async function standIn(b: Behaviour): Promise<string> {
    let healthCalls = 0;
    const server = http.createServer((req, res) => {
        if (b.kind === "hangs") return; // accepts the connection, never answers
        const json = (status: number, body: unknown) => {
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify(body));
        };
        if (req.url === "/health") {
            healthCalls++;
            const ok = b.kind === "healthy" || b.kind === "wrong-version" || (b.kind === "healthy-after" && healthCalls > b.failures);
            return ok ? json(200, { status: "ok" }) : json(503, { status: "starting" });
        }
        if (req.url === "/version") {
            const version = b.kind === "wrong-version" ? b.version : b.kind === "healthy" ? (b.version ?? "2.0.0") : "2.0.0";
            return json(200, { version, color: b.kind === "healthy" ? (b.color ?? "green") : "green" });
        }
        json(404, {});
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port nothing listens on. */
async function deadPort(): Promise<string> {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    return `127.0.0.1:${port}`;
}

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

function gate(args: string[], env: Record<string, string> = {}, script = SCRIPT): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", [script, ...args], { env: { ...process.env, ...env }, cwd: tmp });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

// The rehearsal's way (it runs the sample without the product's deploy, so /version stands in for the release proof).
const fast = ["--attempts", "2", "--interval", "0.1", "--timeout", "1", "--version-path", "/version"];
const green2 = (hosts: string[], extra: string[] = []) => ["--color", "green", "--version", "2.0.0", "--hosts", hosts.join(","), ...fast, ...extra];

/** The report line the gate printed for one VM. */
const lineFor = (out: string, host: string): string => out.split("\n").filter((l) => l.includes(host)).pop() ?? "";

describe("health-gate.sh: the VMs", () => {
    it("passes when every VM answers 200 and reports the version and color", async () => {
        const hosts = [await standIn({ kind: "healthy" }), await standIn({ kind: "healthy" })];
        const r = await gate(green2(hosts));
        expect(r.code).toBe(0);
        for (const h of hosts) expect(lineFor(r.stdout, h)).toMatch(/\/health 200, \/version 200 .*"version":"2.0.0".* OK$/);
        expect(r.stdout).toContain("health gate passed: green may take production traffic");
    });

    it("refuses when one VM answers /health with 503, and prints what each VM answered", async () => {
        const good = await standIn({ kind: "healthy" });
        const bad = await standIn({ kind: "unhealthy" });
        const r = await gate(green2([good, bad]));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("HEALTH GATE FAILED: green is not ready");
        expect(lineFor(r.stderr, bad)).toContain("FAIL: /health answered 503, not 200");
        expect(lineFor(r.stderr, good)).toMatch(/OK$/);
        expect(r.stdout).toContain("attempt 2/2: 1 of 2 VM(s) not ready");
    });

    it("refuses when a VM reports the wrong version", async () => {
        const stale = await standIn({ kind: "wrong-version", version: "1.0.0" });
        const r = await gate(green2([await standIn({ kind: "healthy" }), stale]));
        expect(r.code).toBe(1);
        expect(lineFor(r.stderr, stale)).toContain("FAIL: reports version 1.0.0 color green, expected version 2.0.0 color green");
    });

    it("refuses when a VM reports the other color", async () => {
        const blue = await standIn({ kind: "healthy", color: "blue" });
        const r = await gate(green2([blue]));
        expect(r.code).toBe(1);
        expect(lineFor(r.stderr, blue)).toContain("color blue, expected version 2.0.0 color green");
    });

    it("refuses when a VM does not answer at all (nothing listening)", async () => {
        const dead = await deadPort();
        const r = await gate(green2([await standIn({ kind: "healthy" }), dead]));
        expect(r.code).toBe(1);
        expect(lineFor(r.stderr, dead)).toMatch(/no answer \(.*\) {2}FAIL: \/health did not answer/);
    });

    it("refuses when a VM accepts the connection but never answers (bounded by --timeout)", async () => {
        const hung = await standIn({ kind: "hangs" });
        const started = Date.now();
        const r = await gate(green2([hung]));
        expect(r.code).toBe(1);
        expect(lineFor(r.stderr, hung)).toContain("FAIL: /health did not answer");
        expect(Date.now() - started).toBeLessThan(8000);
    });

    it("retries: passes when a VM becomes healthy on a later attempt", async () => {
        const slow = await standIn({ kind: "healthy-after", failures: 1 });
        const r = await gate(green2([slow], ["--attempts", "3"]));
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("attempt 1/3: 1 of 1 VM(s) not ready");
        expect(r.stdout).toContain("attempt 2/3: all 1 VM(s) healthy at 2.0.0");
    });

    it("takes its settings from the environment too (how the Pulumi program passes them)", async () => {
        const host = await standIn({ kind: "healthy" });
        const [ip, port] = host.split(":");
        const r = await gate([], { GATE_COLOR: "green", GATE_VERSION: "2.0.0", GATE_HOSTS: ip, GATE_PORT: port, GATE_ATTEMPTS: "1", GATE_VERSION_PATH: "/version" });
        expect(r.code).toBe(0);
        expect(lineFor(r.stdout, host)).toMatch(/OK$/);
    });

    it("runs as the program ships it: /health on every VM, no app endpoint for the version (each VM's release proof is read back by the program)", async () => {
        const good = await standIn({ kind: "healthy" });
        const stale = await standIn({ kind: "wrong-version", version: "1.9.0" }); // its /version is the app's business here
        const down = await standIn({ kind: "unhealthy" });
        // The agent's own wrapper (agent-gate.sh fetches the release first) is replaced by one that only runs the gate.
        const generated = healthGateScript(
            { color: "green", version: "2.0.0", hosts: [good, stale, down], port: 80, attempts: 1, intervalSeconds: 0, timeoutSeconds: 1, artifactSha256: "a".repeat(64), toolsSha256: "c".repeat(64), adminUrlSecret: "sql-admin-url" },
            { toolsUrl: "https://acct.blob.core.windows.net/artifacts/bluegreen-tools-cccccccccccc.tgz", keyvaultUrl: "https://kv.vault.azure.net/" },
            { agentGate: '#!/bin/bash\nexec bash "$AGENT_WORK_DIR/health-gate.sh"\n', healthGate: fs.readFileSync(SCRIPT, "utf8"), deployApp: "", keyvaultSecret: "", smokeChecks: "" },
        ).split(agentWorkDir("gate")).join(path.join(tmp, "agent-gate-dir"));
        const file = path.join(tmp, "run-command.sh");
        fs.writeFileSync(file, generated);
        const r = await gate([], {}, file);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain("which release each runs is proven by its deployment (read back by the program)");
        expect(lineFor(r.stderr, stale)).toMatch(/\/health 200 {2}OK$/);
        expect(lineFor(r.stderr, good)).toMatch(/OK$/);
        expect(lineFor(r.stderr, down)).toContain("FAIL: /health answered 503, not 200");
    });

    it.each([
        [["--color", "purple", "--version", "1.0.0", "--hosts", "10.0.0.4"], '--color is "purple"'],
        [["--color", "blue", "--hosts", "10.0.0.4"], "--version is missing"],
        [["--color", "blue", "--version", "1.0.0"], "--hosts is missing"],
        [["--color", "blue", "--version", "1.0.0", "--hosts", "10.0.0.4", "--attempts", "0"], '"0" is not a positive whole number'],
        [["--colour", "blue"], 'unknown argument "--colour"'],
    ])("exits 2 on a usage error: %p", async (args, message) => {
        const r = await gate(args);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(message);
    });
});

describe("health-gate.sh: the schema", () => {
    const statusCmd = (entries: unknown): string[] => {
        const file = path.join(tmp, `status-${Math.random().toString(36).slice(2)}.json`);
        fs.writeFileSync(file, JSON.stringify(entries));
        return ["--db-status-cmd", `cat ${file}`, "--app-dir", REPO];
    };
    const applied = (name: string, phase: string, requiresVersion?: string) => ({ name, phase, state: "applied", checksumOk: true, requiresVersion });

    it("passes when every expand migration is applied and no contract needs a newer version", async () => {
        const r = await gate(green2([await standIn({ kind: "healthy" })], statusCmd([applied("0001_goals", "expand"), applied("0002_drop", "contract", "1.5.0")])));
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("schema check: the database fits version 2.0.0 (2 migrations)");
    });

    it("refuses a version older than an applied contract migration", async () => {
        const r = await gate(green2([await standIn({ kind: "healthy" })], statusCmd([applied("0009_drop_title", "contract", "3.0.0")])));
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("0009_drop_title: applied contract migration requires 3.0.0 or newer; 2.0.0 is older than the schema");
    });

    it("refuses while an expand migration of this version is pending", async () => {
        const status = { migrations: [applied("0001_goals", "expand"), { name: "0010_due_date", phase: "expand", state: "pending", checksumOk: true }] };
        const r = await gate(green2([await standIn({ kind: "healthy" })], statusCmd(status)));
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("0010_due_date: expand migration pending; version 2.0.0 needs it");
    });

    it("refuses a failed migration and a changed checksum", async () => {
        const status = [{ name: "0011_index", phase: "expand", state: "failed" }, { ...applied("0001_goals", "expand"), checksumOk: false }];
        const r = await gate(green2([await standIn({ kind: "healthy" })], statusCmd(status)));
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("0011_index: recorded as failed");
        expect(r.stderr).toContain("0001_goals: applied, but its file changed since (checksum)");
    });

    it("passes a rollback: expand migrations applied by the newer version are unknown to this artifact but compatible", async () => {
        const newerExpand = { name: "0010_due_date", phase: "expand", state: "applied", checksumOk: false, fileMissing: true };
        const r = await gate(green2([await standIn({ kind: "healthy" })], statusCmd([applied("0001_goals", "expand"), newerExpand])));
        expect(r.code).toBe(0);
    });

    it("refuses a version that does not know an applied contract migration", async () => {
        const newerContract = { name: "0012_drop_title", phase: "contract", state: "applied", checksumOk: false, fileMissing: true };
        const r = await gate(green2([await standIn({ kind: "healthy" })], statusCmd([newerContract])));
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("0012_drop_title: contract migration applied by a newer version that 2.0.0 does not know");
    });

    it("reads the JSON even when the runner logs lines before it", async () => {
        const file = path.join(tmp, "status-with-log.json");
        fs.writeFileSync(file, `connecting to postgres://app:***@db/app\n${JSON.stringify([applied("0001_goals", "expand")])}\n`);
        const r = await gate(green2([await standIn({ kind: "healthy" })], ["--db-status-cmd", `cat ${file}`, "--app-dir", REPO]));
        expect(r.code).toBe(0);
    });

    it("refuses when the status command itself fails, printing its error", async () => {
        const r = await gate(green2([await standIn({ kind: "healthy" })], ["--db-status-cmd", "echo 'database unreachable' >&2; exit 1"]));
        expect(r.code).toBe(3);
        expect(r.stderr).toContain("database unreachable");
    });

    it.each([
        ["fails, printing a URL with its password", "echo 'cannot reach mssql://admin:Adm1n-Secret@sql.example:1433/app' >&2; exit 1"],
        ["fails, printing a password option", "echo 'Login failed: Server=sql.example;User Id=admin;Password=Adm1n-Secret;' >&2; exit 1"],
        ["prints a URL instead of JSON", "echo 'postgres://admin:Adm1n-Secret@db/app'"],
    ])("prints no secret when the status command %s, nor in its own text", async (_, cmd) => {
        const secretInText = `DB='postgres://admin:Adm1n-Secret@db/app'; ${cmd}`;
        const r = await gate(green2([await standIn({ kind: "healthy" })], ["--db-status-cmd", secretInText, "--app-dir", REPO]));
        expect(r.code).toBe(3);
        expect(r.stdout + r.stderr).toContain("***");
        expect(r.stdout + r.stderr).not.toContain("Adm1n-Secret");
    });

    it("does not run the schema check when a VM already failed", async () => {
        const r = await gate(green2([await standIn({ kind: "unhealthy" })], ["--db-status-cmd", "echo SHOULD-NOT-RUN"]));
        expect(r.code).toBe(1);
        expect(r.stdout + r.stderr).not.toContain("SHOULD-NOT-RUN");
    });
});

describe("health-gate.sh: the user's smoke checks", () => {
    /** A VM whose app answers GET / with its version, and /goals with `goalsStatus`. */
    async function app(goalsStatus = 200): Promise<string> {
        const server = http.createServer((req, res) => {
            const json = (status: number, body: unknown) => {
                res.writeHead(status, { "content-type": "application/json" });
                res.end(JSON.stringify(body));
            };
            if (req.url === "/health") return json(200, { status: "ok" });
            if (req.url === "/" || req.url === "/version") return json(200, { version: "2.0.0", color: "green" });
            if (req.url?.startsWith("/goals")) return json(goalsStatus, goalsStatus === 200 ? { goals: [] } : { error: "database unreachable" });
            json(404, {});
        });
        servers.push(server);
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        return `127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
    const runner = (): string => {
        const file = path.join(tmp, "smoke-checks.js");
        fs.writeFileSync(file, readVmScript("smoke-checks.js"));
        return file;
    };
    const checksFile = (checks: unknown): string => {
        const file = path.join(tmp, `checks-${Math.random().toString(36).slice(2)}.json`);
        fs.writeFileSync(file, JSON.stringify(parseSmokeChecks(checks).checks));
        return file;
    };
    const CHECKS = [{ name: "home", path: "/", expectBodyContains: '"version"' }, { name: "goals list", path: "/goals?limit=1", expectBodyContains: '"goals"' }];
    const smoke = (checks: unknown): string[] => ["--smoke-checks", checksFile(checks), "--smoke-runner", runner()];

    it("passes when every VM answers every check as expected, and prints each answer", async () => {
        const hosts = [await app(), await app()];
        const r = await gate(green2(hosts, smoke(CHECKS)));
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("smoke checks: 2 check(s) on each of 2 VM(s)");
        for (const h of hosts) expect(r.stdout).toMatch(new RegExp(`${h} {2}smoke check "goals list" GET /goals\\?limit=1 → 200 in \\d+ ms {2}OK`));
        expect(r.stdout).toContain("health gate passed");
    });

    it("refuses (exit 4) when one VM fails a check, naming the check, the VM, what was expected and what came back", async () => {
        const good = await app();
        const bad = await app(503);
        const r = await gate(green2([good, bad], smoke(CHECKS)));
        expect(r.code).toBe(4);
        expect(r.stderr).toContain("HEALTH GATE FAILED: green did not pass the smoke checks");
        expect(r.stderr).toContain(`${bad}  smoke check "goals list" GET /goals?limit=1 → 503 in`);
        expect(r.stderr).toMatch(/FAIL: expected status 200, got 503 \(body: "\{\\"error\\":\\"database unreachable\\"\}"\)/);
        expect(lineFor(r.stderr.split("\n").filter((l) => l.includes("goals list")).join("\n"), good)).toMatch(/OK$/);
        expect(r.stderr).toContain("The load balancer was not changed.");
    });

    it("refuses a wrong expectation even though /health passes", async () => {
        const r = await gate(green2([await app()], smoke([{ name: "home", path: "/", expectStatus: 204 }])));
        expect(r.code).toBe(4);
        expect(r.stderr).toContain('smoke check "home" GET / → 200 in');
        expect(r.stderr).toContain("FAIL: expected status 204, got 200");
    });

    it("exits 2 when the checks file is given without its runner", async () => {
        const r = await gate(green2([await app()], ["--smoke-checks", checksFile(CHECKS)]));
        expect(r.code).toBe(2);
        expect(r.stderr).toContain("--smoke-runner");
    });

    it("runs as the program ships it: the run command writes the checks and their runner, and the gate refuses on a failing check", async () => {
        const good = await app();
        const bad = await app(500);
        const checks = parseSmokeChecks(CHECKS).checks;
        const workDir = path.join(tmp, "agent-gate-smoke");
        const generated = healthGateScript(
            { color: "green", version: "2.0.0", hosts: [good, bad], port: 80, attempts: 1, intervalSeconds: 0, timeoutSeconds: 1, artifactSha256: "a".repeat(64), toolsSha256: "c".repeat(64), adminUrlSecret: "sql-admin-url", smokeChecks: checks },
            { toolsUrl: "https://acct.blob.core.windows.net/artifacts/bluegreen-tools-cccccccccccc.tgz", keyvaultUrl: "https://kv.vault.azure.net/" },
            { agentGate: '#!/bin/bash\nexec bash "$AGENT_WORK_DIR/health-gate.sh"\n', healthGate: fs.readFileSync(SCRIPT, "utf8"), deployApp: "", keyvaultSecret: "", smokeChecks: readVmScript("smoke-checks.js") },
        ).split(agentWorkDir("gate")).join(workDir);
        const file = path.join(tmp, "run-command-smoke.sh");
        fs.writeFileSync(file, generated);
        const r = await gate([], {}, file);
        expect(r.code).toBe(4);
        expect(r.stderr).toContain(`${bad}  smoke check "goals list" GET /goals?limit=1 → 500 in`);
        expect(JSON.parse(fs.readFileSync(path.join(workDir, "smoke-checks.json"), "utf8"))).toEqual(checks);
    });
});
