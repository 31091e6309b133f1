import * as fc from "fast-check";
import {
    classifyStep,
    evaluateRelease,
    formatVerdict,
    GuardContext,
    mayRunContract,
    recordStep,
    ReleaseState,
    ReleaseStep,
    rollbackTarget,
    validateState,
} from "../../release/guard";
import { Color } from "../../release/colors";
import { colorState } from "./fixtures";

const NOW = new Date("2026-11-23T12:00:00.000Z");
const minutesAgo = (m: number): string => new Date(NOW.getTime() - m * 60_000).toISOString();

const color = colorState;

/** blue 1.0.0 live, green 1.0.0 idle, no flip yet. */
const steady: ReleaseState = { liveColor: "blue", blue: color("1.0.0"), green: color("1.0.0") };
/** green (2.0.0) went live `m` minutes ago; blue (1.0.0) was live before. */
const flippedAgo = (m: number): ReleaseState => ({
    liveColor: "green",
    blue: color("1.0.0"),
    green: color("2.0.0"),
    lastFlipAt: minutesAgo(m),
    previousLiveColor: "blue",
});

const ctx = (extra: Partial<GuardContext> = {}): GuardContext => ({ now: NOW, rollbackWindowMinutes: 60, ...extra });

interface Case {
    name: string;
    before: ReleaseState | undefined;
    after: ReleaseState;
    ctx?: Partial<GuardContext>;
    step: ReleaseStep;
    allowed: boolean;
    /** Substrings every one of which must appear in the reasons (refused) or the notices (allowed). */
    says?: string[];
}

