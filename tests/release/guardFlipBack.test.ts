/**
 * The release guard after an automatic flip-back (issue 16, point 5): the release agent's watch sent production back
 * from green (failed its watch) to blue (the rollback target) and wrote the record into the load balancer's tag,
 * while the config still says liveColor green. Nothing may send production to green again without a deliberate act.
 */
import * as fc from "fast-check";
import {
    checksumOf,
    evaluateRelease,
    formatVerdict,
    GuardContext,
    isFlipBackOf,
    reconcile,
    recordStep,
    ReleaseState,
    ReleaseStep,
    rollbackTarget,
} from "../../release/guard";
import { Color } from "../../release/colors";
import type { FlipBackRecord } from "../../release/watchContract";
import { colorState } from "./fixtures";

const FLIP_AT = "2026-12-01T10:00:00.000Z";
const BACK_AT = "2026-12-01T10:03:20.000Z";
const NOW = new Date("2026-12-01T10:30:00.000Z");
const sha = (c: string) => c.repeat(64);
const withSha = (version: string, s: string) => colorState(version, { settings: { instanceCount: "1", artifactSha256: s } });
const ctx = (extra: Partial<GuardContext> = {}): GuardContext => ({ now: NOW, rollbackWindowMinutes: 60, ...extra });

/** What the guard recorded: the flip blue → green at FLIP_AT (its gate passed; no update has read green serving yet). */
const flipped: ReleaseState = {
    liveColor: "green",
    blue: withSha("1.0.0", sha("a")),
    green: withSha("1.1.0", sha("b")),
    lastFlipAt: FLIP_AT,
    previousLiveColor: "blue",
    beforeFlip: {},
};
/** What the agent wrote into the load balancer's tag when its watch failed green. */
const record: FlipBackRecord = { flipId: FLIP_AT, at: BACK_AT, from: "green", to: "blue", reason: "green: error ratio 20% over 3 interval(s) in a row (threshold 5%)" };
/** What Azure answers: production on blue, the record in the tag. */
const afterFlipBack: Partial<GuardContext> = { serving: "blue", flipBack: record };

/** The config as it still is (liveColor green), and what it may ask for next. */
const stillGreen: ReleaseState = { liveColor: "green", blue: flipped.blue, green: flipped.green };
const accepted: ReleaseState = { ...stillGreen, liveColor: "blue" };
const fixOfGreen = withSha("1.1.1", sha("c"));

describe("reconcile: an automatic flip-back is told apart from a pending gate", () => {
    it.each<[string, FlipBackRecord | undefined, Color, Partial<ReleaseState>]>([
        ["the record for the recorded flip, from the recorded live color, to what serves: automatic flip-back", record, "blue",
            { liveColor: "blue", autoFlipBack: record, lastFlipAt: BACK_AT, previousLiveColor: "green", lastFlipWasRollback: true }],
        ["no record, production on the old color: pending gate", undefined, "blue", { liveColor: "blue", pendingFlipTo: "green" }],
        ["a record of an earlier flip (before the recorded one): pending gate", { ...record, flipId: "2026-12-01T08:00:00.000Z", at: "2026-12-01T08:05:00.000Z" }, "blue",
            { liveColor: "blue", pendingFlipTo: "green" }],
        ["a record from the other color: pending gate", { ...record, from: "blue", to: "green" }, "blue", { liveColor: "blue", pendingFlipTo: "green" }],
        ["the record, but production is on green again (moved by hand): the record of the flip stands", record, "green", { liveColor: "green", previousLiveColor: "blue", lastFlipAt: FLIP_AT }],
    ])("%s", (_name, flipBack, serving, expected) => {
        const seen = reconcile(flipped, serving, flipBack);
        expect(seen).toMatchObject(expected);
        if (!("autoFlipBack" in expected)) expect(seen.autoFlipBack).toBeUndefined();
        if (!("pendingFlipTo" in expected)) expect(seen.pendingFlipTo).toBeUndefined();
    });

    it("knows the flip by its time when the ids differ (release:check replays git: the flip's commit time, before the flip-back)", () => {
        const replayed: ReleaseState = { ...flipped, lastFlipAt: "2026-12-01T09:55:00.000Z" };
        expect(isFlipBackOf(record, replayed, "blue")).toBe(true);
        expect(isFlipBackOf(record, { ...replayed, lastFlipAt: "2026-12-01T10:05:00.000Z" }, "blue")).toBe(false);
    });
});

