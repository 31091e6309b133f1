/**
 * Does this update start a post-flip watch on the release agent, stop one, or neither? A pure function of the release
 * guard's recorded state (its `state` output after this update) and the stack's plain settings
 * (components/postFlipWatch.ts runs the answer on the agent with vm-scripts/agent-watch.sh).
 *
 * Decided from the guard's flip fields, which every later update carries over unchanged, so the answer (and with it
 * the run command's script) changes only when a flip changes them:
 * - no `lastFlipAt` (the first deploy, and every update until the first flip): nothing to watch;
 * - the last flip was a rollback (`lastFlipWasRollback`): it has no rollback target (the color rolled back from is the
 *   broken one), so no watch; a watch of the flip it took back is stopped (the person already moved production);
 * - else the last flip, from `previousLiveColor` (its rollback target) to `liveColor`, is watched until `lastFlipAt` +
 *   `watchMinutes`. A deploy to the idle color after it asks for the same watch again: the agent's watch of that flip
 *   resumes, or says it already ended — it never watches a flip twice (release/watch.ts).
 */
import type { Color } from "./colors";
import type { WatchThresholds } from "./postFlipAnalysis";
import type { WatchedVm, WatchSpec } from "./watchContract";

/** The release guard's flip fields (release/guard.ts ReleaseState). */
export interface FlipFields {
    readonly liveColor: Color;
    readonly lastFlipAt?: string;
    readonly previousLiveColor?: Color;
    readonly lastFlipWasRollback?: boolean;
}

/** The stack's settings a watch is built from (plain, known when the program starts). */
export interface WatchPlanSettings {
    /** Each color's VMs, as the watch reads them (names, private IPs, the metrics and production ports). */
    readonly vms: Readonly<Record<Color, readonly WatchedVm[]>>;
    readonly healthPath: string;
    readonly thresholds: WatchThresholds;
    /** @default "https://management.azure.com" */
    readonly armEndpoint?: string;
}

export type WatchAction =
    | { readonly action: "watch"; readonly spec: WatchSpec; readonly why: string }
    | { readonly action: "stop"; readonly why: string }
    | { readonly action: "none"; readonly why: string };

/** What the agent's watch run does in this update; `loadBalancerId` is the load balancer the flip-back may move. */
export function watchAction(state: FlipFields | undefined, s: WatchPlanSettings, loadBalancerId: string): WatchAction {
    if (!state?.lastFlipAt || !state.previousLiveColor || state.previousLiveColor === state.liveColor) {
        return { action: "none", why: "no flip yet (first deploy): nothing to watch" };
    }
    if (state.lastFlipWasRollback) {
        return { action: "stop", why: `the last flip (${state.lastFlipAt}) was a rollback to ${state.liveColor}: no rollback target, no watch; a watch still running is stopped` };
    }
    const flippedAt = Date.parse(state.lastFlipAt);
    const until = new Date(flippedAt + s.thresholds.watchMinutes * 60_000).toISOString();
    const spec: WatchSpec = {
        flipId: state.lastFlipAt,
        from: state.previousLiveColor,
        to: state.liveColor,
        targets: s.vms[state.liveColor],
        baseline: s.vms[state.previousLiveColor],
        healthPath: s.healthPath,
        thresholds: s.thresholds,
        until,
        loadBalancerId,
        armEndpoint: s.armEndpoint ?? "https://management.azure.com",
    };
    return { action: "watch", spec, why: `flip ${state.lastFlipAt} from ${state.previousLiveColor} to ${state.liveColor}: ${state.liveColor} watched until ${until}, ${state.previousLiveColor} the rollback target` };
}
