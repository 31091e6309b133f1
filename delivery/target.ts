/**
 * Which stacks a change is judged for: the ones its target branch deploys (`main` → dev, `release` → prod by
 * default, `delivery/Pulumi.main.yaml` at the base says otherwise). A promotion from `main` into `release` carries
 * dev's release steps, and the sync of `release` back into `main` carries prod's; neither deploys them, so neither
 * is judged on them.
 */
import { DELIVERY_STACK_FILE, deployBranchesOf } from "./config";
import { GitRepo } from "./git";
import { AppStack, branchOfSymbolicRef, stacksDeployedFrom } from "./settings";

export interface Target {
    /** The branch the change goes into, given or read from the base's name; undefined when neither says. */
    readonly branch?: string;
    /** The stacks that branch deploys; undefined when the branch is unknown (then every stack file is judged). */
    readonly stacks?: AppStack[];
    /** Where the branch came from, for the report. */
    readonly how: "given" | "from the base's name" | "unknown";
}

/**
 * The target of a change from `base`: `branch` when given (CI passes the pull request's base branch or the pushed
 * branch), else the branch `base` names (`origin/release`, `release`), else unknown. The branch→stack mapping is
 * read from the delivery stack file at the base, so a change cannot pick what it is judged for.
 */
export function resolveTarget(repo: GitRepo, base: string, baseSha: string, branch?: string): Target {
    const name = branch ?? branchOfSymbolicRef(repo.symbolicFullName(base));
    if (name === undefined) return { how: "unknown" };
    const stacks = stacksDeployedFrom(name, deployBranchesOf(repo.show(baseSha, DELIVERY_STACK_FILE)));
    return { branch: name, stacks, how: branch === undefined ? "from the base's name" : "given" };
}

/** One line on what the target means, e.g. `into release, which deploys prod`. */
export function describeTarget(target: Target): string {
    if (target.branch === undefined) return "target branch unknown (pass --branch <branch the change goes into>): every stack file is judged";
    const into = `into ${target.branch}${target.how === "from the base's name" ? " (the base's branch)" : ""}`;
    return target.stacks && target.stacks.length > 0 ? `${into}, which deploys ${target.stacks.join(", ")}` : `${into}, which deploys no stack: nothing to judge`;
}
