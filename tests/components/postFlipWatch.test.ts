/**
 * The post-flip watch's run on the release agent (components/postFlipWatch.ts) over a sequence of updates with state
 * carried between them: only a flip with a rollback target starts a watch, with the flip's spec; a deploy to the idle
 * color runs nothing; a rollback stops the watch; the first deploy starts none; a second flip is a new run-command name.
 * Then what follows an automatic flip-back of that flip (a branch of the same sequence, below).
 */
import { DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";
import { formatFlipBackTag, FlipBackRecord, WatchSpec } from "../../release/watchContract";
import { AzureStandIn, guardStateOf, ofType, ProgramRun, refreshed, RegisteredResource, runProgram, stackFileValues, StackValues } from "../support/pulumiProgram";
import { runUpdateSequence, SequenceStep, UpdateSequence } from "../support/updateSequence";

const SHA_2 = "2".repeat(64);
const SHA_3 = "3".repeat(64);
const LB_TYPE = "azure-native:network:LoadBalancer";
const START = Date.parse("2026-12-01T09:00:00.000Z");
const minutes = (m: number) => new Date(START + m * 60_000);
const RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine";

/** The value a run command's script exports for `name` (single-quoted by the wrapper), or undefined. */
function exported(script: string, name: string): string | undefined {
    const m = new RegExp(`^export ${name}='([^']*)'$`, "m").exec(script);
    return m?.[1];
}

interface WatchRun {
    readonly name: string;
    readonly runCommandName: string;
    readonly action?: string;
    readonly spec?: WatchSpec;
    readonly dependencies: readonly string[];
}

function watchRun(run: ProgramRun): WatchRun | undefined {
    const rc = ofType(run, RUN_COMMAND).find((r) => (r.inputs.tags as Record<string, string> | undefined)?.execution === "watch");
    if (!rc) return undefined;
    const script = String((rc.inputs.source as { script: string }).script);
    const spec = exported(script, "WATCH_SPEC");
    return {
        name: rc.name,
        runCommandName: String(rc.inputs.runCommandName),
        action: exported(script, "WATCH_ACTION"),
        ...(spec ? { spec: JSON.parse(spec) as WatchSpec } : {}),
        dependencies: rc.dependencies,
    };
}

const STEPS: readonly SequenceStep[] = [
    { what: "first deploy", set: {}, at: 0 },
    { what: "deploy-idle: green 2.0.0", set: { "azure-bluegreen:greenVersion": "2.0.0", "azure-bluegreen:greenArtifactSha256": SHA_2 }, at: 10 },
    { what: "flip to green", set: { "azure-bluegreen:liveColor": "green" }, at: 20 },
    { what: "rollback to blue", set: { "azure-bluegreen:liveColor": "blue" }, at: 25 },
    { what: "flip to green again", set: { "azure-bluegreen:liveColor": "green" }, at: 40 },
];
/** The update of {@link STEPS} that flips to green (where the automatic flip-back's story branches off). */
const FLIP = 2;

let sequence: Promise<UpdateSequence> | undefined;

/** Runs {@link STEPS} once for the file (the automatic flip-back's story starts from its flip, on its own copy of Azure). */
function theSequence(): Promise<UpdateSequence> {
    sequence ??= runUpdateSequence(STEPS, {
        start: { ...stackFileValues("dev"), "azure-bluegreen:watchMinutes": "7", "azure-bluegreen:watchErrorRatio": "0.1" },
        azure: new AzureStandIn(),
        clock: minutes,
        check: (run) => expect(run.failures ?? []).toEqual([]),
    });
    return sequence;
}

describe("the post-flip watch over a sequence of updates", () => {
    let azure: AzureStandIn;
    let runs: readonly ProgramRun[];

    beforeAll(async () => {
        ({ azure, runs } = await theSequence());
    }, 300_000);

    const ran = (update: number) => azure.executions.filter((e) => e.update === update && e.key === "watch");

    it("starts no watch on the first deploy (nothing to flip back to)", () => {
        expect(watchRun(runs[0])?.action).toBe("none");
        expect(watchRun(runs[0])?.spec).toBeUndefined();
        expect(runs[0].outputs.postFlipWatch).toMatchObject({ action: "none" });
    });

    it("runs nothing on the agent for a deploy to the idle color", () => {
        expect(ran(1)).toEqual([]);
        expect(watchRun(runs[1])?.runCommandName).toBe(watchRun(runs[0])?.runCommandName);
    });

    it("starts a watch of the flip after the load balancer moved, with the flip's spec and the stack's watch* settings", () => {
        expect(ran(2)).toHaveLength(1);
        const run = watchRun(runs[2]) as WatchRun;
        expect(run.action).toBe("watch");
        const flipAt = minutes(20).toISOString();
        expect(run.spec).toMatchObject({
            flipId: flipAt,
            from: "blue",
            to: "green",
            healthPath: "/health",
            thresholds: { ...DEFAULT_WATCH_THRESHOLDS, watchMinutes: 7, watchErrorRatio: 0.1 }, // config watch*
            until: new Date(minutes(20).getTime() + 7 * 60_000).toISOString(),
            armEndpoint: "https://management.azure.com",
        });
        expect(run.spec?.loadBalancerId).toMatch(/\/front-lb$/); // the mock's id of the load balancer
        expect(run.spec?.targets.map((t) => t.name)[0]).toBe("green-vm-0");
        expect(run.spec?.targets.every((t) => t.name.startsWith("green-vm-"))).toBe(true);
        expect(run.spec?.targets.every((t) => t.metricsPort === 8405 && t.healthPort === 8080 && /^10\./.test(t.host))).toBe(true);
        expect(run.spec?.baseline.every((t) => t.name.startsWith("blue-vm-"))).toBe(true);
        const lb = ofType(runs[2], "azure-native:network:LoadBalancer")[0];
        expect(run.dependencies).toContain(lb.urn);
        expect(runs[2].outputs.postFlipWatch).toMatchObject({ action: "watch" });
    });

    it("stops the watch on a rollback instead of starting one", () => {
        expect(ran(3)).toHaveLength(1);
        expect(watchRun(runs[3])?.action).toBe("stop");
        expect(watchRun(runs[3])?.spec).toBeUndefined();
    });

    it("gives a second flip a new run-command name and its own flip id", () => {
        expect(ran(4)).toHaveLength(1);
        const first = watchRun(runs[2]) as WatchRun;
        const second = watchRun(runs[4]) as WatchRun;
        expect(second.action).toBe("watch");
        expect(second.runCommandName).not.toBe(first.runCommandName);
        expect(second.spec?.flipId).toBe(minutes(40).toISOString());
        const names = azure.executions.filter((e) => e.key === "watch").map((e) => e.name);
        expect(new Set(names).size).toBe(names.length);
    });
});

/** The pool the production rule of a registered load balancer asks for (its inputs), if it was registered at all. */
function productionAskedFor(run: ProgramRun): string | undefined {
    const lb = run.resources.find((r: RegisteredResource) => r.type === LB_TYPE);
    const rules = (lb?.inputs.loadBalancingRules as { name: string; backendAddressPool?: { id?: string } }[] | undefined) ?? [];
    return rules.find((r) => r.name === "production")?.backendAddressPool?.id?.split("/").pop();
}

/**
 * After an automatic flip-back (issue 16, point 5), with Azure answering (tests/support/azureStandIn.ts): the sequence
 * above up to its flip to green (blue was live, green went live by a flip whose gate passed), then, on a copy of
 * Azure as the flip left it, the release agent's watch failed green and sent production back to blue — one PUT that
 * moved the production rule and wrote the record into the load balancer's tag — while the config still says liveColor
 * green. The rows of the decision table in docs/post-flip-watch.md ("After an automatic flip-back"), each an update or
 * a refresh here: nothing sends the production rule to green again without a deliberate act.
 */
describe("after the release agent flipped production back from green to blue, with liveColor still green", () => {
    /** This story's updates, after the sequence's flip. */
    const U = { upUnchanged: FLIP + 1, remediation: FLIP + 2, accept: FLIP + 3, flipAgain: FLIP + 4 } as const;
    let azure: AzureStandIn;
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
        const main = await theSequence();
        flipped = main.runs[FLIP];
        azure = main.azureAfter[FLIP];
        const flip = main.values[FLIP];
        expect(flip).toMatchObject({ "azure-bluegreen:liveColor": "green", "azure-bluegreen:greenVersion": "2.0.0" });
        const accept: StackValues = { ...flip, "azure-bluegreen:liveColor": "blue", "azure-bluegreen:greenVersion": "2.0.1", "azure-bluegreen:greenArtifactSha256": SHA_3 };
        const flipAgain: StackValues = { ...accept, "azure-bluegreen:liveColor": "green" };
        const flipId = String(guardStateOf(flipped)?.lastFlipAt);
        record = { flipId, at: minutes(23).toISOString(), from: "green", to: "blue", reason: "green: error ratio (5xx + connection errors) 20% over 3 interval(s) in a row (threshold 5%), 1,500 requests" };
        azure.agentFlipBack("blue", formatFlipBackTag(record));
        putsAfterFlipBack = azure.loadBalancerPuts.length;
        // Row: the next `pulumi up` with the config unchanged.
        rows.upUnchanged = await update(U.upUnchanged, flip, flipped, 30);
        // Row: `pulumi refresh` (the guard has no read: its state stays; the load balancer's inputs take the live rule and tag).
        // (the flip's run read back from this story's copy of Azure, not from the sequence's, which went on).
        rows.refresh = refreshed(rows.upUnchanged.failures?.length ? { ...flipped, azure } : rows.upUnchanged);
        // Row: a Deployments drift remediation (`pulumi up --refresh`): the refresh, then the update, config unchanged.
        rows.remediation = await update(U.remediation, flip, rows.refresh, 31);
        // Row: accepting it (liveColor blue), with the fix of green in the same update (green is no rollback target).
        rows.accept = await update(U.accept, accept, rows.refresh, 35);
        // Row: the deliberate act: a new flip to green.
        rows.flipAgain = await update(U.flipAgain, flipAgain, rows.accept, 50);
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
        expect(azure.executions.filter((e) => e.update === U.upUnchanged)).toEqual([]);
    });

    it("a refresh copies the live rule (blue) and the tag into the load balancer's inputs, keeps the guard's record, sends nothing", () => {
        const lb = [...(rows.refresh.state?.values() ?? [])].find((r) => r.type === LB_TYPE);
        const rule = (lb?.inputs.loadBalancingRules as { name: string; backendAddressPool: { id: string } }[]).find((r) => r.name === "production");
        expect(rule?.backendAddressPool.id).toMatch(/\/backendAddressPools\/blue$/);
        expect((lb?.inputs.tags as Record<string, string>)["bluegreen-flip-back"]).toBe(formatFlipBackTag(record));
        expect(guardStateOf(rows.refresh)).toEqual(guardStateOf(flipped));
        // A drift detection run is this refresh as a preview: it reports the load balancer as drifted and stores nothing.
        expect(azure.loadBalancerPuts.slice(putsAfterFlipBack).filter((p) => p.update < U.accept)).toEqual([]);
    });

    it("after a refresh (or as a drift remediation, pulumi up --refresh), pulumi up with liveColor green is refused too: the load balancer is not sent to green", () => {
        expect((rows.remediation.failures ?? []).join("\n")).toContain("production was flipped back automatically");
        // Without the guard this update would send it: the refreshed inputs say blue, the config green (a change, a PUT).
        // The guard refuses before anything else: the load balancer is not even registered.
        expect(productionAskedFor(rows.remediation)).toBeUndefined();
        expect(azure.loadBalancerPuts.filter((p) => p.update === U.remediation)).toEqual([]);
    });

    it("accepting it (liveColor blue, the fix of green in the same update) is allowed, recorded like a rollback and exported", () => {
        expect(rows.accept.failures).toEqual([]);
        expect(rows.accept.outputs).toMatchObject({ releaseStep: "deploy-idle", liveColor: "blue", productionColor: "blue", autoFlipBacks: [record] });
        expect((rows.accept.outputs.releaseNotices as string[]).join()).toContain("automatic flip-back accepted");
        expect(guardStateOf(rows.accept)).toMatchObject({ liveColor: "blue", previousLiveColor: "green", lastFlipWasRollback: true, lastFlipAt: record.at });
        expect(azure.loadBalancerPuts.filter((p) => p.update === U.accept).map((p) => p.productionPool)).toEqual(["blue"]);
    });

    it("no update between the flip-back and the new flip sent the production rule to green", () => {
        expect(azure.loadBalancerPuts.slice(putsAfterFlipBack).filter((p) => p.update < U.flipAgain && p.productionPool === "green")).toEqual([]);
        expect(productionAskedFor(rows.accept)).toBe("blue");
    });

    it("sending traffic to green again takes a new flip, which runs a fresh gate under a new name before production moves", () => {
        expect(rows.flipAgain.failures).toEqual([]);
        expect(rows.flipAgain.outputs).toMatchObject({ releaseStep: "flip", productionColor: "green", autoFlipBacks: [record] });
        const gates = azure.executions.filter((e) => e.key === "gate");
        const first = gates.find((e) => e.update === FLIP);
        const fresh = gates.find((e) => e.update === U.flipAgain);
        expect(fresh?.passed).toBe(true);
        expect(fresh?.name).not.toBe(first?.name);
        expect(new Set(gates.map((g) => g.name)).size).toBe(gates.length);
        expect(azure.loadBalancerPuts.filter((p) => p.update === U.flipAgain)).toEqual([expect.objectContaining({ productionPool: "green", gate: fresh?.name })]);
        expect(azure.violations).toEqual([]);
    });
});
