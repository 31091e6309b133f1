/**
 * What `up` would do, as a pure function of the migration files, the journal and the request: the status of every
 * migration, the migrations to run in order, the ones left waiting, and every reason to refuse. The runner calls it
 * after taking the lock (so it sees the journal as it is), and `plan` / `status` print it without changing anything.
 *
 * Order rule (the issue is silent on it): `up --phase expand` runs every pending expand migration in number order and
 * leaves pending contract migrations waiting, even when a contract has a lower number than an expand. Expand
 * migrations are additive and safe for every running version, and a contract waits by design until no running
 * version needs what it removes, so releases keep moving. `up --phase contract` refuses while an expand migration
 * numbered below one of its contracts is pending: a contract may build on the expands before it.
 */
import { mayRunContract } from "./contractGate";
import { isBaselined, isUnfinished, JournalEntry, UNFINISHED } from "./journal";
import type { MigrationFile } from "./migrationFile";

/** The phases `up` runs. */
export type Phase = "expand" | "contract";

/** The subset of a lint finding the runner needs (see migrator/lint). */
export interface LintFindingLike {
    readonly path: string;
    readonly line: number;
    readonly ruleId: string;
    readonly severity: "error" | "warning";
    readonly message: string;
    readonly allowed?: unknown;
}

/** One line of `status --json`. */
export interface MigrationStatus {
    readonly name: string;
    readonly phase: Phase;
    readonly state: "applied" | "pending" | "failed";
    /** False when the journal's checksum differs from the file's, or the file is missing. True for pending ones. */
    readonly checksumOk: boolean;
    /** Present (true) when the journal has the migration but the directory has no such file. */
    readonly fileMissing?: boolean;
    /**
     * Present (true) when that missing file is numbered above every file in the directory: a newer release applied
     * it (this directory is an older release's). Its requires-version is unknown here.
     */
    readonly newerRelease?: boolean;
    /** For an applied or failed migration: when (ISO 8601, UTC). */
    readonly appliedAt?: string;
    /** Present (true) for an applied migration recorded by `baseline` without running (the schema already had it). */
    readonly baselined?: boolean;
    /** For a contract migration: its requires-version. */
    readonly requiresVersion?: string;
}

/** What `up` was asked to do. */
export interface PlanRequest {
    /** Omitted for `status`: only the refusals that block every run are computed. */
    readonly phase?: Phase;
    /** For the contract phase: the version of every color that can take traffic. */
    readonly runningVersions?: readonly string[];
}

/** The outcome of {@link planRun}. */
export interface Plan {
    readonly phase?: Phase;
    readonly status: readonly MigrationStatus[];
    /** The migrations `up` would run, in order. Empty when refused. */
    readonly toRun: readonly MigrationFile[];
    /** Pending migrations this run leaves for later, with why. */
    readonly waiting: readonly { readonly name: string; readonly why: string }[];
    /** Every reason to refuse; a refused run changes nothing. Each names the migration and how to get out. */
    readonly refusals: readonly string[];
}

/** The number a journal name starts with (`0004_x.expand.sql` → 4), or NaN. */
function journalNumber(name: string): number {
    const m = /^(\d+)_/.exec(name);
    return m ? Number(m[1]) : NaN;
}

function cli(args: string): string {
    return `npm run db -- ${args}`;
}

/**
 * Plans a run. Refuses (and then runs nothing) when an applied migration's file changed or disappeared, when a
 * migration is recorded failed, when an expand migration to run has lint errors, when a contract migration's
 * requires-version is newer than a running version, and when a contract would run before a pending expand.
 */
