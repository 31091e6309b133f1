/**
 * `npm run status` against a stand-in of Azure: the real program is run through a flip whose gate fails and then a
 * retry that passes (state carried, tests/support/pulumiProgram.ts), and status reads the stack's state, the
 * stand-in's load balancer and each VM's deploy-app extension (its release proof) as it would read `pulumi stack
 * export` and `az`.
 */
import { main } from "../../status/cli";
import { parseHealthAnswers, StackExport, StatusSources } from "../../status/status";
import { healthProbeScript } from "../../status/azureCli";
import { formatFlipBackTag, FlipBackRecord } from "../../release/watchContract";
import { AzureStandIn, ProgramRun, runProgram, stackFileValues } from "../support/pulumiProgram";

const START = Date.parse("2026-12-01T09:00:00.000Z");
const minutes = (m: number) => new Date(START + m * 60_000);

/** What `pulumi stack export` would hold after `run`: every resource's outputs, and the stack outputs. */
function exportOf(run: ProgramRun): StackExport {
    const resources = [...(run.state ?? new Map()).values()].map((r) => ({ urn: `urn:pulumi:test::azure-bluegreen::${r.type}::${r.name}`, type: r.type, outputs: r.outputs }));
    resources.push({ urn: "urn:pulumi:test::azure-bluegreen::pulumi:pulumi:Stack::azure-bluegreen-test", type: "pulumi:pulumi:Stack", outputs: run.outputs });
    return { deployment: { resources } };
}

/**
 * Sources standing in for pulumi and az: the state after `run`, the stand-in's load balancer and deploy-app extensions
 * (the proof each VM's last deployment left), VMs answering `/health` with `health` (200 when not named).
 */
function standIn(run: ProgramRun, azure: AzureStandIn, health: Record<string, string> = {}, asked: string[][] = []): StatusSources {
    return {
        stackExport: async () => exportOf(run),
        loadBalancer: async (_rg, name) => azure.loadBalancer(name) as never,
        deployExtension: async (_rg, vmName) => azure.extension(vmName, "deploy-app") as never,
        askHealth: async (_rg, agentVm, hosts, _port, path) => {
            asked.push([agentVm, path, ...hosts]);
            return hosts.map((h) => `${h} ${health[h] ?? "200"}`).join("\n");
        },
    };
}

