/**
 * A stand-in for the part of Azure Resource Manager the release agent's automatic flip-back uses
 * (release/flipBack.ts), for one load balancer, on 127.0.0.1 — and for IMDS's token endpoint, so the agent's code
 * runs unchanged against it (`imdsToken(ARM_RESOURCE, { endpoint: url })`, `armEndpoint: url`).
 *
 * What it does as ARM does (Azure's "Track asynchronous Azure operations" and the Network API 2024-05-01):
 * - `GET <id>?api-version=…` → 200, the load balancer's JSON with its `etag`, also as the ETag header.
 * - `PUT <id>?api-version=…` → checks the bearer token (401 InvalidAuthenticationToken), `If-Match` against the
 *   current etag (412 PreconditionFailed; this stand-in also refuses a PUT without If-Match, which ARM would take:
 *   the agent must never write blind), the body (400 for a rule whose pool is not in the body, or whose
 *   `backendAddressPools` disagrees with `backendAddressPool`, as Azure refuses both), refuses a PUT while another is
 *   still provisioning (409 AnotherOperationInProgress); stores it with a new etag and
 *   answers 200 (201 if the id was new) with `provisioningState: "Updating"`, an `Azure-AsyncOperation` header and
 *   `Retry-After`. After `provisioningMs` the change is applied: provisioningState `Succeeded`, the operation
 *   `Succeeded`, and `onChange(lb)` is called (the rehearsal moves its front HAProxy there).
 * - `GET <Azure-AsyncOperation URL>` → `{ status: "InProgress" | "Succeeded" }` (the flip-back does not read it: it
 *   lies outside the load balancer's scope; it is here so a client that does is served as ARM serves it).
 *
 * Faults: `failNext(status, times, retryAfterSeconds)` answers the next requests on the load balancer with 403
 * (AuthorizationFailed, or LinkedAuthorizationFailed with `linkedAction`), 409 (AnotherOperationInProgress), 429
 * (Retry-After), 500/503;
 * `concurrentWrite(mutator, { beforeNextPut })` is another writer changing the load balancer (a new etag), at once or
 * just before the next PUT is judged, so the client's If-Match goes stale under it.
 */
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import { Color, COLORS, rulePools } from "../release/colors";
import { ArmLoadBalancer, armProductionColor, NETWORK_API_VERSION } from "../release/flipBack";
import { ARM_RESOURCE } from "../release/imdsToken";
import { HEALTH_PATH, PORTS } from "../components/lib/ports";

/** The token the stand-in's IMDS hands out and its ARM accepts, unless told another. */
export const ARM_STAND_IN_TOKEN = "arm-stand-in-token";
const SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";

export interface ArmLoadBalancerJsonArgs {
    /** The color the production rule points at (the staging rule gets the other: `rulePools(live)`). */
    readonly live: Color;
    /** Each pool's addresses. @default one address per color (10.0.1.10, 10.0.1.20) */
    readonly poolAddresses?: Readonly<Record<Color, readonly string[]>>;
    /** @default "rg-rehearsal" */
    readonly resourceGroup?: string;
    /** @default "front-lb" */
    readonly name?: string;
    /** @default "westeurope" */
    readonly location?: string;
    /** The tag `bluegreen-gate`. @default "gate-run-1" */
    readonly gateRun?: string;
    /** More tags. @default none */
    readonly tags?: Readonly<Record<string, string>>;
}

/**
 * The load balancer components/loadBalancer.ts declares, as ARM answers its GET: pools `blue` and `green` (IP-based,
 * in the VNet), rules `production` (:80 → :8080) and `staging` (:8080 → :8081) on `rulePools(live)`, the HTTP probe,
 * tags `bluegreen-gate` and `bluegreen-live`.
 */
