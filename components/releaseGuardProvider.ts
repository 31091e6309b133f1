/**
 * The release guard's provider implementation: what `check`, `diff`, `create` and `update` do. Loaded by the thin
 * provider in components/releaseGuard.ts, in Pulumi's dynamic provider host, by its absolute path (see there).
 * It imports nothing from Pulumi at run time, so the host loads only this file and release/guard.ts.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isDeepStrictEqual } from "util";
import { Color } from "../release/colors";
import * as guard from "../release/guard";
import * as executions from "../release/executions";
import { databaseSourceChangeProblem } from "../release/databaseSource";
import type { FlipBackRecord } from "../release/watchContract";

/** What the program asks for, as the dynamic resource's inputs (plain JSON, no secrets). */
export interface ReleaseGuardInputs {
    readonly liveColor: Color;
    readonly blue: guard.ColorState;
    readonly green: guard.ColorState;
    readonly runContractMigrations: boolean;
    readonly rollbackWindowMinutes: number;
    readonly allowDeployIntoRollbackWindow: boolean;
    readonly contractMigrations: guard.ContractMigration[];
    /** The hash of this checkout's app-VM files (components/lib/vmTools.ts). @default undefined (not checked) */
    readonly vmTools?: string;
    /** Where the database comes from: `created` or `existing:<id>` (release/databaseSource.ts). @default undefined (created) */
    readonly database?: string;
    /**
     * The color the production rule really points at, read from Azure before this update; when it is not the recorded
     * live color, the recorded flip did not take effect ("pending gate", release/guard.ts `reconcile`).
     * @default undefined (not known: the record is trusted)
     */
    readonly serving?: Color;
    /**
     * The release agent's flip-back record in the load balancer's tag, read with `serving`: for the recorded flip, the
     * guard refuses every update that keeps `liveColor` on the color the watch failed (release/guard.ts `reconcile`).
     * @default undefined (none)
     */
    readonly flipBack?: FlipBackRecord;
    /**
     * Why `serving` could not be read (an error from Azure, not "nothing exists yet"): with a record, every update is
     * refused. @default undefined (read, or nothing to read yet)
     */
    readonly servingUnreadable?: string;
    /** What the release agent is asked to run in this update (key and digest of each execution). @default [] */
    readonly executions?: executions.ExecutionRequest[];
    /**
     * Computed by `check` from the previous inputs (never set by the program): the run-command names of the agent's
     * executions and the counter they come from (release/executions.ts). Kept as an input so that the next `check`
     * sees it as its `olds`, and so that a preview already knows the names.
     */
    readonly ledger?: executions.ExecutionLedger;
    /** Computed by `check`: `key → run-command name`. */
    readonly executionNames?: Record<string, string>;
    /** Computed by `check`: the keys whose name is new in this update (they must run in this update). */
    readonly newExecutions?: string[];
}

/** The dynamic resource's state: its inputs, plus what the guard recorded and decided. */
export interface ReleaseGuardOutputs extends ReleaseGuardInputs {
    /** The release state after this update, with the time of the last flip. What the next update is compared with. */
    readonly state: guard.ReleaseState;
    /** Which release step the last update was. */
    readonly step: guard.ReleaseStep;
    /** What the operator should know about the last update (the override in use, a rollback, the first deploy). */
    readonly notices: string[];
}

/** The value Pulumi passes for a property that is not known yet during a preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The release state the inputs ask for. */
export function desiredState(inputs: ReleaseGuardInputs): guard.ReleaseState {
    return {
        liveColor: inputs.liveColor,
        blue: inputs.blue,
        green: inputs.green,
        runContractMigrations: !!inputs.runContractMigrations,
    };
}

/** The release state recorded by the previous update (older states without `state` fall back to their inputs). */
export function recordedState(olds: Partial<ReleaseGuardOutputs>): guard.ReleaseState | undefined {
    if (olds.state) return olds.state;
    if (olds.liveColor && olds.blue && olds.green) return desiredState(olds as ReleaseGuardInputs);
    return undefined;
}

/** The guard's verdict on going from the recorded state (none on the first deploy) to what `news` asks for, at `now`. */
export function judge(olds: Partial<ReleaseGuardOutputs> | undefined, news: ReleaseGuardInputs, now: Date): guard.Verdict {
    return guard.evaluateRelease(olds ? recordedState(olds) : undefined, desiredState(news), {
        now,
        rollbackWindowMinutes: news.rollbackWindowMinutes,
        allowDeployIntoRollbackWindow: news.allowDeployIntoRollbackWindow,
        contract: news.contractMigrations,
        ...(news.vmTools ? { vmTools: news.vmTools } : {}),
        ...(news.serving ? { serving: news.serving } : {}),
        ...(news.flipBack ? { flipBack: news.flipBack } : {}),
        ...(news.servingUnreadable ? { servingUnreadable: news.servingUnreadable } : {}),
    });
}

