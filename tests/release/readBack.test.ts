import { poolProblems, retryCommand, RunCommandContext, runCommandVerdict, tail, releaseProofOf, releaseProofProblems } from "../../release/readBack";

const STARTED = new Date("2026-12-01T10:00:00.000Z");
const ctx = (over: Partial<RunCommandContext> = {}): RunCommandContext => ({
    what: "the health gate of green (1.1.0)",
    name: "gate-7",
    ranInThisUpdate: true,
    updateStartedAt: STARTED,
    retry: "pulumi config set retryTag 1 && pulumi up",
    ...over,
});
const ok = { executionState: "Succeeded", exitCode: 0, startTime: "2026-12-01T10:02:00Z", endTime: "2026-12-01T10:03:00Z" };

describe("runCommandVerdict: a run command counts only once Azure says it ran and passed", () => {
    it("passes a run that succeeded with exit code 0 inside this update", () => {
        expect(runCommandVerdict(ok, ctx())).toEqual({ passed: true, problems: [] });
    });

    it("refuses a failed gate, naming the run, its exit code, what it said and the retry", () => {
        const v = runCommandVerdict({ executionState: "Failed", exitCode: 1, startTime: ok.startTime, error: "HEALTH GATE FAILED\n10.20.1.40: version 1.0.0, expected 1.1.0" }, ctx());
        expect(v.passed).toBe(false);
        expect(v.problems[0]).toMatch(/gate-7 on the release agent\) did not pass: execution state Failed, exit code 1/);
        expect(v.problems[0]).toMatch(/10\.20\.1\.40: version 1\.0\.0, expected 1\.1\.0/);
        expect(v.problems[0]).toMatch(/pulumi config set retryTag 1 && pulumi up/);
    });

    it("refuses the earlier failed result of an unchanged run command, saying Azure did not run it again", () => {
        const v = runCommandVerdict({ executionState: "Failed", exitCode: 1, startTime: "2026-12-01T09:00:00Z" }, ctx({ ranInThisUpdate: false }));
        expect(v.passed).toBe(false);
        expect(v.problems[0]).toMatch(/result of its earlier run: Azure does not run an unchanged run command again/);
    });

    it("accepts the earlier passed result of an unchanged run command (nothing it approved is changing)", () => {
        expect(runCommandVerdict({ ...ok, startTime: "2026-11-30T09:00:00Z" }, ctx({ ranInThisUpdate: false })).passed).toBe(true);
    });

    it("refuses a success that started before this update although its name is new", () => {
        const v = runCommandVerdict({ ...ok, startTime: "2026-12-01T09:00:00Z" }, ctx());
        expect(v.problems[0]).toMatch(/before this update started \(2026-12-01T10:00:00.000Z\): that is an earlier run/);
    });

    it("tolerates five minutes of clock skew by default, not more", () => {
        expect(runCommandVerdict({ ...ok, startTime: "2026-12-01T09:55:30Z" }, ctx()).passed).toBe(true);
        expect(runCommandVerdict({ ...ok, startTime: "2026-12-01T09:54:30Z" }, ctx()).passed).toBe(false);
    });

    it.each([
        ["no instance view at all", undefined, /no instance view/],
        ["a run still going", { executionState: "Running", startTime: ok.startTime }, /execution state Running, exit code \(none\)/],
        ["a timeout", { executionState: "TimedOut", exitCode: 0, startTime: ok.startTime }, /execution state TimedOut/],
        ["exit code 0 with state Failed", { executionState: "Failed", exitCode: 0, startTime: ok.startTime }, /execution state Failed/],
        ["success with no start time", { executionState: "Succeeded", exitCode: 0 }, /no start time/],
    ])("refuses %s", (_what, view, message) => {
        const v = runCommandVerdict(view, ctx());
        expect(v.passed).toBe(false);
        expect(v.problems.join("\n")).toMatch(message);
    });
});

