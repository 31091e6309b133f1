import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { freePort } from "../../rehearsal/postgres";
import { RunningHaproxy, serverStates, setLiveColor, showMap, startHaproxy } from "../../rehearsal/haproxy";
import { isFailure, Load, startLoad } from "../../rehearsal/load";
import { FlipEvent, flipMetrics, newConnectionsMissingTheSwitch, SWITCH_TOLERANCE_MS } from "../../rehearsal/report";
import { StandInApp, startStandInApp } from "./support/standInApp";

const MAX_AGE_MS = 500;
// The product's stated tolerance (the rehearsal's verdict uses it too). It was 100 ms here, and CI measured 149 ms
// once (2026-12-02): the runtime API's acknowledgement, timed by this process while it also sends 300 req/s.
const TOLERANCE_MS = SWITCH_TOLERANCE_MS;

function get(port: number, p: string): Promise<{ status: number; servedBy: string }> {
    return new Promise((resolve, reject) => {
        http.get({ host: "127.0.0.1", port, path: p, agent: false }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, servedBy: String(res.headers["x-served-by"]) }));
        }).on("error", reject);
    });
}

describe("HAProxy in TCP mode, switched through the runtime API", () => {
    let dir: string;
    let haproxy: RunningHaproxy | undefined;
    let load: Load | undefined;
    const apps: StandInApp[] = [];
    let prodPort: number;
    let stagingPort: number;

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-haproxy-test-"));
        for (const color of ["blue", "green"]) for (let i = 0; i < 2; i++) apps.push(await startStandInApp(color, "1.0.0", MAX_AGE_MS));
        prodPort = await freePort();
        stagingPort = await freePort();
        haproxy = await startHaproxy(
            {
                socketPath: path.join(dir, "admin.sock"),
                mapPath: path.join(dir, "live.map"),
                productionPort: prodPort,
                stagingPort,
                servers: {
                    blue: apps.slice(0, 2).map((a, i) => ({ name: `blue-${i}`, port: a.port })),
                    green: apps.slice(2).map((a, i) => ({ name: `green-${i}`, port: a.port })),
                },
                checkIntervalMs: 100,
            },
            dir,
            "blue",
        );
    }, 30000);

    afterAll(async () => {
        await load?.stop();
        await haproxy?.stop();
        await Promise.all(apps.map((a) => a.drain()));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("sends production to the live color and staging to the idle one, and swaps both with one call", async () => {
        const sock = haproxy!.layout.socketPath;
        const map = haproxy!.layout.mapPath;
        // Health checks need a moment to mark the servers UP.
        for (let i = 0; i < 50 && Object.values(await serverStates(sock)).some((s) => s !== "UP"); i++) {
            await new Promise((r) => setTimeout(r, 50));
        }
        expect(Object.values(await serverStates(sock))).toEqual(Array(8).fill("UP"));
        expect((await get(prodPort, "/")).servedBy).toBe("blue@1.0.0");
        expect((await get(stagingPort, "/")).servedBy).toBe("green@1.0.0");
        await setLiveColor(sock, map, "green");
        expect(await showMap(sock, map)).toEqual({ live: "be_green", idle: "stg_blue" });
        expect((await get(prodPort, "/")).servedBy).toBe("green@1.0.0");
        expect((await get(stagingPort, "/")).servedBy).toBe("blue@1.0.0");
        await setLiveColor(sock, map, "blue");
        expect((await get(prodPort, "/")).servedBy).toBe("blue@1.0.0");
    });

    it("moves every new connection to the new color at once, keeps established ones, and loses no request", async () => {
        const t0 = performance.now();
        const now = (): number => performance.now() - t0;
        let phase = "blue";
        load = startLoad({
            host: "127.0.0.1", port: prodPort, path: "/", rate: 300, connections: 40,
            servedByHeader: "x-served-by", phase: () => phase, now,
        });
        const flips: FlipEvent[] = [];
        const flip = async (from: "blue" | "green", to: "blue" | "green"): Promise<void> => {
            const slow = load!.oneShot("slow", "/?delayMs=300", 5);
            await new Promise((r) => setTimeout(r, 50));
            const at = now();
            await setLiveColor(haproxy!.layout.socketPath, haproxy!.layout.mapPath, to);
            flips.push({ from, to, at, ackAt: now(), rollback: false });
            phase = to;
            await Promise.all([slow, load!.oneShot("probe", "/", 20)]);
        };
        await new Promise((r) => setTimeout(r, 1000));
        await flip("blue", "green");
        await new Promise((r) => setTimeout(r, 1500));
        await flip("green", "blue");
        await new Promise((r) => setTimeout(r, 1500));
        await load.stop();
        const records = load.records;
        load = undefined;

        expect(records.filter(isFailure)).toEqual([]);
        expect(records.length).toBeGreaterThan(800);
        expect(newConnectionsMissingTheSwitch(records, flips, TOLERANCE_MS)).toEqual([]);
        // Slow requests started before each switch were answered by the old color.
        const slow = records.filter((r) => r.kind === "slow");
        expect(slow.map((r) => r.color)).toEqual([...Array(5).fill("blue"), ...Array(5).fill("green")]);
        for (const [i, f] of flips.entries()) {
            const m = flipMetrics(records, f, flips[i + 1]?.at ?? Infinity);
            expect(m.newConnections).toBeGreaterThan(20);
            expect(m.switchMs).toBeLessThan(TOLERANCE_MS);
            // The old color's last request ends once every old connection reached its maximum age.
            expect(m.convergeMs).toBeGreaterThan(200);
            expect(m.convergeMs).toBeLessThan(MAX_AGE_MS + 500);
        }
    }, 30000);
});
