/**
 * What a working tree would ship that no commit holds: modified, staged, untracked and ignored-but-present files
 * under the paths that go into an artifact (`app:pack`) or onto the VMs (`pulumi up`). Both refuse such a tree,
 * naming the files, unless explicitly overridden, so that an unreviewed `migrations/0099_x.expand.sql` lying in
 * the checkout never reaches a VM stamped with the clean commit.
 */
import { execFileSync } from "child_process";

/** The state of the paths that matter in one checkout. */
export interface WorkingTreeState {
    /** HEAD's commit id; undefined when the directory is not a git checkout (or git is missing). */
    readonly commit?: string;
    /** `git status` lines (`XY path`) of what differs from HEAD under the paths: ` M`, `A `, `??`, `!!` (ignored)... */
    readonly dirty: readonly string[];
}

/** Reads the state of `paths` (relative to `root`, the repository's top) in the checkout at `root`. */
export function workingTreeState(root: string, paths: readonly string[]): WorkingTreeState {
    const git = (args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 1024 * 1024 });
    let commit: string;
    try {
        commit = git(["rev-parse", "--verify", "HEAD"]).trim();
    } catch {
        return { dirty: [] };
    }
    const out = git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--", ...paths]);
    const fields = out.split("\0").filter((f) => f !== "");
    const dirty: string[] = [];
    for (let i = 0; i < fields.length; i++) {
        dirty.push(fields[i]);
        if (/^[RC]/.test(fields[i])) i++; // a rename or copy: the next field is the old path
    }
    return { commit, dirty: dirty.sort((a, b) => a.slice(3).localeCompare(b.slice(3))) };
}

/** What to say: the step that refuses (e.g. "app:pack") and how to override it. */
export interface DirtyTreePolicy {
    readonly what: string;
    readonly override: string;
}

/**
 * Throws, naming the files, when the tree is not a checkout or has uncommitted changes under the paths; returns
 * the state (for the stamp) otherwise, or when `allow` is set.
 */
export function refuseDirtyTree(state: WorkingTreeState, policy: DirtyTreePolicy, allow: boolean): WorkingTreeState {
    if (allow || (state.commit !== undefined && state.dirty.length === 0)) return state;
    if (state.commit === undefined) {
        throw new Error(
            `${policy.what} refused: this is not a git checkout (or git is not installed), so what it ships cannot be tied to a ` +
                `reviewed commit. Run it from a clone, or ${policy.override} to ship it anyway (stamped dirty).`,
        );
    }
    const shown = state.dirty.slice(0, 20).map((l) => `  ${l}`);
    if (state.dirty.length > 20) shown.push(`  … and ${state.dirty.length - 20} more`);
    throw new Error(
        `${policy.what} refused: the working tree has changes no commit holds, and ${policy.what} would ship them as if they ` +
            `were commit ${state.commit.slice(0, 12)}:\n${shown.join("\n")}\n` +
            `Commit them (and have them reviewed), or set them aside (git stash --include-untracked; delete ignored files ` +
            `marked !!); or, to ship them anyway, ${policy.override} (the result is stamped dirty).`,
    );
}

/**
 * What `pulumi up` ships from the working tree: the VM scripts and the app contract's checks (sent to the VMs), the
 * migrations and their runner (the release agent's tool bundle; the guard reads the migrations too).
 */
export const PULUMI_SHIPPED_PATHS = ["vm-scripts", "migrations", "migrator", "release/appContract.ts", "release/versions.ts"];

/** The environment variable that lets `pulumi up` ship uncommitted VM scripts or migrations anyway. */
export const PULUMI_ALLOW_DIRTY_ENV = "BLUEGREEN_ALLOW_DIRTY";

/** The program's check (index.ts): refuses uncommitted changes under {@link PULUMI_SHIPPED_PATHS} unless overridden. */
export function checkPulumiWorkingTree(root: string, env: NodeJS.ProcessEnv): WorkingTreeState {
    return refuseDirtyTree(
        workingTreeState(root, PULUMI_SHIPPED_PATHS),
        { what: "pulumi up", override: `set ${PULUMI_ALLOW_DIRTY_ENV}=1 (${PULUMI_ALLOW_DIRTY_ENV}=1 pulumi up)` },
        env[PULUMI_ALLOW_DIRTY_ENV] === "1",
    );
}
