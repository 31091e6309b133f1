// The local proxy's configuration (release/localProxy.ts) on a real HAProxy, in front of two apps that do nothing for a
// drain: they never close a keep-alive connection and have no idea a switch happens.
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { inFlight, recordRelease, renderProxyConfig, renderReleasesMap, renderSlotMap, switchSlot, waitDrained } from "../../release/localProxy";
import { HaproxyProcess, runHaproxy } from "../../rehearsal/haproxy";
import { freePort } from "../support/postgres";

jest.setTimeout(60_000);

/** An app that answers its name, `/slow?ms=N` after N ms, and never closes a connection (no keep-alive timeout). */
function stubbornApp(name: string): http.Server {
    const server = http.createServer((req, res) => {
        const ms = Number(new URL(req.url ?? "/", "http://x").searchParams.get("ms") ?? 0);
        setTimeout(() => res.end(name), ms);
    });
    server.keepAliveTimeout = 0; // never closes an idle connection
    return server;
}

interface Answer {
    readonly body: string;
    readonly status: number;
    readonly connection?: string;
    readonly socket: net.Socket;
    readonly servedBy?: string;
}

function get(port: number, agent: http.Agent, p = "/"): Promise<Answer> {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: "127.0.0.1", port, path: p, agent }, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ body, status: res.statusCode ?? 0, connection: res.headers.connection, socket: req.socket as net.Socket, servedBy: res.headers["x-served-by"] as string | undefined }));
        });
        req.on("error", reject);
    });
}

let dir: string;
let apps: http.Server[];
let proxy: HaproxyProcess;
let port: number;
let stagingPort: number;
let socketPath: string;
let mapPath: string;
let releasesMapPath: string;
let metricsPort: number;
const MAX_AGE_MS = 600;

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-proxy-"));
    const slotPorts = { a: await freePort(), b: await freePort() };
    apps = [stubbornApp("a"), stubbornApp("b")];
    await Promise.all(apps.map((app, i) => new Promise<void>((r) => app.listen(i === 0 ? slotPorts.a : slotPorts.b, "127.0.0.1", r))));
    port = await freePort();
    stagingPort = await freePort();
    socketPath = path.join(dir, "admin.sock");
    mapPath = path.join(dir, "slot.map");
    fs.writeFileSync(mapPath, renderSlotMap("a"));
    releasesMapPath = path.join(dir, "releases.map");
    fs.writeFileSync(releasesMapPath, renderReleasesMap({ a: "blue@1.0.0", b: "" }));
    metricsPort = await freePort();
    const config = renderProxyConfig({ productionPort: port, stagingPort, listenHost: "127.0.0.1", slotPorts, socketPath, mapPath, releasesMapPath, maxConnectionAgeMs: MAX_AGE_MS, keepAliveIdleMs: 5000, servedBy: "blue-vm-0", metricsPort });
    proxy = await runHaproxy(config, dir, socketPath);
});

