/**
 * After an automatic flip-back (issue 16, point 5), through the real program with state carried between updates and
 * Azure answering (tests/support/azureStandIn.ts): blue was live, green went live by a flip whose gate passed, then
 * the release agent's watch failed green and sent production back to blue — one PUT that moved the production rule
 * and wrote the record into the load balancer's tag — while the config still says liveColor green. The rows of the
 * decision table in docs/post-flip-watch.md ("After an automatic flip-back"), each an update or a refresh here:
 * nothing sends the production rule to green again without a deliberate act.
 */
import { formatFlipBackTag, FlipBackRecord } from "../../release/watchContract";
import { AzureStandIn, guardStateOf, ProgramRun, refreshed, RegisteredResource, runProgram, stackFileValues, StackValues } from "../support/pulumiProgram";

const START = Date.parse("2026-12-01T09:00:00.000Z");
const minutes = (m: number) => new Date(START + m * 60_000);
const SHA_2 = "2".repeat(64);
const SHA_3 = "3".repeat(64);
const LB_TYPE = "azure-native:network:LoadBalancer";

/** The pool the production rule of a registered load balancer asks for (its inputs), if it was registered at all. */
function productionAskedFor(run: ProgramRun): string | undefined {
    const lb = run.resources.find((r: RegisteredResource) => r.type === LB_TYPE);
    const rules = (lb?.inputs.loadBalancingRules as { name: string; backendAddressPool?: { id?: string } }[] | undefined) ?? [];
    return rules.find((r) => r.name === "production")?.backendAddressPool?.id?.split("/").pop();
}

