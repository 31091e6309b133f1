/**
 * The rehearsal's load balancer as Azure has it: its configuration lives in Azure Resource Manager (the ARM stand-in,
 * rehearsal/armStandIn.ts) and the front HAProxy — the data plane — follows it. Every production switch goes through
 * ARM: the program's flips (`pulumi up` PUTs the load balancer with the production rule on the new pool) and the
 * release agent's automatic flip-back (release/flipBack.ts, with its own token from the stand-in's IMDS). When the
 * stand-in applies a change, `onChange` sets HAProxy's live map to the production rule's color (`set map`), so a
 * flip-back travels the same path as on Azure: watch → ARM PUT → provisioning → the load balancer's new flows.
 *
 * Differences from Azure: the stand-in provisions a change in ARM_PROVISIONING_MS (Azure: seconds to tens of
 * seconds), and HAProxy applies it to new connections within milliseconds.
 */
import { Color, idleColor } from "../release/colors";
import { ArmLoadBalancer, armProductionColor, LIVE_TAG, NETWORK_API_VERSION } from "../release/flipBack";
import { ARM_RESOURCE, imdsToken } from "../release/imdsToken";
import { armFlipBack, FlipBackFactory } from "../release/watchCli";
import { FLIP_BACK_TAG, FlipBackRecord, parseFlipBackTag } from "../release/watchContract";
import { ArmStandIn, armLoadBalancerJson, pointRule, startArmStandIn } from "./armStandIn";

/** How long the ARM stand-in keeps a change `Updating` before it applies it (Azure: seconds). */
export const ARM_PROVISIONING_MS = 50;

/** One change of the production rule, as the front HAProxy carried it out. Times from the caller's clock. */
export interface AppliedChange {
    /** The production rule's color after the change. */
    readonly color: Color;
    /** When HAProxy was told (`set map`). */
    readonly at: number;
    /** When HAProxy confirmed the new map. */
    readonly ackAt: number;
    /** When the PUT that made the change reached ARM. */
    readonly requestedAt: number;
    /** The flip-back record in the load balancer's tags after the change, when an automatic flip-back made it. */
    readonly flipBack?: FlipBackRecord;
}

/**
 * The body of the program's flip to `to` (what `pulumi up` sends for `liveColor: <to>`): production rule → `to`'s
 * pool, staging rule → the other, tag `bluegreen-live` → `to`; the rest as read (pure: `lb` is not changed).
 */
export function programFlipBody(lb: ArmLoadBalancer, to: Color): ArmLoadBalancer {
    const body = JSON.parse(JSON.stringify(lb)) as ArmLoadBalancer;
    pointRule(body, "production", to);
    pointRule(body, "staging", idleColor(to));
    body.tags = { ...(body.tags ?? {}), [LIVE_TAG]: to };
    return body;
}

export interface ArmFrontOptions {
    /** The color production starts on (HAProxy's live map already says so). */
    readonly live: Color;
    /** Each color's VMs (the pools' addresses; one host here). */
    readonly pools: Readonly<Record<Color, readonly string[]>>;
    /** Points HAProxy's live map at a color and resolves once HAProxy confirmed it. */
    readonly setLive: (color: Color) => Promise<void>;
    /** Called just before HAProxy is told about a change (the rehearsal's marker for "this color takes production traffic"). */
    readonly beforeSwitch?: (color: Color) => void;
    /** Called after each change HAProxy carried out. */
    readonly onApplied?: (change: AppliedChange) => void;
    /** The clock the times are measured on (ms). */
    readonly now: () => number;
    /** Epoch ms at the clock's 0, to place ARM's ISO times on it. */
    readonly epochAtZero: () => number;
}

