/**
 * The documented route to prod, end to end in a real temporary repository, with the checks CI runs at each pull
 * request and push: dev steps on `main`, a promotion pull request from `main` into `release`, prod steps on branches
 * from `release`, and the sync of `release` back into `main`. A pull request is checked as GitHub checks it out: the
 * merge of its head into the base branch (first parent = the base), judged for the branch it goes into.
 */
import { checkRelease, main as releaseCheckMain } from "../../delivery/releaseCheck";
import { previewStacks } from "../../delivery/previewStacks";
import { baseStack, TempRepo } from "./tempRepo";

let repo: TempRepo;
beforeEach(() => {
    repo = new TempRepo();
});
afterEach(() => repo.remove());

const sha = (ref: string) => repo.git("rev-parse", ref);

/** Opens a pull request of `head` into `into`: returns the base commit, with HEAD at GitHub's merge of the two. */
function pullRequest(head: string, into: string): string {
    const base = sha(into);
    repo.git("checkout", "-q", "--detach", into);
    repo.git("merge", "-q", "--no-ff", "--no-edit", head);
    repo.later(1);
    return base;
}
/** Merges the open pull request: `into` moves to the merge commit (HEAD); returns the commit before the push. */
function merge(into: string): string {
    const before = sha(into);
    repo.git("branch", "-f", into, "HEAD");
    repo.git("checkout", "-q", into);
    return before;
}
/** A step committed on a new branch from `from`, as a person prepares a pull request. */
function stepOn(from: string, name: string, stack: string, values: Record<string, string | boolean>): void {
    repo.git("checkout", "-q", "-b", name, from);
    repo.commitStack(stack, baseStack(values));
}
function judge(base: string, branch: string) {
    const report = checkRelease({ cwd: repo.dir, base, branch, now: repo.time });
    return { ok: report.ok, steps: report.stacks.map((s) => `${s.stack}: ${s.label}${s.allowed ? "" : " REFUSED"}`) };
}

describe("the route to prod passes its own checks", () => {
    it("dev steps on main → promotion into release → prod steps → sync back into main: every pull request and push passes, judged for the stack its branch deploys", () => {
        repo.writeStack("dev", baseStack()).writeStack("prod", baseStack()).commit("dev and prod: first deploy, blue live at 1.0.0");
        repo.git("branch", "release");

        // dev: bump the idle color, then flip, one pull request each into main
        stepOn("main", "dev/bump", "dev", { greenVersion: "1.1.0" });
        repo.writeFile("components/feature.ts", "export const feature = 1;\n").commit("program change");
        let base = pullRequest("dev/bump", "main");
        expect(judge(base, "main")).toEqual({ ok: true, steps: ["dev: version bump of the idle color"] });
        expect(previewStacks(repo.dir, base, "HEAD", "main")).toEqual(["dev"]);
        expect(judge(merge("main"), "main").ok).toBe(true);
        repo.later(10);
        stepOn("main", "dev/flip", "dev", { greenVersion: "1.1.0", liveColor: "green" });
        base = pullRequest("dev/flip", "main");
        expect(judge(base, "main")).toEqual({ ok: true, steps: ["dev: flip"] });
        expect(judge(merge("main"), "main").ok).toBe(true);

        // promotion: main into release carries dev's bump and flip (one mixed change for dev) and the program change
        base = pullRequest("main", "release");
        expect(judge(base, "release")).toEqual({ ok: true, steps: ["prod: unchanged"] });
        expect(previewStacks(repo.dir, base, "HEAD", "release")).toEqual([]); // prod: never previewed from a pull request
        expect(previewStacks(repo.dir, base, "HEAD")).toEqual(["dev"]); // (without the target branch: dev, wrongly)
        // what the check did before it knew the target branch: dev's two steps refused as one mixed change
        expect(checkRelease({ cwd: repo.dir, base, now: repo.time }).stacks.map((s) => [s.stack, s.allowed])).toEqual([
            ["dev", false],
            ["prod", true],
        ]);
        expect(judge(merge("release"), "release").ok).toBe(true);

        // prod: the same steps, each a pull request from a branch off release
        repo.later(30);
        stepOn("release", "prod/bump", "prod", { greenVersion: "1.1.0" });
        base = pullRequest("prod/bump", "release");
        expect(judge(base, "release")).toEqual({ ok: true, steps: ["prod: version bump of the idle color"] });
        expect(judge(merge("release"), "release").ok).toBe(true);
        repo.later(10);
        stepOn("release", "prod/flip", "prod", { greenVersion: "1.1.0", liveColor: "green" });
        base = pullRequest("prod/flip", "release");
        expect(judge(base, "release")).toEqual({ ok: true, steps: ["prod: flip"] });
        expect(judge(merge("release"), "release").ok).toBe(true);

        // sync: release back into main carries prod's bump and flip (one mixed change for prod)
        base = pullRequest("release", "main");
        expect(judge(base, "main")).toEqual({ ok: true, steps: ["dev: unchanged"] });
        expect(previewStacks(repo.dir, base, "HEAD", "main")).toEqual([]);
        expect(checkRelease({ cwd: repo.dir, base, now: repo.time }).stacks.find((s) => s.stack === "prod")?.allowed).toBe(false);
        expect(judge(merge("main"), "main").ok).toBe(true);

        // dev's history survives the merges: the next dev step is judged against the flip replayed from main
        repo.later(90);
        stepOn("main", "dev/old-color", "dev", { greenVersion: "1.1.0", liveColor: "green", blueVersion: "1.1.0" });
        base = pullRequest("dev/old-color", "main");
        expect(judge(base, "main")).toEqual({ ok: true, steps: ["dev: version bump of the idle color"] });
    });

    it("still refuses an unsafe prod step in a promotion: a mixed prod change from main into release", () => {
        repo.writeStack("dev", baseStack()).writeStack("prod", baseStack()).commit("first deploy");
        repo.git("branch", "release");
        repo.commitStack("prod", baseStack({ greenVersion: "1.1.0", liveColor: "green" }));
        const base = pullRequest("main", "release");
        expect(judge(base, "release")).toEqual({ ok: false, steps: ["prod: mixed or unsafe change REFUSED"] });
        expect(judge(base, "main").ok).toBe(true); // the same change into main deploys dev only
    });
});