export function armLoadBalancerJson(args: ArmLoadBalancerJsonArgs): ArmLoadBalancer {
    const rg = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${args.resourceGroup ?? "rg-rehearsal"}`;
    const name = args.name ?? "front-lb";
    const id = `${rg}/providers/Microsoft.Network/loadBalancers/${name}`;
    const vnet = `${rg}/providers/Microsoft.Network/virtualNetworks/net-vnet`;
    const addresses = args.poolAddresses ?? { blue: ["10.0.1.10"], green: ["10.0.1.20"] };
    const pools = rulePools(args.live);
    const sub = (kind: string, child: string) => ({ id: `${id}/${kind}/${child}` });
    const rule = (ruleName: "production" | "staging", pool: Color, frontendPort: number, backendPort: number) => ({
        name: ruleName,
        id: `${id}/loadBalancingRules/${ruleName}`,
        type: "Microsoft.Network/loadBalancers/loadBalancingRules",
        properties: {
            provisioningState: "Succeeded",
            frontendIPConfiguration: sub("frontendIPConfigurations", "public"),
            backendAddressPool: sub("backendAddressPools", pool),
            backendAddressPools: [sub("backendAddressPools", pool)],
            probe: sub("probes", "http-health"),
            protocol: "Tcp",
            loadDistribution: "Default",
            frontendPort,
            backendPort,
            idleTimeoutInMinutes: 4,
            enableFloatingIP: false,
            enableTcpReset: true,
            disableOutboundSnat: true,
        },
    });
    const lb: ArmLoadBalancer = {
        id,
        name,
        type: "Microsoft.Network/loadBalancers",
        location: args.location ?? "westeurope",
        etag: newEtag(),
        tags: { "bluegreen-gate": args.gateRun ?? "gate-run-1", "bluegreen-live": args.live, ...(args.tags ?? {}) },
        sku: { name: "Standard", tier: "Regional" },
        properties: {
            provisioningState: "Succeeded",
            resourceGuid: randomUUID(),
            frontendIPConfigurations: [{
                name: "public",
                id: `${id}/frontendIPConfigurations/public`,
                type: "Microsoft.Network/loadBalancers/frontendIPConfigurations",
                properties: {
                    provisioningState: "Succeeded",
                    privateIPAllocationMethod: "Dynamic",
                    publicIPAddress: { id: `${rg}/providers/Microsoft.Network/publicIPAddresses/front-ip` },
                },
            }],
            backendAddressPools: COLORS.map((color) => ({
                name: color,
                id: `${id}/backendAddressPools/${color}`,
                type: "Microsoft.Network/loadBalancers/backendAddressPools",
                properties: {
                    provisioningState: "Succeeded",
                    loadBalancerBackendAddresses: addresses[color].map((ipAddress, index) => ({
                        name: `${color}-vm-${index}`,
                        properties: { ipAddress, virtualNetwork: { id: vnet } },
                    })),
                },
            })),
            loadBalancingRules: [
                rule("production", pools.production, PORTS.productionFrontend, PORTS.productionBackend),
                rule("staging", pools.staging, PORTS.stagingFrontend, PORTS.stagingBackend),
            ],
            probes: [{
                name: "http-health",
                id: `${id}/probes/http-health`,
                type: "Microsoft.Network/loadBalancers/probes",
                properties: { provisioningState: "Succeeded", protocol: "Http", port: PORTS.productionBackend, requestPath: HEALTH_PATH, intervalInSeconds: 5, probeThreshold: 2 },
            }],
            inboundNatRules: [],
            outboundRules: [],
            inboundNatPools: [],
        },
    };
    return withBackReferences(lb);
}

/** Points `rule` of `lb` at `color`'s pool (both pool fields), as another writer (a person, `pulumi up`) would. */
export function pointRule(lb: ArmLoadBalancer, rule: "production" | "staging", color: Color): void {
    const r = lb.properties.loadBalancingRules?.find((x) => x.name === rule);
    if (!r) throw new Error(`load balancer ${lb.name} has no rule ${rule}`);
    const ref = { id: `${lb.id}/backendAddressPools/${color}` };
    r.properties.backendAddressPool = ref;
    r.properties.backendAddressPools = [{ ...ref }];
}

function newEtag(): string {
    return `W/"${randomUUID()}"`;
}

function copy<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}

/** The read-only back-references Azure computes: each pool and frontend lists the rules that use it. */
function withBackReferences(lb: ArmLoadBalancer): ArmLoadBalancer {
    const rules = lb.properties.loadBalancingRules ?? [];
    for (const pool of lb.properties.backendAddressPools ?? []) {
        pool.properties.loadBalancingRules = rules.filter((r) => r.properties.backendAddressPool?.id === pool.id).map((r) => ({ id: r.id }));
    }
    for (const frontend of lb.properties.frontendIPConfigurations ?? []) {
        frontend.properties.loadBalancingRules = rules.map((r) => ({ id: r.id }));
    }
    return lb;
}

/** One request the stand-in answered. */
export interface ArmRequest {
    readonly method: string;
    /** Path and query. */
    readonly url: string;
    readonly ifMatch?: string;
    readonly authorization?: string;
    readonly status: number;
    /** When it arrived (ISO 8601). */
    readonly at: string;
}

/** A fault for the next requests on the load balancer. */
interface Fault {
    status: number;
    times: number;
    retryAfterSeconds?: number;
    linkedAction?: string;
    linkedScope?: string;
    method?: "GET" | "PUT";
}

export interface ArmStandInOptions {
    /** The load balancer it holds (e.g. {@link armLoadBalancerJson}). */
    readonly loadBalancer: ArmLoadBalancer;
    /** The bearer token its ARM accepts and its IMDS hands out. @default {@link ARM_STAND_IN_TOKEN} */
    readonly token?: string;
    /** Called once a PUT is applied (after `provisioningMs`), with the load balancer as it is then. */
    readonly onChange?: (lb: ArmLoadBalancer) => void | Promise<void>;
    /** How long a PUT stays `Updating` before it is applied. @default 200 */
    readonly provisioningMs?: number;
    /** The Retry-After a PUT's answer carries (ARM's network provider says 10). @default 10 */
    readonly asyncRetryAfterSeconds?: number;
}

export interface ArmStandIn {
    /** http://127.0.0.1:<port>: the ARM endpoint (WatchSpec `armEndpoint`) and the IMDS endpoint at once. */
    readonly url: string;
    /** The load balancer's ARM id (WatchSpec `loadBalancerId`). */
    readonly loadBalancerId: string;
    /** The load balancer as it is now (a copy). */
    loadBalancer(): ArmLoadBalancer;
    /** The production rule's color now. */
    productionColor(): Color | undefined;
    /**
     * Answers the next `times` requests on the load balancer (GET or PUT, or only `method`) with `status`: 403
     * AuthorizationFailed (or LinkedAuthorizationFailed naming `linkedAction` on `linkedScope`), 429 with Retry-After,
     * 500, 503. Faults queue: the next one starts when this one is used up.
     */
    failNext(status: number, times?: number, retryAfterSeconds?: number, options?: { method?: "GET" | "PUT"; linkedAction?: string; linkedScope?: string }): void;
    /** Another writer changes the load balancer (new etag): now, or just before the next PUT is judged. */
    concurrentWrite(mutator: (lb: ArmLoadBalancer) => void, options?: { beforeNextPut?: boolean }): void;
    /** Every request answered, in order. */
    readonly requests: readonly ArmRequest[];
    /** Resolves once no PUT is still provisioning (its onChange has been called). */
    settled(): Promise<void>;
    close(): Promise<void>;
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "x-ms-request-id": randomUUID(), ...headers });
    res.end(JSON.stringify(body));
}

function armErrorBody(code: string, message: string): unknown {
    return { error: { code, message } };
}

/** Starts the stand-in on 127.0.0.1 (a free port). */
export async function startArmStandIn(options: ArmStandInOptions): Promise<ArmStandIn> {
    const token = options.token ?? ARM_STAND_IN_TOKEN;
    const provisioningMs = options.provisioningMs ?? 200;
    let lb = copy(options.loadBalancer);
    lb.etag = lb.etag ?? newEtag();
    const lbId = lb.id;
    const lbPath = lbId.toLowerCase();
    const faults: Fault[] = [];
    const beforeNextPut: ((lb: ArmLoadBalancer) => void)[] = [];
    const requests: ArmRequest[] = [];
    const operations = new Map<string, { status: "InProgress" | "Succeeded"; startTime: string; endTime?: string }>();
    const pending = new Set<Promise<void>>();
    const timers = new Set<NodeJS.Timeout>();
    let base = "";

    const write = (mutator: (lb: ArmLoadBalancer) => void): void => {
        const next = copy(lb);
        mutator(next);
        next.etag = newEtag();
        lb = withBackReferences(next);
    };

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<number> => {
        const url = new URL(req.url ?? "/", "http://stand-in");
        // IMDS's token endpoint.
        if (url.pathname === "/metadata/identity/oauth2/token") {
            if (req.headers.metadata !== "true") {
                json(res, 400, { error: "invalid_request", error_description: "Required metadata header not specified" });
                return 400;
            }
            if (url.searchParams.get("resource") !== ARM_RESOURCE) {
                json(res, 400, { error: "invalid_resource", error_description: `this stand-in serves tokens for ${ARM_RESOURCE} only` });
                return 400;
            }
            json(res, 200, { access_token: token, expires_in: "3599", resource: ARM_RESOURCE, token_type: "Bearer" });
            return 200;
        }
        if (req.headers.authorization !== `Bearer ${token}`) {
            json(res, 401, armErrorBody("InvalidAuthenticationToken", "The access token is invalid."));
            return 401;
        }
        if (!url.searchParams.get("api-version")) {
            json(res, 400, armErrorBody("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."));
            return 400;
        }
        const operation = /\/providers\/Microsoft\.Network\/locations\/[^/]+\/operations\/([^/]+)$/i.exec(url.pathname)?.[1];
        if (operation && req.method === "GET") {
            const op = operations.get(operation);
            if (!op) {
                json(res, 404, armErrorBody("NotFound", `operation ${operation} not found`));
                return 404;
            }
            json(res, 200, { name: operation, status: op.status, startTime: op.startTime, ...(op.endTime ? { endTime: op.endTime } : {}) },
                op.status === "InProgress" ? { "retry-after": "1" } : {});
            return 200;
        }
        if (url.pathname.toLowerCase() !== lbPath) {
            json(res, 404, armErrorBody("ResourceNotFound", `The Resource '${url.pathname}' was not found (this stand-in holds ${lbId} only).`));
            return 404;
        }
        const fault = faults[0];
        if (fault && (!fault.method || fault.method === req.method)) {
            if (--fault.times <= 0) faults.shift();
            const action = req.method === "PUT" ? "Microsoft.Network/loadBalancers/write" : "Microsoft.Network/loadBalancers/read";
            if (fault.status === 403 && fault.linkedAction) {
                json(res, 403, armErrorBody("LinkedAuthorizationFailed",
                    `The client '${randomUUID()}' with object id 'agent-principal' has permission to perform action '${action}' on scope '${lbId}'; ` +
                    `however, it does not have permission to perform action(s) '${fault.linkedAction}' on the linked scope(s) '${fault.linkedScope ?? "/subscriptions/x"}' (respectively) or the linked scope(s) are invalid.`));
            } else if (fault.status === 403) {
                json(res, 403, armErrorBody("AuthorizationFailed",
                    `The client 'agent-principal' with object id 'agent-principal' does not have authorization to perform action '${action}' over scope '${lbId}' ` +
                    "or the scope is invalid. If access was recently granted, please refresh your credentials."));
            } else if (fault.status === 429) {
                json(res, 429, armErrorBody("TooManyRequests", "The request is being throttled."), { "retry-after": String(fault.retryAfterSeconds ?? 1) });
            } else if (fault.status === 409) {
                json(res, 409, armErrorBody("AnotherOperationInProgress", `Operation on ${lbId} failed because another operation on the same resource is in progress.`));
            } else {
                json(res, fault.status, armErrorBody(fault.status === 503 ? "ServiceUnavailable" : "InternalServerError", "An error occurred on the server; retry the request."));
            }
            return fault.status;
        }
        if (req.method === "GET") {
            json(res, 200, lb, { etag: lb.etag ?? "" });
            return 200;
        }
        if (req.method !== "PUT") {
            json(res, 405, armErrorBody("MethodNotAllowed", `${req.method} is not served by this stand-in`));
            return 405;
        }
        while (beforeNextPut.length > 0) write(beforeNextPut.shift() as (lb: ArmLoadBalancer) => void);
        if (lb.properties.provisioningState === "Updating") {
            json(res, 409, armErrorBody("AnotherOperationInProgress", `Operation on ${lbId} failed because another operation on the same resource is in progress.`));
            return 409;
        }
        const ifMatch = req.headers["if-match"];
        if (ifMatch !== lb.etag) {
            json(res, 412, armErrorBody("PreconditionFailed",
                `Precondition failed: the If-Match header (${ifMatch ?? "absent"}) does not match the resource's current etag.`));
            return 412;
        }
        let sent: ArmLoadBalancer;
        try {
            sent = JSON.parse(body) as ArmLoadBalancer;
        } catch {
            json(res, 400, armErrorBody("InvalidRequestContent", "The request content was invalid and could not be deserialized."));
            return 400;
        }
        const problem = bodyProblem(sent, lb);
        if (problem) {
            json(res, 400, armErrorBody(problem.code, problem.message));
            return 400;
        }
        const opId = randomUUID();
        operations.set(opId, { status: "InProgress", startTime: new Date().toISOString() });
        write((next) => {
            next.tags = { ...(sent.tags ?? {}) };
            next.properties = { ...copy(sent.properties), provisioningState: "Updating", resourceGuid: next.properties.resourceGuid };
        });
        const applied = new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
                timers.delete(timer);
                resolve();
            }, provisioningMs);
            timers.add(timer);
        }).then(async () => {
            lb = { ...lb, properties: { ...lb.properties, provisioningState: "Succeeded" } };
            operations.set(opId, { ...(operations.get(opId) ?? { startTime: "" }), status: "Succeeded", endTime: new Date().toISOString() });
            try {
                await options.onChange?.(copy(lb));
            } catch {
                // the hook's own failure is the caller's to report
            }
        });
        pending.add(applied);
        void applied.finally(() => pending.delete(applied));
        const location = (lb.location ?? "westeurope").replace(/\s+/g, "").toLowerCase();
        json(res, 200, lb, {
            etag: lb.etag ?? "",
            "azure-asyncoperation": `${base}/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Network/locations/${location}/operations/${opId}?api-version=${NETWORK_API_VERSION}`,
            "retry-after": String(options.asyncRetryAfterSeconds ?? 10),
        });
        return 200;
    };

    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const at = new Date().toISOString();
            void handle(req, res, Buffer.concat(chunks).toString("utf8")).then((status) => {
                requests.push({
                    method: req.method ?? "",
                    url: req.url ?? "",
                    ...(typeof req.headers["if-match"] === "string" ? { ifMatch: req.headers["if-match"] } : {}),
                    ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
                    status,
                    at,
                });
            });
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    return {
        url: base,
        loadBalancerId: lbId,
        loadBalancer: () => copy(lb),
        productionColor: () => armProductionColor(lb),
        failNext(status, times = 1, retryAfterSeconds, opts) {
            faults.push({ status, times, retryAfterSeconds, ...opts });
        },
        concurrentWrite(mutator, opts) {
            if (opts?.beforeNextPut) beforeNextPut.push(mutator);
            else write(mutator);
        },
        requests,
        settled: async () => {
            while (pending.size > 0) await Promise.all([...pending]);
        },
        close: async () => {
            // A PUT still provisioning is never applied (and its onChange never called) once closed.
            for (const timer of timers) clearTimeout(timer);
            timers.clear();
            pending.clear();
            await new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            });
        },
    };
}

