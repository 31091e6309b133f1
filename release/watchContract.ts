/**
 * The contract between the parts of the post-flip watch (issue 16), as plain types and pure functions:
 *
 * - what `pulumi up` hands the release agent when a flip starts a watch (`WatchSpec`, sent as JSON in the run
 *   command's environment variable `WATCH_SPEC`; components/ build it, the agent's watch reads it);
 * - what the agent writes into the load balancer's tags when it flips production back by itself (`FlipBackRecord`,
 *   tag `bluegreen-flip-back`), in the same PUT that moves the production rule, so Azure holds the rule and its
 *   reason together. The program (before the release guard decides), `npm run status` and `npm run release:check`
 *   read it from there.
 *
 * Node built-ins only: the agent runs this file from the tool bundle.
 */
import type { Color } from "./colors";
import type { WatchThresholds } from "./postFlipAnalysis";

/** The load balancer tag the agent's automatic flip-back writes (Azure: tag values are at most 256 characters). */
export const FLIP_BACK_TAG = "bluegreen-flip-back";
/** Azure's limit on a tag value's length. */
export const TAG_VALUE_MAX = 256;

/** What one automatic flip-back did, as recorded in the load balancer's tag. */
export interface FlipBackRecord {
    /** The flip that was watched: the release guard's `lastFlipAt` of that flip (ISO 8601). */
    readonly flipId: string;
    /** When the production rule was sent back (ISO 8601). */
    readonly at: string;
    /** The color that failed the watch (it was live after the flip). */
    readonly from: Color;
    /** The color production went back to (the rollback target). */
    readonly to: Color;
    /** Why, shortened to fit the tag (the whole analysis is in the agent's record). */
    readonly reason: string;
}

/** The tag's value: compact JSON `{"flip","at","from","to","reason"}`, the reason shortened (…) to fit 256 characters. */
export function formatFlipBackTag(r: FlipBackRecord): string {
    const text = (reason: string): string => JSON.stringify({ flip: r.flipId, at: r.at, from: r.from, to: r.to, reason });
    const full = r.reason.replace(/\s+/g, " ").trim();
    let reason = full;
    // JSON escapes can make a character longer than one: shorten until the whole value fits.
    for (let keep = full.length; text(reason).length > TAG_VALUE_MAX && keep > 0; keep--) reason = `${full.slice(0, keep - 1)}…`;
    return text(reason);
}

/** The record in a tag's value, or undefined when the value is absent or not a well-formed record. */
export function parseFlipBackTag(value: string | undefined): FlipBackRecord | undefined {
    if (!value) return undefined;
    let o: unknown;
    try {
        o = JSON.parse(value);
    } catch {
        return undefined;
    }
    if (typeof o !== "object" || o === null) return undefined;
    const v = o as Record<string, unknown>;
    const color = (c: unknown): c is Color => c === "blue" || c === "green";
    const iso = (s: unknown): s is string => typeof s === "string" && !Number.isNaN(Date.parse(s));
    if (!iso(v.flip) || !iso(v.at) || !color(v.from) || !color(v.to) || v.from === v.to) return undefined;
    return { flipId: v.flip, at: v.at, from: v.from, to: v.to, reason: typeof v.reason === "string" ? v.reason : "" };
}

/** One VM the watch reads: on Azure every VM has its own private IP and the same ports; locally, one host and many ports. */
export interface WatchedVm {
    /** The VM's name, for reasons and records (`green-vm-0`). */
    readonly name: string;
    /** Its private IP (or 127.0.0.1 in the rehearsal). */
    readonly host: string;
    /** Its local proxy's Prometheus endpoint (`/metrics`). @default 8405 (PORTS.metrics) */
    readonly metricsPort: number;
    /** The production backend port (the local proxy) the health probe is sent to. @default 8080 (PORTS.productionBackend) */
    readonly healthPort: number;
}

/** What a flip hands the release agent's watch. */
export interface WatchSpec {
    /** The flip being watched: the release guard's `lastFlipAt` of this flip (ISO 8601). One watch, and at most one flip-back, per id. */
    readonly flipId: string;
    /** The color that was live before the flip: the rollback target production goes back to on `fail`. */
    readonly from: Color;
    /** The new live color, watched. */
    readonly to: Color;
    /** The watched color's VMs. */
    readonly targets: readonly WatchedVm[];
    /** The old color's VMs (the baseline; they keep running after the flip). */
    readonly baseline: readonly WatchedVm[];
    /** The path of the health probe each VM is sent (through its local proxy). @default "/health" */
    readonly healthPath: string;
    /** The analysis settings (config `watch*`). */
    readonly thresholds: WatchThresholds;
    /** When the watch ends by itself (ISO 8601): the flip's time plus `watchMinutes`. */
    readonly until: string;
    /** ARM id of the load balancer whose production rule the agent may move (and nothing else). */
    readonly loadBalancerId: string;
    /** Azure Resource Manager's endpoint. @default "https://management.azure.com" */
    readonly armEndpoint: string;
}
