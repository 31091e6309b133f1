// The post-flip watch's loop (release/watch.ts) with a fake clock and fake VMs: each VM's local proxy counts the
// traffic the fake clock lets through and answers /metrics as HAProxy's exporter does, /metrics/latency as its latency
// histogram does; health probes go through its probe backend (counted apart, as on a real proxy).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";
import { flipDir, Fetch, readWatchState, requestControl, runWatch, WatchEvent, WatchOptions, WatchResult } from "../../release/watch";
import type { FlipBackRecord, WatchSpec } from "../../release/watchContract";
import { latencyText, metricsText } from "../support/proxyMetricsText";

const FLIP = "2026-12-01T12:00:00.000Z";
const FLIP_MS = Date.parse(FLIP);

/** One fake VM: requests per second, the share answered 5xx, its probe's answer, and its proxy's counters. */
interface FakeVm {
    rate: number;
    fiveXx: number;
    health: number | "down";
    proxyStart: number;
    counts: { "2xx": number; "5xx": number };
    /** How long the app takes to answer a user's request (ms). */
    latencyMs: number;
    /** The users' requests answered so far, by how long they took (ms → count): the proxy's histogram. */
    answered: Map<number, number>;
    /** Health probes answered (the proxy's probe backend). */
    probes: number;
}

class FakeWorld {
    t = FLIP_MS + 20_000; // the watch starts 20 s after the flip (the run command's delay)
    readonly vms = new Map<string, FakeVm>();
    fetches = 0;

    add(host: string, rate: number, fiveXx = 0): FakeVm {
        const vm: FakeVm = { rate, fiveXx, health: 200, proxyStart: 1000, counts: { "2xx": 0, "5xx": 0 }, latencyMs: 20, answered: new Map(), probes: 0 };
        this.vms.set(host, vm);
        return vm;
    }

    now = (): number => this.t;

    sleep = async (ms: number): Promise<void> => {
        for (const vm of this.vms.values()) {
            const n = (vm.rate * ms) / 1000;
            vm.counts["5xx"] += n * vm.fiveXx;
            vm.counts["2xx"] += n * (1 - vm.fiveXx);
            vm.answered.set(vm.latencyMs, (vm.answered.get(vm.latencyMs) ?? 0) + n);
        }
        this.t += ms;
    };

    fetch: Fetch = async (url) => {
        this.fetches++;
        const u = new URL(url);
        const vm = this.vms.get(u.hostname);
        if (!vm || vm.health === "down") throw new Error("connect ECONNREFUSED");
        if (u.pathname === "/metrics") {
            const floor = (n: number): number => Math.floor(n);
            return { status: 200, body: metricsText({ a: { "2xx": floor(vm.counts["2xx"]), "5xx": floor(vm.counts["5xx"]) }, start: vm.proxyStart, probes: vm.probes }) };
        }
        if (u.pathname === "/metrics/latency") {
            const times = [...vm.answered.entries()].flatMap(([ms, n]) => Array<number>(Math.floor(n)).fill(ms));
            return { status: 200, body: latencyText({ slot_a: times }) };
        }
        // The probe goes through the proxy's probe backend: counted apart from the users' requests.
        vm.probes += 1;
        return { status: vm.health, body: "" };
    };
}

function spec(overrides: Partial<WatchSpec> = {}): WatchSpec {
    const vm = (name: string, host: string) => ({ name, host, metricsPort: 8405, healthPort: 8080 });
    return {
        flipId: FLIP,
        from: "blue",
        to: "green",
        targets: [vm("green-vm-0", "10.0.1.20"), vm("green-vm-1", "10.0.1.21")],
        baseline: [vm("blue-vm-0", "10.0.1.10"), vm("blue-vm-1", "10.0.1.11")],
        healthPath: "/health",
        thresholds: { ...DEFAULT_WATCH_THRESHOLDS, watchMinutes: 3 },
        until: new Date(FLIP_MS + 3 * 60_000).toISOString(),
        loadBalancerId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb",
        armEndpoint: "https://management.azure.com",
        ...overrides,
    };
}