const cases: Case[] = [
    {
        name: "allows the first deploy (nothing live yet) and says so",
        before: undefined,
        after: steady,
        step: "first-deploy",
        allowed: true,
        says: ["first deploy", "blue goes live at 1.0.0"],
    },
    { name: "allows an update that changes nothing", before: steady, after: steady, step: "no-change", allowed: true },
    {
        name: "allows a version bump of the idle color",
        before: steady,
        after: { ...steady, green: color("2.0.0") },
        step: "deploy-idle",
        allowed: true,
    },
    {
        name: "allows a VM size change of the idle color",
        before: steady,
        after: { ...steady, green: color("1.0.0", { vmSize: "Standard_B2s" }) },
        step: "deploy-idle",
        allowed: true,
    },
    {
        name: "refuses a version change of the live color and names the idle color as the safe target",
        before: steady,
        after: { ...steady, blue: color("2.0.0") },
        step: "other",
        allowed: false,
        says: ["refusing to change blue, the live color", "version 1.0.0 → 2.0.0", "greenVersion 2.0.0", "liveColor green"],
    },
    {
        name: "after a flip whose gate did not pass (production still on blue), refuses fixing green together with the flip and says to put liveColor back",
        before: { ...flippedAgo(2), beforeFlip: {} },
        after: { ...flippedAgo(2), green: color("2.0.1") },
        ctx: { serving: "blue" },
        step: "other",
        allowed: false,
        says: ["pending gate", "still sends production to blue", "put liveColor back to blue", "pulumi config set liveColor blue"],
    },
    {
        name: "after a flip whose gate did not pass, allows putting liveColor back and fixing green in one update",
        before: { ...flippedAgo(2), beforeFlip: {} },
        after: { ...flippedAgo(2), liveColor: "blue", green: color("2.0.1") },
        ctx: { serving: "blue" },
        step: "deploy-idle",
        allowed: true,
        says: ["did not take effect", "Recorded as not happened"],
    },
    {
        name: "refuses a VM size change of the live color",
        before: steady,
        after: { ...steady, blue: color("1.0.0", { vmSize: "Standard_D2s_v5" }) },
        step: "other",
        allowed: false,
        says: ["the live color", "vmSize Standard_B1s → Standard_D2s_v5"],
    },
    {
        name: "refuses an image change of the live color",
        before: steady,
        after: { ...steady, blue: color("1.0.0", { image: "Canonical:ubuntu-26_04-lts:server:latest" }) },
        step: "other",
        allowed: false,
        says: ["the live color", "image "],
    },
    {
        name: "refuses any other deployment setting change of the live color",
        before: steady,
        after: { ...steady, blue: color("1.0.0", { settings: { instanceCount: "1", artifactSha256: "abc" } }) },
        step: "other",
        allowed: false,
        says: ["settings.artifactSha256 (unset) → abc"],
    },
    {
        name: "allows a flip alone",
        before: { ...steady, green: color("2.0.0") },
        after: { ...steady, liveColor: "green", green: color("2.0.0") },
        step: "flip",
        allowed: true,
    },
    {
        name: "refuses a flip together with a version change of the new live color",
        before: steady,
        after: { ...steady, liveColor: "green", green: color("2.0.0") },
        step: "other",
        allowed: false,
        says: ["refusing to flip blue → green together with other changes", "green version 1.0.0 → 2.0.0", "Safe sequence"],
    },
    {
        name: "refuses a flip together with a deployment setting change of the color going idle",
        before: { ...steady, green: color("2.0.0") },
        after: { ...steady, liveColor: "green", green: color("2.0.0"), blue: color("1.0.0", { vmSize: "Standard_B2s" }) },
        step: "other",
        allowed: false,
        says: ["refusing to flip blue → green together with other changes", "blue vmSize Standard_B1s → Standard_B2s"],
    },
    {
        name: "refuses a flip together with switching on contract migrations",
        before: steady,
        after: { ...steady, liveColor: "green", runContractMigrations: true },
        step: "other",
        allowed: false,
        says: ["runContractMigrations false → true"],
    },
    {
        name: "classifies a flip back within the window as a rollback, allows it and says so",
        before: flippedAgo(5),
        after: { ...flippedAgo(5), liveColor: "blue" },
        step: "rollback",
        allowed: true,
        says: ["rollback: blue was live until", "deploy the fix onto it"],
    },
    {
        name: "classifies a flip back after the window as a plain flip",
        before: flippedAgo(90),
        after: { ...flippedAgo(90), liveColor: "blue" },
        step: "flip",
        allowed: true,
    },
    {
        name: "refuses a deploy onto the color that was live 5 minutes ago (the rollback target)",
        before: flippedAgo(5),
        after: { ...flippedAgo(5), blue: color("2.0.0") },
        step: "deploy-idle",
        allowed: false,
        says: ["refusing to deploy onto blue", "rollback target until 2026-11-23T12:55:00.000Z", "allowDeployIntoRollbackWindow true"],
    },
    {
        name: "allows that deploy with allowDeployIntoRollbackWindow and says so",
        before: flippedAgo(5),
        after: { ...flippedAgo(5), blue: color("2.0.0") },
        ctx: { allowDeployIntoRollbackWindow: true },
        step: "deploy-idle",
        allowed: true,
        says: ["allowDeployIntoRollbackWindow is set", "no instant rollback"],
    },
    {
        name: "allows a deploy onto the old color once the window has passed",
        before: flippedAgo(61),
        after: { ...flippedAgo(61), blue: color("2.0.0") },
        step: "deploy-idle",
        allowed: true,
    },
    {
        name: "allows a deploy onto the color rolled back from, inside the window (it is the broken one)",
        before: { ...flippedAgo(5), liveColor: "blue", previousLiveColor: "green", lastFlipWasRollback: true },
        after: { ...flippedAgo(5), liveColor: "blue", green: color("2.0.1") },
        step: "deploy-idle",
        allowed: true,
    },
    {
        name: "refuses a flip to a color whose version is older than an applied contract migration",
        before: flippedAgo(90),
        after: { ...flippedAgo(90), liveColor: "blue" },
        ctx: { schema: { appliedContract: [{ name: "0007_drop_old_title", requiresVersion: "2.0.0" }] } },
        step: "flip",
        allowed: false,
        says: ["refusing to flip to blue", "0007_drop_old_title", "requires 2.0.0 or newer"],
    },
    {
        name: "refuses a flip to a color whose expand migrations are not applied",
        before: { ...steady, green: color("2.0.0") },
        after: { ...steady, liveColor: "green", green: color("2.0.0") },
        ctx: { schema: { appliedContract: [], pendingExpand: ["0008_add_due_date"] } },
        step: "flip",
        allowed: false,
        says: ["0008_add_due_date", "up --phase expand"],
    },
    {
        name: "allows a flip to a version within the schema range",
        before: { ...steady, green: color("2.0.0") },
        after: { ...steady, liveColor: "green", green: color("2.0.0") },
        ctx: { schema: { appliedContract: [{ name: "0005_drop_x", requiresVersion: "1.0.0" }], pendingExpand: [] } },
        step: "flip",
        allowed: true,
    },
    {
        name: "allows switching on contract migrations when both colors run the required version",
        before: { ...steady, blue: color("2.0.0"), green: color("2.0.0") },
        after: { ...steady, blue: color("2.0.0"), green: color("2.0.0"), runContractMigrations: true },
        ctx: { contract: [{ name: "0009_drop_title", requiresVersion: "2.0.0" }] },
        step: "contract",
        allowed: true,
    },
    {
        name: "refuses contract migrations while the idle color (one flip away) runs an older version",
        before: flippedAgo(5),
        after: { ...flippedAgo(5), runContractMigrations: true },
        ctx: { contract: [{ name: "0009_drop_title", requiresVersion: "2.0.0" }] },
        step: "contract",
        allowed: false,
        says: ["0009_drop_title requires 2.0.0 or newer, but blue runs 1.0.0", "blueVersion 2.0.0"],
    },
    {
        name: "refuses a deploy of an old version to the idle color while contract migrations stay on",
        before: { ...steady, blue: color("2.0.0"), green: color("2.0.0"), runContractMigrations: true },
        after: { ...steady, blue: color("2.0.0"), green: color("1.0.0"), runContractMigrations: true },
        ctx: { contract: [{ name: "0009_drop_title", requiresVersion: "2.0.0" }] },
        step: "deploy-idle",
        allowed: false,
        says: ["but green runs 1.0.0"],
    },
    {
        name: "refuses a liveColor that is not a color, with the fix",
        before: steady,
        after: { ...steady, liveColor: "purple" as Color },
        step: "other",
        allowed: false,
        says: ['liveColor is "purple"', "pulumi config set liveColor blue"],
    },
    {
        name: "refuses a version that is not semver, naming the key",
        before: steady,
        after: { ...steady, green: color("v2") },
        step: "other",
        allowed: false,
        says: ['greenVersion is "v2"'],
    },
];

