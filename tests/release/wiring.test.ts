// How the release guard and the health gate are wired into the program (index.ts), under Pulumi mocks.
import { baseConfig, byName, ofType, ProgramRun, runProgram } from "../support/pulumiProgram";

const GUARD_TYPE = "pulumi-nodejs:dynamic/bluegreen:ReleaseGuard";
const RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine";

const dependsOn = (run: ProgramRun, name: string, onName: string): boolean =>
    byName(run, name).dependencies.some((urn) => urn.endsWith(`::${onName}`));

let blueLive: ProgramRun;

beforeAll(async () => {
    blueLive = await runProgram(baseConfig({ blueVersion: "1.0.0", greenVersion: "2.0.0" }));
    if (blueLive.error) throw blueLive.error;
}, 60_000);

describe("the release guard in the program", () => {
    it("is declared once, with what each color runs and the window settings", () => {
        const guards = ofType(blueLive, GUARD_TYPE);
        expect(guards.map((g) => g.name)).toEqual(["release-guard"]);
        expect(guards[0].inputs).toMatchObject({
            liveColor: "blue",
            blue: { version: "1.0.0", settings: { instanceCount: "1" } },
            green: { version: "2.0.0" },
            rollbackWindowMinutes: 60,
            allowDeployIntoRollbackWindow: false,
            runContractMigrations: false,
        });
    });

    it.each(["blue", "green", "blue-migrate", "green-migrate", "blue-deploy", "green-deploy", "blue-gate", "front"])("comes before %s (dependsOn)", (name) => {
        expect(dependsOn(blueLive, name, "release-guard")).toBe(true);
    });

    it("exports the release step and its notices", () => {
        expect(Object.keys(blueLive.outputs)).toEqual(expect.arrayContaining(["releaseStep", "releaseNotices"]));
    });
});

describe("the health gate in the program", () => {
    it("runs on VM 0 of the live color, checking every VM of it at the live version", () => {
        const checks = ofType(blueLive, RUN_COMMAND).filter((r) => r.name.endsWith("-gate-check"));
        expect(checks.map((c) => c.name)).toEqual(["blue-gate-check"]);
        const script = (checks[0].inputs.source as { script: string }).script;
        expect(script).toContain("export GATE_COLOR='blue'");
        expect(script).toContain("export GATE_VERSION='1.0.0'");
        expect(script).toContain("export GATE_HOSTS='10.20.1.10'");
        expect(checks[0].inputs.treatFailureAsDeploymentFailure).toBe(true);
    });

    // dependsOn on a component resolves to the component's resources (the extensions, the run command), and
    // components pass their dependsOn on to their children (components/lib/childOptions.ts).
    it("waits for the guard and the live color's deployment, and the load balancer waits for it", () => {
        expect(dependsOn(blueLive, "blue-gate-check", "release-guard")).toBe(true);
        expect(dependsOn(blueLive, "blue-gate-check", "blue-deploy-0")).toBe(true);
        expect(dependsOn(blueLive, "blue-gate-check", "green-deploy-0")).toBe(false);
        expect(dependsOn(blueLive, "front-lb", "blue-gate-check")).toBe(true);
    });
});
// What a flip or a deploy may touch (guard, gate, LB), and that a flip runs the new color's gate, is in the allowlist:
// tests/components/releaseSteps.test.ts.