describe("poolProblems: the pools list exactly what this step puts there", () => {
    const expected = { blue: ["10.20.1.10", "10.20.1.11"], green: ["10.20.1.40"] };
    const retry = "pulumi config set retryTag 3 && pulumi up";

    it("accepts pools that list exactly the expected addresses, in any order", () => {
        expect(poolProblems([{ name: "blue", addresses: ["10.20.1.11", "10.20.1.10"] }, { name: "green", addresses: ["10.20.1.40"] }], expected, retry)).toEqual([]);
    });

    it("refuses an empty pool, naming it, what it should list, and the fix that re-sends the load balancer", () => {
        const problems = poolProblems([{ name: "blue", addresses: [] }, { name: "green", addresses: ["10.20.1.40"] }], expected, retry);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(/^backend pool blue lists \[\] but this step puts \[10\.20\.1\.10, 10\.20\.1\.11\] there \(missing: 10\.20\.1\.10, 10\.20\.1\.11\)/);
        expect(problems[0]).toMatch(/--refresh` does not send them again/);
        expect(problems[0]).toMatch(/pulumi config set retryTag 3 && pulumi up/);
    });

    it("refuses a pool with an address this step does not put there, and a pool that is missing", () => {
        const problems = poolProblems([{ name: "blue", addresses: ["10.20.1.10", "10.20.1.11", "10.20.1.12"] }], expected, retry);
        expect(problems[0]).toMatch(/not expected: 10\.20\.1\.12/);
        expect(problems[1]).toMatch(/backend pool green was not found/);
    });

    it("treats addresses Azure lists without an IP as missing", () => {
        expect(poolProblems([{ name: "green", addresses: [undefined] }], { green: ["10.20.1.40"] }, retry)[0]).toMatch(/missing: 10\.20\.1\.40/);
    });
});

describe("helpers", () => {
    it("retryCommand suggests the next number", () => {
        expect(retryCommand("")).toBe("pulumi config set retryTag 1 && pulumi up");
        expect(retryCommand("4")).toBe("pulumi config set retryTag 5 && pulumi up");
        expect(retryCommand("after-fix")).toBe("pulumi config set retryTag 1 && pulumi up");
    });

    it("tail keeps the last non-empty lines", () => {
        expect(tail("a\n\nb\nc\n", 2)).toBe("b\nc");
        expect(tail(undefined)).toBe("");
    });
});

describe("releaseProofProblems: which release each VM runs, as its deployment proved it (no app endpoint)", () => {
    const sha = "ab".repeat(32);
    const proofLine = (p: Record<string, unknown>) => `deploy-app: release-proof ${JSON.stringify(p)}`;
    const view = (message: string) => ({ statuses: [{ code: "ProvisioningState/succeeded", message }] });
    const good = { color: "green", version: "1.1.0", sha256: sha, release: "releases/1.1.0", pid: 812 };
    const expected = { color: "green", version: "1.1.0", sha256: sha };
    const retry = "pulumi config set retryTag 3 && pulumi up";

    it("passes when every VM's last run ends with the proof of this release (the last proof counts)", () => {
        const older = proofLine({ ...good, version: "1.0.0" });
        expect(releaseProofProblems([
            { name: "green-vm-0", view: view(`Enable succeeded: \n[stdout]\n${older}\ndeploy-app: green runs 1.1.0\n${proofLine(good)}\n\n[stderr]\n`) },
            { name: "green-vm-1", view: { substatuses: [{ message: proofLine({ ...good, sha256: sha.toUpperCase() }) }] } },
        ], expected, retry)).toEqual([]);
        expect(releaseProofOf(view(proofLine(good)))).toEqual(good);
    });

    it.each([
        ["no instance view", undefined, /green-vm-0: its deployment's last run .* proves no release.*pulumi config set retryTag 3/],
        ["a failed run (no proof line)", view("Enable failed: deploy-app: FAILED: checksum mismatch"), /proves no release: it failed/],
        ["a truncated proof", view('deploy-app: release-proof {"color":"green","vers'), /proves no release/],
        ["another version", view(proofLine({ ...good, version: "1.0.0" })), /proved green 1\.0\.0 .*but green must run 1\.1\.0/],
        ["another artifact of the same version", view(proofLine({ ...good, sha256: "cd".repeat(32) })), /SHA-256 cdcdcdcdcdcd…/],
        ["the other color", view(proofLine({ ...good, color: "blue" })), /proved blue 1\.1\.0/],
        ["no process", view(proofLine({ ...good, pid: 0 })), /process 0\)/],
    ])("refuses %s, naming the VM and the fix", (_what, v, message) => {
        const problems = releaseProofProblems([{ name: "green-vm-0", view: v }], expected, retry);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(message);
    });
});
