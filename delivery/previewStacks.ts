/**
 * `npm run --silent preview:stacks -- --base <git-ref> [--branch <target branch>] [--head <ref>]`: prints, as a
 * JSON array, the app stacks whose deployment a change from base to head into that branch would trigger: the stack
 * the branch deploys (`main` → dev, `release` → prod; delivery/target.ts), when the change touches its paths (the
 * same path filters as Pulumi Deployments, delivery/settings.ts) — and whose pull requests are previewed at all
 * (`previewsPullRequests`: not prod, whose credentials unreviewed code must not get). CI previews exactly these.
 */
import { execFileSync } from "child_process";
import { parseArgs } from "util";
import { GitRepo } from "./git";
import { APP_STACKS, AppStack, previewsPullRequests, stackNameOf, stacksAffectedBy } from "./settings";
import { resolveTarget } from "./target";

/**
 * The stacks (from the Pulumi.<stack>.yaml files at head) that the change base..head deploys when it goes into
 * `branch` (default: the branch `base` names; every stack when unknown).
 */
export function previewStacks(cwd: string, base: string, head = "HEAD", branch?: string): string[] {
    const repo = new GitRepo(cwd);
    const baseSha = repo.resolve(base);
    const headSha = repo.resolve(head);
    const changed = execFileSync("git", ["diff", "--name-only", baseSha, headSha], { cwd, encoding: "utf8" })
        .split("\n")
        .filter((l) => l !== "");
    const target = resolveTarget(repo, base, baseSha, branch);
    const stacks = repo
        .topLevelFiles(headSha)
        .map(stackNameOf)
        .filter((s): s is string => s !== undefined && (target.stacks === undefined || (target.stacks as string[]).includes(s)));
    const previewed = (s: string) => !(APP_STACKS as readonly string[]).includes(s) || previewsPullRequests(s as AppStack);
    return stacksAffectedBy(changed, stacks).filter(previewed);
}

/** The command line: exit 0 and the JSON array on stdout; 2 on bad usage. */
export function main(argv: string[], cwd = process.cwd()): number {
    try {
        const { values } = parseArgs({ args: argv, options: { base: { type: "string" }, head: { type: "string" }, branch: { type: "string" } } });
        if (values.base === undefined) throw new Error("--base <git-ref> is required, e.g. --base origin/main");
        process.stdout.write(JSON.stringify(previewStacks(cwd, values.base, values.head, values.branch || undefined)) + "\n");
        return 0;
    } catch (e) {
        process.stderr.write(`preview:stacks: ${(e as Error).message}\n`);
        return 2;
    }
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
