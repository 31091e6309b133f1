/**
 * A team's first week, as one scripted sequence of `pulumi up`s with the state carried from each update to the next
 * (tests/support/pulumiProgram.ts `previous`) and an Azure stand-in that answers like Azure (tests/support/
 * azureStandIn.ts): an unchanged run command is not run again, a name deleted and created again on the same VM is
 * never run, a failed run fails its create and stays in state, an IP-based pool can come out empty.
 *
 * first deploy → deploy-idle → flip whose gate FAILS → the same `pulumi up` again → retry → rollback → flip again →
 * deploy the old color → contract → contract off → second contract. The post-flip watch's run (key `watch`) runs on
 * every change of the live color that reached the load balancer (it starts, stops or skips a watch: tests/components/
 * postFlipWatch.test.ts) and on the first deploy. Two stories branch off it with their own copy of Azure: the
 * documented recovery after the failed flip, and a flip queued behind a failed deploy-idle.
 */
import { AzureStandIn, ProgramRun, runProgram, stackFileValues, StackValues } from "../support/pulumiProgram";
import { runUpdateSequence, SequenceStep, UpdateSequence } from "../support/updateSequence";

const SHA_2 = "2".repeat(64);
const START = Date.parse("2026-12-01T09:00:00.000Z");
const minutes = (m: number) => new Date(START + m * 60_000);

interface Step extends SequenceStep {
    /** The executions the agent must run in this update (keys), in any order. */
    readonly runs: readonly string[];
    /** The pool the production rule points at after this update. */
    readonly production: "blue" | "green";
    /** Whether this update sends the load balancer. */
    readonly sendsLoadBalancer: boolean;
    /** A failure this update must end with (a real `pulumi up` exits non-zero). */
    readonly fails?: RegExp;
}

const STEPS: readonly Step[] = [
    { what: "first deploy", set: {}, at: 0, runs: ["gate", "migrate-expand-blue", "migrate-expand-green", "watch"], production: "blue", sendsLoadBalancer: true },
    { what: "deploy-idle: green 2.0.0", set: { "azure-bluegreen:greenVersion": "2.0.0", "azure-bluegreen:greenArtifactSha256": SHA_2 }, at: 10, runs: ["migrate-expand-green"], production: "blue", sendsLoadBalancer: false },
    { what: "flip to green: its gate fails", set: { "azure-bluegreen:liveColor": "green" }, at: 20, runs: ["gate"], production: "blue", sendsLoadBalancer: false, fails: /run command gate-\d+ on agent-vm failed/ },
    { what: "the same pulumi up again, unchanged", set: {}, at: 22, runs: [], production: "blue", sendsLoadBalancer: false, fails: /did not pass: execution state Failed, exit code 1[\s\S]*result of its earlier run[\s\S]*retryTag 1/ },
    { what: "retry: retryTag 1", set: { "azure-bluegreen:retryTag": "1" }, at: 25, runs: ["gate", "migrate-expand-blue", "migrate-expand-green", "watch"], production: "green", sendsLoadBalancer: true },
    { what: "rollback to blue", set: { "azure-bluegreen:liveColor": "blue" }, at: 30, runs: ["gate", "watch"], production: "blue", sendsLoadBalancer: true },
    { what: "flip to green again", set: { "azure-bluegreen:liveColor": "green" }, at: 40, runs: ["gate", "watch"], production: "green", sendsLoadBalancer: true },
    { what: "deploy the old color (blue 2.0.0) after the window", set: { "azure-bluegreen:blueVersion": "2.0.0", "azure-bluegreen:blueArtifactSha256": SHA_2 }, at: 120, runs: ["migrate-expand-blue"], production: "green", sendsLoadBalancer: false },
    { what: "contract", set: { "azure-bluegreen:runContractMigrations": "true" }, at: 130, runs: ["migrate-contract-blue", "migrate-contract-green"], production: "green", sendsLoadBalancer: false },
    { what: "contract switched off", set: { "azure-bluegreen:runContractMigrations": "false" }, at: 140, runs: [], production: "green", sendsLoadBalancer: false },
    { what: "second contract", set: { "azure-bluegreen:runContractMigrations": "true" }, at: 150, runs: ["migrate-contract-blue", "migrate-contract-green"], production: "green", sendsLoadBalancer: false },
];

let sequence: Promise<UpdateSequence> | undefined;

/**
 * Runs {@link STEPS} once for the file: the describes below that start as the sequence does branch off it (each with
 * its own copy of Azure) instead of running the same updates again.
 */
function theSequence(): Promise<UpdateSequence> {
    sequence ??= (() => {
        const azure = new AzureStandIn();
        // The gate fails exactly once: in the flip of update 2 (0-based).
        azure.outcome = ({ key }) => !(key === "gate" && azure.update === 2);
        return runUpdateSequence(STEPS, { start: stackFileValues("dev"), azure, clock: minutes });
    })();
    return sequence;
}

