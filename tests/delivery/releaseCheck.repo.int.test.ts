/**
 * The release-step check on real temporary git repositories: each refusal, and the good sequences
 * (first deploy → bump idle → flip → bump the old color after the window → contract; revert of a flip = rollback).
 */
import { checkRelease, main, ReleaseCheckReport, StackReport } from "../../delivery/releaseCheck";
import { artifactSha256, baseStack, TempRepo } from "./tempRepo";

const CONTRACT_1_1_0 = "-- migrate:requires-version 1.1.0\nALTER TABLE dbo.goals DROP COLUMN legacy_title;\n";

let repo: TempRepo;
beforeEach(() => {
    repo = new TempRepo();
});
afterEach(() => {
    repo.remove();
});

/** Checks `base`..HEAD at the repo's current time (or `minutesLater` after it). */
function check(base: string, minutesLater = 0): ReleaseCheckReport {
    return checkRelease({ cwd: repo.dir, base, now: new Date(repo.time.getTime() + minutesLater * 60_000) });
}
function only(report: ReleaseCheckReport, stack = "dev"): StackReport {
    const s = report.stacks.find((r) => r.stack === stack);
    if (!s) throw new Error(`no report for ${stack}: ${JSON.stringify(report)}`);
    return s;
}

describe("release:check refuses unsafe single steps", () => {
    let base: string;
    beforeEach(() => {
        base = repo.commitStack("dev", baseStack());
    });

    it.each([
        [
            "a flip together with a version change of the old color",
            baseStack({ liveColor: "green", blueVersion: "1.1.0" }),
            /refusing to flip blue → green together with other changes \(blue version 1\.0\.0 → 1\.1\.0[,)]/,
        ],
        [
            "a flip to a color whose version changed in the same commit",
            baseStack({ liveColor: "green", greenVersion: "1.1.0" }),
            /refusing to flip blue → green together with other changes \(green version 1\.0\.0 → 1\.1\.0[,)]/,
        ],
        [
            "a version change of the live color",
            baseStack({ blueVersion: "1.1.0" }),
            /refusing to change blue, the live color \(version 1\.0\.0 → 1\.1\.0[,)]/,
        ],
        [
            "a VM size change of the live color",
            baseStack({ blueVmSize: "Standard_D2s_v5" }),
            /refusing to change blue, the live color \(vmSize Standard_B2s → Standard_D2s_v5\)/,
        ],
        ["an invalid liveColor", baseStack({ liveColor: "purple" }), /liveColor\W+"purple" is not a color[\s\S]*pulumi config set liveColor blue/],
        ["a version that is not semver", baseStack({ greenVersion: "1.2" }), /greenVersion\W+"1\.2" is not a semantic version/],
        [
            "a version bump that keeps the old artifact checksum",
            baseStack({ greenVersion: "1.1.0", greenArtifactSha256: artifactSha256("1.0.0") }),
            /greenVersion 1\.0\.0 → 1\.1\.0 but greenArtifactSha256 is still the checksum of 1\.0\.0/,
        ],
    ])("refuses %s", (_what, values, message) => {
        repo.commitStack("dev", values);
        const report = check(base);
        expect(report.ok).toBe(false);
        expect(only(report).allowed).toBe(false);
        expect(only(report).reasons.join("\n")).toMatch(message);
    });

    it("labels an invalid stack file as such and shows the program's own error", () => {
        repo.commitStack("dev", baseStack({ liveColor: "purple" }));
        const s = only(check(base));
        expect(s.label).toBe("invalid config");
        expect(s.reasons[0]).toMatch(/^Invalid stack configuration/);
    });

    it("judges the whole range as one deployment: a bump and a flip in two commits of one push are refused", () => {
        repo.commitStack("dev", baseStack({ greenVersion: "1.1.0" }));
        repo.commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green" }));
        expect(only(check(base)).label).toBe("mixed or unsafe change");
        expect(check(base).ok).toBe(false);
        expect(check("HEAD~1").ok).toBe(true);
    });

    it("refuses a deploy onto the color that was live until less than rollbackWindowMinutes ago", () => {
        repo.later(5).commitStack("dev", baseStack({ greenVersion: "1.1.0" }));
        repo.later(5).commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green" }));
        const flip = repo.git("rev-parse", "HEAD");
        repo.later(10).commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green", blueVersion: "1.1.0" }));
        const s = only(check(flip));
        expect(s.allowed).toBe(false);
        expect(s.reasons.join("\n")).toMatch(/refusing to deploy onto blue .* instant rollback target/);
    });

    it("refuses contract migrations while a color that can take traffic runs a version below their requires-version", () => {
        repo.writeFile("migrations/0002_drop_goal_legacy_title.contract.sql", CONTRACT_1_1_0);
        repo.commitStack("dev", baseStack({ greenVersion: "1.1.0" }));
        repo.later(10).commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green" }));
        const flip = repo.git("rev-parse", "HEAD");
        repo.later(90).commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green", runContractMigrations: true }));
        const s = only(check(flip));
        expect(s.allowed).toBe(false);
        expect(s.reasons.join("\n")).toMatch(/contract migration 0002_drop_goal_legacy_title\.contract\.sql requires 1\.1\.0 or newer, but blue runs 1\.0\.0/);
    });

    it("checks every stack and fails when any one is refused", () => {
        repo.commitStack("prod", baseStack());
        const both = repo.git("rev-parse", "HEAD");
        repo.writeStack("dev", baseStack({ greenVersion: "1.1.0" }));
        repo.writeStack("prod", baseStack({ blueVersion: "1.1.0" }));
        repo.commit("bump dev idle, and prod live by mistake");
        const report = check(both);
        expect(report.stacks.map((s) => [s.stack, s.allowed])).toEqual([
            ["dev", true],
            ["prod", false],
        ]);
        expect(report.ok).toBe(false);
    });
});