interface Row {
    name: string;
    after: ReleaseState;
    step: ReleaseStep;
    allowed: boolean;
    says: string[];
}

/** The decision table of docs/post-flip-watch.md, "After an automatic flip-back": what the next update may ask for. */
const rows: Row[] = [
    {
        name: "the next pulumi up with the config unchanged (liveColor green): refused, naming when, from, to, why and the fix",
        after: stillGreen,
        step: "flip",
        allowed: false,
        says: [BACK_AT, "from green to blue", `flip of ${FLIP_AT}`, "error ratio 20%", "liveColor still says green",
            "pulumi config set liveColor blue && pulumi up", "revert the flip commit to green"],
    },
    {
        name: "a fix of green while liveColor still says green: refused the same way",
        after: { ...stillGreen, green: fixOfGreen },
        step: "other",
        allowed: false,
        says: ["production was flipped back automatically", "pulumi config set liveColor blue && pulumi up"],
    },
    {
        name: "contract migrations switched on while liveColor still says green: refused the same way",
        after: { ...stillGreen, runContractMigrations: true },
        step: "other",
        allowed: false,
        says: ["production was flipped back automatically"],
    },
    {
        name: "accepting it (liveColor blue, nothing else): allowed, recorded like a rollback",
        after: accepted,
        step: "rollback",
        allowed: true,
        says: ["automatic flip-back accepted", BACK_AT, "green is idle and not a rollback target", "autoFlipBacks"],
    },
    {
        name: "accepting it and deploying the fix onto green in one update: allowed (green is not a rollback target)",
        after: { ...accepted, green: fixOfGreen },
        step: "deploy-idle",
        allowed: true,
        says: ["automatic flip-back accepted"],
    },
    {
        name: "accepting it but changing blue (now live): refused as a change of the live color",
        after: { ...accepted, blue: withSha("1.0.1", sha("d")) },
        step: "other",
        allowed: false,
        says: ["refusing to change blue, the live color"],
    },
];

describe("evaluateRelease after an automatic flip-back (production on blue, the record in the tag, the config on green)", () => {
    it.each(rows)("$name", (row) => {
        const v = evaluateRelease(flipped, row.after, ctx(afterFlipBack));
        expect({ step: v.step, allowed: v.allowed }).toEqual({ step: row.step, allowed: row.allowed });
        const text = (row.allowed ? v.notices : v.reasons).join("\n");
        for (const s of row.says) expect(text).toContain(s);
        if (!row.allowed) expect(v.firstStep?.state.liveColor).toBe("blue");
    });

    it("never calls it a pending gate, and never calls blue idle", () => {
        const text = formatVerdict(evaluateRelease(flipped, stillGreen, ctx(afterFlipBack)));
        expect(text).not.toContain("pending gate");
        expect(text).not.toContain("idle color blue");
    });

    it("refuses any request that keeps liveColor on green, and the first step it gives (liveColor blue) is allowed", () => {
        const version = fc.constantFrom("1.0.0", "1.1.0", "1.1.1", "2.0.0");
        fc.assert(
            fc.property(version, version, fc.boolean(), (blueV, greenV, contract) => {
                const after: ReleaseState = {
                    liveColor: "green",
                    blue: blueV === "1.0.0" ? flipped.blue : withSha(blueV, sha("e")),
                    green: greenV === "1.1.0" ? flipped.green : withSha(greenV, sha("f")),
                    runContractMigrations: contract,
                };
                const v = evaluateRelease(flipped, after, ctx(afterFlipBack));
                expect(v.allowed).toBe(false);
                expect(v.reasons.join()).toContain("production was flipped back automatically");
                const first = v.firstStep;
                expect(first?.state.liveColor).toBe("blue");
                expect(first?.command).toMatch(/^pulumi config set liveColor blue/);
                expect(evaluateRelease(flipped, first?.state as ReleaseState, ctx(afterFlipBack)).allowed).toBe(true);
            }),
            { numRuns: 60 },
        );
    });
});