/** What Azure refuses in a load balancer PUT that the flip-back could get wrong. */
function bodyProblem(sent: ArmLoadBalancer, current: ArmLoadBalancer): { code: string; message: string } | undefined {
    if (!sent || typeof sent !== "object" || !sent.properties) return { code: "InvalidRequestFormat", message: "The body is not a load balancer." };
    if (sent.id !== undefined && sent.id.toLowerCase() !== current.id.toLowerCase()) {
        return { code: "InvalidRequestFormat", message: `The body's id ${sent.id} is not the resource's ${current.id}.` };
    }
    if (sent.location !== undefined && sent.location !== current.location) {
        return { code: "InvalidResourceLocation", message: `The resource's location is ${current.location}; it cannot change to ${sent.location}.` };
    }
    const pools = new Set((sent.properties.backendAddressPools ?? []).map((p) => (p.id ?? `${current.id}/backendAddressPools/${p.name}`).toLowerCase()));
    for (const rule of sent.properties.loadBalancingRules ?? []) {
        const pool = rule.properties.backendAddressPool?.id;
        if (pool && !pools.has(pool.toLowerCase())) {
            return { code: "InvalidResourceReference", message: `Resource ${pool} referenced by resource ${current.id}/loadBalancingRules/${rule.name} was not found.` };
        }
        const plural = rule.properties.backendAddressPools;
        if (plural !== undefined && (plural.length !== 1 || plural[0]?.id?.toLowerCase() !== pool?.toLowerCase())) {
            return { code: "InvalidRequestFormat", message: `Load balancing rule ${rule.name}: backendAddressPool and backendAddressPools must refer to the same pool.` };
        }
    }
    return undefined;
}