describe("release:check accepts the release sequence, one step per commit", () => {
    it("first deploy → bump idle → flip → bump the old color after the window → contract", () => {
        const start = repo.git("rev-parse", "HEAD");
        const steps: [string, Record<string, string | boolean>, number][] = [
            ["first deploy", {}, 0],
            ["version bump of the idle color", { greenVersion: "1.1.0" }, 10],
            ["flip", { greenVersion: "1.1.0", liveColor: "green" }, 10],
            ["version bump of the idle color", { greenVersion: "1.1.0", liveColor: "green", blueVersion: "1.1.0" }, 61],
            ["contract", { greenVersion: "1.1.0", liveColor: "green", blueVersion: "1.1.0", runContractMigrations: true }, 5],
        ];
        repo.writeFile("migrations/0002_drop_goal_legacy_title.contract.sql", CONTRACT_1_1_0);
        let previous = start;
        for (const [label, values, waitMinutes] of steps) {
            repo.later(waitMinutes).commitStack("dev", baseStack(values));
            const s = only(check(previous));
            expect([label, s.label, s.allowed, s.reasons]).toEqual([label, label, true, []]);
            previous = repo.git("rev-parse", "HEAD");
        }
    });

    it("recognizes git revert of the flip commit inside the window as a rollback", () => {
        repo.commitStack("dev", baseStack({ greenVersion: "1.1.0" }));
        const flip = repo.later(10).commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green" }));
        repo.later(3).revert(flip);
        const s = only(check(flip));
        expect([s.label, s.allowed]).toEqual(["rollback", true]);
        expect(s.notices.join("\n")).toMatch(/rollback: blue was live until/);
    });

    it("calls the same revert a plain flip once the rollback window has passed", () => {
        repo.commitStack("dev", baseStack({ greenVersion: "1.1.0" }));
        const flip = repo.later(10).commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green" }));
        repo.later(90).revert(flip);
        expect(only(check(flip)).label).toBe("flip");
    });

    it("uses the stack's rollbackWindowMinutes", () => {
        // The post-flip watch must fit in the window (config/validate.ts): a 5-minute window needs a watch of at most 5.
        repo.commitStack("dev", baseStack({ greenVersion: "1.1.0", rollbackWindowMinutes: 5, watchMinutes: 5 }));
        const flip = repo.later(10).commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green", rollbackWindowMinutes: 5, watchMinutes: 5 }));
        repo.later(10).revert(flip);
        expect(only(check(flip)).label).toBe("flip");
    });

    it("allows the deploy into the window when allowDeployIntoRollbackWindow is set, and says so", () => {
        repo.commitStack("dev", baseStack({ greenVersion: "1.1.0" }));
        const flip = repo.later(10).commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green" }));
        repo.later(2).commitStack("dev", baseStack({ greenVersion: "1.1.0", liveColor: "green", blueVersion: "1.1.1", allowDeployIntoRollbackWindow: true }));
        const s = only(check(flip));
        expect([s.label, s.allowed]).toEqual(["version bump of the idle color", true]);
        expect(s.notices.join("\n")).toMatch(/allowDeployIntoRollbackWindow is set/);
    });

    it.each([
        ["another config key", "other config", baseStack({ sqlSku: "S1" }), ["sqlSku"]],
        ["only docs", "unchanged", baseStack(), []],
    ])("passes a change of %s as %s", (_what, label, values, keys) => {
        const base = repo.commitStack("dev", baseStack());
        repo.writeFile("docs/delivery.md", "# docs\n").writeStack("dev", values).commit("change");
        const s = only(check(base));
        expect([s.label, s.allowed, s.changedKeys]).toEqual([label, true, keys]);
    });
});