describe("evaluateRelease: (before, after, ctx) → verdict", () => {
    it.each(cases)("$name", (c) => {
        const verdict = evaluateRelease(c.before, c.after, ctx(c.ctx));
        expect({ step: verdict.step, allowed: verdict.allowed }).toEqual({ step: c.step, allowed: c.allowed });
        expect(verdict.reasons.length === 0).toBe(c.allowed);
        const text = (c.allowed ? verdict.notices : verdict.reasons).join("\n");
        for (const s of c.says ?? []) expect(text).toContain(s);
    });
});

describe("classifyStep without a clock (release:check on git)", () => {
    it("calls a flip back a flip when it cannot know the window", () => {
        expect(classifyStep(flippedAgo(5), { ...flippedAgo(5), liveColor: "blue" })).toBe("flip");
    });
});

describe("rollbackTarget", () => {
    it.each([
        [0, "blue"],
        [59, "blue"],
        [60, undefined],
        [600, undefined],
    ])("after a flip %p minutes ago with a 60-minute window is %p", (m, expected) => {
        expect(rollbackTarget(flippedAgo(m as number), NOW, 60)).toBe(expected);
    });

    it("is nothing before the first flip", () => expect(rollbackTarget(steady, NOW, 60)).toBeUndefined());
});

describe("recordStep", () => {
    it("stamps the flip time and the old live color on a flip", () => {
        const after = { ...steady, liveColor: "green" as Color };
        expect(recordStep(steady, after, ctx())).toEqual({ ...after, lastFlipAt: NOW.toISOString(), previousLiveColor: "blue", beforeFlip: {} });
    });

    it("marks a flip back inside the window as a rollback, so the broken color is not protected", () => {
        const next = recordStep(flippedAgo(5), { ...flippedAgo(5), liveColor: "blue" }, ctx());
        expect(next).toMatchObject({ liveColor: "blue", previousLiveColor: "green", lastFlipWasRollback: true });
        expect(rollbackTarget(next, NOW, 60)).toBeUndefined();
    });

    it("keeps the last flip across a deploy", () => {
        const before = flippedAgo(70);
        const next = recordStep(before, { liveColor: "green", blue: color("2.0.0"), green: color("2.0.0") }, ctx());
        expect(next).toMatchObject({ lastFlipAt: before.lastFlipAt, previousLiveColor: "blue", blue: { version: "2.0.0" } });
    });

    it("starts without a flip on the first deploy", () => {
        expect(recordStep(undefined, steady, ctx())).toEqual(steady);
    });

    it("walks the rehearsal's scenario: flip, rollback, flip again, deploy onto blue refused in the window", () => {
        const c = ctx();
        let s = recordStep(undefined, steady, c);
        s = recordStep(s, { ...s, green: color("2.0.0") }, c); // deploy idle
        expect(evaluateRelease(s, { ...s, liveColor: "green" }, c).step).toBe("flip");
        s = recordStep(s, { ...s, liveColor: "green" }, c);
        expect(evaluateRelease(s, { ...s, liveColor: "blue" }, c).step).toBe("rollback");
        s = recordStep(s, { ...s, liveColor: "blue" }, c);
        const again = evaluateRelease(s, { ...s, liveColor: "green" }, c);
        expect(again).toMatchObject({ step: "flip", allowed: true });
        s = recordStep(s, { ...s, liveColor: "green" }, c);
        expect(evaluateRelease(s, { ...s, blue: color("2.0.0") }, c)).toMatchObject({ step: "deploy-idle", allowed: false });
    });
});

