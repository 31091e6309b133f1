/**
 * The post-flip watch's run on the release agent (components/postFlipWatch.ts) over a sequence of updates with state
 * carried between them: only a flip with a rollback target starts a watch, with the flip's spec; a deploy to the idle
 * color runs nothing; a rollback stops the watch; the first deploy starts none; a second flip is a new run-command name.
 */
import { DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";
import type { WatchSpec } from "../../release/watchContract";
import { AzureStandIn, ofType, ProgramRun, runProgram, stackFileValues, StackValues } from "../support/pulumiProgram";

const SHA_2 = "2".repeat(64);
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

describe("the post-flip watch over a sequence of updates", () => {
    const azure = new AzureStandIn();
    const runs: ProgramRun[] = [];
    const steps: { what: string; set: StackValues; at: number }[] = [
        { what: "first deploy", set: {}, at: 0 },
        { what: "deploy-idle: green 2.0.0", set: { "azure-bluegreen:greenVersion": "2.0.0", "azure-bluegreen:greenArtifactSha256": SHA_2 }, at: 10 },
        { what: "flip to green", set: { "azure-bluegreen:liveColor": "green" }, at: 20 },
        { what: "rollback to blue", set: { "azure-bluegreen:liveColor": "blue" }, at: 25 },
        { what: "flip to green again", set: { "azure-bluegreen:liveColor": "green" }, at: 40 },
    ];

    beforeAll(async () => {
        let values: StackValues = { ...stackFileValues("dev"), "azure-bluegreen:watchMinutes": "7", "azure-bluegreen:watchErrorRatio": "0.1" };
        let previous: ProgramRun | undefined;
        for (const [index, step] of steps.entries()) {
            azure.update = index;
            values = { ...values, ...step.set };
            const run = await runProgram(values, { previous, azure, now: minutes(step.at) });
            if (run.error) throw new Error(`${step.what}: ${run.error.message}`);
            expect(run.failures ?? []).toEqual([]);
            runs.push(run);
            previous = run;
        }
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
