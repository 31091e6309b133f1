import { colorChanges, evaluateRelease, pinnedToolsProblems, ReleaseState } from "../../release/guard";
import { VM_TOOL_FILES, vmToolsHash } from "../../components/lib/vmTools";
import { colorState } from "./fixtures";

const NOW = new Date("2026-12-01T12:00:00.000Z");
const OLD = "aaaaaaaaaaaa";
const NEW = "bbbbbbbbbbbb";
const withTools = (version: string, tools: string | undefined) => colorState(version, tools === undefined ? {} : { settings: { instanceCount: "1", vmTools: tools } });
const state = (blue: string | undefined, green: string | undefined, over: Partial<ReleaseState> = {}): ReleaseState => ({
    liveColor: "blue",
    blue: withTools("1.0.0", blue),
    green: withTools("1.0.0", green),
    ...over,
});
const ctx = { now: NOW, rollbackWindowMinutes: 60, vmTools: NEW };

describe("VM tools reach a color only through a release step", () => {
    it("refuses a merge that would change the live color's files, naming the pin that keeps them", () => {
        const v = evaluateRelease(state(OLD, OLD), state(NEW, NEW), ctx);
        expect(v.allowed).toBe(false);
        expect(v.reasons.join("\n")).toContain(`differ from what blue runs (${OLD})`);
        expect(v.reasons.join("\n")).toContain(`pulumi config set blueVmTools ${OLD}`);
    });

    it("allows the merge with the live color pinned: only the idle color takes the new files (a deploy-idle)", () => {
        const v = evaluateRelease(state(OLD, OLD), state(OLD, NEW), ctx);
        expect(v).toMatchObject({ allowed: true, step: "deploy-idle" });
    });

    it("allows a flip to the color with the new files, the old one still pinned", () => {
        expect(evaluateRelease(state(OLD, NEW), state(OLD, NEW, { liveColor: "green" }), ctx).allowed).toBe(true);
    });

    it("refuses a new version on a color pinned to older files, because the program can only send the new ones", () => {
        const after: ReleaseState = { ...state(OLD, OLD), green: withTools("1.1.0", OLD) };
        const problems = pinnedToolsProblems(state(OLD, OLD), after, NEW);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(/^green is pinned to VM tools aaaaaaaaaaaa \(greenVmTools\), but this checkout has bbbbbbbbbbbb/);
        expect(problems[0]).toContain("pulumi config rm greenVmTools");
        expect(evaluateRelease(state(OLD, OLD), after, ctx).allowed).toBe(false);
    });

    it("lets a new version go with the new files in one update on the idle color", () => {
        const after: ReleaseState = { ...state(OLD, OLD), green: withTools("1.1.0", NEW) };
        expect(evaluateRelease(state(OLD, OLD), after, ctx).allowed).toBe(true);
    });

    it("adopts the checkout's files on a state recorded before the tools were tracked (no refusal on upgrade)", () => {
        expect(colorChanges(withTools("1.0.0", undefined), withTools("1.0.0", NEW))).toEqual([]);
        expect(evaluateRelease(state(undefined, undefined), state(NEW, NEW), ctx).allowed).toBe(true);
    });
});

describe("vmToolsHash", () => {
    const texts = Object.fromEntries(VM_TOOL_FILES.map((f) => [f, `text of ${f}`]));
    it("is 12 hex digits and changes with any of the files", () => {
        const h = vmToolsHash(texts);
        expect(h).toMatch(/^[0-9a-f]{12}$/);
        for (const f of VM_TOOL_FILES) expect(vmToolsHash({ ...texts, [f]: `${texts[f]}!` })).not.toBe(h);
    });
});