describe("recordStep: the update that accepts the flip-back records it", () => {
    const stored = recordStep(flipped, accepted, ctx(afterFlipBack));

    it("like a rollback at the flip-back's time: green is not a rollback target, the record is kept in autoFlipBacks", () => {
        expect(stored).toEqual({ ...accepted, runContractMigrations: undefined, lastFlipAt: BACK_AT, previousLiveColor: "green", lastFlipWasRollback: true, autoFlipBacks: [record] });
        expect(rollbackTarget(stored, NOW, 60)).toBeUndefined();
    });

    it("then a fix may be deployed onto green at once, and the tag still there changes nothing", () => {
        const fix = { ...accepted, green: fixOfGreen };
        const v = evaluateRelease(stored, fix, ctx(afterFlipBack));
        expect(v).toMatchObject({ allowed: true, step: "deploy-idle" });
        expect(v.notices.join()).not.toContain("automatic flip-back accepted");
        expect(recordStep(stored, fix, ctx(afterFlipBack)).autoFlipBacks).toEqual([record]);
    });

    it("sending traffic to green again is a new flip (a deliberate commit), stamped now, the record kept", () => {
        const fixed = recordStep(stored, { ...accepted, green: fixOfGreen }, ctx(afterFlipBack));
        const flip = { ...accepted, green: fixOfGreen, liveColor: "green" as Color };
        const later = new Date(NOW.getTime() + 10 * 60_000);
        expect(evaluateRelease(fixed, flip, ctx({ ...afterFlipBack, now: later }))).toMatchObject({ allowed: true, step: "flip" });
        const again = recordStep(fixed, flip, ctx({ ...afterFlipBack, now: later }));
        expect(again).toMatchObject({ liveColor: "green", lastFlipAt: later.toISOString(), previousLiveColor: "blue", autoFlipBacks: [record] });
        // If that flip's gate fails, the old record in the tag does not make it a flip-back: it is a pending gate.
        expect(reconcile(again, "blue", record)).toMatchObject({ liveColor: "blue", pendingFlipTo: "green" });
    });

    it("keeps at most the last 20 records", () => {
        const many = Array.from({ length: 20 }, (_, i) => ({ ...record, flipId: `2026-11-0${1 + (i % 9)}T00:00:00.000Z` }));
        expect(recordStep({ ...flipped, autoFlipBacks: many }, accepted, ctx(afterFlipBack)).autoFlipBacks).toEqual([...many.slice(1), record]);
    });
});

describe("what serves could not be read (an error, not a first deploy)", () => {
    const why = "az: (AuthorizationFailed) the client cannot perform action Microsoft.Network/loadBalancers/read";

    it("refuses every update while the guard has a record, naming the error and the fix", () => {
        for (const after of [stillGreen, accepted, { ...stillGreen, blue: withSha("1.0.1", sha("d")) }]) {
            const v = evaluateRelease(flipped, after, ctx({ servingUnreadable: why }));
            expect(v.allowed).toBe(false);
            expect(v.reasons.join()).toContain(why);
            expect(v.reasons.join()).toContain("flipped production back");
            expect(v.reasons.join()).toContain("read access to the resource group and its load balancer");
        }
    });

    it("does not stop the first deploy (nothing recorded: nothing to undo)", () => {
        expect(evaluateRelease(undefined, stillGreen, ctx({ servingUnreadable: why }))).toMatchObject({ allowed: true, step: "first-deploy" });
    });

    it("still names bad input first (validation before the read)", () => {
        const v = evaluateRelease(flipped, { ...stillGreen, green: colorState("v2") }, ctx({ servingUnreadable: why }));
        expect(v.reasons.join()).toContain('greenVersion is "v2"');
    });
});

describe("the messages' commands", () => {
    it("name the checksum with the fixed version's deploy", () => {
        expect(evaluateRelease(flipped, stillGreen, ctx(afterFlipBack)).reasons.join()).toContain(checksumOf("<fixed version>"));
    });
});
