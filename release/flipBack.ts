/**
 * The release agent's automatic flip-back (issue 16, point 4): when the post-flip watch judges the new live color
 * `fail`, production goes back to the rollback target by one change of the load balancer through Azure Resource
 * Manager, made with the agent's own managed identity, which may change that load balancer and nothing else
 * (components/flipBackAccess.ts, docs/post-flip-watch.md "The flip-back and its permissions").
 *
 * - {@link planFlipBack} decides, purely, what the load balancer's new body is (production rule → the rollback
 *   target's pool, staging rule → the failed color's, the tags `bluegreen-flip-back` and `bluegreen-live`; nothing
 *   else) or why there is nothing to send: production already there ("already"), production on a pool that is
 *   neither color, or a flip-back of this flip already recorded ("refused": at most one per flip).
 * - {@link flipBack} does it: GET, plan, PUT with `If-Match` (optimistic concurrency: a concurrent writer is never
 *   overwritten: 412 → read again and plan again), then reads the load balancer until Azure reports the change
 *   provisioned and reads back that production is on the rollback target. Throttling (429: waits Retry-After, capped)
 *   server errors (5xx: backoff) and another operation in progress (409) are retried a bounded number of times (an
 *   update of someone else still provisioning is waited for first); a 403 fails at once, naming the
 *   permission the identity lacks and the fix. The whole thing is bounded in time (`deadlineMs`).
 *
 * Why it polls the load balancer itself and not the `Azure-AsyncOperation` URL Azure answers with: that URL lies under
 * `/subscriptions/<id>/providers/Microsoft.Network/locations/<region>/operations/`, outside the load balancer, so
 * reading it would need `Microsoft.Network/locations/operations/read` at the subscription; the load balancer's own
 * `provisioningState` says the same with the read permission the identity has on it anyway.
 *
 * Node built-ins only (global fetch): the agent runs this file from the tool bundle.
 */
import type { Color } from "./colors";
import { FLIP_BACK_TAG, FlipBackRecord, formatFlipBackTag, parseFlipBackTag, WatchSpec } from "./watchContract";

/** The load balancer's tag the program writes with the live color (components/loadBalancer.ts). */
export const LIVE_TAG = "bluegreen-live";
/** The Network API version the agent speaks (the one azure-native 3 uses for load balancers). */
export const NETWORK_API_VERSION = "2024-05-01";
/** Azure Resource Manager in the public cloud. */
export const ARM_ENDPOINT = "https://management.azure.com";

/** A reference to another resource or sub-resource: `{ id }`. */
export interface ArmRef {
    id: string;
}

/** A sub-resource of the load balancer as ARM answers it (a pool, a rule, a probe, a frontend). */
export interface ArmSubResource {
    name: string;
    id?: string;
    etag?: string;
    type?: string;
    properties: Record<string, unknown>;
}

/** A load-balancing rule's properties, the part the flip-back reads and writes. */
export interface ArmRuleProperties extends Record<string, unknown> {
    backendAddressPool?: ArmRef;
    /** Newer API versions answer both; when present it must agree with `backendAddressPool`, or Azure refuses the PUT. */
    backendAddressPools?: ArmRef[];
}

/** A load balancer as Azure Resource Manager answers `GET <id>?api-version=2024-05-01` (the parts read here typed). */
export interface ArmLoadBalancer {
    id: string;
    name: string;
    type?: string;
    location?: string;
    etag?: string;
    tags?: Record<string, string>;
    sku?: { name?: string; tier?: string };
    properties: {
        provisioningState?: string;
        frontendIPConfigurations?: ArmSubResource[];
        backendAddressPools?: ArmSubResource[];
        loadBalancingRules?: (ArmSubResource & { properties: ArmRuleProperties })[];
        probes?: ArmSubResource[];
        [key: string]: unknown;
    };
}

/** The color a rule sends traffic to, from its pool id's last segment; undefined when that is neither color. */
export function ruleColorOf(lb: ArmLoadBalancer | undefined, rule: "production" | "staging"): Color | undefined {
    const r = lb?.properties?.loadBalancingRules?.find((x) => x.name === rule);
    const pool = r?.properties?.backendAddressPool?.id?.split("/").pop();
    return pool === "blue" || pool === "green" ? pool : undefined;
}

