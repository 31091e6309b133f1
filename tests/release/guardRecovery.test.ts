/**
 * The guard after a flip whose gate did not pass ("pending gate"), and the first step of every refusal's safe
 * sequence: followed, the guard allows it.
 */
import * as fc from "fast-check";
import {
    checksumOf,
    ContractMigration,
    evaluateRelease,
    formatVerdict,
    GuardContext,
    reconcile,
    recordStep,
    ReleaseState,
    rollbackTarget,
} from "../../release/guard";
import { Color, idleColor } from "../../release/colors";
import { colorState } from "./fixtures";

const NOW = new Date("2026-11-23T12:00:00.000Z");
const minutesAgo = (m: number): string => new Date(NOW.getTime() - m * 60_000).toISOString();
const sha = (c: string) => c.repeat(64);
const withSha = (version: string, s: string) => colorState(version, { settings: { instanceCount: "1", artifactSha256: s } });

/** blue 1.0.0 serves; green 1.0.0 idle; no flip yet. */
const steady: ReleaseState = { liveColor: "blue", blue: withSha("1.0.0", sha("a")), green: withSha("1.0.0", sha("a")) };
const ctx = (extra: Partial<GuardContext> = {}): GuardContext => ({ now: NOW, rollbackWindowMinutes: 60, ...extra });

describe("a flip whose gate did not pass (pending gate)", () => {
    // green got 1.1.0; then the flip to green was recorded, but its gate failed: the load balancer never moved.
    const deployed = recordStep(steady, { ...steady, green: withSha("1.1.0", sha("b")) }, ctx({ serving: "blue" }));
    const flipRequested = { ...deployed, liveColor: "green" as Color };
    const recorded = recordStep(deployed, flipRequested, ctx({ serving: "blue" }));

    it("is recorded as a flip until an update reads the production rule", () => {
        expect(recorded).toMatchObject({ liveColor: "green", previousLiveColor: "blue", beforeFlip: {} });
    });

    it("is seen as pending when the production rule still points at the old color: that color stays live", () => {
        const seen = reconcile(recorded, "blue");
        expect(seen).toMatchObject({ liveColor: "blue", pendingFlipTo: "green" });
        expect(seen.lastFlipAt).toBeUndefined();
        expect(rollbackTarget(seen, NOW, 60)).toBeUndefined();
    });

    it("is confirmed when the production rule points at the new color", () => {
        const seen = reconcile(recorded, "green");
        expect(seen).toMatchObject({ liveColor: "green", previousLiveColor: "blue" });
        expect(seen.beforeFlip).toBeUndefined();
        expect(seen.pendingFlipTo).toBeUndefined();
    });

    it("refuses fixing green while liveColor still says green, never calling blue idle, and its first step is allowed", () => {
        const fix = { ...flipRequested, green: withSha("1.1.1", sha("c")) };
        const v = evaluateRelease(recorded, fix, ctx({ serving: "blue" }));
        expect(v.allowed).toBe(false);
        expect(v.pendingFlipTo).toBe("green");
        const text = formatVerdict(v);
        expect(text).toContain("pending gate");
        expect(text).not.toContain("idle color blue");
        expect(v.firstStep?.command).toBe("pulumi config set liveColor blue && pulumi up");
        expect(evaluateRelease(recorded, v.firstStep?.state as ReleaseState, ctx({ serving: "blue" })).allowed).toBe(true);
    });

    it("follows the three steps: liveColor back (with the fix), check, flip again — each allowed, the last a flip", () => {
        const back = { ...flipRequested, liveColor: "blue" as Color, green: withSha("1.1.1", sha("c")) };
        const v1 = evaluateRelease(recorded, back, ctx({ serving: "blue" }));
        expect(v1).toMatchObject({ allowed: true, step: "deploy-idle" });
        expect(v1.notices.join()).toContain("Recorded as not happened");
        const s1 = recordStep(recorded, back, ctx({ serving: "blue" }));
        expect(s1.liveColor).toBe("blue");
        expect(s1.pendingFlipTo).toBeUndefined();
        const v3 = evaluateRelease(s1, { ...back, liveColor: "green" }, ctx({ serving: "blue" }));
        expect(v3).toMatchObject({ allowed: true, step: "flip" });
    });

    it("without what serves (not read), trusts the record: green is the live color", () => {
        const v = evaluateRelease(recorded, { ...flipRequested, green: withSha("1.1.1", sha("c")) }, ctx());
        expect(v.reasons.join()).toContain("refusing to change green, the live color");
    });

    it("allows retrying the flip alone and says how to run the gate again", () => {
        const v = evaluateRelease(recorded, flipRequested, ctx({ serving: "blue" }));
        expect(v).toMatchObject({ allowed: true, step: "flip" });
        expect(v.notices.join()).toContain("retryTag");
    });
});

describe("a version bump that keeps the old checksum", () => {
    it("is refused naming the command that sets the new checksum, which is the first step", () => {
        const v = evaluateRelease(steady, { ...steady, green: withSha("1.1.0", sha("a")) }, ctx());
        expect(v.allowed).toBe(false);
        expect(v.reasons.join()).toContain("greenArtifactSha256 is still the checksum of 1.0.0's artifact");
        expect(v.firstStep?.command).toBe(`pulumi config set greenArtifactSha256 "${checksumOf("1.1.0")}" && pulumi up`);
    });

    it("is allowed with a new checksum", () => {
        expect(evaluateRelease(steady, { ...steady, green: withSha("1.1.0", sha("b")) }, ctx()).allowed).toBe(true);
    });
});

