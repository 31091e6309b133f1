// The app's HTTP behaviour, started in-process on 127.0.0.1 (real listeners, so this is the integration tier).
import * as http from "http";
import * as net from "net";
import { AppConfig } from "../../app/src/config";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { WRONG_VERSION } from "../../app/src/faults";
import { RunningApp, startApp } from "../../app/src/server";
import { Goal, GoalStore } from "../../app/src/store/goalStore";
import { MemoryGoalStore } from "../../app/src/store/memoryGoalStore";
import { freePort } from "../support/postgres";
import { isRefused, request, sleep, waitFor } from "./httpClient";

const baseConfig: AppConfig = {
    color: "green",
    databaseUrl: "memory:",
    host: "127.0.0.1",
    port: 0,
    stagingPort: 0,
    maxConnectionAgeMs: 30_000,
    drainTimeoutMs: 5_000,
    drainDelayMs: 0,
    bodyTimeoutMs: 10_000,
};

/** A store whose readiness the test controls. */
class GatedStore extends MemoryGoalStore {
    private open!: () => void;
    private readonly opened = new Promise<void>((r) => (this.open = r));
    failLists = false;
    release(): void {
        this.open();
    }
    override async ping(): Promise<void> {
        await this.opened;
    }
    override async list(limit: number): Promise<Goal[]> {
        if (this.failLists) throw new Error("connection reset");
        return super.list(limit);
    }
}

const running: RunningApp[] = [];
async function start(config: Partial<AppConfig> = {}, store: GoalStore = new MemoryGoalStore()): Promise<RunningApp> {
    const app = await startApp({ config: { ...baseConfig, ...config }, buildInfo: { version: "2.0.0" }, store, log: () => undefined });
    running.push(app);
    return app;
}
afterEach(async () => {
    await Promise.all(running.splice(0).map((a) => a.drain()));
});

describe("/health", () => {
    it("answers 503 starting until the database answers, then 200", async () => {
        const store = new GatedStore();
        const app = await start({}, store);
        expect(await request(app.ports.production, "/health")).toMatchObject({ status: 503, body: { status: "starting" } });
        store.release();
        await waitFor(() => app.isReady(), 2_000, "ready");
        expect(await request(app.ports.production, "/health")).toMatchObject({ status: 200, body: { status: "ok" } });
    });

    it("answers 503 unhealthy forever under APP_FAULT=unhealthy, while still serving the rest", async () => {
        const app = await start({ fault: "unhealthy" });
        await sleep(100);
        expect(await request(app.ports.production, "/health")).toMatchObject({ status: 503, body: { status: "unhealthy" } });
        expect((await request(app.ports.production, "/version")).status).toBe(200);
    });
});

describe("/version and x-served-by", () => {
    it("reports the stamped version and the color on both ports", async () => {
        const app = await start();
        for (const port of [app.ports.production, app.ports.staging ?? -1]) {
            const reply = await request(port, "/version");
            expect(reply.body).toEqual({ version: "2.0.0", color: "green" });
            expect(reply.headers["x-served-by"]).toBe("green@2.0.0");
        }
        expect(app.ports.production).not.toBe(app.ports.staging);
    });

    it("names the color and version on every response, errors included", async () => {
        const app = await start();
        for (const [path, method, status] of [["/nope", "GET", 404], ["/version", "POST", 405], ["/goals", "POST", 400]] as const) {
            const reply = await request(app.ports.production, path, { method, body: method === "POST" ? "{}" : undefined });
            expect(reply.status).toBe(status);
            expect(reply.headers["x-served-by"]).toBe("green@2.0.0");
        }
    });

    it("reports a version that is not the stamped one under APP_FAULT=wrong-version", async () => {
        const app = await start({ fault: "wrong-version" });
        const reply = await request(app.ports.production, "/version");
        expect(reply.body).toEqual({ version: WRONG_VERSION, color: "green" });
        expect(reply.headers["x-served-by"]).toBe(`green@${WRONG_VERSION}`);
    });
});