export function planRun(
    files: readonly MigrationFile[],
    journal: readonly JournalEntry[],
    request: PlanRequest,
    lint: (file: MigrationFile) => readonly LintFindingLike[],
): Plan {
    const byName = new Map(journal.map((e) => [e.name, e]));
    const fileNames = new Set(files.map((f) => f.name));
    const refusals: string[] = [];
    const status: MigrationStatus[] = [];

    for (const f of files) {
        const e = byName.get(f.name);
        const checksumOk = !e || e.checksum === f.checksum;
        status.push({
            name: f.name,
            phase: f.phase,
            state: e ? e.state : "pending",
            checksumOk,
            ...(e ? { appliedAt: e.appliedAt.toISOString() } : {}),
            ...(e && isBaselined(e) ? { baselined: true } : {}),
            ...(f.requiresVersion ? { requiresVersion: f.requiresVersion } : {}),
        });
        if (e && !checksumOk) {
            refusals.push(
                `${f.path}: the file changed after it was ${e.state === "failed" ? "run" : "applied"} ` +
                    `(journal checksum ${e.checksum.slice(0, 12)}…, file ${f.checksum.slice(0, 12)}…). An applied migration ` +
                    `must never change: restore the file as it was (git log -p -- ${f.path}) and put the new change in a new migration.`,
            );
        }
    }
    const newestFile = Math.max(-1, ...files.map((f) => f.number));
    for (const e of journal) {
        if (fileNames.has(e.name)) continue;
        // A row numbered above every file was applied by a newer release (an older color's artifact, e.g. after a
        // rollback, or the health gate checking it): not a deleted file, so not a refusal (Flyway's "future").
        const newerRelease = journalNumber(e.name) > newestFile;
        status.push({
            name: e.name,
            phase: e.phase,
            state: e.state,
            checksumOk: newerRelease,
            fileMissing: true,
            ...(newerRelease ? { newerRelease: true } : {}),
            appliedAt: e.appliedAt.toISOString(),
        });
        if (newerRelease) continue;
        refusals.push(
            `${e.name} is in the journal (${e.state} ${e.appliedAt.toISOString()}) but its file is missing from the ` +
                `migrations directory. Restore the file (an applied migration is never deleted), or check --dir points at the right directory.`,
        );
    }
    for (const e of journal) {
        if (e.state !== "failed") continue;
        if (isUnfinished(e)) {
            refusals.push(
                `${e.name} did not finish: it runs without a transaction and its run was cut off (runner stopped or connection ` +
                    `lost) — ${(e.error ?? "").slice(UNFINISHED.length)}. It is not run again from its start (what ran would ` +
                    `run twice). Look at what it changed, then either finish it by hand and run \`${cli(`resolve ${e.name} --applied`)}\`, ` +
                    `or undo what it did and run \`${cli(`resolve ${e.name} --rolled-back`)}\` (it runs again on the next up).`,
            );
            continue;
        }
        refusals.push(
            `${e.name} failed and is recorded failed (it ran without a transaction, so part of it may have been applied): ` +
                `${e.error ?? "no error recorded"}. Look at what it changed, then either finish it by hand and run ` +
                `\`${cli(`resolve ${e.name} --applied`)}\`, or undo what it did and run \`${cli(`resolve ${e.name} --rolled-back`)}\` ` +
                `(it runs again on the next up).`,
        );
    }

    const pending = files.filter((f) => !byName.has(f.name));
    const toRun: MigrationFile[] = [];
    const waiting: { name: string; why: string }[] = [];
    if (request.phase === "expand") {
        for (const f of pending) {
            if (f.phase === "contract") {
                waiting.push({ name: f.name, why: `contract migration: runs with \`${cli("up --phase contract --running-versions <v>,<v>")}\`` });
                continue;
            }
            toRun.push(f);
            const errors = lint(f).filter((x) => x.severity === "error" && !x.allowed);
            for (const x of errors) {
                refusals.push(`${x.path}:${x.line}: ${x.ruleId} ${x.message} (an expand migration with lint errors never runs; fix it, see docs/migration-lint-rules.md)`);
            }
        }
    } else if (request.phase === "contract") {
        const running = request.runningVersions ?? [];
        const lastContract = Math.max(-1, ...pending.filter((f) => f.phase === "contract").map((f) => f.number));
        for (const f of pending) {
            if (f.phase === "expand") {
                if (f.number < lastContract) {
                    refusals.push(
                        `${f.name} (expand) is pending and comes before contract migrations that may build on it: run \`${cli("up --phase expand")}\` first.`,
                    );
                } else {
                    waiting.push({ name: f.name, why: `expand migration: runs with \`${cli("up --phase expand")}\`` });
                }
                continue;
            }
            toRun.push(f);
            const verdict = mayRunContract(f.requiresVersion, running);
            if (!verdict.allowed) refusals.push(`${f.name} may not run yet: ${verdict.reason}`);
            // Contract files are linted too: their errors are the runner's mechanics (a COMMIT would end the runner's
            // transaction, USE would move the run elsewhere, RESUMABLE = ON cannot run in a transaction).
            const errors = lint(f).filter((x) => x.severity === "error" && !x.allowed);
            for (const x of errors) {
                refusals.push(`${x.path}:${x.line}: ${x.ruleId} ${x.message} (a contract migration with lint errors never runs; fix it, see docs/migration-lint-rules.md)`);
            }
        }
    } else {
        for (const f of pending) waiting.push({ name: f.name, why: `${f.phase} migration, pending` });
    }

    return {
        ...(request.phase ? { phase: request.phase } : {}),
        status,
        toRun: refusals.length > 0 ? [] : toRun,
        waiting: refusals.length > 0 ? [...toRun.map((f) => ({ name: f.name, why: "would run, but the run is refused (see below)" })), ...waiting] : waiting,
        refusals,
    };
}

/** What `baseline` was asked to record: every migration up to and including `to`, or the listed `names`. */
export type BaselineRequest = { readonly to: string; readonly names?: undefined } | { readonly names: readonly string[]; readonly to?: undefined };

/**
 * The migrations `baseline` records as applied without running them (in file order), or why it refuses. Refused when
 * the journal is not empty (a baseline is the starting point of a database the runner has never migrated) and when
 * a name is not a file of the directory.
 */
export function planBaseline(
    files: readonly MigrationFile[],
    journal: readonly JournalEntry[],
    request: BaselineRequest,
): { readonly toRecord: readonly MigrationFile[]; readonly refusals: readonly string[] } {
    const refusals: string[] = [];
    if (journal.length > 0) {
        const names = journal.slice(0, 3).map((e) => e.name).join(", ");
        refusals.push(
            `the journal already has ${journal.length} migration(s) (${names}${journal.length > 3 ? ", …" : ""}): baseline only records the ` +
                `starting point of a database the runner has never migrated. See ${cli("status")}; a migration the schema already ` +
                `reflects but that is pending is a new migration to write, not one to baseline.`,
        );
    }
    const byName = new Map(files.map((f) => [f.name, f]));
    const known = files.map((f) => f.name).join(", ") || "(none)";
    const missing = (name: string): string => `${name} is not a migration file in this directory (there: ${known}).`;
    let toRecord: MigrationFile[] = [];
    if (request.to !== undefined) {
        const last = byName.get(request.to);
        if (!last) refusals.push(missing(request.to));
        else toRecord = files.filter((f) => f.number <= last.number);
    } else {
        for (const name of new Set(request.names)) {
            const f = byName.get(name);
            if (!f) refusals.push(missing(name));
            else toRecord.push(f);
        }
        toRecord.sort((a, b) => a.number - b.number);
    }
    if (toRecord.length === 0 && refusals.length === 0) refusals.push("nothing to baseline: name at least one migration.");
    return { toRecord: refusals.length > 0 ? [] : toRecord, refusals };
}
