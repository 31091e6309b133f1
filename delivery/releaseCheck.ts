/**
 * `npm run --silent release:check -- --base <git-ref> [--branch <target branch>] [--now <ISO time>] [--live [--org <org>]] [--json]`
 *
 * Says, for the stack the target branch deploys (`main` → dev, `release` → prod; every stack file when the branch
 * is unknown), which release step the change from `--base` to HEAD is, and
 * refuses (exit 1) the changes the program's release guard would refuse, with the safe sequence as git commits.
 * The decisions are the guard's (release/guard.ts) and the validation the program's (config/validate.ts); this file
 * only reads git (stack files at base and HEAD, committed) and, when `runContractMigrations` is on, the contract
 * migrations in the working tree's migrations/ (as the program does; in CI the working tree is HEAD).
 *
 * The state before the change is rebuilt by replaying the stack file's history on the base's first-parent line
 * through the guard's own `recordStep`, with commit dates as the times of the flips: that is how a revert of a flip
 * commit inside the rollback window is recognized as a rollback.
 *
 * Git alone cannot see what the release agent did since the last update: an automatic flip-back (issue 16) leaves the
 * stack file on the failed color. With `--live` the check reads, per stack, what the production rule points at and the
 * agent's flip-back record (delivery/liveServing.ts: `pulumi stack export` and `az network lb show`, as `npm run status`)
 * and judges with them as `pulumi up` does: a change that keeps liveColor on the failed color is refused, naming the
 * record, with `git revert <the flip commit>` as the first step. Without `--live` the report says Azure was not read.
 */
import { parseArgs } from "util";
import { idleColor } from "../release/colors";
import * as path from "path";
import { contractMigrationsIn } from "../components/releaseGuard";
import { colorChanges, ContractMigration, describeFlipBack, evaluateRelease, reconcile, ReleaseState, ReleaseStep, recordStep } from "../release/guard";
import type { ServingRead } from "../release/readBack";
import type { FlipBackRecord } from "../release/watchContract";
import { cliLiveServing, LiveServing } from "./liveServing";
import { projectNameOf } from "./config";
import { GitRepo } from "./git";
import { workingTreeState } from "./workingTree";
import { stackNameOf } from "./settings";
import { describeTarget, resolveTarget, Target } from "./target";
import { changedKeys, parseStackFile } from "./stackFile";

/** What a stack's change is, in the runbook's words. */
export type StepLabel =
    | "first deploy"
    | "unchanged"
    | "other config"
    | "version bump of the idle color"
    | "flip"
    | "rollback"
    | "contract"
    | "mixed or unsafe change"
    | "invalid config"
    | "stack file removed";

/** The verdict on one stack. */
export interface StackReport {
    readonly stack: string;
    readonly file: string;
    readonly label: StepLabel;
    /** The guard's step, when both sides could be read. */
    readonly step?: ReleaseStep;
    readonly allowed: boolean;
    /** Config keys whose value changed (without the project prefix). */
    readonly changedKeys: string[];
    /** One line on what changes (e.g. `green version 1.0.0 → 1.1.0; blue stays live`). */
    readonly summary: string;
    readonly reasons: string[];
    readonly notices: string[];
    /** The live color before the change (what serves, when Azure was read), for the safe-sequence hint. */
    readonly liveBefore?: ReleaseState["liveColor"];
    /** With `--live`: the release agent's flip-back of the last flip, not accepted in the stack file before this change. */
    readonly autoFlipBack?: FlipBackRecord;
    /** The commit that last changed liveColor in the stack file at the base (the flip to revert), when there is one. */
    readonly flipCommit?: string;
}

export interface ReleaseCheckReport {
    readonly base: string;
    readonly head: string;
    /** The branch the change goes into and the stacks it deploys: only those are judged. */
    readonly target: Target;
    readonly stacks: StackReport[];
    readonly ok: boolean;
    /** Whether what serves was read from Azure (`--live`); without it an automatic flip-back is not seen here. */
    readonly live: boolean;
    /**
     * Present when the working tree has edits of Pulumi.yaml or a stack file that no commit holds (`git status`
     * lines): the check compares commits, so those edits were not checked.
     */
    readonly uncommitted?: readonly string[];
}

export interface ReleaseCheckOptions {
    /** Working tree of the repository. */
    readonly cwd: string;
    /** The ref the change is measured from (the pull request's base, or the commit before a push). */
    readonly base: string;
    /** The time the change would deploy (for the rollback window). @default now */
    readonly now?: Date;
    /**
     * The branch the change goes into (the pull request's base branch, or the pushed branch). Only the stack it
     * deploys is judged. @default the branch `base` names, if it names one; otherwise every stack file is judged
     */
    readonly branch?: string;
    /**
     * Reads what serves for a stack (`--live`: delivery/liveServing.ts). @default undefined (Azure is not read: only git)
     */
    readonly live?: LiveServing;
}

