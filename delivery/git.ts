/** The few read-only git queries the release-step check needs, run with `git` in a working tree. */
import { execFileSync } from "child_process";

/** One commit that touched a file: its id and committer date. */
export interface FileCommit {
    readonly sha: string;
    readonly committedAt: Date;
}

/** Read-only access to one git repository. */
export class GitRepo {
    constructor(private readonly cwd: string) {}

    private git(args: string[]): string {
        return execFileSync("git", args, { cwd: this.cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
    }

    /** The full commit id of `ref`; throws naming the ref when it does not resolve to a commit. */
    resolve(ref: string): string {
        try {
            return this.git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).trim();
        } catch {
            throw new Error(
                `"${ref}" is not a commit in ${this.cwd}. Pass a branch, tag or commit id that exists here ` +
                    `(in CI, check out with fetch-depth: 0 so the base is present), e.g. --base origin/main.`,
            );
        }
    }

    /** The full symbolic name of `ref` (`refs/remotes/origin/main`), or "" for a commit id or an unknown ref. */
    symbolicFullName(ref: string): string {
        try {
            return this.git(["rev-parse", "--symbolic-full-name", ref]).trim();
        } catch {
            return "";
        }
    }

    /** The text of `path` at `ref`, or undefined when the file does not exist there. */
    show(ref: string, path: string): string | undefined {
        try {
            return this.git(["show", `${ref}:${path}`]);
        } catch {
            return undefined;
        }
    }

    /** Paths of the files at the top level of `ref`'s tree. */
    topLevelFiles(ref: string): string[] {
        return this.git(["ls-tree", "--name-only", ref]).split("\n").filter((l) => l !== "");
    }

    /**
     * The commits on `ref`'s first-parent line (what was pushed to that branch) that touched `path`, oldest first,
     * at most `limit` of the newest ones.
     */
    fileHistory(ref: string, path: string, limit = 200): FileCommit[] {
        const out = this.git(["log", "--first-parent", `--max-count=${limit}`, "--format=%H %cI", ref, "--", path]);
        return out
            .split("\n")
            .filter((l) => l !== "")
            .map((line) => {
                const [sha, date] = line.split(" ");
                return { sha, committedAt: new Date(date) };
            })
            .reverse();
    }
}
