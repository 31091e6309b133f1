/**
 * `npm run status` against a stand-in of Azure: the real program is run through a flip whose gate fails and then a
 * retry that passes (state carried, tests/support/pulumiProgram.ts), and status reads the stack's state and the
 * stand-in's load balancer as it would read `pulumi stack export` and `az`.
 */
import { main } from "../../status/cli";
import { parseVersionAnswers, StackExport, StatusSources } from "../../status/status";
import { versionProbeScript } from "../../status/azureCli";
import { AzureStandIn, ProgramRun, runProgram, stackFileValues } from "../support/pulumiProgram";

const START = Date.parse("2026-12-01T09:00:00.000Z");
const minutes = (m: number) => new Date(START + m * 60_000);

/** What `pulumi stack export` would hold after `run`: every resource's outputs, and the stack outputs. */
function exportOf(run: ProgramRun): StackExport {
    const resources = [...(run.state ?? new Map()).values()].map((r) => ({ urn: `urn:pulumi:test::azure-bluegreen::${r.type}::${r.name}`, type: r.type, outputs: r.outputs }));
    resources.push({ urn: "urn:pulumi:test::azure-bluegreen::pulumi:pulumi:Stack::azure-bluegreen-test", type: "pulumi:pulumi:Stack", outputs: run.outputs });
    return { deployment: { resources } };
}

/** Sources standing in for pulumi and az: the state after `run`, the stand-in's load balancer, VMs answering `versions`. */
function standIn(run: ProgramRun, azure: AzureStandIn, versions: Record<string, string>, asked: string[][] = []): StatusSources {
    return {
        stackExport: async () => exportOf(run),
        loadBalancer: async (_rg, name) => azure.loadBalancer(name) as never,
        askVersions: async (_rg, agentVm, hosts) => {
            asked.push([agentVm, ...hosts]);
            return hosts.map((h) => `${h} ${versions[h] ?? ""}`).join("\n");
        },
    };
}

describe("npm run status", () => {
    const azure = new AzureStandIn();
    azure.outcome = ({ key }) => !(key === "gate" && azure.update === 2);
    const runs: ProgramRun[] = [];
    const snapshots: AzureStandIn[] = [];
    const base = stackFileValues("dev");
    const bump = { ...base, "azure-bluegreen:greenVersion": "2.0.0", "azure-bluegreen:greenArtifactSha256": "2".repeat(64) };
    const flip = { ...bump, "azure-bluegreen:liveColor": "green" };
    const retry = { ...flip, "azure-bluegreen:retryTag": "1" };
    const blueIp = "10.20.1.10";
    const greenIp = "10.20.1.40";

    beforeAll(async () => {
        let previous: ProgramRun | undefined;
        for (const [index, [values, at]] of ([[base, 0], [bump, 10], [flip, 20], [retry, 25]] as const).entries()) {
            azure.update = index;
            const run = await runProgram(values, { previous, azure, now: minutes(at) });
            runs.push(run);
            snapshots.push(azure.clone());
            previous = run;
        }
    }, 300_000);

    it("after a flip whose gate failed: production on blue (from Azure), the flip to green pending, the three steps next; exit 1", async () => {
        const out: string[] = [];
        const asked: string[][] = [];
        const sources = standIn(runs[2], snapshots[2], { [blueIp]: '{"version":"1.0.0","color":"blue"}', [greenIp]: '{"version":"2.0.0","color":"green"}' }, asked);
        const code = await main(["--stack", "dev"], (s) => out.push(s), () => sources, minutes(22));
        const text = out.join("\n");
        expect(code).toBe(1);
        expect(text).toContain("production rule → blue");
        expect(text).toContain("the last update recorded green");
        expect(text).toContain("flip to green: PENDING GATE");
        expect(text).toContain("blue (live): recorded 1.0.0; VMs answer: 10.20.1.10 1.0.0");
        expect(text).toContain("pulumi config set liveColor blue");
        expect(text).toContain("rollback window: closed");
        expect(asked).toEqual([["agent-vm", blueIp, greenIp]]);
    });

    it("after the retry passed: production on green, blue the rollback target with the minutes left; exit 0", async () => {
        const out: string[] = [];
        const sources = standIn(runs[3], snapshots[3], { [blueIp]: '{"version":"1.0.0","color":"blue"}', [greenIp]: '{"version":"2.0.0","color":"green"}' });
        const code = await main(["--stack", "dev", "--json"], (s) => out.push(s), () => sources, minutes(30));
        const status = JSON.parse(out.join("")) as Record<string, unknown>;
        expect(code).toBe(0);
        expect(status).toMatchObject({ serving: "green", recordedLive: "green", movedOutside: false, rollback: { to: "blue", minutesLeft: 10 }, problems: [] });
        expect(status.pendingFlipTo).toBeUndefined();
        expect(String(status.next)).toContain("blue stays the instant rollback target for 10 min");
    });

    it("names a live VM that answers another version than recorded, and says to roll back inside the window", async () => {
        const out: string[] = [];
        const sources = standIn(runs[3], snapshots[3], { [blueIp]: '{"version":"1.0.0","color":"blue"}', [greenIp]: '{"version":"1.0.0","color":"green"}' });
        const code = await main(["--stack", "dev"], (s) => out.push(s), () => sources, minutes(30));
        expect(code).toBe(1);
        expect(out.join("\n")).toContain("green VM 10.20.1.40 answers version 1.0.0, but green is recorded at 2.0.0");
        expect(out.join("\n")).toContain("roll back (pulumi config set liveColor blue && pulumi up");
    });

    it("says when the production rule was moved outside pulumi up", async () => {
        const moved = snapshots[3].clone();
        moved.productionOverride = "blue";
        const out: string[] = [];
        const code = await main(["--stack", "dev", "--no-vms"], (s) => out.push(s), () => standIn(runs[3], moved, {}), minutes(30));
        expect(code).toBe(1);
        expect(out.join("\n")).toContain("moved outside pulumi up");
    });

    it("prints usage with exit 0 for --help, and exit 2 without --stack", async () => {
        const out: string[] = [];
        expect(await main(["--help"], (s) => out.push(s))).toBe(0);
        expect(out.join()).toMatch(/^Usage: npm run status -- --stack <name>/);
        expect(await main([], () => undefined)).toBe(2);
    });
});

describe("parseVersionAnswers and the probe script", () => {
    it("reads one line per host and reports hosts that did not answer or answered garbage", () => {
        const answers = parseVersionAnswers('10.0.0.1 {"version":"1.2.3","color":"blue"}\n10.0.0.2 \n10.0.0.3 <html>', ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
        expect(answers).toEqual([
            { ip: "10.0.0.1", version: "1.2.3", color: "blue" },
            { ip: "10.0.0.2", problem: "no answer" },
            { ip: "10.0.0.3", problem: "not JSON: <html>" },
            { ip: "10.0.0.4", problem: "no answer" },
        ]);
    });

    it("asks each host on the production backend port", () => {
        expect(versionProbeScript(["10.0.0.1"], 8080)).toContain("curl -s -m 5 http://10.0.0.1:8080/version");
    });
});
