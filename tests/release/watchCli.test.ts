import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";
import { CONTROL, flipDir, readWatchState } from "../../release/watch";
import { main } from "../../release/watchCli";
import type { WatchSpec } from "../../release/watchContract";

const FLIP = "2026-12-01T12:00:00.000Z";
const spec: WatchSpec = {
    flipId: FLIP,
    from: "blue",
    to: "green",
    targets: [{ name: "green-vm-0", host: "127.0.0.1", metricsPort: 1, healthPort: 2 }],
    baseline: [],
    healthPath: "/health",
    thresholds: DEFAULT_WATCH_THRESHOLDS,
    until: "2026-12-01T12:10:00.000Z",
    loadBalancerId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb",
    armEndpoint: "https://management.azure.com",
};

let dir: string;
let out: string[];
let err: string[];
const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "watch-cli-"));
    out = [];
    err = [];
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, value: unknown): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
    return file;
};

describe("the watch's command line on the agent", () => {
    it("check accepts a watchable spec and refuses a bad one, naming the problem (agent-watch.sh replaces nothing then)", async () => {
        expect(await main(["check", "--spec", write("spec.json", spec)], io)).toBe(0);
        expect(out.join("\n")).toMatch(/watch spec ok: flip 2026-12-01T12:00:00.000Z, green \(green-vm-0\) watched until .*; on fail back to blue/);
        expect(await main(["check", "--spec", write("bad.json", { ...spec, until: "soon" })], io)).toBe(1);
        expect(err.join("\n")).toMatch(/until "soon" is not an ISO 8601 time/);
        expect(await main(["check", "--spec", write("broken.json", "{")], io)).toBe(1);
    });

    it("stop and promote ask the newest flip's watch (spec.json) to end; status shows what it did", async () => {
        write("spec.json", spec);
        expect(await main(["stop", "--state-dir", dir], io)).toBe(0);
        expect(fs.existsSync(path.join(flipDir(dir, FLIP), CONTROL.stop))).toBe(true);
        expect(await main(["promote", "--state-dir", dir, "--flip", FLIP], io)).toBe(0);
        expect(fs.existsSync(path.join(flipDir(dir, FLIP), CONTROL.promote))).toBe(true);
        expect(await main(["status", "--state-dir", dir], io)).toBe(0);
        expect(out[out.length - 1]).toMatch(/no watch state yet/);
    });

    it("run ends an expired flip without watching it, and status prints its state (text, brief, JSON)", async () => {
        expect(await main(["run", "--spec", write("spec.json", spec), "--state-dir", dir], io)).toBe(0);
        expect(readWatchState(dir, FLIP)?.status).toBe("expired");
        out = [];
        await main(["status", "--state-dir", dir], io);
        expect(out[0]).toBe(`flip ${FLIP}: blue → green, watched until 2026-12-01T12:10:00.000Z: expired`);
        out = [];
        await main(["status", "--state-dir", dir, "--brief"], io);
        expect(out).toEqual([`flip ${FLIP}: green expired until 2026-12-01T12:10:00.000Z`]);
        out = [];
        await main(["status", "--state-dir", dir, "--json"], io);
        expect(JSON.parse(out.join("\n")).state.status).toBe("expired");
        out = [];
        expect(await main(["stop", "--state-dir", dir], io)).toBe(0);
        expect(out[0]).toMatch(/already ended \(expired\); nothing to stop/);
    });

    it("prints its usage for an unknown command", async () => {
        expect(await main(["bogus"], io)).toBe(2);
        expect(err[0]).toMatch(/^usage: node watchCli.js check/);
    });
});