/** The color the production rule points at in ARM's JSON (release/readBack.ts `productionColorOf` reads azure-native's). */
export function armProductionColor(lb: ArmLoadBalancer | undefined): Color | undefined {
    return ruleColorOf(lb, "production");
}

/** What {@link planFlipBack} decided. */
export type FlipBackPlan =
    /** Send `body` (with `If-Match` of the load balancer that was read). */
    | { readonly kind: "put"; readonly body: ArmLoadBalancer }
    /** Nothing to send: production is on the rollback target already. `ours`: with this very record in the tag. */
    | { readonly kind: "already"; readonly ours: boolean; readonly reason: string }
    /** Nothing may be sent, for `reason`. */
    | { readonly kind: "refused"; readonly reason: string };

/** What a flip-back moves: from the color that failed to the rollback target, with the record to write. */
export interface FlipBackRequest {
    /** The color that failed the watch (live now). */
    readonly from: Color;
    /** The rollback target production goes back to. */
    readonly to: Color;
    /** What is written into the tag `bluegreen-flip-back` (its from/to must be these). */
    readonly record: FlipBackRecord;
}

function poolRef(lb: ArmLoadBalancer, color: Color): ArmRef | undefined {
    const pool = lb.properties.backendAddressPools?.find((p) => p.name === color);
    if (!pool) return undefined;
    return { id: pool.id ?? `${lb.id}/backendAddressPools/${color}` };
}

/**
 * The load balancer's new body for a flip-back, or why none is sent. Only these change: the production rule's pool
 * (→ `to`), the staging rule's (→ `from`: `rulePools(to)`), the tag `bluegreen-flip-back` (the record) and the tag
 * `bluegreen-live` (→ `to`). The rest of what was read is sent back as it was (read-only properties are ignored by
 * Azure).
 */
export function planFlipBack(lb: ArmLoadBalancer, request: FlipBackRequest): FlipBackPlan {
    const { from, to, record } = request;
    if (from === to) return { kind: "refused", reason: `a flip-back from ${from} to ${to} moves nothing: the two colors must differ` };
    if (record.from !== from || record.to !== to) {
        return { kind: "refused", reason: `the record says ${record.from} → ${record.to} but the flip-back asks ${from} → ${to}: write the record of this flip-back` };
    }
    const rules = lb.properties?.loadBalancingRules ?? [];
    const production = rules.find((r) => r.name === "production");
    if (!production) return { kind: "refused", reason: `load balancer ${lb.name} has no rule named "production": this is not a load balancer the program made` };
    const productionPool = production.properties?.backendAddressPool?.id;
    const live = armProductionColor(lb);
    const recorded = parseFlipBackTag(lb.tags?.[FLIP_BACK_TAG]);
    const ourTag = lb.tags?.[FLIP_BACK_TAG] === formatFlipBackTag(record);
    if (recorded && recorded.flipId === record.flipId) {
        if (live === to) {
            return { kind: "already", ours: ourTag, reason: `production is on ${to} and the flip-back of flip ${record.flipId} is recorded (at ${recorded.at})` };
        }
        return {
            kind: "refused",
            reason: `flip ${record.flipId} was flipped back already (at ${recorded.at}, ${recorded.from} → ${recorded.to}) and production is on ` +
                `${live ?? productionPool ?? "no pool"} again: at most one automatic flip-back per flip, a person's later change stands`,
        };
    }
    if (live === to) return { kind: "already", ours: false, reason: `production is on ${to} already (someone moved it back before the agent)` };
    if (live !== from) {
        return { kind: "refused", reason: `production points at ${productionPool ?? "no pool"}, which is neither blue nor green: the agent moves only a production rule on ${from}` };
    }
    const toPool = poolRef(lb, to);
    const fromPool = poolRef(lb, from);
    if (!toPool || !fromPool) return { kind: "refused", reason: `load balancer ${lb.name} has no backend pool named ${toPool ? from : to}` };

    const body = JSON.parse(JSON.stringify(lb)) as ArmLoadBalancer;
    for (const rule of body.properties.loadBalancingRules ?? []) {
        const pool = rule.name === "production" ? toPool : rule.name === "staging" ? fromPool : undefined;
        if (!pool) continue;
        rule.properties.backendAddressPool = { ...pool };
        if (rule.properties.backendAddressPools !== undefined) rule.properties.backendAddressPools = [{ ...pool }];
    }
    body.tags = { ...(lb.tags ?? {}), [FLIP_BACK_TAG]: formatFlipBackTag(record), [LIVE_TAG]: to };
    return { kind: "put", body };
}