/** Azure after a deployment on `vmName` whose proof says `version` (deploy-app.sh's wrapper as the program writes it). */
function deployedOn(azure: AzureStandIn, vmName: string, color: string, version: string, sha256: string): AzureStandIn {
    const copy = azure.clone();
    const wrapper = `export APP_COLOR='${color}'\nexport APP_VERSION='${version}'\nexport ARTIFACT_SHA256='${sha256}'\n`;
    copy.putExtension({ vmName, protectedSettings: { script: Buffer.from(wrapper, "utf8").toString("base64") } });
    return copy;
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
        const sources = standIn(runs[2], snapshots[2], {}, asked);
        const code = await main(["--stack", "dev"], (s) => out.push(s), () => sources, minutes(22));
        const text = out.join("\n");
        expect(code).toBe(1);
        expect(text).toContain("production rule → blue");
        expect(text).toContain("the last update recorded green");
        expect(text).toContain("flip to green: PENDING GATE");
        expect(text).toMatch(/blue \(live\): recorded 1\.0\.0 \(sha256 \w{12}…\)\n {4}\S+ 10\.20\.1\.10 proves blue 1\.0\.0 \(sha256 \w{12}…, pid 4242\), \/health 200/);
        expect(text).toMatch(/green: recorded 2\.0\.0 \(sha256 222222222222…\)\n {4}\S+ 10\.20\.1\.40 proves green 2\.0\.0 \(sha256 222222222222…, pid 4242\)/);
        expect(text).toContain("pulumi config set liveColor blue");
        expect(text).toContain("rollback window: closed");
        expect(asked).toEqual([["agent-vm", "/health", blueIp, greenIp]]);
    });

    it("after the retry passed: production on green, blue the rollback target with the minutes left; exit 0", async () => {
        const out: string[] = [];
        const sources = standIn(runs[3], snapshots[3]);
        const code = await main(["--stack", "dev", "--json"], (s) => out.push(s), () => sources, minutes(30));
        const status = JSON.parse(out.join("")) as Record<string, unknown>;
        expect(code).toBe(0);
        expect(status).toMatchObject({ serving: "green", recordedLive: "green", movedOutside: false, rollback: { to: "blue", minutesLeft: 10 }, problems: [] });
        expect(status.pendingFlipTo).toBeUndefined();
        expect(String(status.next)).toContain("blue stays the instant rollback target for 10 min");
    });

    it("names a live VM whose proof says another version than recorded (the app's own answers play no part), and says to roll back inside the window", async () => {
        const greenVm = String(JSON.parse(JSON.stringify(exportOf(runs[3]))).deployment.resources.find((r: { type: string; outputs?: { tags?: { color?: string } } }) =>
            r.type === "azure-native:compute:VirtualMachine" && r.outputs?.tags?.color === "green").outputs.name);
        const stale = deployedOn(snapshots[3], greenVm, "green", "1.0.0", "1".repeat(64));
        const out: string[] = [];
        const code = await main(["--stack", "dev", "--no-health"], (s) => out.push(s), () => standIn(runs[3], stale), minutes(30));
        const text = out.join("\n");
        expect(code).toBe(1);
        expect(text).toContain(`green VM ${greenVm} (10.20.1.40): proved green 1.0.0 (SHA-256 111111111111…, process 4242), but green must run 2.0.0 (SHA-256 222222222222…)`);
        expect(text).toContain("roll back (pulumi config set liveColor blue && pulumi up");
        expect(text).toContain('pulumi config set greenForceUpdateTag "$(date +%s)" && pulumi up');
    });

    it("names a VM whose deployment left no release proof, and one whose /health does not answer 200", async () => {
        const blueVm = String(JSON.parse(JSON.stringify(exportOf(runs[3]))).deployment.resources.find((r: { type: string; outputs?: { tags?: { color?: string } } }) =>
            r.type === "azure-native:compute:VirtualMachine" && r.outputs?.tags?.color === "blue").outputs.name);
        const base = standIn(runs[3], snapshots[3], { [greenIp]: "503" });
        // The last run on the blue VM failed: Azure keeps its output, without a release-proof line.
        const failed = { instanceView: { statuses: [{ code: "ProvisioningState/failed/1", message: "Enable failed: \n[stdout]\n\n[stderr]\ndeploy-app: artifact checksum mismatch\n" }] } };
        const sources: StatusSources = { ...base, deployExtension: async (rg, vmName) => (vmName === blueVm ? failed : base.deployExtension(rg, vmName)) };
        const out: string[] = [];
        const code = await main(["--stack", "dev"], (s) => out.push(s), () => sources, minutes(30));
        const text = out.join("\n");
        expect(code).toBe(1);
        expect(text).toContain(`${blueVm} 10.20.1.10 (no release proof), /health 200`);
        expect(text).toContain(`blue VM ${blueVm} (10.20.1.10): its deployment's last run (extension deploy-app, as Azure reports it) proves no release`);
        expect(text).toContain(`az vm extension show --vm-name ${blueVm} -n deploy-app --instance-view`);
        expect(text).toMatch(/green VM \S+ \(10\.20\.1\.40\): \/health answers HTTP 503 from the release agent/);
    });

    it("says not to flip to an idle color whose VM proves no release, and to run its deployment again", async () => {
        const base = standIn(runs[3], snapshots[3]);
        const sources: StatusSources = { ...base, deployExtension: async (rg, vmName) => (vmName.startsWith("blue") ? { instanceView: { statuses: [] } } : base.deployExtension(rg, vmName)) };
        const out: string[] = [];
        const code = await main(["--stack", "dev", "--json"], (s) => out.push(s), () => sources, minutes(30));
        const status = JSON.parse(out.join("")) as { next: string; problems: string[] };
        expect(code).toBe(1);
        expect(status.problems).toHaveLength(1);
        expect(status.next).toContain("the idle color blue does not run or serve the release recorded for it: do not flip to it");
        expect(status.next).toContain('pulumi config set blueForceUpdateTag "$(date +%s)" && pulumi up');
    });

    it("says when the production rule was moved outside pulumi up", async () => {
        const moved = snapshots[3].clone();
        moved.productionOverride = "blue";
        const out: string[] = [];
        const code = await main(["--stack", "dev", "--no-vms"], (s) => out.push(s), () => standIn(runs[3], moved, {}), minutes(30));
        expect(code).toBe(1);
        expect(out.join("\n")).toContain("moved outside pulumi up");
    });

    it("shows an automatic flip-back by the release agent (when, from, to, why), not 'moved outside', and the steps to accept it; exit 1", async () => {
        const flipId = String((exportOf(runs[3]).deployment?.resources?.find((r) => r.urn.endsWith("::release-guard"))?.outputs?.state as { lastFlipAt: string }).lastFlipAt);
        const record: FlipBackRecord = { flipId, at: minutes(27).toISOString(), from: "green", to: "blue", reason: "green: error ratio 20% over 3 interval(s) in a row (threshold 5%)" };
        const flippedBack = snapshots[3].clone();
        flippedBack.agentFlipBack("blue", formatFlipBackTag(record));
        const out: string[] = [];
        const code = await main(["--stack", "dev", "--no-vms"], (s) => out.push(s), () => standIn(runs[3], flippedBack, {}), minutes(30));
        const text = out.join("\n");
        expect(code).toBe(1);
        expect(text).toContain(`AUTOMATIC FLIP-BACK, not accepted yet: at ${record.at} the release agent's watch sent production back from green to blue (flip of ${flipId}): green: error ratio 20%`);
        expect(text).not.toContain("moved outside pulumi up");
        expect(text).not.toContain("PENDING GATE");
        expect(text).toContain("accept it: pulumi config set liveColor blue && pulumi up (in git: revert the flip commit to green)");
        const json: string[] = [];
        await main(["--stack", "dev", "--no-vms", "--json"], (s) => json.push(s), () => standIn(runs[3], flippedBack, {}), minutes(30));
        expect(JSON.parse(json.join(""))).toMatchObject({ serving: "blue", recordedLive: "green", movedOutside: false, autoFlipBack: record, autoFlipBacks: [] });
    });

    it("lists the last automatic flip-back an update accepted (the guard's record)", async () => {
        const record: FlipBackRecord = { flipId: minutes(20).toISOString(), at: minutes(22).toISOString(), from: "green", to: "blue", reason: "green: no requests reached it" };
        const exported = exportOf(runs[1]);
        const withRecord: StackExport = {
            deployment: {
                resources: exported.deployment?.resources?.map((r) => (r.urn.endsWith("::release-guard") ? { ...r, outputs: { ...r.outputs, state: { ...(r.outputs?.state as object), autoFlipBacks: [record] } } } : r)),
            },
        };
        const out: string[] = [];
        const code = await main(["--stack", "dev", "--no-vms"], (s) => out.push(s), () => ({ ...standIn(runs[1], snapshots[1]), stackExport: async () => withRecord }), minutes(30));
        expect(code).toBe(0);
        expect(out.join("\n")).toContain(`last accepted automatic flip-back (1 recorded, stack output autoFlipBacks): at ${record.at} the release agent's watch sent production back from green to blue`);
    });

    it("prints usage with exit 0 for --help, and exit 2 without --stack", async () => {
        const out: string[] = [];
        expect(await main(["--help"], (s) => out.push(s))).toBe(0);
        expect(out.join()).toMatch(/^Usage: npm run status -- --stack <name>/);
        expect(await main([], () => undefined)).toBe(2);
    });
});

describe("parseHealthAnswers and the probe script", () => {
    it("reads one status per host; a host missing or answering garbage counts as no answer (000)", () => {
        expect(parseHealthAnswers("10.0.0.1 200\n10.0.0.2 503\n10.0.0.3 <html>", ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"])).toEqual({
            "10.0.0.1": "200",
            "10.0.0.2": "503",
            "10.0.0.3": "000",
            "10.0.0.4": "000",
        });
    });

    it("asks each host's health path on the production backend port, never /version", () => {
        const script = healthProbeScript(["10.0.0.1"], 8080, "/health");
        expect(script).toContain("curl -s -o /dev/null -w '%{http_code}' -m 5 http://10.0.0.1:8080/health");
        expect(script).not.toContain("/version");
    });
});
