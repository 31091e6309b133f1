/**
 * How long a rollback can take at most, as a pure function — the limit the program is built to stay under.
 *
 * A rollback is one `pulumi up` that (1) runs the release guard, (2) runs the health gate of the color going back to
 * live as a run command on the release agent, (3) reads the gate's result back from Azure, (4) sends the load balancer
 * with the production rule pointing at that color, and (5) reads the pools back. The gate checks every VM **in
 * parallel** (vm-scripts/health-gate.sh), so the number of VMs adds only the cost of starting one more check.
 *
 * Azure-side durations are not measurable here; the constants below are stated assumptions (see docs/release-guard.md,
 * "How long a rollback takes"), chosen on the generous side.
 */

/** The gate's timing: attempts, seconds between them, seconds each request may take. */
export const GATE_TIMING = { attempts: 20, intervalSeconds: 10, timeoutSeconds: 5 } as const;

/** Fetching the color's (cached) artifact on the agent and the schema check, at most. */
export const GATE_FETCH_AND_SCHEMA_SECONDS = 180;

export interface RollbackAssumptions {
    /** Azure's own time to deliver a run command to the agent and report its end (assumption). */
    readonly runCommandOverheadSeconds: number;
    /** A load balancer PUT until Azure reports it succeeded (assumption). */
    readonly loadBalancerUpdateSeconds: number;
    /** The guard, the read-backs and the engine's own work (assumption). */
    readonly engineSeconds: number;
    /** Starting one more parallel check on the agent. */
    readonly perVmSeconds: number;
}

export const ROLLBACK_ASSUMPTIONS: RollbackAssumptions = {
    runCommandOverheadSeconds: 120,
    loadBalancerUpdateSeconds: 120,
    engineSeconds: 60,
    perVmSeconds: 0.2,
};

/** The limit chosen for a rollback (gate included), for up to 30 VMs per color. */
export const ROLLBACK_LIMIT_SECONDS = 15 * 60;

/** The gate run's worst case: every attempt fails until the last, each waiting two request timeouts, plus fetch and schema. */
export function gateWorstSeconds(timing: { attempts: number; intervalSeconds: number; timeoutSeconds: number } = GATE_TIMING): number {
    return timing.attempts * (2 * timing.timeoutSeconds + timing.intervalSeconds) + GATE_FETCH_AND_SCHEMA_SECONDS;
}

export interface RollbackBound {
    /** When the color answers healthy at once (the usual rollback: it served minutes ago). */
    readonly typicalSeconds: number;
    /** When the gate uses every attempt before it passes (or fails: the rollback then stops, traffic unchanged). */
    readonly worstSeconds: number;
}

/** The bound for `vmsPerColor` VMs in the color going back to live. */
export function rollbackBound(vmsPerColor: number, a: RollbackAssumptions = ROLLBACK_ASSUMPTIONS, timing = GATE_TIMING): RollbackBound {
    if (!Number.isInteger(vmsPerColor) || vmsPerColor < 1) throw new Error(`vmsPerColor is ${vmsPerColor}; it must be a whole number ≥ 1.`);
    const fixed = a.engineSeconds + a.runCommandOverheadSeconds + a.loadBalancerUpdateSeconds + vmsPerColor * a.perVmSeconds;
    return {
        typicalSeconds: Math.ceil(fixed + 2 * timing.timeoutSeconds + GATE_FETCH_AND_SCHEMA_SECONDS),
        worstSeconds: Math.ceil(fixed + gateWorstSeconds(timing)),
    };
}
