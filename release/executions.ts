/**
 * Names for the executions the release agent runs (migration runs, the health gate), as a pure function.
 *
 * Why names matter (facts in ../shared/FIELD-NOTES.md, "facts behind the second round"): Azure does not execute a
 * run command that is PUT again unchanged, and the Linux run-command handler may never execute a command that was
 * deleted and created again **with the same name on the same VM** ("already processed"). A flip, a rollback and a
 * flip again ask for the same gate (same color, same version) three times; a second contract asks for the same
 * contract run twice. So a name can never be derived from what an execution does alone: it needs history.
 *
 * The history is the release guard's: its `check` receives its previous inputs and calls {@link allocateExecutions}
 * with them. An execution whose content (its digest) is unchanged keeps its name — nothing runs again, and a failed
 * one stays failed until the operator asks for a retry. An execution whose content changed, or that is asked for
 * again after being absent, gets `<key>-<n>` with `n` taken from one counter that only ever grows. Every run command
 * lives on the one agent VM, so a counter per stack is a counter per VM: no name repeats there.
 *
 * The names are known at preview: the guard computes them in `check`, and the engine hands a dynamic provider's
 * checked inputs back as its outputs during a preview (pulumi/pulumi pkg/resource/plugin/provider_plugin.go, Update
 * and Create: "If the provider does not support previews, return the inputs as the state").
 */

/** What the program asks the agent to run in this update: a stable key and a digest of everything it does. */
export interface ExecutionRequest {
    /** Stable key, e.g. `gate`, `migrate-expand-green` (letters, digits and `-`). */
    readonly key: string;
    /** Digest of what the execution does (its script, target, version, retry tag …): a change means "run again". */
    readonly digest: string;
}

/** What the guard remembers of one execution. */
export interface ExecutionRecord {
    /** The run command's name on the agent VM: `<key>-<n>`. */
    readonly name: string;
    readonly digest: string;
}

/** The guard's memory of executions: the current ones by key, and the counter of names handed out so far. */
export interface ExecutionLedger {
    readonly records: Readonly<Record<string, ExecutionRecord>>;
    /** How many names were handed out (the next one gets `counter + 1`). Never decreases. */
    readonly counter: number;
}

export const EMPTY_LEDGER: ExecutionLedger = { records: {}, counter: 0 };

/** Azure's limit on a run command's name is 80 characters (letters, digits, `-`, `_`, `.`); keys stay well below. */
const KEY_PATTERN = /^[a-z][a-z0-9-]{0,59}$/;

/** Problems with the requests themselves (a key Azure would refuse, a key asked for twice); empty when fine. */
export function executionRequestProblems(requests: readonly ExecutionRequest[]): string[] {
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const r of requests) {
        if (!KEY_PATTERN.test(r.key)) problems.push(`execution key "${r.key}" must be lowercase letters, digits and "-", starting with a letter (at most 60).`);
        if (typeof r.digest !== "string" || r.digest === "") problems.push(`execution ${r.key} has no digest.`);
        if (seen.has(r.key)) problems.push(`execution key "${r.key}" is requested twice.`);
        seen.add(r.key);
    }
    return problems;
}

/**
 * The ledger after this update: each request keeps its record when its digest is unchanged, and otherwise gets a new
 * name from the counter. Requests are numbered in key order, so the result does not depend on their order. Records
 * of executions no longer requested are dropped (asking for them again later gives a new name).
 */
export function allocateExecutions(previous: ExecutionLedger | undefined, requests: readonly ExecutionRequest[]): ExecutionLedger {
    const before = previous ?? EMPTY_LEDGER;
    let counter = Number.isSafeInteger(before.counter) && before.counter > 0 ? before.counter : 0;
    const records: Record<string, ExecutionRecord> = {};
    for (const request of [...requests].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
        const kept = before.records[request.key];
        if (kept && kept.digest === request.digest) {
            records[request.key] = kept;
        } else {
            counter += 1;
            records[request.key] = { name: `${request.key}-${counter}`, digest: request.digest };
        }
    }
    return { records, counter };
}

/** The keys whose name is new in `after` (they run in this update), sorted. */
export function newExecutions(before: ExecutionLedger | undefined, after: ExecutionLedger): string[] {
    return Object.keys(after.records)
        .filter((key) => before?.records[key]?.name !== after.records[key].name)
        .sort();
}

/** `key → name` of a ledger, for the program. */
export function executionNames(ledger: ExecutionLedger): Record<string, string> {
    return Object.fromEntries(Object.entries(ledger.records).map(([key, r]) => [key, r.name]));
}