describe("mayRunContract", () => {
    it.each([
        [{ blue: "2.0.0", green: "2.0.0" }, true],
        [{ blue: "2.1.0", green: "2.0.0" }, true],
        [{ blue: "1.9.9", green: "2.0.0" }, false],
        [{ blue: "2.0.0", green: "2.0.0-rc.1" }, false],
    ])("with running versions %p allows a contract requiring 2.0.0: %p", (running, allowed) => {
        expect(mayRunContract([{ name: "0009_drop", requiresVersion: "2.0.0" }], running).allowed).toBe(allowed);
    });

    it("refuses a requires-version that is not semver, naming the migration", () => {
        const d = mayRunContract([{ name: "0009_drop", requiresVersion: "two" }], { blue: "2.0.0" });
        expect(d.reasons.join()).toContain('contract migration 0009_drop: its requires-version is "two", not a semantic version');
    });
});

describe("validateState", () => {
    it("accepts a well-formed state", () => expect(validateState(steady)).toEqual([]));
    it("names every bad field", () => {
        const problems = validateState({ liveColor: "red" as Color, blue: color("x"), green: color("1.0.0", { vmSize: "" }) });
        expect(problems).toHaveLength(3);
    });
});

describe("formatVerdict", () => {
    it("prints the step, each reason and each notice", () => {
        const text = formatVerdict({ allowed: false, step: "other", reasons: ["r1"], notices: ["n1"] });
        expect(text).toBe("release step: other — REFUSED\n  ✗ r1\n  ! n1");
    });
});

describe("properties", () => {
    const version = fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3)).map(([a, b, c]) => `${a}.${b}.${c}`);
    const colorState = fc.record({
        version,
        vmSize: fc.constantFrom("Standard_B1s", "Standard_B2s"),
        image: fc.constantFrom("ubuntu-22", "ubuntu-24"),
        settings: fc.record({ instanceCount: fc.constantFrom("1", "2") }),
    });
    const liveColor = fc.constantFrom<Color>("blue", "green");
    const state = fc.record({
        liveColor,
        blue: colorState,
        green: colorState,
        lastFlipAt: fc.option(fc.integer({ min: 0, max: 180 }).map(minutesAgo), { nil: undefined }),
        previousLiveColor: fc.option(liveColor, { nil: undefined }),
        runContractMigrations: fc.boolean(),
    });
    const anyCtx = fc.record({
        now: fc.constant(NOW),
        rollbackWindowMinutes: fc.integer({ min: 0, max: 120 }),
        allowDeployIntoRollbackWindow: fc.boolean(),
    });

    it("never allows a flip together with a version change", () => {
        fc.assert(
            fc.property(state, state, anyCtx, (before, after, c) => {
                const flipped = before.liveColor !== after.liveColor;
                const versionChanged = before.blue.version !== after.blue.version || before.green.version !== after.green.version;
                fc.pre(flipped && versionChanged);
                expect(evaluateRelease(before, after, c).allowed).toBe(false);
            }),
        );
    });

    it("never allows a change to the color that stays live", () => {
        fc.assert(
            fc.property(state, state, anyCtx, (before, after, c) => {
                const live = before.liveColor;
                fc.pre(after.liveColor === live && JSON.stringify(before[live]) !== JSON.stringify(after[live]));
                expect(evaluateRelease(before, after, c).allowed).toBe(false);
            }),
        );
    });

    it("always allows an update that changes nothing but the contract flag being kept off", () => {
        fc.assert(
            fc.property(state, anyCtx, (s, c) => {
                const v = evaluateRelease(s, { ...s, runContractMigrations: false }, c);
                expect(v.allowed).toBe(true);
            }),
        );
    });

    it("never allows a deploy onto the rollback target inside the window without the override", () => {
        fc.assert(
            fc.property(state, colorState, fc.integer({ min: 0, max: 59 }), (s, changed, ago) => {
                const before: ReleaseState = { ...s, lastFlipAt: minutesAgo(ago), previousLiveColor: s.liveColor === "blue" ? "green" : "blue", lastFlipWasRollback: false };
                const target = before.previousLiveColor as Color;
                fc.pre(JSON.stringify(changed) !== JSON.stringify(before[target]));
                const v = evaluateRelease(before, { ...before, [target]: changed }, { now: NOW, rollbackWindowMinutes: 60 });
                expect(v.allowed).toBe(false);
                expect(v.reasons.join()).toContain(`refusing to deploy onto ${target}`);
            }),
        );
    });

    it("allows an update exactly when it gives no reason", () => {
        fc.assert(
            fc.property(fc.option(state, { nil: undefined }), state, anyCtx, (before, after, c) => {
                const v = evaluateRelease(before, after, c);
                expect(v.allowed).toBe(v.reasons.length === 0);
            }),
        );
    });
});
