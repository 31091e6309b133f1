/**
 * A flip whose gate did not pass, followed through the real program with state carried between updates and Azure
 * answering (tests/support/azureStandIn.ts): the guard reads what the production rule really points at before it
 * decides, so the color still serving is never treated as idle, and the three documented steps (liveColor back with
 * the fix, check, flip again) are each allowed.
 */
import { AzureStandIn, ProgramRun, runProgram, stackFileValues, StackValues } from "../support/pulumiProgram";

const START = Date.parse("2026-12-01T09:00:00.000Z");
const minutes = (m: number) => new Date(START + m * 60_000);
const SHA_2 = "2".repeat(64);
const SHA_3 = "3".repeat(64);

describe("a flip whose gate did not pass, then the documented recovery", () => {
    const azure = new AzureStandIn();
    // The gate fails only in the flip (update 2).
    azure.outcome = ({ key }) => !(key === "gate" && azure.update === 2);
    const runs: ProgramRun[] = [];
    const base = stackFileValues("dev");
    const bump: StackValues = { ...base, "azure-bluegreen:greenVersion": "2.0.0", "azure-bluegreen:greenArtifactSha256": SHA_2 };
    const flip: StackValues = { ...bump, "azure-bluegreen:liveColor": "green" };
    const fixWhileFlipped: StackValues = { ...flip, "azure-bluegreen:greenVersion": "2.0.1", "azure-bluegreen:greenArtifactSha256": SHA_3 };
    const back: StackValues = { ...fixWhileFlipped, "azure-bluegreen:liveColor": "blue" };
    const again: StackValues = { ...back, "azure-bluegreen:liveColor": "green" };
    const sequence: [StackValues, number][] = [[base, 0], [bump, 10], [flip, 20], [fixWhileFlipped, 25], [back, 26], [again, 40]];

    beforeAll(async () => {
        let previous: ProgramRun | undefined;
        for (const [index, [values, at]] of sequence.entries()) {
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
