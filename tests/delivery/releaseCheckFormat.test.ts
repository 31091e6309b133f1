import { formatReport, safeSequence, StackReport } from "../../delivery/releaseCheck";

const refused: StackReport = {
    stack: "prod",
    file: "Pulumi.prod.yaml",
    label: "mixed or unsafe change",
    step: "other",
    allowed: false,
    changedKeys: ["liveColor", "blueVersion"],
    summary: "liveColor green → blue; blue version 1.0.0 → 1.1.0",
    reasons: ["refusing to flip green → blue together with other changes"],
    notices: [],
    liveBefore: "green",
};

describe("safeSequence", () => {
    it("names the idle color of the stack that was live before the change", () => {
        const text = safeSequence(refused);
        expect(text).toMatch(/1\. deploy to the idle color: set blueVersion in Pulumi\.prod\.yaml/);
        expect(text).toMatch(/3\. flip, alone: +set liveColor: blue in Pulumi\.prod\.yaml/);
        expect(text).toMatch(/4\. after rollbackWindowMinutes: set greenVersion/);
    });
});

describe("safeSequence after an automatic flip-back (--live)", () => {
    const back: StackReport = {
        ...refused,
        liveBefore: "blue",
        autoFlipBack: { flipId: "2026-12-01T10:00:00.000Z", at: "2026-12-01T10:03:20.000Z", from: "green", to: "blue", reason: "green: error ratio 20%" },
        flipCommit: "0123abc",
    };

    it("starts with accepting it (git revert of the flip commit), never calls the color that serves idle", () => {
        const text = safeSequence(back);
        expect(text).toContain("after the automatic flip-back (at 2026-12-01T10:03:20.000Z the release agent's watch sent production back from green to blue");
        expect(text).toMatch(/1\. accept it: set liveColor: blue in Pulumi\.prod\.yaml +git revert 0123abc/);
        expect(text).toMatch(/2\. deploy the fix to green: set greenVersion and greenArtifactSha256/);
        expect(text).toMatch(/3\. flip again, alone: +set liveColor: green/);
        expect(text).not.toContain("idle color: set blueVersion");
    });

    it("without a flip commit, names the commit that accepts it", () => {
        expect(safeSequence({ ...back, flipCommit: undefined })).toContain('git commit -m "prod: accept the automatic flip-back to blue" -- Pulumi.prod.yaml');
    });
});

describe("formatReport", () => {
    it("says Azure was not read (an automatic flip-back is not seen) unless --live, when a stack changed", () => {
        const changed = { ...refused, allowed: true, reasons: [] };
        const note = /Azure not read: an automatic flip-back by the release agent since the last update is not seen here/;
        expect(formatReport({ base: "b", head: "HEAD", target: { how: "unknown" }, stacks: [changed], ok: true, live: false })).toMatch(note);
        expect(formatReport({ base: "b", head: "HEAD", target: { how: "unknown" }, stacks: [changed], ok: true, live: true })).not.toMatch(note);
        expect(formatReport({ base: "b", head: "HEAD", target: { how: "unknown" }, stacks: [{ ...changed, label: "unchanged" }], ok: true, live: false })).not.toMatch(note);
    });

    it("prints each stack's step and verdict, the reasons, and the safe sequence only for refused steps", () => {
        const ok: StackReport = { ...refused, stack: "dev", file: "Pulumi.dev.yaml", label: "flip", step: "flip", allowed: true, reasons: [], summary: "liveColor blue → green" };
        const text = formatReport({ base: "origin/main", head: "HEAD", target: { how: "unknown" }, stacks: [ok, refused], ok: false, live: false });
        expect(text.split("\n")[0]).toMatch(/^release:check origin\/main\.\.HEAD target branch unknown \(pass --branch/);
        expect(text).toMatch(/^dev: flip — ok {2}\(liveColor blue → green\)$/m);
        expect(text).toMatch(/^prod: mixed or unsafe change — REFUSED/m);
        expect(text).toMatch(/ {2}✗ refusing to flip green → blue/);
        expect(text.match(/Safe sequence for/g)).toEqual(["Safe sequence for"]);
        expect(text.trimEnd().split("\n").pop()).toMatch(/release:check FAILED/);
    });

    it("says so when there is no stack file to check", () => {
        expect(formatReport({ base: "b", head: "HEAD", target: { how: "unknown" }, stacks: [], ok: true, live: false })).toMatch(/nothing to check[\s\S]*release:check passed/);
    });

    it.each([
        [{ branch: "release", stacks: ["prod"], how: "given" }, "release:check b..HEAD into release, which deploys prod"],
        [{ branch: "release", stacks: ["prod"], how: "from the base's name" }, "release:check b..HEAD into release (the base's branch), which deploys prod"],
        [{ branch: "feature/x", stacks: [], how: "given" }, "release:check b..HEAD into feature/x, which deploys no stack: nothing to judge"],
    ] as const)("names the target branch and the stack it deploys in the first line (%p)", (target, line) => {
        const text = formatReport({ base: "b", head: "HEAD", target: { ...target, stacks: [...target.stacks] }, stacks: [], ok: true, live: false });
        expect(text.split("\n")[0]).toBe(line);
    });
});
