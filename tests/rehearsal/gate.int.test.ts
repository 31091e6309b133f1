// The rehearsal's gate (rehearsal/gate.ts runGate: vm-scripts/health-gate.sh with the app's smoke checks) against the
// Node sample started in-process on 127.0.0.1: its own checks pass, a wrong expectation refuses the flip.
import * as path from "path";
import { startApp, RunningApp } from "../../app/src/server";
import { MemoryGoalStore } from "../../app/src/store/memoryGoalStore";
import { appSmokeChecks, runGate } from "../../rehearsal/gate";
import { parseSmokeChecks } from "../../release/smokeChecks";

const ROOT = path.join(__dirname, "..", "..");
let app: RunningApp;

beforeAll(async () => {
    app = await startApp({
        config: { color: "green", databaseUrl: "memory:", host: "127.0.0.1", port: 0, stagingPort: 0, maxConnectionAgeMs: 30_000, drainTimeoutMs: 1_000, drainDelayMs: 0, bodyTimeoutMs: 10_000 },
        buildInfo: { version: "2.0.0" },
        store: new MemoryGoalStore(),
        log: () => undefined,
    });
});

afterAll(async () => {
    await app.drain();
});

const gate = (smokeChecks: ReturnType<typeof appSmokeChecks>["checks"]) =>
    runGate({ color: "green", version: "2.0.0", ports: [app.ports.production], attempts: 20, intervalS: 0.1, smokeChecks });

describe("the rehearsal's gate with the app's smoke checks", () => {
    it("passes the Node sample with its own checks (app/smoke-checks.yaml)", async () => {
        const { checks } = appSmokeChecks(path.join(ROOT, "app"));
        expect(checks.map((c) => c.name)).toEqual(["home", "goals list"]);
        const result = await gate(checks);
        expect(result.output).toMatch(/smoke check "goals list" GET \/goals\?limit=1 → 200 in \d+ ms {2}OK/);
        expect(result).toMatchObject({ passed: true, exitCode: 0 });
    });

    it("refuses the flip on a wrong expectation, naming the check, the VM, what was expected and what came back", async () => {
        const { checks } = parseSmokeChecks([{ name: "home", path: "/", expectBodyContains: '"version":"9.9.9"' }]);
        const result = await gate(checks);
        expect(result).toMatchObject({ passed: false, exitCode: 4 });
        expect(result.summary).toContain("HEALTH GATE FAILED: green did not pass the smoke checks");
        expect(result.summary).toContain(`127.0.0.1:${app.ports.production}  smoke check "home" GET / → 200`);
        expect(result.summary).toContain('FAIL: expected the body to contain "\\"version\\":\\"9.9.9\\"", got "{\\"version\\":\\"2.0.0\\",\\"color\\":\\"green\\"}"');
    });
});
