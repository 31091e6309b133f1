// vm-scripts/agent-watch.sh run locally: the tool bundle already unpacked in the state directory (its download is
// deploy-app.sh's FETCH_ONLY, tested with the migrations), a systemctl stand-in that logs its calls, the bundle's
// watchCli transpiled from this checkout.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bundleSources } from "../../components/lib/toolBundle";
import { transpileForVm } from "../../components/lib/vmScripts";
import { DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";
import type { WatchSpec } from "../../release/watchContract";
import { REPO_ROOT } from "../support/pulumiProgram";

const SCRIPT = path.join(REPO_ROOT, "vm-scripts", "agent-watch.sh");
const SHA = "ab".repeat(32);

let dir: string;
let state: string;
let unitDir: string;
let calls: string;
let env: NodeJS.ProcessEnv;

const spec: WatchSpec = {
    flipId: "2026-12-01T12:00:00.000Z",
    from: "blue",
    to: "green",
    targets: [{ name: "green-vm-0", host: "10.0.1.20", metricsPort: 8405, healthPort: 8080 }],
    baseline: [{ name: "blue-vm-0", host: "10.0.1.10", metricsPort: 8405, healthPort: 8080 }],
    healthPath: "/health",
    thresholds: DEFAULT_WATCH_THRESHOLDS,
    until: "2026-12-01T12:10:00.000Z",
    loadBalancerId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb",
    armEndpoint: "https://management.azure.com",
};

beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-watch-"));
    state = path.join(dir, "state");
    unitDir = path.join(dir, "units");
    fs.mkdirSync(unitDir);
    // The bundle's watch, as components/lib/toolBundle.ts lays it out.
    const tools = path.join(state, `tools-${SHA.slice(0, 12)}`);
    for (const rel of bundleSources(REPO_ROOT).filter((f) => f.startsWith("release/"))) {
        const out = path.join(tools, "dist", rel.replace(/\.ts$/, ".js"));
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, transpileForVm(fs.readFileSync(path.join(REPO_ROOT, rel), "utf8"), path.basename(rel)));
    }
    calls = path.join(dir, "systemctl.log");
    const systemctl = path.join(dir, "systemctl");
    fs.writeFileSync(systemctl, `#!/bin/sh\necho "$*" >> ${calls}\n`, { mode: 0o755 });
    env = { PATH: process.env.PATH, AGENT_WORK_DIR: dir, WATCH_STATE_DIR: state, UNIT_DIR: unitDir, SYSTEMCTL: systemctl, TOOLS_URL: "https://example.invalid/tools.tgz", TOOLS_SHA256: SHA, APP_COLOR: "green", APP_VERSION: "2.0.0" };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (extra: NodeJS.ProcessEnv) => spawnSync("bash", [SCRIPT], { env: { ...env, ...extra }, encoding: "utf8" });
const systemctlCalls = (): string[] => (fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : []);

describe("agent-watch.sh on the release agent", () => {
    it("does nothing without a flip (WATCH_ACTION none), not even fetch the bundle", () => {
        const r = run({ WATCH_ACTION: "none", WATCH_WHY: "no flip yet (first deploy): nothing to watch", TOOLS_SHA256: "" });
        expect(r.status).toBe(0);
        expect(r.stdout).toContain("nothing to watch: no flip yet");
        expect(systemctlCalls()).toEqual([]);
    });

    it("refuses a spec the watch cannot watch and replaces nothing", () => {
        const r = run({ WATCH_ACTION: "watch", WATCH_SPEC: JSON.stringify({ ...spec, to: "blue" }) });
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/must be the two colors[\s\S]*the watch's spec was refused \(see above\); nothing was started or replaced/);
        expect(fs.readdirSync(state).filter((f) => f.startsWith("spec.json"))).toEqual([]);
        expect(systemctlCalls()).toEqual([]);
    });

    it("writes the spec and a systemd unit that runs the watch, (re)starts it and exits at once", () => {
        const started = Date.now();
        const r = run({ WATCH_ACTION: "watch", WATCH_SPEC: JSON.stringify(spec) });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(JSON.parse(fs.readFileSync(path.join(state, "spec.json"), "utf8"))).toEqual(spec);
        const unit = fs.readFileSync(path.join(unitDir, "bluegreen-watch.service"), "utf8");
        expect(unit).toMatch(new RegExp(`^ExecStart=\\S*node \\S+/tools-${SHA.slice(0, 12)}/dist/release/watchCli.js run --spec ${state}/spec.json --state-dir ${state}$`, "m"));
        expect(unit).toMatch(/^Restart=on-failure$/m);
        expect(unit).toMatch(/^WantedBy=multi-user.target$/m);
        expect(systemctlCalls()).toEqual(["daemon-reload", "enable bluegreen-watch.service", "restart bluegreen-watch.service"]);
        expect(r.stdout).toMatch(/watching: flip 2026-12-01T12:00:00.000Z: /);
        // one path to the newest watch's CLI for people (the kill switch in README), whatever older bundles are kept
        expect(fs.readlinkSync(path.join(state, "tools"))).toBe(`tools-${SHA.slice(0, 12)}`);
        expect(r.stdout).toContain(`stop it: sudo node ${state}/tools/dist/release/watchCli.js stop --state-dir ${state}`);
    });

    it("stops the running watch on a rollback (the CLI's kill switch for the newest flip)", () => {
        const r = run({ WATCH_ACTION: "stop", WATCH_WHY: "the last flip was a rollback" });
        expect(r.status).toBe(0);
        expect(fs.existsSync(path.join(state, "flips", spec.flipId.replace(/[^A-Za-z0-9._-]/g, "_"), "stop"))).toBe(true);
    });

    it("is clean under shellcheck", () => {
        expect(() => execFileSync("shellcheck", [SCRIPT], { encoding: "utf8" })).not.toThrow();
    });
});
