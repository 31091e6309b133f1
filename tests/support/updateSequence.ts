/**
 * A scripted sequence of `pulumi up`s under mocks with the state carried from each update to the next
 * (tests/support/pulumiProgram.ts `previous`) against one Azure stand-in, keeping a copy of Azure as each update left
 * it so that other stories can branch off an update without running the ones before it again.
 */
import { AzureStandIn, ProgramRun, runProgram, StackValues } from "./pulumiProgram";

/** One update of a sequence. */
export interface SequenceStep {
    readonly what: string;
    /** Config on top of the previous update's. */
    readonly set: StackValues;
    /** Minutes after the first update (the guard's clock). */
    readonly at: number;
}

/** The sequence's updates, with the config each one ran with and a copy of Azure as each one left it (for branches). */
export interface UpdateSequence {
    readonly runs: readonly ProgramRun[];
    readonly values: readonly StackValues[];
    readonly azure: AzureStandIn;
    readonly azureAfter: readonly AzureStandIn[];
}

/**
 * Runs `steps` in order: update `index` sets `azure.update = index`, runs with the config so far and the clock at
 * `clock(step.at)`. Throws naming the step when the program itself throws; `check` sees every run (a failure an update
 * must or must not end with is the caller's to assert).
 */
export async function runUpdateSequence(
    steps: readonly SequenceStep[],
    o: { readonly start: StackValues; readonly azure: AzureStandIn; readonly clock: (minutes: number) => Date; readonly check?: (run: ProgramRun, step: SequenceStep) => void },
): Promise<UpdateSequence> {
    const runs: ProgramRun[] = [];
    const values: StackValues[] = [];
    const azureAfter: AzureStandIn[] = [];
    let current = o.start;
    let previous: ProgramRun | undefined;
    for (const [index, step] of steps.entries()) {
        o.azure.update = index;
        current = { ...current, ...step.set };
        const run = await runProgram(current, { previous, azure: o.azure, now: o.clock(step.at) });
        if (run.error) throw new Error(`${step.what}: ${run.error.message}`);
        o.check?.(run, step);
        runs.push(run);
        values.push(current);
        azureAfter.push(o.azure.clone());
        previous = run;
    }
    return { runs, values, azure: o.azure, azureAfter };
}
