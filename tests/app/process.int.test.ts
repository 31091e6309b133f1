// The app as a real child process (what systemd runs): SIGTERM drains and exits 0; bad settings and
// APP_FAULT=crash-on-start exit 1 before listening; the version comes from the build stamp.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeBuildInfo } from "../../app/src/buildInfo";
import { freePort } from "../support/postgres";
import { isRefused, request, sleep } from "./httpClient";

const ROOT = path.resolve(__dirname, "..", "..");

interface Started {
    readonly child: ChildProcess;
    readonly output: () => string;
    readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-app-proc-"))));
afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
});

function launch(env: Record<string, string>): Started {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "app/src/main.ts"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    return { child, output: () => out, exited };
}

async function waitForLine(s: Started, event: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!s.output().includes(`"event":"${event}"`)) {
        if (Date.now() > deadline || s.child.exitCode !== null) throw new Error(`no "${event}" from the app; it said:\n${s.output()}`);
        await sleep(25);
    }
}

async function appEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const stamp = path.join(dir, "build-info.json");
    writeBuildInfo(stamp, { version: "1.3.0", commit: "feedbee" });
    return {
        APP_COLOR: "blue",
        DATABASE_URL: "memory:",
        APP_HOST: "127.0.0.1",
        APP_PORT: String(await freePort()),
        APP_STAGING_PORT: String(await freePort()),
        APP_BUILD_INFO: stamp,
        ...extra,
    };
}

describe("the app process", () => {
    it("reports the version of its build stamp", async () => {
        const env = await appEnv();
        const app = launch(env);
        await waitForLine(app, "ready");
        const reply = await request(Number(env.APP_STAGING_PORT), "/version");
        expect(reply.body).toEqual({ version: "1.3.0", color: "blue" });
        expect(reply.headers["x-served-by"]).toBe("blue@1.3.0");
        app.child.kill("SIGTERM");
        expect(await app.exited).toBe(0);
    });

    it("on SIGTERM finishes the in-flight request, refuses new connections and exits 0", async () => {
        const env = await appEnv({ DRAIN_TIMEOUT_MS: "5000" });
        const port = Number(env.APP_PORT);
        const app = launch(env);
        await waitForLine(app, "ready");
        const slow = request(port, "/slow?ms=1500");
        await sleep(200);
        const signalledAt = Date.now();
        app.child.kill("SIGTERM");
        await waitForLine(app, "draining");
        expect(await isRefused(port)).toBe(true);
        const reply = await slow;
        expect(reply).toMatchObject({ status: 200, body: { sleptMs: 1500 } });
        expect(reply.headers.connection).toBe("close");
        expect(await app.exited).toBe(0);
        expect(Date.now() - signalledAt).toBeLessThan(5_000);
    });

    it("a second SIGTERM (or a SIGINT) while draining keeps draining: the in-flight request still completes", async () => {
        const env = await appEnv({ DRAIN_TIMEOUT_MS: "5000" });
        const app = launch(env);
        await waitForLine(app, "ready");
        const slow = request(Number(env.APP_PORT), "/slow?ms=1500");
        await sleep(200);
        app.child.kill("SIGTERM");
        await waitForLine(app, "draining");
        app.child.kill("SIGTERM");
        await sleep(100);
        app.child.kill("SIGINT");
        expect(await slow).toMatchObject({ status: 200, body: { sleptMs: 1500 } });
        expect(await app.exited).toBe(0);
        expect(app.output().match(/"event":"signal"/g)).toHaveLength(3);
    });

    it("exits 0 within DRAIN_TIMEOUT_MS even when a request would take longer", async () => {
        const env = await appEnv({ DRAIN_TIMEOUT_MS: "300" });
        const app = launch(env);
        await waitForLine(app, "ready");
        const slow = request(Number(env.APP_PORT), "/slow?ms=20000").then(
            () => "answered",
            () => "cut",
        );
        await sleep(100);
        const signalledAt = Date.now();
        app.child.kill("SIGTERM");
        expect(await app.exited).toBe(0);
        expect(Date.now() - signalledAt).toBeLessThan(3_000);
        expect(await slow).toBe("cut");
        expect(app.output()).toContain('"event":"drain-timeout"');
    });

    it.each([
        ["a bad color", { APP_COLOR: "purple" }, /app: fatal: .*APP_COLOR="purple" must be "blue" or "green"/s],
        ["APP_FAULT=crash-on-start", { APP_FAULT: "crash-on-start" }, /app: fatal: APP_FAULT=crash-on-start: crashing on start/],
        ["a stamp that is not semver", { APP_BUILD_INFO: "WRITE_BAD_STAMP" }, /has version "1.0", which is not a semantic version/],
    ])("exits 1 before listening on %s, saying why", async (_name, extra, message) => {
        const env = await appEnv(extra);
        if (env.APP_BUILD_INFO === "WRITE_BAD_STAMP") {
            env.APP_BUILD_INFO = path.join(dir, "bad.json");
            fs.writeFileSync(env.APP_BUILD_INFO, '{"version":"1.0"}');
        }
        const app = launch(env);
        expect(await app.exited).toBe(1);
        expect(app.output()).toMatch(message);
        expect(await isRefused(Number(env.APP_PORT))).toBe(true);
    });
});