/** The record of a flip-back of the flip `spec` watches: from its new color back to the color that was live before. */
export function flipBackRecordFor(spec: Pick<WatchSpec, "flipId" | "from" | "to">, reason: string, at: Date): FlipBackRecord {
    return { flipId: spec.flipId, at: at.toISOString(), from: spec.to, to: spec.from, reason };
}

/** One request the flip-back made. */
export interface FlipBackAttempt {
    readonly method: "GET" | "PUT";
    /** HTTP status, or 0 when no answer came (network error, timeout). */
    readonly status: number;
    /** When it was sent (ISO 8601). */
    readonly at: string;
    /** How long the answer took. */
    readonly ms: number;
    /** What the flip-back made of it ("stale If-Match", "throttled: waited 2 s", "provisioning: Updating", ...). */
    readonly note?: string;
}

export type FlipBackOutcome = "flipped" | "already" | "refused" | "failed";

export interface FlipBackResult {
    /**
     * `flipped`: this call moved production and read it back on `to`. `already`: production was on `to` before this
     * call changed anything. `refused`: nothing was sent, for the reason in `problems`. `failed`: production could not
     * be moved or read back (the problems say what Azure answered and the fix).
     */
    readonly outcome: FlipBackOutcome;
    /** The production rule's color as last read from Azure. */
    readonly readBack?: Color;
    readonly attempts: readonly FlipBackAttempt[];
    readonly problems: readonly string[];
    /** From the call to its outcome. */
    readonly ms: number;
}

/** Bounds of one flip-back. Every one has a default that keeps a flip-back within {@link FlipBackOptions.deadlineMs}. */
export interface FlipBackLimits {
    /** Re-reads after a 412 (a concurrent writer) before giving up. @default 3 */
    readonly staleRetries?: number;
    /** Retries after a 429. @default 3 */
    readonly throttleRetries?: number;
    /** Retries after a 5xx or no answer. @default 3 */
    readonly serverRetries?: number;
    /** The longest Retry-After honoured; a longer one is waited only this long. @default 5000 */
    readonly maxRetryAfterMs?: number;
    /** First backoff after a 5xx, doubled each time. @default 500 */
    readonly backoffMs?: number;
    /** Between reads while Azure provisions the change (2 reads a second is far inside ARM's read limits). @default 500 */
    readonly pollIntervalMs?: number;
    /** One request's timeout. @default 10000 */
    readonly requestTimeoutMs?: number;
}

export interface FlipBackOptions extends FlipBackRequest {
    /** Azure Resource Manager's endpoint (WatchSpec `armEndpoint`). @default "https://management.azure.com" */
    readonly armEndpoint?: string;
    /** ARM id of the load balancer (WatchSpec `loadBalancerId`). */
    readonly loadBalancerId: string;
    /** An access token for ARM (the agent's managed identity: {@link imdsToken} from ./imdsToken). Asked again once after a 401. */
    readonly token: () => Promise<string>;
    /** @default setTimeout */
    readonly sleep?: (ms: number) => Promise<void>;
    /** @default () => new Date() */
    readonly now?: () => Date;
    /** One line per step (the agent's journal). @default nothing */
    readonly log?: (line: string) => void;
    /** The whole flip-back, from the first request to the read-back. @default 20000 */
    readonly deadlineMs?: number;
    readonly limits?: FlipBackLimits;
    /** @default {@link NETWORK_API_VERSION} */
    readonly apiVersion?: string;
}

interface ArmAnswer {
    readonly status: number;
    readonly body: unknown;
    readonly headers: Headers | undefined;
    readonly error?: string;
}

/** ARM's error body `{ error: { code, message } }`, as one line. */
function armError(body: unknown): { code: string; message: string } {
    const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    return { code: typeof e?.code === "string" ? e.code : "", message: typeof e?.message === "string" ? e.message : "" };
}