describe("first steps of the other refusals", () => {
    const flipped: ReleaseState = { ...steady, liveColor: "green", lastFlipAt: minutesAgo(10), previousLiveColor: "blue" };

    it("a deploy onto the rollback target: wait until the window ends, then the same update", () => {
        const request = { ...flipped, blue: withSha("1.2.0", sha("d")) };
        const v = evaluateRelease(flipped, request, ctx({ serving: "green" }));
        expect(v.firstStep).toMatchObject({ at: "2026-11-23T12:50:00.000Z", state: request });
        expect(v.firstStep?.command).toBe("wait until 2026-11-23T12:50:00.000Z, then pulumi up");
    });

    it("a change of the live color: the same change on the idle color", () => {
        const v = evaluateRelease(steady, { ...steady, blue: withSha("1.1.0", sha("b")) }, ctx({ serving: "blue" }));
        expect(v.firstStep?.command).toBe(
            "pulumi config set blueVersion 1.0.0 && pulumi config set blueArtifactSha256 " + sha("a") +
                " && pulumi config set greenVersion 1.1.0 && pulumi config set greenArtifactSha256 " + sha("b") + " && pulumi up",
        );
    });

    it("a flip mixed with a deploy: the deploy first, keeping liveColor", () => {
        const v = evaluateRelease(steady, { ...steady, liveColor: "green", green: withSha("1.1.0", sha("b")) }, ctx());
        expect(v.firstStep?.command).toBe("pulumi config set liveColor blue && pulumi up");
    });
});

describe("properties of the safe sequence", () => {
    const version = fc.constantFrom("1.0.0", "1.1.0", "2.0.0");
    const color = fc.constantFrom<Color>("blue", "green");
    const colorArb = fc.record({
        version,
        vmSize: fc.constantFrom("Standard_B1s", "Standard_B2s"),
        image: fc.constant("Debian:debian-13:13:latest"),
        settings: fc.record(
            {
                instanceCount: fc.constantFrom("1", "2"),
                artifactSha256: fc.constantFrom(sha("a"), sha("b")),
                vmTools: fc.constantFrom("t1", "t2"),
            },
            { requiredKeys: ["instanceCount", "artifactSha256"] },
        ),
    });
    const flipRecord = fc.record(
        { lastFlipAt: fc.integer({ min: 0, max: 180 }).map(minutesAgo), previousLiveColor: color, lastFlipWasRollback: fc.boolean() },
        { requiredKeys: [] },
    );
    /** Any recorded state (a superset of the reachable ones): flips confirmed or not, in or out of the window. */
    const recordedArb = fc
        .record(
            {
                liveColor: color,
                blue: colorArb,
                green: colorArb,
                lastFlipAt: fc.integer({ min: 0, max: 180 }).map(minutesAgo),
                previousLiveColor: color,
                lastFlipWasRollback: fc.boolean(),
                runContractMigrations: fc.boolean(),
                beforeFlip: flipRecord,
            },
            { requiredKeys: ["liveColor", "blue", "green"] },
        )
        .map((s) => s as ReleaseState);
    const contract: ContractMigration[] = [{ name: "0007_drop_legacy", requiresVersion: "1.1.0" }];
    const ctxArb = fc.record({
        now: fc.constant(NOW),
        rollbackWindowMinutes: fc.integer({ min: 0, max: 120 }),
        allowDeployIntoRollbackWindow: fc.boolean(),
        contract: fc.constantFrom([], contract),
        serving: fc.constantFrom<Color | undefined>(undefined, "blue", "green"),
        vmTools: fc.constantFrom<string | undefined>(undefined, "t1"),
    }).map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as unknown as GuardContext);
    /** What a user may ask for next: the recorded state's config with any of its parts changed. */
    const requestArb = (recorded: ReleaseState) =>
        fc.record({
            liveColor: fc.constantFrom(recorded.liveColor, idleColor(recorded.liveColor)),
            blue: fc.oneof(fc.constant(recorded.blue), colorArb),
            green: fc.oneof(fc.constant(recorded.green), colorArb),
            runContractMigrations: fc.boolean(),
        });

    it("every refusal comes with a first step, and the guard allows that step when it is followed", () => {
        fc.assert(
            fc.property(recordedArb.chain((r) => fc.tuple(fc.constant(r), requestArb(r), ctxArb)), ([recorded, request, c]) => {
                const v = evaluateRelease(recorded, request, c);
                fc.pre(!v.allowed);
                expect(v.firstStep).toBeDefined();
                const step = v.firstStep as NonNullable<typeof v.firstStep>;
                const at = step.at ? new Date(step.at) : c.now;
                const followed = evaluateRelease(recorded, step.state, { ...c, now: at });
                expect({ allowed: followed.allowed, reasons: followed.reasons }).toEqual({ allowed: true, reasons: [] });
            }),
            { numRuns: 400 },
        );
    });

    it("never calls the color the production rule points at the idle color", () => {
        fc.assert(
            fc.property(recordedArb.chain((r) => fc.tuple(fc.constant(r), requestArb(r), ctxArb, color)), ([recorded, request, c, serving]) => {
                const v = evaluateRelease(recorded, request, { ...c, serving });
                const text = [...v.reasons, ...v.notices].join("\n");
                expect(text).not.toContain(`idle color ${serving}`);
                expect(text).not.toContain(`${serving} is the idle one`);
                expect(text).not.toMatch(new RegExp(`refusing to change ${idleColor(serving)}, the live color`));
            }),
            { numRuns: 300 },
        );
    });
});