describe("after the release agent flipped production back from green to blue, with liveColor still green", () => {
    const azure = new AzureStandIn();
    const base: StackValues = { ...stackFileValues("dev"), "azure-bluegreen:greenVersion": "2.0.0", "azure-bluegreen:greenArtifactSha256": SHA_2 };
    const flip: StackValues = { ...base, "azure-bluegreen:liveColor": "green" };
    const accept: StackValues = { ...flip, "azure-bluegreen:liveColor": "blue", "azure-bluegreen:greenVersion": "2.0.1", "azure-bluegreen:greenArtifactSha256": SHA_3 };
    const flipAgain: StackValues = { ...accept, "azure-bluegreen:liveColor": "green" };
    let deployed: ProgramRun;
    let flipped: ProgramRun;
    let record: FlipBackRecord;
    let putsAfterFlipBack = 0;
    const rows: Record<string, ProgramRun> = {};

    const update = async (index: number, values: StackValues, previous: ProgramRun, at: number): Promise<ProgramRun> => {
        azure.update = index;
        const run = await runProgram(values, { previous, azure, now: minutes(at) });
        if (run.error) throw new Error(`update ${index}: ${run.error.message}`);
        return run;
    };

    beforeAll(async () => {
        azure.update = 0;
        deployed = await runProgram(base, { azure, now: minutes(0) });
        flipped = await update(1, flip, deployed, 20);
        const flipId = String(guardStateOf(flipped)?.lastFlipAt);
        record = { flipId, at: minutes(23).toISOString(), from: "green", to: "blue", reason: "green: error ratio (5xx + connection errors) 20% over 3 interval(s) in a row (threshold 5%), 1,500 requests" };
        azure.agentFlipBack("blue", formatFlipBackTag(record));
        putsAfterFlipBack = azure.loadBalancerPuts.length;
        // Row: the next `pulumi up` with the config unchanged.
        rows.upUnchanged = await update(2, flip, flipped, 30);
        // Row: `pulumi refresh` (the guard has no read: its state stays; the load balancer's inputs take the live rule and tag).
        rows.refresh = refreshed(rows.upUnchanged.failures?.length ? flipped : rows.upUnchanged);
        // Row: a Deployments drift remediation (`pulumi up --refresh`): the refresh, then the update, config unchanged.
        rows.remediation = await update(3, flip, rows.refresh, 31);
        // Row: accepting it (liveColor blue), with the fix of green in the same update (green is no rollback target).
        rows.accept = await update(4, accept, rows.refresh, 35);
        // Row: the deliberate act: a new flip to green.
        rows.flipAgain = await update(5, flipAgain, rows.accept, 50);
    }, 600_000);

    it("the flip itself passed its gate and moved production to green (the start of the story)", () => {
        expect(flipped.failures).toEqual([]);
        expect(flipped.outputs).toMatchObject({ releaseStep: "flip", productionColor: "green" });
        expect(record.flipId).toBe(minutes(20).toISOString());
    });

    it("the next pulumi up with liveColor green is refused, naming the record and the fix, and sends nothing", () => {
        const text = (rows.upUnchanged.failures ?? []).join("\n");
        expect(text).toContain("production was flipped back automatically");
        expect(text).toContain(`at ${record.at} the release agent's watch sent production back from green to blue`);
        expect(text).toContain("error ratio (5xx + connection errors) 20%");
        expect(text).toContain("pulumi config set liveColor blue && pulumi up");
        expect(text).toContain("revert the flip commit to green");
        expect(productionAskedFor(rows.upUnchanged)).toBeUndefined();
        expect(azure.executions.filter((e) => e.update === 2)).toEqual([]);
    });

    it("a refresh copies the live rule (blue) and the tag into the load balancer's inputs, keeps the guard's record, sends nothing", () => {
        const lb = [...(rows.refresh.state?.values() ?? [])].find((r) => r.type === LB_TYPE);
        const rule = (lb?.inputs.loadBalancingRules as { name: string; backendAddressPool: { id: string } }[]).find((r) => r.name === "production");
        expect(rule?.backendAddressPool.id).toMatch(/\/backendAddressPools\/blue$/);
        expect((lb?.inputs.tags as Record<string, string>)["bluegreen-flip-back"]).toBe(formatFlipBackTag(record));
        expect(guardStateOf(rows.refresh)).toEqual(guardStateOf(flipped));
        // A drift detection run is this refresh as a preview: it reports the load balancer as drifted and stores nothing.
        expect(azure.loadBalancerPuts.slice(putsAfterFlipBack).filter((p) => p.update < 4)).toEqual([]);
    });

    it("after a refresh (or as a drift remediation, pulumi up --refresh), pulumi up with liveColor green is refused too: the load balancer is not sent to green", () => {
        expect((rows.remediation.failures ?? []).join("\n")).toContain("production was flipped back automatically");
        // Without the guard this update would send it: the refreshed inputs say blue, the config green (a change, a PUT).
        // The guard refuses before anything else: the load balancer is not even registered.
        expect(productionAskedFor(rows.remediation)).toBeUndefined();
        expect(azure.loadBalancerPuts.filter((p) => p.update === 3)).toEqual([]);
    });

    it("accepting it (liveColor blue, the fix of green in the same update) is allowed, recorded like a rollback and exported", () => {
        expect(rows.accept.failures).toEqual([]);
        expect(rows.accept.outputs).toMatchObject({ releaseStep: "deploy-idle", liveColor: "blue", productionColor: "blue", autoFlipBacks: [record] });
        expect((rows.accept.outputs.releaseNotices as string[]).join()).toContain("automatic flip-back accepted");
        expect(guardStateOf(rows.accept)).toMatchObject({ liveColor: "blue", previousLiveColor: "green", lastFlipWasRollback: true, lastFlipAt: record.at });
        expect(azure.loadBalancerPuts.filter((p) => p.update === 4).map((p) => p.productionPool)).toEqual(["blue"]);
    });

    it("no update between the flip-back and the new flip sent the production rule to green", () => {
        expect(azure.loadBalancerPuts.slice(putsAfterFlipBack).filter((p) => p.update < 5 && p.productionPool === "green")).toEqual([]);
        expect(productionAskedFor(rows.accept)).toBe("blue");
    });

    it("sending traffic to green again takes a new flip, which runs a fresh gate under a new name before production moves", () => {
        expect(rows.flipAgain.failures).toEqual([]);
        expect(rows.flipAgain.outputs).toMatchObject({ releaseStep: "flip", productionColor: "green", autoFlipBacks: [record] });
        const gates = azure.executions.filter((e) => e.key === "gate");
        const first = gates.find((e) => e.update === 1);
        const fresh = gates.find((e) => e.update === 5);
        expect(fresh?.passed).toBe(true);
        expect(fresh?.name).not.toBe(first?.name);
        expect(new Set(gates.map((g) => g.name)).size).toBe(gates.length);
        expect(azure.loadBalancerPuts.filter((p) => p.update === 5)).toEqual([expect.objectContaining({ productionPool: "green", gate: fresh?.name })]);
        expect(azure.violations).toEqual([]);
    });

});