const LABELS: Record<ReleaseStep, StepLabel> = {
    "first-deploy": "first deploy",
    "no-change": "other config",
    "deploy-idle": "version bump of the idle color",
    flip: "flip",
    rollback: "rollback",
    contract: "contract",
    other: "mixed or unsafe change",
};

/** The release state at `base`, rebuilt by replaying the stack file's history through the guard's `recordStep`. */
export function replayHistory(repo: GitRepo, base: string, file: string, project: string): ReleaseState | undefined {
    let state: ReleaseState | undefined;
    for (const commit of repo.fileHistory(base, file)) {
        const text = repo.show(commit.sha, file);
        if (text === undefined) {
            state = undefined; // the file was deleted: the stack starts over
            continue;
        }
        const parsed = parseStackFile(text, project);
        if (!parsed.ok) continue; // an invalid commit never deployed: the live state is the previous one
        state = recordStep(state, parsed.state, {
            now: commit.committedAt,
            rollbackWindowMinutes: parsed.config.rollbackWindowMinutes,
        });
    }
    return state;
}

/** The commit that last changed liveColor in the stack file on the base's first-parent line (the flip to revert), if any. */
export function lastFlipCommit(repo: GitRepo, base: string, file: string, project: string): string | undefined {
    let live: string | undefined;
    let flip: string | undefined;
    for (const commit of repo.fileHistory(base, file)) {
        const text = repo.show(commit.sha, file);
        const parsed = text === undefined ? undefined : parseStackFile(text, project);
        if (!parsed?.ok) continue;
        if (live !== undefined && parsed.state.liveColor !== live) flip = commit.sha;
        live = parsed.state.liveColor;
    }
    return flip;
}

function summarize(before: ReleaseState | undefined, after: ReleaseState): string {
    if (!before) return `${after.liveColor} goes live at ${after[after.liveColor].version}`;
    const parts: string[] = [];
    if (before.liveColor !== after.liveColor) parts.push(`liveColor ${before.liveColor} → ${after.liveColor}`);
    for (const color of ["blue", "green"] as const) {
        for (const c of colorChanges(before[color], after[color])) {
            parts.push(`${color} ${c.field} ${c.before ?? "(unset)"} → ${c.after ?? "(unset)"}`);
        }
    }
    if (!before.runContractMigrations && after.runContractMigrations) parts.push("runContractMigrations false → true");
    if (before.liveColor === after.liveColor) parts.push(`${after.liveColor} stays live`);
    return parts.join("; ");
}

/** Checks one stack file between two commits. */
export function checkStack(
    repo: GitRepo,
    baseSha: string,
    headSha: string,
    file: string,
    project: string,
    now: Date,
    migrationsDir: string,
    live?: ServingRead,
): StackReport {
    const stack = stackNameOf(file) as string;
    const baseText = repo.show(baseSha, file);
    const headText = repo.show(headSha, file);
    const common = { stack, file, reasons: [] as string[], notices: [] as string[] };

    if (headText === undefined) {
        return {
            ...common,
            label: "stack file removed",
            allowed: true,
            changedKeys: [],
            summary: `${file} was removed: Deployments can no longer run this stack from git`,
            notices: [`${file} was removed. If the stack is meant to go, destroy it first: pulumi destroy -s ${stack}.`],
        };
    }
    const after = parseStackFile(headText, project);
    if (baseText === headText) {
        // Not this change's doing: report, do not block unrelated commits.
        const notices = after.ok ? [] : [`${file} is not valid input to the program (unchanged by this change):\n${after.error}`];
        return { ...common, label: "unchanged", allowed: true, changedKeys: [], summary: `${file} did not change`, notices };
    }
    const beforeParsed = baseText === undefined ? undefined : parseStackFile(baseText, project);
    const keys = changedKeys(beforeParsed?.raw ?? {}, after.raw ?? {});
    if (!after.ok) {
        return { ...common, label: "invalid config", allowed: false, changedKeys: keys, summary: `${file} is not valid input to the program`, reasons: [after.error] };
    }

    const before = baseText === undefined ? undefined : replayHistory(repo, baseSha, file, project);
    let contract: ContractMigration[] | undefined;
    if (after.config.runContractMigrations) {
        try {
            contract = contractMigrationsIn(migrationsDir);
        } catch (e) {
            return { ...common, label: "invalid config", allowed: false, changedKeys: keys, summary: "runContractMigrations is on but the contract migrations cannot be read", reasons: [(e as Error).message] };
        }
    }
    const verdict = evaluateRelease(before, after.state, {
        now,
        rollbackWindowMinutes: after.config.rollbackWindowMinutes,
        allowDeployIntoRollbackWindow: after.config.allowDeployIntoRollbackWindow,
        ...(contract ? { contract } : {}),
        ...(live?.color ? { serving: live.color } : {}),
        ...(live?.flipBack ? { flipBack: live.flipBack } : {}),
        ...(live?.unreadable ? { servingUnreadable: live.unreadable } : {}),
    });
    const notices =
        baseText !== undefined && before === undefined
            ? [`${file} at the base (and before it) is not valid input to the program as it is now, so nothing counts as live yet.`]
            : [];
    const label: StepLabel = verdict.step === "no-change" && keys.length === 0 ? "unchanged" : LABELS[verdict.step];
    const summary = verdict.step === "no-change" ? `changed: ${keys.join(", ") || "formatting only"}` : summarize(before, after.state);
    return {
        ...common,
        label,
        step: verdict.step,
        allowed: verdict.allowed,
        changedKeys: keys,
        summary,
        reasons: verdict.reasons,
        notices: [...notices, ...verdict.notices],
        ...(before ? { liveBefore: reconcile(before, live?.color, live?.flipBack).liveColor } : {}),
        ...(verdict.autoFlipBack ? { autoFlipBack: verdict.autoFlipBack, flipCommit: lastFlipCommit(repo, baseSha, file, project) } : {}),
    };
}