/** Throws the verdict's reasons as one error, so `pulumi up` fails with the safe sequence in its message. */
function refuseUnlessAllowed(verdict: guard.Verdict): void {
    if (!verdict.allowed) {
        throw new Error(`The release guard refused this update.\n${guard.formatVerdict(verdict)}`);
    }
}

/** Runs the guard and returns the state to store, or throws. Shared by create (no olds) and update. */
export function decideAndRecord(olds: Partial<ReleaseGuardOutputs> | undefined, news: ReleaseGuardInputs, now: Date): ReleaseGuardOutputs {
    const verdict = judge(olds, news, now);
    refuseUnlessAllowed(verdict);
    const state = guard.recordStep(olds ? recordedState(olds) : undefined, desiredState(news), {
        now,
        rollbackWindowMinutes: news.rollbackWindowMinutes,
        ...(news.serving ? { serving: news.serving } : {}),
        ...(news.flipBack ? { flipBack: news.flipBack } : {}),
    });
    return { ...news, state, step: verdict.step, notices: verdict.notices };
}

/** The fields of the inputs that, when they change, make an update (everything but Pulumi's own `__provider`). */
function inputsOf(v: Partial<ReleaseGuardInputs>): Partial<ReleaseGuardInputs> {
    // `serving`, `flipBack` and `servingUnreadable` are not among them: what serves is read again by every update. An
    // automatic flip-back is recorded by the update that accepts it, which changes `liveColor`.
    const { liveColor, blue, green, runContractMigrations, rollbackWindowMinutes, allowDeployIntoRollbackWindow, contractMigrations, executions, ledger, vmTools, database } = v;
    return { liveColor, blue, green, runContractMigrations, rollbackWindowMinutes, allowDeployIntoRollbackWindow, contractMigrations, executions: executions ?? [], ledger, vmTools, database };
}

/**
 * `check`: validates the shape of the inputs (each failure names the property, the bad value and the fix), then
 * hands out the agent's run-command names from the previous inputs' ledger (`olds`: what the last `check` returned).
 */
export function checkInputs(news: ReleaseGuardInputs, olds?: Partial<ReleaseGuardInputs>): pulumi.dynamic.CheckResult<ReleaseGuardInputs> {
    if (JSON.stringify(news).includes(UNKNOWN)) return { inputs: news };
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const requested = news.executions ?? [];
    for (const p of executions.executionRequestProblems(requested)) failures.push({ property: "executions", reason: p });
    for (const p of guard.validateState(desiredState(news))) failures.push({ property: "state", reason: p });
    if (typeof news.rollbackWindowMinutes !== "number" || !(news.rollbackWindowMinutes >= 0)) {
        failures.push({
            property: "rollbackWindowMinutes",
            reason: `rollbackWindowMinutes is ${String(news.rollbackWindowMinutes)}; it must be a number of minutes ≥ 0. Fix: pulumi config set rollbackWindowMinutes 60`,
        });
    }
    for (const color of ["blue", "green"] as const) {
        for (const [key, value] of Object.entries(news[color]?.settings ?? {})) {
            if (/[?&]sig=/i.test(String(value))) {
                failures.push({
                    property: `${color}.settings.${key}`,
                    reason: `${color} setting ${key} looks like a signed (SAS) URL; the release guard keeps its inputs in plain state. Pass the artifact's SHA-256 instead.`,
                });
            }
        }
    }
    // Created ↔ existing database (or another existing one): refused before the plan can delete or create one.
    const databaseProblem = olds && news.database !== undefined ? databaseSourceChangeProblem(olds.database, news.database) : undefined;
    if (databaseProblem) failures.push({ property: "database", reason: databaseProblem });
    if (failures.length > 0) return { failures };
    const previous = olds?.ledger;
    const ledger = executions.allocateExecutions(previous, requested);
    return {
        inputs: {
            ...news,
            executions: requested,
            ledger,
            executionNames: executions.executionNames(ledger),
            newExecutions: executions.newExecutions(previous, ledger),
        },
    };
}

/** `diff`: refuses an unsafe step (so `pulumi preview` already fails); otherwise reports whether the inputs changed. */
export function diffInputs(olds: ReleaseGuardOutputs, news: ReleaseGuardInputs, now: Date): pulumi.dynamic.DiffResult {
    // During a preview an input may not be known yet: the decision then waits for the update.
    if (JSON.stringify(news).includes(UNKNOWN)) return { changes: true };
    refuseUnlessAllowed(judge(olds, news, now));
    return { changes: !isDeepStrictEqual(inputsOf(olds), inputsOf(news)) };
}