export interface ArmFront {
    readonly arm: ArmStandIn;
    /** Every change HAProxy carried out, in order. */
    readonly changes: readonly AppliedChange[];
    /**
     * The program's flip: reads the load balancer from ARM, PUTs it with the production rule on `to` (If-Match), and
     * resolves with the change once HAProxy carried it out. `requestedAt` is when the PUT was sent.
     */
    flip(to: Color): Promise<AppliedChange>;
    /** The release agent's flip-back for a watch (release/flipBack.ts against the stand-in, token from its IMDS). */
    readonly flipBackFactory: FlipBackFactory;
    /** A change HAProxy could not carry out (the stand-in swallows its hook's errors): thrown by the next flip. */
    failure(): Error | undefined;
    close(): Promise<void>;
}

/** Starts the ARM stand-in holding the load balancer, with the front HAProxy following its production rule. */
export async function startArmFront(o: ArmFrontOptions): Promise<ArmFront> {
    const changes: AppliedChange[] = [];
    const waiting: { color: Color; resolve: (c: AppliedChange) => void }[] = [];
    let live = o.live;
    let failure: Error | undefined;
    /** The stand-in, once started (its hook runs only after that). */
    const started: { arm?: ArmStandIn } = {};
    /** When the last PUT that ARM accepted arrived, on the caller's clock. */
    const lastPutAt = (): number => {
        const put = [...(started.arm?.requests ?? [])].reverse().find((r) => r.method === "PUT" && r.status < 300);
        return put ? Date.parse(put.at) - o.epochAtZero() : Number.NaN;
    };
    const onChange = async (lb: ArmLoadBalancer): Promise<void> => {
        const color = armProductionColor(lb);
        if (!color || color === live) return;
        try {
            o.beforeSwitch?.(color);
            const at = o.now();
            await o.setLive(color);
            const ackAt = o.now();
            live = color;
            const record = parseFlipBackTag(lb.tags?.[FLIP_BACK_TAG]);
            const change: AppliedChange = { color, at, ackAt, requestedAt: lastPutAt(), ...(record && record.to === color ? { flipBack: record } : {}) };
            changes.push(change);
            o.onApplied?.(change);
            const i = waiting.findIndex((w) => w.color === color);
            if (i >= 0) waiting.splice(i, 1)[0].resolve(change);
        } catch (e) {
            failure = new Error(`the load balancer's change to ${color} did not reach HAProxy: ${(e as Error).message}`);
        }
    };
    const stand = await startArmStandIn({
        loadBalancer: armLoadBalancerJson({ live: o.live, poolAddresses: o.pools, resourceGroup: "rg-rehearsal", name: "front-lb" }),
        provisioningMs: ARM_PROVISIONING_MS,
        onChange,
    });
    started.arm = stand;
    const token = (): Promise<string> => imdsToken(ARM_RESOURCE, { endpoint: stand.url });
    const url = `${stand.url}${stand.loadBalancerId}?api-version=${NETWORK_API_VERSION}`;

    const flip = async (to: Color): Promise<AppliedChange> => {
        if (failure) throw failure;
        const auth = { authorization: `Bearer ${await token()}` };
        const got = await fetch(url, { headers: auth });
        if (got.status !== 200) throw new Error(`ARM answered ${got.status} to the program's GET of the load balancer: ${await got.text()}`);
        const lb = (await got.json()) as ArmLoadBalancer;
        const applied = new Promise<AppliedChange>((resolve) => waiting.push({ color: to, resolve }));
        const put = await fetch(url, {
            method: "PUT",
            headers: { ...auth, "content-type": "application/json", "if-match": lb.etag ?? "" },
            body: JSON.stringify(programFlipBody(lb, to)),
        });
        if (put.status >= 300) throw new Error(`ARM answered ${put.status} to the program's PUT of the load balancer (production → ${to}): ${await put.text()}`);
        await stand.settled();
        if (failure) throw failure;
        if (live !== to) throw new Error(`ARM accepted the flip to ${to} but production is on ${live}`);
        return applied;
    };

    const flipBackFactory: FlipBackFactory = (spec, log) => armFlipBack(spec, log, token);

    return {
        arm: stand,
        changes,
        flip,
        flipBackFactory,
        failure: () => failure,
        close: () => stand.close(),
    };
}
