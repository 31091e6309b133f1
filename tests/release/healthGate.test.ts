// The health gate component under Pulumi mocks, and its pure helpers.
import * as pulumi from "@pulumi/pulumi";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const registered: Registered[] = [];
let instanceView: Record<string, unknown> = { executionState: "Succeeded", exitCode: 0, startTime: new Date().toISOString() };

pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}-id`, state: { ...args.inputs, name: args.inputs.runCommandName ?? args.name } };
        },
        // The gate's read-back: the run command's instance view, as the test sets it.
        call: (args) => (args.token.endsWith("getVirtualMachineRunCommandByVirtualMachine") ? { instanceView: instanceView } : {}),
    },
    "bluegreen",
    "test",
    false,
);

import { GATE_KEY, gateTimeoutSeconds, HealthGate, healthGateExecution, healthGateScript, HealthGateSettings, MAX_RUN_COMMAND_SECONDS } from "../../components/healthGate";
import { ColorVm } from "../../components/colorSet";
import { AgentRunContext } from "../../components/lib/agentRun";
import { collectRejections } from "../support/rejections";
import type { SmokeCheck } from "../../release/smokeChecks";

const settings: HealthGateSettings = {
    color: "green",
    version: "2.0.0",
    hosts: ["10.0.1.20", "10.0.1.21"],
    port: 8080,
    attempts: 20,
    intervalSeconds: 10,
    timeoutSeconds: 5,
    artifactSha256: "b".repeat(64),
    toolsSha256: "c".repeat(64),
    adminUrlSecret: "sql-admin-url",
};
const run = { toolsUrl: "https://acct.blob.core.windows.net/artifacts/bluegreen-tools-cccccccccccc.tgz", keyvaultUrl: "https://kv.vault.azure.net/" };
const scripts = { agentGate: "#!/bin/bash\necho gate\n", healthGate: "#!/bin/bash\necho checking\n", deployApp: "", keyvaultSecret: "", smokeChecks: "// runner\n" };
const home: SmokeCheck = { name: "home", path: "/", method: "GET", headers: {}, expectStatus: 200, expectBodyContains: ['"version"'], expectHeaders: {}, timeoutMs: 5000 };
/** The files the agent script writes (`echo <base64> | base64 -d > <dir>/<file>`), decoded. */
const writtenFiles = (script: string): Record<string, string> =>
    Object.fromEntries([...script.matchAll(/^echo '([A-Za-z0-9+/=]*)' \| base64 -d > \S+\/([^/\s]+)$/gm)].map((m) => [m[2], Buffer.from(m[1], "base64").toString("utf8")]));

const vms = (color: string, n: number): ColorVm[] =>
    Array.from({ length: n }, (_, i) => ({
        name: `${color}-vm-${i}`,
        vmName: pulumi.output(`${color}-vm-${i}-az`),
        vmId: pulumi.output(`/subscriptions/s/vms/${color}-vm-${i}`),
        privateIp: `10.0.1.${color === "green" ? 20 + i : 10 + i}`,
    }));

const agent = (fresh: string[]): AgentRunContext => ({
    resourceGroupName: "rg",
    location: "westeurope",
    agentVmName: pulumi.output("agent-vm-az"),
    executionNames: pulumi.output({ [GATE_KEY]: "gate-7" }),
    newExecutions: pulumi.output(fresh),
    updateStartedAt: new Date(Date.now() - 60_000),
    retry: "pulumi config set retryTag 1 && pulumi up",
});

const settle = () => new Promise((r) => setTimeout(r, 50));
const valueOf = <T>(o: pulumi.Output<T>): Promise<T> => (o as unknown as { promise(): Promise<T> }).promise();

describe("healthGateScript", () => {
    const script = healthGateScript(settings, run, scripts);

    it("exports the target color, version, every VM's IP and where the schema check's runner and credential come from", () => {
        expect(script).toContain("export GATE_COLOR='green'");
        expect(script).toContain("export GATE_VERSION='2.0.0'");
        expect(script).toContain("export GATE_HOSTS='10.0.1.20,10.0.1.21'");
        expect(script).toContain(`export TOOLS_URL='${run.toolsUrl}'`);
        expect(script).toContain(`export TOOLS_SHA256='${"c".repeat(64)}'`);
        expect(script).toContain("export KEYVAULT_URL='https://kv.vault.azure.net/'");
        expect(script).toContain("export ADMIN_URL_SECRET='sql-admin-url'");
        expect(script.split("\n")[0]).toBe("#!/bin/bash");
        expect(script.trimEnd().endsWith("agent-gate.sh")).toBe(true);
    });

    it("carries no secret value, only the secret's name", () => {
        expect(script).not.toMatch(/password|mssql:\/\//i);
    });

    it.each([
        ["the version", { version: "2.0.1" }],
        ["the color", { color: "blue" as const }],
        ["the VMs", { hosts: ["10.0.1.20", "10.0.1.21", "10.0.1.22"] }],
    ])("changes, and is named as a new execution, when %s changes", (_what, change) => {
        expect(healthGateScript({ ...settings, ...change }, run, scripts)).not.toBe(script);
        expect(healthGateExecution({ ...settings, ...change }, scripts, "").digest).not.toBe(healthGateExecution(settings, scripts, "").digest);
    });

    it("without smoke checks, exports empty smoke settings (an earlier run's files on the agent are not used) and writes no checks", () => {
        expect(script).toContain("export GATE_SMOKE_CHECKS=''");
        expect(script).toContain("export GATE_SMOKE_RUNNER=''");
        expect(Object.keys(writtenFiles(script)).sort()).toEqual(["agent-gate.sh", "deploy-app.sh", "health-gate.sh", "keyvault-secret.sh"]);
    });

    it("with smoke checks, writes them as JSON with their runner and points the gate at both", () => {
        const withChecks = healthGateScript({ ...settings, smokeChecks: [home] }, run, scripts);
        const files = writtenFiles(withChecks);
        expect(JSON.parse(files["smoke-checks.json"])).toEqual([home]);
        expect(files["smoke-checks.js"]).toBe(scripts.smokeChecks);
        expect(withChecks).toContain("export GATE_SMOKE_CHECKS='/var/lib/bluegreen/agent/gate/smoke-checks.json'");
        expect(withChecks).toContain("export GATE_SMOKE_RUNNER='/var/lib/bluegreen/agent/gate/smoke-checks.js'");
    });

    it("is a new execution when a smoke check is added or changed", () => {
        const one = healthGateExecution({ ...settings, smokeChecks: [home] }, scripts, "").digest;
        expect(one).not.toBe(healthGateExecution(settings, scripts, "").digest);
        expect(healthGateExecution({ ...settings, smokeChecks: [{ ...home, expectStatus: 204 }] }, scripts, "").digest).not.toBe(one);
    });

    it("is the same execution for identical settings (so an unrelated update does not run it again), and a new one on a retry", () => {
        expect(healthGateExecution({ ...settings }, scripts, "")).toEqual(healthGateExecution(settings, scripts, ""));
        expect(healthGateExecution(settings, scripts, "1").digest).not.toBe(healthGateExecution(settings, scripts, "").digest);
    });
});

describe("gateTimeoutSeconds", () => {
    it.each([
        [{ attempts: 20, intervalSeconds: 10, timeoutSeconds: 5 }, 20 * (10 + 10) + 180],
        [{ attempts: 1, intervalSeconds: 0, timeoutSeconds: 5 }, 10 + 180],
        [{ attempts: 500, intervalSeconds: 60, timeoutSeconds: 30 }, MAX_RUN_COMMAND_SECONDS],
    ])("for %p is %p seconds (the VMs are checked in parallel: their number does not count)", (s, expected) => expect(gateTimeoutSeconds(s)).toBe(expected));

    it("adds each smoke check's timeout (a VM's checks run one after the other)", () => {
        const timing = { attempts: 1, intervalSeconds: 0, timeoutSeconds: 5 };
        expect(gateTimeoutSeconds({ ...timing, smokeChecks: [home, { ...home, name: "slow", timeoutMs: 30000 }] })).toBe(10 + 180 + 35);
    });
});

describe("HealthGate under mocks", () => {
    let passing: HealthGate;
    beforeAll(async () => {
        passing = new HealthGate("green-gate", { settings, vms: vms("green", 2), toolsUrl: run.toolsUrl, keyvaultUrl: run.keyvaultUrl, agent: agent(["gate"]), scripts });
        await settle();
    });

    const runCommand = () => registered.find((r) => r.type === "azure-native:compute:VirtualMachineRunCommandByVirtualMachine");

    it("declares one run command on the release agent, named by the guard", () => {
        const rc = runCommand();
        expect(rc?.name).toBe("green-gate-check");
        expect(rc?.inputs.vmName).toBe("agent-vm-az");
        expect(rc?.inputs.runCommandName).toBe("gate-7");
        expect(registered.filter((r) => r.type === "azure-native:compute:VirtualMachineRunCommandByVirtualMachine")).toHaveLength(1);
    });

    it("fails the update when the check fails, and waits for it", () => {
        expect(runCommand()?.inputs).toMatchObject({ treatFailureAsDeploymentFailure: true, asyncExecution: false, timeoutInSeconds: 20 * 20 + 180 });
    });

    it("resolves `verified` to the run's name when Azure reports it passed in this update", async () => {
        await expect(valueOf(passing.verified)).resolves.toBe("gate-7");
    });

    it("rejects `verified` when Azure reports the run failed, naming it and the retry", async () => {
        instanceView = { executionState: "Failed", exitCode: 1, startTime: new Date().toISOString(), error: "HEALTH GATE FAILED: green is not ready" };
        // A failed read-back rejects outputs nobody awaits; Pulumi's language host reports that as the update's error.
        const { rejections } = await collectRejections(async () => {
            const failing = new HealthGate("green-gate-2", { settings, vms: vms("green", 2), toolsUrl: run.toolsUrl, keyvaultUrl: run.keyvaultUrl, agent: agent(["gate"]), scripts });
            await expect(valueOf(failing.verified)).rejects.toThrow(/gate-7 on the release agent\) did not pass: execution state Failed, exit code 1[\s\S]*green is not ready[\s\S]*retryTag 1/);
        });
        expect(rejections.some((m) => m.includes("gate-7 on the release agent) did not pass"))).toBe(true);
        instanceView = { executionState: "Succeeded", exitCode: 0, startTime: new Date().toISOString() };
    });

    it("refuses a color without VMs, naming it", () => {
        expect(() => new HealthGate("blue-gate", { settings: { ...settings, color: "blue", hosts: [] }, vms: [], toolsUrl: "", keyvaultUrl: "", agent: agent([]), scripts })).toThrow(
            /the blue color has no VMs/,
        );
    });
});