let stateDir: string;
beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "watch-"));
});
afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

/** A world with green taking production (`greenFault` of its answers 5xx) and blue drained. */
function world(greenFault = 0, greenRate = 40): FakeWorld {
    const w = new FakeWorld();
    w.add("10.0.1.20", greenRate, greenFault);
    w.add("10.0.1.21", greenRate, greenFault);
    w.add("10.0.1.10", 0.2);
    w.add("10.0.1.11", 0.2);
    // The old color's history until the flip: 1% errors.
    for (const host of ["10.0.1.10", "10.0.1.11"]) (w.vms.get(host) as FakeVm).counts = { "2xx": 9900, "5xx": 100 };
    return w;
}

function options(w: FakeWorld, extra: Partial<WatchOptions> = {}) {
    const flipBacks: FlipBackRecord[] = [];
    const events: WatchEvent[] = [];
    const opts: WatchOptions = {
        stateDir,
        flipBack: async (r) => {
            flipBacks.push(r);
            w.t += 1500; // the ARM call
            return { outcome: "flipped-back", problems: [] };
        },
        now: w.now,
        sleep: w.sleep,
        fetch: w.fetch,
        log: () => undefined,
        onEvent: (e) => events.push(e),
        ...extra,
    };
    return { opts, flipBacks, events };
}

const at = (events: readonly WatchEvent[], type: WatchEvent["type"]): number => Date.parse(events.find((e) => e.type === type)?.at ?? "");