describe("a sequence of eleven updates with state carried between them", () => {
    let azure: AzureStandIn;
    let runs: readonly ProgramRun[];

    beforeAll(async () => {
        ({ azure, runs } = await theSequence());
    }, 600_000);

    it.each(STEPS.map((step, index) => [index, step.what, step] as const))("update %i (%s) runs exactly what it must on the agent", (index, _what, step) => {
        const ran = azure.executions.filter((e) => e.update === index).map((e) => e.key).sort();
        expect(ran).toEqual([...step.runs].sort());
        for (const e of azure.executions.filter((x) => x.update === index)) expect(e.vm).toBe("agent-vm");
    });

    it.each(STEPS.map((step, index) => [index, step.what, step] as const))("update %i (%s) leaves production where it must, sending the load balancer only when it must", (index, _what, step) => {
        const puts = azure.loadBalancerPuts.filter((p) => p.update === index);
        expect({ sent: puts.length > 0 }).toEqual({ sent: step.sendsLoadBalancer });
        const last = [...azure.loadBalancerPuts].filter((p) => p.update <= index).pop();
        expect(last?.productionPool).toBe(step.production);
    });

    it.each(STEPS.map((step, index) => [index, step.what, step] as const))("update %i (%s) succeeds or fails as Azure answered", (index, _what, step) => {
        const failures = (runs[index].failures ?? []).join("\n");
        if (step.fails) expect(failures).toMatch(step.fails);
        else expect(failures).toBe("");
    });

    it("never gives a run command a name it had before on the agent, and the handler never meets a re-created name", () => {
        const names = azure.executions.map((e) => `${e.vm}/${e.name}`);
        expect(names.length).toBeGreaterThanOrEqual(14);
        expect(new Set(names).size).toBe(names.length);
        expect(azure.violations).toEqual([]);
    });

    it("moves the load balancer to green only on a gate run that passed, and records that run on it", () => {
        const toGreen = azure.loadBalancerPuts.filter((p) => p.productionPool === "green");
        const passedGates = new Set(azure.executions.filter((e) => e.key === "gate" && e.passed).map((e) => e.name));
        for (const put of toGreen) expect(passedGates.has(put.gate)).toBe(true);
        const failedGate = azure.executions.find((e) => e.key === "gate" && !e.passed);
        expect(failedGate).toBeDefined();
        expect(azure.loadBalancerPuts.some((p) => p.gate === failedGate?.name)).toBe(false);
    });

    it("makes the retry send Azure a gate under a new name (the failed one's name is not sent again)", () => {
        const gates = azure.executions.filter((e) => e.key === "gate");
        const failed = gates.find((e) => !e.passed);
        const retried = gates.find((e) => e.update === 4);
        expect(retried?.name).toBeDefined();
        expect(retried?.name).not.toBe(failed?.name);
        expect(retried?.passed).toBe(true);
    });

    it("reports the live color the load balancer was sent, and the gate run that approved it", () => {
        expect(runs[6].outputs).toMatchObject({ liveColor: "green", gateRun: azure.loadBalancerPuts.filter((p) => p.update === 6)[0].gate });
    });
});

describe("a flip whose gate did not pass, then the documented recovery", () => {
    // The guard reads what the production rule really points at before it decides, so the color still serving is never
    // treated as idle, and the three documented steps (liveColor back with the fix, check, flip again) are each allowed.
    // Updates 0-2 are the sequence's (first deploy, deploy-idle, the flip whose gate fails); the recovery continues on
    // its own copy of Azure as the flip left it.
    let azure: AzureStandIn;
    const runs: ProgramRun[] = [];
    const SHA_3 = "3".repeat(64);
    const base = stackFileValues("dev");
    const bump: StackValues = { ...base, "azure-bluegreen:greenVersion": "2.0.0", "azure-bluegreen:greenArtifactSha256": SHA_2 };
    const flip: StackValues = { ...bump, "azure-bluegreen:liveColor": "green" };
    const fixWhileFlipped: StackValues = { ...flip, "azure-bluegreen:greenVersion": "2.0.1", "azure-bluegreen:greenArtifactSha256": SHA_3 };
    const back: StackValues = { ...fixWhileFlipped, "azure-bluegreen:liveColor": "blue" };
    const again: StackValues = { ...back, "azure-bluegreen:liveColor": "green" };
    const recovery: [StackValues, number][] = [[base, 0], [bump, 10], [flip, 20], [fixWhileFlipped, 25], [back, 26], [again, 40]];
    const SHARED = 3;

    beforeAll(async () => {
        const main = await theSequence();
        expect(recovery.slice(0, SHARED)).toEqual(main.values.slice(0, SHARED).map((values, index) => [values, STEPS[index].at]));
        runs.push(...main.runs.slice(0, SHARED));
        azure = main.azureAfter[SHARED - 1];
        azure.outcome = () => true; // the gate failed only in the flip (update 2)
        let previous = runs[SHARED - 1];
        for (const [index, [values, at]] of recovery.entries()) {
            if (index < SHARED) continue;
            azure.update = index;
            const run = await runProgram(values, { previous, azure, now: minutes(at) });
            if (run.error) throw new Error(`update ${index}: ${run.error.message}`);
            runs.push(run);
            previous = run;
        }
    }, 600_000);

    it("leaves production on blue after the failed flip, and the program says so (productionColor, not liveColor)", () => {
        expect(runs[2].failures?.join("\n")).toMatch(/gate-\d+ on agent-vm failed/);
        expect(azure.loadBalancerPuts.filter((p) => p.update === 2)).toEqual([]);
        expect(runs[1].outputs.productionColor).toBe("blue");
    });

    it("refuses fixing green while liveColor still says green: pending gate, blue still serves, first step puts liveColor back", () => {
        const text = (runs[3].failures ?? []).join("\n");
        expect(text).toContain("pending gate");
        expect(text).toContain("still sends production to blue");
        expect(text).not.toContain("idle color blue");
        expect(text).toContain("first step (the guard allows it): pulumi config set liveColor blue && pulumi up");
        expect(azure.executions.filter((e) => e.update === 3)).toEqual([]);
    });

    it("allows liveColor back to blue together with the fix of green, as a deploy to the idle color", () => {
        expect(runs[4].failures).toEqual([]);
        expect(runs[4].outputs).toMatchObject({ releaseStep: "deploy-idle", productionColor: "blue" });
        expect((runs[4].outputs.releaseNotices as string[]).join()).toContain("Recorded as not happened");
    });

    it("then flips to green as a new flip whose gate passes, and production moves", () => {
        expect(runs[5].failures).toEqual([]);
        expect(runs[5].outputs).toMatchObject({ releaseStep: "flip", productionColor: "green", liveColor: "green" });
        expect(azure.productionPool).toBe("green");
    });
});

