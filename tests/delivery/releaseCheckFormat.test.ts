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

describe("formatReport", () => {
    it("prints each stack's step and verdict, the reasons, and the safe sequence only for refused steps", () => {
        const ok: StackReport = { ...refused, stack: "dev", file: "Pulumi.dev.yaml", label: "flip", step: "flip", allowed: true, reasons: [], summary: "liveColor blue → green" };
        const text = formatReport({ base: "origin/main", head: "HEAD", target: { how: "unknown" }, stacks: [ok, refused], ok: false });
        expect(text.split("\n")[0]).toMatch(/^release:check origin\/main\.\.HEAD target branch unknown \(pass --branch/);
        expect(text).toMatch(/^dev: flip — ok {2}\(liveColor blue → green\)$/m);
        expect(text).toMatch(/^prod: mixed or unsafe change — REFUSED/m);
        expect(text).toMatch(/ {2}✗ refusing to flip green → blue/);
        expect(text.match(/Safe sequence for/g)).toEqual(["Safe sequence for"]);
        expect(text.trimEnd().split("\n").pop()).toMatch(/release:check FAILED/);
    });

    it("says so when there is no stack file to check", () => {
        expect(formatReport({ base: "b", head: "HEAD", target: { how: "unknown" }, stacks: [], ok: true })).toMatch(/nothing to check[\s\S]*release:check passed/);
    });

    it.each([
        [{ branch: "release", stacks: ["prod"], how: "given" }, "release:check b..HEAD into release, which deploys prod"],
        [{ branch: "release", stacks: ["prod"], how: "from the base's name" }, "release:check b..HEAD into release (the base's branch), which deploys prod"],
        [{ branch: "feature/x", stacks: [], how: "given" }, "release:check b..HEAD into feature/x, which deploys no stack: nothing to judge"],
    ] as const)("names the target branch and the stack it deploys in the first line (%p)", (target, line) => {
        const text = formatReport({ base: "b", head: "HEAD", target: { ...target, stacks: [...target.stacks] }, stacks: [], ok: true });
        expect(text.split("\n")[0]).toBe(line);
    });
});