describe("release:check command line", () => {
    function run(args: string[]): { code: number; out: string; err: string } {
        const out: string[] = [];
        const err: string[] = [];
        const so = jest.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true));
        const se = jest.spyOn(process.stderr, "write").mockImplementation((s) => (err.push(String(s)), true));
        try {
            return { code: main(args, repo.dir), out: out.join(""), err: err.join("") };
        } finally {
            so.mockRestore();
            se.mockRestore();
        }
    }

    it("exits 0 and names the step when the change is one safe step", () => {
        const base = repo.commitStack("dev", baseStack());
        repo.commitStack("dev", baseStack({ greenVersion: "2.0.0" }));
        const r = run(["--base", base]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/dev: version bump of the idle color — ok {2}\(green version 1\.0\.0 → 2\.0\.0;.*blue stays live\)/);
    });

    it("exits 1 with the safe sequence as git commits when a commit mixes a flip and a version change", () => {
        const base = repo.commitStack("dev", baseStack());
        repo.commitStack("dev", baseStack({ greenVersion: "2.0.0", liveColor: "green" }));
        const r = run(["--base", base]);
        expect(r.code).toBe(1);
        expect(r.out).toMatch(/REFUSED/);
        expect(r.out).toMatch(/1\. deploy to the idle color: set greenVersion in Pulumi\.dev\.yaml/);
        expect(r.out).toMatch(/rollback = git revert <the flip commit>/);
    });

    it("prints JSON with --json", () => {
        const base = repo.commitStack("dev", baseStack());
        repo.commitStack("dev", baseStack({ liveColor: "green" }));
        const r = run(["--base", base, "--json"]);
        expect(JSON.parse(r.out).stacks[0]).toMatchObject({ stack: "dev", label: "flip", allowed: true });
    });

    it.each([
        [[], /--base <git-ref> is required/],
        [["--base", "no-such-ref"], /"no-such-ref" is not a commit/],
        [["--base", "HEAD", "--now", "yesterday"], /--now "yesterday" is not a date/],
    ])("exits 2 on bad usage %p", (args, message) => {
        const r = run(args);
        expect(r.code).toBe(2);
        expect(r.err).toMatch(message);
    });
});