/** Milliseconds of a Retry-After header (seconds or an HTTP date), or undefined. */
export function retryAfterMs(value: string | null | undefined, now: Date): number | undefined {
    if (!value) return undefined;
    const seconds = Number(value);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const at = Date.parse(value);
    return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/**
 * The message for a 403: which permission the identity lacks (from Azure's message), where, and the fix. Azure says
 * `AuthorizationFailed` ("does not have authorization to perform action 'X' over scope 'Y'") for the load balancer
 * itself and `LinkedAuthorizationFailed` ("… does not have permission to perform action(s) 'X' on the linked
 * scope(s) 'Y'") for a resource the body references (the frontend's public IP, the pools' virtual network).
 */
export function forbiddenMessage(body: unknown, method: string, loadBalancerId: string, to: Color): string {
    const { code, message } = armError(body);
    const actions = [...message.matchAll(/action(?:\(s\))? '([^']+)'/g)].map((m) => m[1]);
    const scopes = [...message.matchAll(/scope(?:\(s\))? '([^']+)'/g)].map((m) => m[1]);
    const action = actions.pop() ?? (method === "PUT" ? "Microsoft.Network/loadBalancers/write" : "Microsoft.Network/loadBalancers/read");
    const scope = scopes.pop() ?? loadBalancerId;
    return `Azure refused the agent's ${method} of the load balancer (403 ${code || "Forbidden"}): its managed identity lacks ` +
        `${action} on ${scope}${message ? ` ("${message}")` : ""}. The program grants it with the role assignments of ` +
        `components/flipBackAccess.ts (docs/post-flip-watch.md "The flip-back and its permissions"): run \`pulumi up\` to ` +
        `create a missing one (a new assignment can take up to 10 minutes to apply; list them with ` +
        `\`az role assignment list --scope ${scope} -o table\`). Production was not moved: send it back by hand with ` +
        `\`pulumi config set liveColor ${to} && pulumi up\`.`;
}

const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

/**
 * Sends production back to `to` (see the file's comment). Never throws: every way it can end is in the result.
 */
export async function flipBack(options: FlipBackOptions): Promise<FlipBackResult> {
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const now = options.now ?? (() => new Date());
    const log = options.log ?? (() => undefined);
    const limits = {
        staleRetries: 3, throttleRetries: 3, serverRetries: 3, maxRetryAfterMs: 5000, backoffMs: 500, pollIntervalMs: 500, requestTimeoutMs: 10000,
        ...(options.limits ?? {}),
    };
    const started = now().getTime();
    const deadlineMs = options.deadlineMs ?? 20000;
    const deadline = started + deadlineMs;
    const left = (): number => deadline - now().getTime();
    const url = `${(options.armEndpoint ?? ARM_ENDPOINT).replace(/\/+$/, "")}${options.loadBalancerId}?api-version=${options.apiVersion ?? NETWORK_API_VERSION}`;
    const attempts: FlipBackAttempt[] = [];
    const problems: string[] = [];
    let readBack: Color | undefined;
    const end = (outcome: FlipBackOutcome): FlipBackResult => {
        const result = { outcome, readBack, attempts, problems, ms: now().getTime() - started };
        log(`flip-back ${options.from} → ${options.to}: ${outcome} in ${result.ms} ms${problems.length ? `: ${problems.join(" ")}` : ""}`);
        return result;
    };

    let token: string | undefined;
    let tokenRefreshed = false;
    const bearer = async (): Promise<string | undefined> => {
        if (token !== undefined) return token;
        try {
            token = await options.token();
            return token;
        } catch (e) {
            problems.push(`no access token for Azure Resource Manager: ${(e as Error).message}`);
            return undefined;
        }
    };

    const send = async (method: "GET" | "PUT", body?: ArmLoadBalancer, etag?: string): Promise<ArmAnswer | undefined> => {
        const t = await bearer();
        if (t === undefined) return undefined;
        const at = now();
        const headers: Record<string, string> = { authorization: `Bearer ${t}`, accept: "application/json" };
        if (body) headers["content-type"] = "application/json";
        if (etag) headers["if-match"] = etag;
        let answer: ArmAnswer;
        try {
            const res = await fetch(url, {
                method,
                headers,
                body: body ? JSON.stringify(body) : undefined,
                signal: AbortSignal.timeout(Math.max(1, Math.min(limits.requestTimeoutMs, left()))),
            });
            const text = await res.text();
            let parsed: unknown;
            try {
                parsed = text ? JSON.parse(text) : undefined;
            } catch {
                parsed = text;
            }
            answer = { status: res.status, body: parsed, headers: res.headers };
        } catch (e) {
            answer = { status: 0, body: undefined, headers: undefined, error: (e as Error).message };
        }
        const attempt = { method, status: answer.status, at: at.toISOString(), ms: now().getTime() - at.getTime() };
        attempts.push(attempt);
        log(`${method} ${options.loadBalancerId}${etag ? ` (If-Match ${etag})` : ""} → ${answer.status || answer.error}`);
        if (answer.status === 401 && !tokenRefreshed) {
            // An expired token: ask for a new one once, then send again.
            tokenRefreshed = true;
            token = undefined;
            return send(method, body, etag);
        }
        return answer;
    };
    const note = (text: string): void => {
        const last = attempts.pop();
        if (last) attempts.push({ ...last, note: text });
    };

    let throttled = 0;
    let serverErrors = 0;
    let stale = 0;
    /** Set once Azure accepted this call's PUT (200/201): from then on, what is left is confirming it. */
    let accepted = false;
    const check = `check with \`az network lb rule show --ids ${options.loadBalancerId}/loadBalancingRules/production --query backendAddressPool.id\``;
    const byHand = `send it back by hand with \`pulumi config set liveColor ${options.to} && pulumi up\``;
    /** What a flip-back that stops now leaves behind, for the end of a problem. */
    const consequence = (): string => accepted
        ? `Azure accepted the change but the agent could not confirm it (production last read: ${readBack ?? "unknown"}); ${check}.`
        : `production was not moved as far as the agent knows; ${check} and ${byHand}.`;
    const outOfTime = (): string => `the flip-back ran out of its ${deadlineMs} ms: ${consequence()}`;
    /** Waits before a retry of a 429/5xx/no answer; false when the retries or the time are used up (a problem said). */
    const retryAfter = async (answer: ArmAnswer, method: string): Promise<boolean> => {
        let wait: number;
        if (answer.status === 429) {
            throttled++;
            const asked = retryAfterMs(answer.headers?.get("retry-after"), now()) ?? 1000;
            wait = Math.min(asked, limits.maxRetryAfterMs);
            if (throttled > limits.throttleRetries) {
                problems.push(`Azure kept throttling the agent's ${method} (429 ${armError(answer.body).code || "TooManyRequests"}, ${throttled} time(s), Retry-After ${Math.round(asked / 1000)} s): ${consequence()}`);
                return false;
            }
            note(`throttled: waits ${wait} ms`);
        } else {
            serverErrors++;
            wait = limits.backoffMs * 2 ** (serverErrors - 1);
            const what = answer.status === 0 ? `no answer (${answer.error ?? "timeout"})` : `${answer.status} ${armError(answer.body).code}`.trim();
            if (serverErrors > limits.serverRetries) {
                problems.push(`Azure Resource Manager answered the agent's ${method} with ${what} ${serverErrors} time(s): ${consequence()}`);
                return false;
            }
            note(`${what}: retries in ${wait} ms`);
        }
        if (wait >= left()) {
            problems.push(outOfTime());
            return false;
        }
        await sleep(wait);
        return true;
    };

    /** The load balancer read from Azure (retrying 429/5xx), or undefined with a problem said. */
    const read = async (): Promise<{ lb: ArmLoadBalancer; etag: string | undefined } | undefined> => {
        for (;;) {
            if (left() <= 0) {
                problems.push(outOfTime());
                return undefined;
            }
            const answer = await send("GET");
            if (!answer) return undefined;
            if (answer.status === 200) {
                const lb = answer.body as ArmLoadBalancer;
                if (!lb || typeof lb !== "object" || !lb.properties) {
                    problems.push(`Azure answered the GET of ${options.loadBalancerId} without a load balancer`);
                    return undefined;
                }
                readBack = armProductionColor(lb);
                return { lb, etag: answer.headers?.get("etag") ?? lb.etag };
            }
            if (answer.status === 403) {
                problems.push(forbiddenMessage(answer.body, "GET", options.loadBalancerId, options.to));
                return undefined;
            }
            if (answer.status === 429 || answer.status >= 500 || answer.status === 0) {
                if (await retryAfter(answer, "GET")) continue;
                return undefined;
            }
            const { code, message } = armError(answer.body);
            const hint = answer.status === 401
                ? "Azure Resource Manager does not take the agent's token (asked IMDS for a new one once): is the token for https://management.azure.com/ of the agent's identity?"
                : "is WatchSpec.loadBalancerId this stack's load balancer?";
            problems.push(`Azure answered the GET of ${options.loadBalancerId} with ${answer.status} ${code}${message ? `: ${message}` : ""}: ${hint} ${consequence()}`);
            return undefined;
        }
    };

    // Read, plan, send with If-Match; on 412 read and plan again.
    let sent = false;
    for (;;) {
        const current = await read();
        if (!current) return end("failed");
        const busy = current.lb.properties.provisioningState;
        if (busy && !TERMINAL.has(busy.toLowerCase())) {
            // Another writer's update is still being provisioned: a PUT now would get 409 AnotherOperationInProgress.
            note(`another update in progress (${busy}): waits`);
            if (limits.pollIntervalMs >= left()) {
                problems.push(outOfTime());
                return end("failed");
            }
            await sleep(limits.pollIntervalMs);
            continue;
        }
        const plan = planFlipBack(current.lb, options);
        if (plan.kind === "refused") {
            problems.push(plan.reason);
            return end("refused");
        }
        if (plan.kind === "already") {
            if (plan.ours && sent) break; // this call's PUT went through before an error: confirm it below
            log(plan.reason);
            return end("already");
        }
        const answer = await send("PUT", plan.body, current.etag);
        if (!answer) return end("failed");
        sent = true;
        if (answer.status === 200 || answer.status === 201) {
            accepted = true;
            break;
        }
        if (answer.status === 412) {
            stale++;
            if (stale > limits.staleRetries) {
                problems.push(`the load balancer changed under the agent ${stale} time(s) in a row (412 PreconditionFailed on If-Match): someone else is changing it; production was not moved`);
                return end("failed");
            }
            note("stale If-Match: another writer changed the load balancer; reads it again");
            continue;
        }
        if (answer.status === 403) {
            problems.push(forbiddenMessage(answer.body, "PUT", options.loadBalancerId, options.to));
            return end("failed");
        }
        if (answer.status === 429 || answer.status === 409 || answer.status >= 500 || answer.status === 0) {
            // 409: another operation on the load balancer is in progress. 5xx or no answer: the PUT may have been applied
            // before the error. Either way read again (the plan then sees this call's own record, or the other change).
            if (await retryAfter(answer, "PUT")) continue;
            return end("failed");
        }
        const { code, message } = armError(answer.body);
        problems.push(`Azure refused the flip-back's PUT with ${answer.status} ${code}${message ? `: ${message}` : ""}; production was not moved: send it back by hand with \`pulumi config set liveColor ${options.to} && pulumi up\`.`);
        return end("failed");
    }

    // Azure accepted the change: read the load balancer until it is provisioned, then check production.
    for (;;) {
        const current = await read();
        if (!current) return end("failed");
        const state = (current.lb.properties.provisioningState ?? "Succeeded").toLowerCase();
        if (TERMINAL.has(state)) {
            if (state !== "succeeded") {
                problems.push(`Azure reports the load balancer's update ${current.lb.properties.provisioningState}: production reads ${readBack ?? "no color"}`);
                return end("failed");
            }
            if (readBack !== options.to) {
                problems.push(`after the flip-back, production reads ${readBack ?? "no color"}, not ${options.to}: another writer changed it`);
                return end("failed");
            }
            return end("flipped");
        }
        note(`provisioning: ${current.lb.properties.provisioningState}`);
        const wait = Math.min(limits.pollIntervalMs, left());
        if (wait <= 0) {
            problems.push(`Azure had not finished the load balancer's update (${current.lb.properties.provisioningState}) within ${deadlineMs} ms: ${consequence()}`);
            return end("failed");
        }
        await sleep(wait);
    }
}