describe("the target branch", () => {
    beforeEach(() => {
        repo.writeStack("dev", baseStack()).writeStack("prod", baseStack()).commit("first deploy");
        repo.git("branch", "release");
        repo.writeStack("dev", baseStack({ blueVersion: "1.1.0" })).writeStack("prod", baseStack({ greenVersion: "1.1.0" })).commit("both");
    });

    it("is read from the base's name when --branch is not given (release → prod, origin-style names too)", () => {
        expect(checkRelease({ cwd: repo.dir, base: "release" }).stacks.map((s) => s.stack)).toEqual(["prod"]);
        repo.git("update-ref", "refs/remotes/origin/release", "release");
        expect(checkRelease({ cwd: repo.dir, base: "origin/release" }).target).toMatchObject({ branch: "release", stacks: ["prod"] });
    });

    it("judges every stack file when neither --branch nor the base names a branch", () => {
        const report = checkRelease({ cwd: repo.dir, base: sha("release") });
        expect([report.target.how, report.stacks.map((s) => s.stack)]).toEqual(["unknown", ["dev", "prod"]]);
    });

    it("judges nothing for a branch no stack deploys from", () => {
        const report = checkRelease({ cwd: repo.dir, base: sha("release"), branch: "feature/x" });
        expect([report.ok, report.stacks]).toEqual([true, []]);
    });

    it("follows devBranch/prodBranch of the delivery stack file at the base, not the change's", () => {
        repo.git("checkout", "-q", "release");
        repo.writeFile("delivery/Pulumi.main.yaml", "config:\n  bluegreen-delivery:prodBranch: production\n").commit("prod deploys from production");
        const base = sha("HEAD");
        repo.writeFile("delivery/Pulumi.main.yaml", "config:\n  bluegreen-delivery:prodBranch: anything\n").commitStack("prod", baseStack({ blueVersion: "9.0.0" }));
        expect(checkRelease({ cwd: repo.dir, base, branch: "production" }).stacks.map((s) => [s.stack, s.allowed])).toEqual([["prod", false]]);
        expect(checkRelease({ cwd: repo.dir, base, branch: "anything" }).stacks).toEqual([]);
    });

    it("is taken from --branch on the command line", () => {
        const out: string[] = [];
        const so = jest.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true));
        try {
            expect(releaseCheckMain(["--base", sha("release"), "--branch", "main"], repo.dir)).toBe(1);
            expect(out.join("")).toMatch(/into main, which deploys dev[\s\S]*dev: mixed or unsafe change — REFUSED/);
            expect(out.join("")).not.toMatch(/^prod:/m);
        } finally {
            so.mockRestore();
        }
    });
});