/**
 * Checks the stack files, at `base` or at HEAD, of the stacks the target branch deploys (all of them when the
 * branch is unknown). Throws when a ref, the project or the delivery stack file cannot be read.
 */
export function checkRelease(options: ReleaseCheckOptions): ReleaseCheckReport {
    const repo = new GitRepo(options.cwd);
    const baseSha = repo.resolve(options.base);
    const headSha = repo.resolve("HEAD");
    const projectFile = repo.show(headSha, "Pulumi.yaml");
    const project = projectFile === undefined ? undefined : projectNameOf(projectFile);
    if (project === undefined) {
        throw new Error("no Pulumi.yaml with a name: at HEAD; run the check at the root of the app repository.");
    }
    const target = resolveTarget(repo, options.base, baseSha, options.branch);
    const judged = (stack: string | undefined): boolean =>
        stack !== undefined && (target.stacks === undefined || (target.stacks as string[]).includes(stack));
    const files = [...new Set([...repo.topLevelFiles(baseSha), ...repo.topLevelFiles(headSha)])]
        .filter((f) => judged(stackNameOf(f)))
        .sort();
    const now = options.now ?? new Date();
    const migrationsDir = path.join(options.cwd, "migrations");
    const stacks = files.map((file) => {
        const stack = stackNameOf(file) as string;
        // Only a stack whose file changed is read from Azure (an unchanged one is not judged).
        const changed = repo.show(baseSha, file) !== repo.show(headSha, file);
        return checkStack(repo, baseSha, headSha, file, project, now, migrationsDir, options.live && changed ? options.live(stack) : undefined);
    });
    const uncommitted = workingTreeState(options.cwd, ["Pulumi.yaml", "Pulumi.*.yaml"]).dirty;
    return {
        base: options.base,
        head: "HEAD",
        target,
        stacks,
        ok: stacks.every((s) => s.allowed),
        live: options.live !== undefined,
        ...(uncommitted.length > 0 ? { uncommitted } : {}),
    };
}

/** The safe sequence of commits for a stack, in git terms, shown after a refusal. */
export function safeSequence(report: StackReport): string {
    const live = report.liveBefore ?? "blue";
    const idle = idleColor(live);
    const f = report.file;
    const back = report.autoFlipBack;
    if (back) {
        return [
            `Safe sequence for ${report.stack} after the automatic flip-back (${describeFlipBack(back)}) — one step per commit:`,
            `  1. accept it: set liveColor: ${back.to} in ${f}   ${report.flipCommit ? `git revert ${report.flipCommit}` : `git commit -m "${report.stack}: accept the automatic flip-back to ${back.to}" -- ${f}`}`,
            `     (the fix of ${back.from} may be in the same commit: ${back.from} is idle then and not a rollback target)`,
            `  2. deploy the fix to ${back.from}: set ${back.from}Version and ${back.from}ArtifactSha256, check it on the staging endpoint`,
            `  3. flip again, alone:     set liveColor: ${back.from} in ${f}   git commit -m "${report.stack}: flip to ${back.from}" -- ${f}   (a fresh gate and a new watch)`,
        ].join("\n");
    }
    return [
        `Safe sequence for ${report.stack} — one step per commit, each pushed (or its pull request squash-merged) and deployed before the next:`,
        `  1. deploy to the idle color: set ${idle}Version in ${f}      git commit -m "${report.stack}: deploy <version> to ${idle}" -- ${f}`,
        `  2. check ${idle} on the staging endpoint`,
        `  3. flip, alone:              set liveColor: ${idle} in ${f}   git commit -m "${report.stack}: flip to ${idle}" -- ${f}`,
        `     rollback = git revert <the flip commit>`,
        `  4. after rollbackWindowMinutes: set ${live}Version to the new version (${live} is the idle color then)`,
        `  5. contract:                 set runContractMigrations: true`,
    ].join("\n");
}