describe("the post-flip watch", () => {
    it("flips a color that fails 20% of its requests back exactly once, detected and restored within 30 s", async () => {
        const w = world(0.2);
        const { opts, flipBacks, events } = options(w);
        const started = w.now();
        const result = await runWatch(spec(), opts);

        expect(result.outcome).toBe("flipped-back");
        expect(flipBacks).toHaveLength(1);
        expect(flipBacks[0]).toMatchObject({ flipId: FLIP, from: "green", to: "blue" });
        expect(flipBacks[0].reason).toMatch(/error ratio .*(19\.\d|20)%/);
        // detect: from the first interval with failed requests (they started with the watch) to the fail verdict
        const firstBad = Date.parse(events.find((e) => e.type === "first-bad-interval")?.intervalStartedAt ?? "");
        expect(firstBad).toBe(started);
        expect(at(events, "verdict-fail") - firstBad).toBeLessThanOrEqual(20_000);
        expect(at(events, "flip-back-done") - firstBad).toBeLessThanOrEqual(30_000);
        // one bad interval is not a fail: the third in a row is
        expect(events.filter((e) => e.type === "verdict").map((e) => e.verdict)).toEqual(["pass", "pass", "fail"]);

        const full = JSON.parse(fs.readFileSync(path.join(flipDir(stateDir, FLIP), "flip-back.json"), "utf8"));
        expect(full.record).toEqual(flipBacks[0]);
        expect(full.samples.length).toBe(6); // 3 intervals × 2 VMs
        expect(full.flipBack).toEqual({ outcome: "flipped-back", problems: [] });
        expect(readWatchState(stateDir, FLIP)?.status).toBe("flipped-back");
    });

    it("never flips back a second time for the same flip: a restarted watch finds it ended, even mid-call", async () => {
        const w = world(0.2);
        const first = options(w);
        await runWatch(spec(), first.opts);
        const again = options(w);
        const fetchesBefore = w.fetches;
        const result: WatchResult = await runWatch(spec(), again.opts);
        expect(result).toMatchObject({ outcome: "flipped-back", alreadyEnded: true });
        expect(again.flipBacks).toHaveLength(0);
        expect(w.fetches).toBe(fetchesBefore);

        // The process died during the ARM call: the state says flipping-back; the next start does not call it again.
        const file = path.join(flipDir(stateDir, FLIP), "state.json");
        fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), status: "flipping-back" }));
        const third = options(w);
        expect((await runWatch(spec(), third.opts)).outcome).toBe("flip-back-interrupted");
        expect(third.flipBacks).toHaveLength(0);
    });

    it("lets a healthy color pass at the end of the watch, without a flip-back", async () => {
        const w = world(0.01);
        const { opts, flipBacks, events } = options(w);
        const result = await runWatch(spec(), opts);
        expect(result.outcome).toBe("passed");
        expect(flipBacks).toHaveLength(0);
        expect(w.now()).toBeGreaterThanOrEqual(Date.parse(spec().until));
        expect(events.filter((e) => e.type === "verdict").length).toBeGreaterThan(25);
        expect(events.some((e) => e.type === "verdict" && e.verdict === "fail")).toBe(false);
    });

    it("ends inconclusive on too little traffic, says so, and never flips back", async () => {
        const w = world(0.5, 0.5); // half the answers fail, but 2–3 requests per interval cannot be judged
        const { opts, flipBacks } = options(w);
        const result = await runWatch(spec(), opts);
        expect(result.outcome).toBe("inconclusive");
        expect(flipBacks).toHaveLength(0);
        expect(readWatchState(stateDir, FLIP)?.ended?.reasons[0]).toMatch(/inconclusive at the end of the watch: no flip-back/);
    });

    it("is stopped by the kill switch and ended early by promote, without a flip-back", async () => {
        for (const what of ["stop", "promote"] as const) {
            fs.rmSync(stateDir, { recursive: true, force: true });
            const w = world(0.2);
            const { opts, flipBacks } = options(w, {
                onEvent: (e) => {
                    if (e.type === "verdict" && e.interval === 1) requestControl(stateDir, FLIP, what);
                },
            });
            const result = await runWatch(spec(), opts);
            expect(result.outcome).toBe(what === "stop" ? "stopped" : "promoted");
            expect(flipBacks).toHaveLength(0);
        }
    });

    it("resumes after its process restarts, without a gap counted as silence, and still flips back once", async () => {
        const w = world(0.2);
        let sleeps = 0;
        const dying = options(w, {
            sleep: async (ms) => {
                if (++sleeps === 3) throw new Error("killed");
                await w.sleep(ms);
            },
        });
        await expect(runWatch(spec(), dying.opts)).rejects.toThrow("killed");
        expect(readWatchState(stateDir, FLIP)).toMatchObject({ status: "watching", intervals: 2 });
        w.t += 60_000; // down for a minute (12 intervals)
        const resumed = options(w);
        const result = await runWatch(spec(), resumed.opts);
        expect(result.outcome).toBe("flipped-back");
        expect(resumed.flipBacks).toHaveLength(1);
        expect(resumed.flipBacks[0].reason).not.toMatch(/no traffic/);
        expect(resumed.events[0].type).toBe("watch-resumed");
    });

    it("is not fooled by a restart of a proxy (counters start again)", async () => {
        const w = world(0.01);
        const { opts, flipBacks } = options(w, {
            onEvent: (e) => {
                if (e.type === "verdict" && e.interval === 5) {
                    const vm = w.vms.get("10.0.1.20") as FakeVm;
                    vm.counts = { "2xx": 0, "5xx": 0 };
                    vm.proxyStart += 600;
                }
            },
        });
        expect((await runWatch(spec(), opts)).outcome).toBe("passed");
        expect(flipBacks).toHaveLength(0);
        const own = (readWatchState(stateDir, FLIP)?.samples ?? []).filter((x) => x.vm === "green-vm-0");
        const totals = own.map((x) => x.requests["2xx"] + x.requests["5xx"]);
        expect(Math.min(...totals)).toBeGreaterThanOrEqual(190); // 40 req/s × 5 s, never negative after the restart
        expect(Math.max(...totals)).toBeLessThanOrEqual(210); // nor the old totals counted again
    });

    it("flips back a color that only health probes reach (no users' traffic is a fail, however many probes pass)", async () => {
        const w = world(0, 0); // the load balancer's probes answer 200, but no user's request reaches green
        const { opts, flipBacks } = options(w, {
            // Azure probes every VM several times a second, from every load balancer instance.
            sleep: async (ms) => {
                for (const host of ["10.0.1.20", "10.0.1.21"]) (w.vms.get(host) as FakeVm).probes += Math.floor(ms / 1000) * 4;
                await w.sleep(ms);
            },
        });
        expect((await runWatch(spec(), opts)).outcome).toBe("flipped-back");
        expect(flipBacks[0].reason).toMatch(/no traffic/);
        const samples = readWatchState(stateDir, FLIP)?.samples ?? [];
        expect(samples.length).toBeGreaterThan(0);
        expect(samples.every((x) => Object.values(x.requests).every((n) => n === 0))).toBe(true);
    });

    it("flips back a color whose users wait 2 s for answers although its health probe answers at once", async () => {
        const w = world(0);
        for (const host of ["10.0.1.20", "10.0.1.21"]) (w.vms.get(host) as FakeVm).latencyMs = 2000;
        for (const host of ["10.0.1.10", "10.0.1.11"]) (w.vms.get(host) as FakeVm).answered.set(20, 10_000); // blue's history: 20 ms
        const { opts, flipBacks } = options(w);
        expect((await runWatch(spec(), opts)).outcome).toBe("flipped-back");
        expect(flipBacks[0].reason).toMatch(/p95 latency above 1,?000 ms \(up to 2,?500 ms\)/);
        // the same users' requests at 20 ms pass
        fs.rmSync(stateDir, { recursive: true, force: true });
        const fast = world(0);
        const passing = options(fast);
        expect((await runWatch(spec(), passing.opts)).outcome).toBe("passed");
        const latency = readWatchState(stateDir, FLIP)?.samples.find((x) => x.vm === "green-vm-0")?.latency ?? [];
        expect(latency.find((b) => b.leMs === 25)?.count).toBeGreaterThan(150); // 40 req/s × 5 s, all within 25 ms
    });

    it("flips back a color whose VMs stop answering (no traffic and failed probes are a fail)", async () => {
        const w = world(0);
        for (const host of ["10.0.1.20", "10.0.1.21"]) (w.vms.get(host) as FakeVm).health = "down";
        const { opts, flipBacks } = options(w);
        expect((await runWatch(spec(), opts)).outcome).toBe("flipped-back");
        expect(flipBacks[0].reason).toMatch(/health probe failed|no traffic/);
    });

    it("never watches a flip whose watch ended before it started, and a newer flip supersedes an older watch", async () => {
        const w = world(0.2);
        w.t = Date.parse(spec().until) + 1;
        const late = options(w);
        expect(await runWatch(spec(), late.opts)).toMatchObject({ outcome: "expired" });
        expect(w.fetches).toBe(0);
        expect(late.flipBacks).toHaveLength(0);

        fs.rmSync(stateDir, { recursive: true, force: true });
        const w2 = world(0);
        let sleeps = 0;
        const old = options(w2, { sleep: async (ms) => { if (++sleeps === 2) throw new Error("replaced"); await w2.sleep(ms); } });
        await expect(runWatch(spec(), old.opts)).rejects.toThrow("replaced");
        const newer = "2026-12-01T12:02:00.000Z";
        w2.t = Date.parse(newer) + 5000;
        const next = options(w2, { sleep: async () => { throw new Error("enough"); } });
        await expect(runWatch(spec({ flipId: newer, from: "green", to: "blue", until: new Date(Date.parse(newer) + 180_000).toISOString() }), next.opts)).rejects.toThrow("enough");
        expect(readWatchState(stateDir, FLIP)?.status).toBe("superseded");
        const oldAgain = options(w2);
        expect(await runWatch(spec(), oldAgain.opts)).toMatchObject({ outcome: "superseded", alreadyEnded: true });
    });

    it("refuses a spec it cannot watch, naming the problem", async () => {
        const w = world();
        await expect(runWatch(spec({ to: "blue" }), options(w).opts)).rejects.toThrow(/must be the two colors/);
        await expect(runWatch(spec({ targets: [] }), options(w).opts)).rejects.toThrow(/targets is empty/);
        await expect(runWatch(spec({ thresholds: { ...DEFAULT_WATCH_THRESHOLDS, watchErrorRatio: 5 } }), options(w).opts)).rejects.toThrow(/watchErrorRatio is 5/);
    });
});