describe("backend pools that come out empty", () => {
    it("fails the first deploy naming the empty pools, and the documented retry sends the load balancer again and fills them", async () => {
        const azure = new AzureStandIn();
        azure.dropPoolsOnCreate = true;
        const values = stackFileValues("dev");
        const first = await runProgram(values, { azure, now: minutes(0) });
        expect(first.failures?.join("\n")).toMatch(/backend pool blue lists \[\] but this step puts \[10\.20\.1\.10\] there[\s\S]*pulumi config set retryTag 1 && pulumi up/);
        expect(azure.loadBalancerPuts).toHaveLength(1);

        const unchanged = await runProgram(values, { previous: first, azure, now: minutes(5) });
        expect(azure.loadBalancerPuts).toHaveLength(1); // a plain `pulumi up` (or --refresh) sends nothing
        expect(unchanged.failures?.join("\n")).toMatch(/backend pool blue lists \[\]/);

        azure.update = 2;
        const retried = await runProgram({ ...values, "azure-bluegreen:retryTag": "1" }, { previous: unchanged, azure, now: minutes(10) });
        expect(azure.loadBalancerPuts).toHaveLength(2);
        expect(azure.loadBalancerPuts[1].gate).not.toBe(azure.loadBalancerPuts[0].gate);
        expect(retried.failures).toEqual([]);
        expect(retried.outputs.backendPools).toEqual({ blue: ["10.20.1.10"], green: ["10.20.1.40"] });
    }, 300_000);
});

describe("a deployment queued behind a failed one (Pulumi Deployments runs them in order)", () => {
    it("fails the queued flip when the bump before it failed, and leaves production where it was", async () => {
        // The sequence's first deploy (the dev stack at minute 0), then this story on its own copy of Azure.
        const main = await theSequence();
        const values = stackFileValues("dev");
        expect(main.values[0]).toEqual(values);
        expect(STEPS[0].at).toBe(0);
        const first = main.runs[0];
        const azure = main.azureAfter[0];
        // The bump's expand migrations fail (update 1); nothing else does.
        azure.outcome = ({ key }) => !(key === "migrate-expand-green" && azure.update === 1);
        expect(first.failures).toEqual([]);
        azure.update = 1;
        const bump = { ...values, "azure-bluegreen:greenVersion": "2.0.0", "azure-bluegreen:greenArtifactSha256": SHA_2 };
        const failedBump = await runProgram(bump, { previous: first, azure, now: minutes(10) });
        expect(failedBump.failures?.join("\n")).toMatch(/migrate-expand-green-\d+ on agent-vm failed/);
        azure.update = 2;
        const queuedFlip = await runProgram({ ...bump, "azure-bluegreen:liveColor": "green" }, { previous: failedBump, azure, now: minutes(11) });
        // The flip stops on the bump's failure, read back from Azure: green's app was never deployed, no gate passed.
        expect(queuedFlip.failures?.join("\n")).toMatch(/the expand migrations of green \(2\.0\.0\)[\s\S]*did not pass/);
        expect(azure.loadBalancerPuts.map((p) => p.productionPool)).toEqual(["blue"]);
        expect(azure.executions.filter((e) => e.update === 2 && e.key === "gate")).toEqual([]);
    }, 300_000);
});