afterAll(async () => {
    await proxy?.stop();
    for (const app of apps ?? []) {
        app.closeAllConnections();
        app.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("the local proxy on HAProxy, in front of apps that never close a connection", () => {
    it("serves the production and the staging port from the active slot, naming its release and the VM", async () => {
        const agent = new http.Agent({ keepAlive: true });
        for (const p of [port, stagingPort]) {
            const answer = await get(p, agent);
            expect(answer).toMatchObject({ status: 200, body: "a", servedBy: "blue@1.0.0 blue-vm-0" });
        }
        agent.destroy();
    });

    it("names the new slot's release from the first answer after the switch, and keeps it in the file", async () => {
        await recordRelease(socketPath, releasesMapPath, "b", "blue@2.0.0");
        expect(fs.readFileSync(releasesMapPath, "utf8")).toBe(renderReleasesMap({ a: "blue@1.0.0", b: "blue@2.0.0" }));
        await switchSlot(socketPath, mapPath, "b");
        expect((await get(port, new http.Agent())).servedBy).toBe("blue@2.0.0 blue-vm-0");
        await switchSlot(socketPath, mapPath, "a");
        expect((await get(port, new http.Agent())).servedBy).toBe("blue@1.0.0 blue-vm-0");
        await expect(recordRelease(socketPath, releasesMapPath, "b", "bad value;")).rejects.toThrow(/is not <color>@<version>/);
    });

    it("sends the next request of an open keep-alive connection to the new slot once switched, and writes the map file", async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const before = await get(port, agent);
        expect(before.body).toBe("a");
        await switchSlot(socketPath, mapPath, "b");
        const after = await get(port, agent);
        expect(after.body).toBe("b");
        expect(after.socket).toBe(before.socket); // the same client connection: no reconnect was needed
        expect(fs.readFileSync(mapPath, "utf8")).toBe(renderSlotMap("b"));
        await switchSlot(socketPath, mapPath, "a");
        expect((await get(port, agent)).body).toBe("a");
        agent.destroy();
    });

    it("lets a request in flight on the old slot finish after the switch, and says when the old slot is drained", async () => {
        const agent = new http.Agent({ keepAlive: true });
        const slow = get(port, agent, "/slow?ms=800");
        await new Promise((r) => setTimeout(r, 150));
        expect(await inFlight(socketPath, "a")).toBe(1);
        await switchSlot(socketPath, mapPath, "b");
        expect((await get(port, new http.Agent())).body).toBe("b");
        const drained = await waitDrained(socketPath, "a", 5000, 20);
        expect(drained).toMatchObject({ drained: true, atStart: 1, left: 0 });
        expect(drained.waitedMs).toBeGreaterThan(300);
        expect(await slow).toMatchObject({ status: 200, body: "a" });
        const bounded = await waitDrained(socketPath, "b", 100, 20);
        expect(bounded.drained).toBe(true);
        await switchSlot(socketPath, mapPath, "a");
        agent.destroy();
    });

    it("reports a slot still busy when the bound runs out", async () => {
        const slow = get(port, new http.Agent(), "/slow?ms=700");
        await new Promise((r) => setTimeout(r, 100));
        const r = await waitDrained(socketPath, "a", 200, 20);
        expect(r).toMatchObject({ drained: false, atStart: 1, left: 1 });
        await slow;
    });

    it("closes a keep-alive connection older than the bound after its next answer, so clients reconnect", async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const sockets = new Set<net.Socket>();
        const closes: number[] = [];
        const started = Date.now();
        for (let i = 0; Date.now() - started < MAX_AGE_MS * 2.6; i++) {
            const answer = await get(port, agent);
            expect(answer.status).toBe(200);
            sockets.add(answer.socket);
            if (answer.connection === "close") closes.push(Date.now() - started);
            await new Promise((r) => setTimeout(r, 50));
        }
        // Two closes in about 2.6 bounds: each connection lived at least the bound, and not much longer.
        expect(closes.length).toBeGreaterThanOrEqual(2);
        // Each close made the client open a new connection (the last close may have ended the loop).
        expect(sockets.size).toBeGreaterThanOrEqual(closes.length);
        expect(sockets.size).toBeLessThanOrEqual(closes.length + 1);
        expect(closes[0]).toBeGreaterThanOrEqual(MAX_AGE_MS);
        expect(closes[0]).toBeLessThan(MAX_AGE_MS + 400);
        agent.destroy();
    });

    it("counts the answers of each slot by status class in Prometheus text, whatever the app", async () => {
        const count = (text: string, slot: string, code: string): number =>
            Number(new RegExp(`^haproxy_backend_http_responses_total\\{proxy="${slot}",code="${code}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? "NaN");
        const agent = new http.Agent();
        const before = (await get(metricsPort, agent, "/metrics")).body;
        for (let i = 0; i < 3; i++) expect((await get(port, agent)).status).toBe(200);
        const after = await get(metricsPort, agent, "/metrics");
        expect(after.status).toBe(200);
        expect(count(after.body, "slot_a", "2xx") - count(before, "slot_a", "2xx")).toBe(3);
        expect(count(after.body, "slot_a", "5xx")).toBe(0);
        expect(after.body).toMatch(/^haproxy_backend_response_time_average_seconds\{proxy="slot_a"\} [\d.e-]+$/m);
        expect((await get(metricsPort, agent, "/other")).status).toBe(404);
    });

    it("refuses to switch to a backend the map cannot name, leaving the map file as it was", async () => {
        const before = fs.readFileSync(mapPath, "utf8");
        await expect(switchSlot(path.join(dir, "no-such.sock"), mapPath, "b")).rejects.toThrow(/ENOENT|ECONNREFUSED/);
        expect(fs.readFileSync(mapPath, "utf8")).toBe(before);
    });
});