describe("APP_FAULT=errors-after-flip", () => {
    it("serves every request until its marker exists, then fails one in five with 503 and x-fault: injected; /health stays 200", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-fault-"));
        const marker = path.join(dir, "production");
        try {
            const app = await start({ fault: "errors-after-flip", faultMarker: marker });
            await waitFor(() => app.isReady(), 2_000, "ready");
            const statuses = async (p: string, n: number): Promise<{ status: number; fault?: string }[]> => {
                const out = [];
                for (let i = 0; i < n; i++) {
                    const r = await request(app.ports.production, p);
                    out.push({ status: r.status, fault: r.headers["x-fault"] as string | undefined });
                }
                return out;
            };
            expect((await statuses("/goals", 10)).every((r) => r.status === 200)).toBe(true);
            fs.writeFileSync(marker, "");
            await sleep(150); // the marker is looked up at most every 100 ms
            const after = await statuses("/goals", 20);
            expect(after.filter((r) => r.status === 503)).toEqual(Array(4).fill({ status: 503, fault: "injected" }));
            expect(after.filter((r) => r.status === 200)).toHaveLength(16);
            expect((await statuses("/health", 10)).every((r) => r.status === 200)).toBe(true);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("APP_FAULT=crash-on-start", () => {
    it("refuses to start and never listens", async () => {
        const port = await freePort();
        await expect(
            startApp({ config: { ...baseConfig, port, fault: "crash-on-start" }, buildInfo: { version: "3.0.0" }, log: () => undefined }),
        ).rejects.toThrow(/APP_FAULT=crash-on-start/);
        expect(await isRefused(port)).toBe(true);
    });
});

describe("/goals", () => {
    it("adds goals and lists them newest first", async () => {
        const app = await start();
        const created = await request(app.ports.production, "/goals", { method: "POST", body: '{"title":"Read 12 books"}' });
        expect(created).toMatchObject({ status: 201, body: { id: 1, title: "Read 12 books" } });
        await request(app.ports.production, "/goals", { method: "POST", body: '{"title":"Run a marathon"}' });
        const list = await request(app.ports.staging ?? -1, "/goals?limit=10");
        expect((list.body as { goals: Goal[] }).goals.map((g) => g.title)).toEqual(["Run a marathon", "Read 12 books"]);
    });

    it.each([
        ["/goals?limit=0", "GET", undefined, 400, /limit=0 must be an integer from 1 to 100/],
        ["/goals", "POST", "nope", 400, /body is not JSON/],
        ["/goals", "POST", '{"title":""}', 400, /title is missing or empty/],
        ["/goals", "DELETE", undefined, 405, /DELETE is not allowed on \/goals; use GET or POST/],
    ])("%s %s %s → %d with what to send instead", async (path, method, body, status, message) => {
        const app = await start();
        const reply = await request(app.ports.production, path, { method, body });
        expect(reply.status).toBe(status);
        expect((reply.body as { error: string }).error).toMatch(message);
    });

    it("answers 408 and closes the connection when a body does not arrive within BODY_TIMEOUT_MS", async () => {
        const app = await start({ bodyTimeoutMs: 300 });
        const socket = net.connect(app.ports.production, "127.0.0.1");
        let received = "";
        socket.on("data", (d) => (received += String(d)));
        const closed = new Promise<number>((r) => socket.on("close", () => r(Date.now())));
        const started = Date.now();
        socket.write("POST /goals HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\"");
        const trickle = setInterval(() => socket.writable && socket.write(" "), 50); // slow, but never done
        try {
            const at = await Promise.race([closed, sleep(5_000).then(() => 0)]);
            expect(at).toBeGreaterThan(0);
            expect(at - started).toBeGreaterThanOrEqual(250);
            expect(received).toMatch(/^HTTP\/1\.1 408 /);
            expect(received).toMatch(/connection: close/i);
            expect(received).toContain("the request body did not arrive within 300 ms");
        } finally {
            clearInterval(trickle);
            socket.destroy();
        }
    });

    it("answers 503 when the database fails, and keeps serving", async () => {
        const store = new GatedStore();
        store.release();
        store.failLists = true;
        const app = await start({}, store);
        expect(await request(app.ports.production, "/goals")).toMatchObject({ status: 503, body: { error: expect.stringMatching(/database/) } });
        store.failLists = false;
        expect((await request(app.ports.production, "/goals")).status).toBe(200);
    });
});

describe("maximum connection age", () => {
    it("reuses a young keep-alive connection and stops reusing it once past the age", async () => {
        const app = await start({ maxConnectionAgeMs: 400 });
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
            const first = await request(app.ports.production, "/version", { agent });
            const second = await request(app.ports.production, "/version", { agent });
            expect(first.headers.connection).toBe("keep-alive");
            expect(second.localPort).toBe(first.localPort);
            await sleep(450);
            // Past the age: either the sweep closed the idle connection, or this response says close; never both
            // reused and kept.
            const third = await request(app.ports.production, "/version", { agent });
            const fourth = await request(app.ports.production, "/version", { agent });
            expect(fourth.localPort).not.toBe(first.localPort);
            expect(third.localPort !== first.localPort || third.headers.connection === "close").toBe(true);
        } finally {
            agent.destroy();
        }
    });

    it("sends Connection: close on the first response after the age on a connection kept busy", async () => {
        const app = await start({ maxConnectionAgeMs: 300 });
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
            const replies = [];
            const started = Date.now();
            while (Date.now() - started < 600) replies.push(await request(app.ports.production, "/slow?ms=20", { agent }));
            const firstPort = replies[0].localPort;
            const closeAt = replies.findIndex((r) => r.headers.connection === "close");
            expect(closeAt).toBeGreaterThan(0);
            expect(replies.slice(0, closeAt + 1).every((r) => r.localPort === firstPort)).toBe(true);
            expect(replies[closeAt + 1]?.localPort).not.toBe(firstPort);
        } finally {
            agent.destroy();
        }
    });

    it("closes an idle keep-alive connection once it is past the age", async () => {
        const app = await start({ maxConnectionAgeMs: 200 });
        const socket = net.connect(app.ports.production, "127.0.0.1");
        socket.resume(); // read (and drop) the answer, so the server's FIN is seen
        const closed = new Promise<number>((r) => socket.on("close", () => r(Date.now())));
        const opened = Date.now();
        socket.write("GET /version HTTP/1.1\r\nHost: app\r\n\r\n");
        const closedAt = await Promise.race([closed, sleep(3_000).then(() => -1)]);
        expect(closedAt).toBeGreaterThanOrEqual(opened + 200);
        expect(closedAt - opened).toBeLessThan(2_000);
    });
});

describe("drain", () => {
    it("finishes the in-flight request with Connection: close, refuses new connections, closes idle ones", async () => {
        const app = await start({ maxConnectionAgeMs: 60_000 });
        const port = app.ports.production;
        const idle = net.connect(port, "127.0.0.1");
        idle.resume();
        const idleClosed = new Promise<void>((r) => idle.on("close", () => r()));
        idle.write("GET /version HTTP/1.1\r\nHost: app\r\n\r\n");
        await sleep(100);
        const slow = request(port, "/slow?ms=600");
        await sleep(100);
        const drained = app.drain();
        await idleClosed;
        expect(await isRefused(port)).toBe(true);
        expect(await isRefused(app.ports.staging ?? -1)).toBe(true);
        const reply = await slow;
        expect(reply).toMatchObject({ status: 200, body: { sleptMs: 600 } });
        expect(reply.headers.connection).toBe("close");
        await drained;
        expect(app.isReady()).toBe(false);
    });

    it("answers /health 503 draining during DRAIN_DELAY_MS, then refuses new connections", async () => {
        const app = await start({ drainDelayMs: 400 });
        await waitFor(() => app.isReady(), 2_000, "ready");
        const drained = app.drain();
        const health = await request(app.ports.production, "/health");
        expect(health).toMatchObject({ status: 503, body: { status: "draining" } });
        expect(health.headers.connection).toBe("close");
        await drained;
        expect(await isRefused(app.ports.production)).toBe(true);
    });

    it("cuts what is still open after the drain timeout", async () => {
        const app = await start({ drainTimeoutMs: 200 });
        const slow = request(app.ports.production, "/slow?ms=5000").then(
            () => "answered",
            () => "cut",
        );
        await sleep(50);
        const started = Date.now();
        await app.drain();
        expect(Date.now() - started).toBeLessThan(1_500);
        expect(await slow).toBe("cut");
    });
});