/** Formats a report for a terminal. */
export function formatReport(report: ReleaseCheckReport): string {
    const lines: string[] = [`release:check ${report.base}..${report.head} ${describeTarget(report.target)}`];
    if (report.stacks.length === 0 && report.target.stacks?.length !== 0) {
        lines.push("  no stack file (Pulumi.<stack>.yaml) to judge at either ref: nothing to check");
    }
    for (const s of report.stacks) {
        lines.push(`${s.stack}: ${s.label} — ${s.allowed ? "ok" : "REFUSED"}  (${s.summary})`);
        for (const r of s.reasons) lines.push(`  ✗ ${r}`);
        for (const n of s.notices) lines.push(`  ! ${n}`);
        if (!s.allowed && s.label !== "invalid config") lines.push(safeSequence(s).replace(/^/gm, "  "));
    }
    if (!report.live && report.stacks.some((s) => s.label !== "unchanged")) {
        lines.push(
            "! Azure not read: an automatic flip-back by the release agent since the last update is not seen here (pulumi preview and pulumi up refuse to undo it). " +
                "Run with --live to judge with what serves (needs pulumi and az logins), or see npm run status.",
        );
    }
    if (report.uncommitted) {
        lines.push(
            `! not checked: edits no commit holds (release:check compares ${report.base} with HEAD, commits only); commit them ` +
                `and run it again to check them:\n${report.uncommitted.map((l) => `    ${l}`).join("\n")}`,
        );
    }
    lines.push(report.ok ? "release:check passed" : "release:check FAILED: split the change as shown above");
    return lines.join("\n");
}

export const USAGE = `npm run --silent release:check -- --base <git-ref> [--branch <branch the change goes into>] [--now <ISO time>] [--live [--org <org>]] [--json]

Checks that the change from --base to HEAD is, for each stack file (Pulumi.<stack>.yaml) it touches, one safe release
step — the release guard's decision on git commits. CI runs it on every pull request.

  --base <git-ref>   the pull request's base, or the commit before a push (e.g. origin/main)
  --branch <name>    the branch the change goes into (default: the branch --base names)
  --now <ISO time>   the time to judge rollback windows at (default: now)
  --live             also read what serves from the running stack (pulumi stack export, az network lb show;
                     read-only): an automatic flip-back by the release agent is then refused as pulumi up refuses it
  --org <org>        with --live: the Pulumi organization of the stacks (<org>/<stack>)
  --json             print the report as JSON
  --help             this text

Exit codes: 0 every change is one safe step, 1 one is refused, 2 bad usage.`;

/** The command line: exit 0 when every stack's change is one safe step, 1 when one is refused, 2 on bad usage. */
export function main(argv: string[], cwd = process.cwd()): number {
    let values: { base?: string; branch?: string; now?: string; json?: boolean; help?: boolean; live?: boolean; org?: string };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                base: { type: "string" },
                branch: { type: "string" },
                now: { type: "string" },
                json: { type: "boolean" },
                help: { type: "boolean", short: "h" },
                live: { type: "boolean" },
                org: { type: "string" },
            },
        }));
    } catch (e) {
        process.stderr.write(`release:check: ${(e as Error).message}\nUsage: ${USAGE}\n`);
        return 2;
    }
    if (values.help) {
        process.stdout.write(`Usage: ${USAGE}\n`);
        return 0;
    }
    if (values.base === undefined) {
        process.stderr.write("release:check: --base <git-ref> is required, e.g. --base origin/main (the pull request's base, or the commit before a push)\n");
        return 2;
    }
    const now = values.now === undefined ? new Date() : new Date(values.now);
    if (Number.isNaN(now.getTime())) {
        process.stderr.write(`release:check: --now "${values.now}" is not a date; use ISO 8601, e.g. 2026-11-23T14:00:00Z\n`);
        return 2;
    }
    let report: ReleaseCheckReport;
    try {
        report = checkRelease({
            cwd,
            base: values.base,
            now,
            ...(values.branch ? { branch: values.branch } : {}),
            ...(values.live ? { live: cliLiveServing(cwd, values.org) } : {}),
        });
    } catch (e) {
        process.stderr.write(`release:check: ${(e as Error).message}\n`);
        return 2;
    }
    process.stdout.write((values.json ? JSON.stringify(report, null, 2) : formatReport(report)) + "\n");
    return report.ok ? 0 : 1;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
