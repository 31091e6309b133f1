// The health gate component under Pulumi mocks, and its pure helpers.
import * as pulumi from "@pulumi/pulumi";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const registered: Registered[] = [];

pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
    },
    "bluegreen",
    "test",
    false,
);

import { gateTimeoutSeconds, HealthGate, healthGateScript, HealthGateSettings, MAX_RUN_COMMAND_SECONDS } from "../../components/healthGate";
import { ColorVm } from "../../components/colorSet";

const settings: HealthGateSettings = {
    color: "green",
    version: "2.0.0",
    hosts: ["10.0.1.20", "10.0.1.21"],
    port: 8080,
    attempts: 30,
    intervalSeconds: 10,
    timeoutSeconds: 5,
    dbStatusCommand: "/opt/app/current/bin/db status --json",
    appDir: "/opt/app/current",
};

const vms = (color: string, n: number): ColorVm[] =>
    Array.from({ length: n }, (_, i) => ({
        name: `${color}-vm-${i}`,
        vmName: pulumi.output(`${color}-vm-${i}-az`),
        vmId: pulumi.output(`/subscriptions/s/vms/${color}-vm-${i}`),
        privateIp: `10.0.1.${color === "green" ? 20 + i : 10 + i}`,
    }));

const settle = () => new Promise((r) => setTimeout(r, 50));

describe("healthGateScript", () => {
    const script = healthGateScript(settings, "#!/usr/bin/env bash\necho checking\n");

    it("exports the target color, version and every VM's IP at the top of the script", () => {
        expect(script).toContain("export GATE_COLOR='green'");
        expect(script).toContain("export GATE_VERSION='2.0.0'");
        expect(script).toContain("export GATE_HOSTS='10.0.1.20,10.0.1.21'");
        expect(script).toContain("export GATE_DB_STATUS_CMD='/opt/app/current/bin/db status --json'");
        expect(script.split("\n")[0]).toBe("#!/usr/bin/env bash");
        expect(script.trimEnd().endsWith("echo checking")).toBe(true);
    });

    it("quotes values so a command with quotes survives the shell", () => {
        expect(healthGateScript({ ...settings, dbStatusCommand: "echo 'x'" }, "")).toContain(`export GATE_DB_STATUS_CMD='echo '\\''x'\\'''`);
    });

    it.each([
        ["the version", { version: "2.0.1" }],
        ["the color", { color: "blue" as const }],
        ["the VMs", { hosts: ["10.0.1.20", "10.0.1.21", "10.0.1.22"] }],
    ])("changes (so Azure re-runs the gate) when %s changes", (_what, change) => {
        expect(healthGateScript({ ...settings, ...change }, "")).not.toBe(healthGateScript(settings, ""));
    });

    it("is identical for identical settings (so an unrelated update does not re-run it)", () => {
        expect(healthGateScript({ ...settings }, "x")).toBe(healthGateScript(settings, "x"));
    });
});

describe("gateTimeoutSeconds", () => {
    it.each([
        [{ attempts: 30, intervalSeconds: 10, timeoutSeconds: 5, hosts: ["a", "b"] }, 30 * (20 + 10) + 120],
        [{ attempts: 1, intervalSeconds: 0, timeoutSeconds: 5, hosts: ["a"] }, 10 + 120],
        [{ attempts: 500, intervalSeconds: 60, timeoutSeconds: 30, hosts: ["a", "b", "c"] }, MAX_RUN_COMMAND_SECONDS],
    ])("for %p is %p seconds", (s, expected) => expect(gateTimeoutSeconds(s)).toBe(expected));
});

describe("HealthGate under mocks", () => {
    beforeAll(async () => {
        new HealthGate("green-gate", {
            color: "green",
            version: "2.0.0",
            resourceGroupName: "rg",
            location: "westeurope",
            vms: vms("green", 2),
            dbStatusCommand: "db status --json",
        });
        await settle();
    });

    const runCommand = () => registered.find((r) => r.type === "azure-native:compute:VirtualMachineRunCommandByVirtualMachine");

    it("declares one run command named after the target color, on that color's VM 0", () => {
        const rc = runCommand();
        expect(rc?.name).toBe("green-gate-check");
        expect(rc?.inputs.vmName).toBe("green-vm-0-az");
        expect(registered.filter((r) => r.type === "azure-native:compute:VirtualMachineRunCommandByVirtualMachine")).toHaveLength(1);
    });

    it("fails the deployment when the check fails, and waits for it", () => {
        expect(runCommand()?.inputs).toMatchObject({ treatFailureAsDeploymentFailure: true, asyncExecution: false, timeoutInSeconds: 30 * 30 + 120 });
    });

    it("ships the committed vm-scripts/health-gate.sh with the settings of this release", () => {
        const script = (runCommand()?.inputs.source as { script: string }).script;
        expect(script).toContain("export GATE_HOSTS='10.0.1.20,10.0.1.21'");
        expect(script).toContain("export GATE_PORT='8080'");
        expect(script).toContain("HEALTH GATE FAILED");
    });

    it("refuses a color without VMs, naming it", () => {
        expect(() => new HealthGate("blue-gate", { color: "blue", version: "1.0.0", resourceGroupName: "rg", location: "x", vms: [] })).toThrow(
            /the blue color has no VMs/,
        );
    });
});
