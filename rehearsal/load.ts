/**
 * The load generator: steady traffic over keep-alive connections, plus slow requests and fresh-connection probes
 * around each switch, recording every request (when it started, on which connection, which color served it).
 *
 * Why not autocannon: it is built for aggregate numbers over connections it manages itself; the rehearsal has to
 * judge each request by its start time, its connection (new or reused) and the color that answered (a response
 * header), and autocannon does not tell, per request, whether its connection was new or when that connection opened.
 * Node's `http.Agent({ keepAlive: true })` gives all of that in ~150 lines.
 *
 * Model: `connections` virtual clients, each with its own keep-alive agent holding at most one socket (so one client
 * = one connection at a time, like a browser tab or a pooled API client). Each client sends a request every
 * `connections / rate` seconds (closed loop: never two in flight on one client; a client slowed down by slow answers
 * catches up on up to one second of missed sends, so the rate holds on a busy machine). When the server closes the
 * connection (`Connection: close` at its maximum connection age, or while draining), the next request opens a new
 * connection, which HAProxy routes to whatever color is live at that moment.
 */
import * as http from "http";
import type { Socket } from "net";
import { performance } from "perf_hooks";
import { Color, isColor } from "../release/colors";

/** What kind of traffic a request belongs to. */
export type RequestKind = "steady" | "slow" | "probe";

/** One request as the client saw it. Times are ms since the rehearsal's clock started. */
export interface RequestRecord {
    readonly kind: RequestKind;
    /** Client (virtual user) number; -1 for slow requests and probes. */
    readonly client: number;
    /** Connection number, unique over the run. */
    connection: number;
    /** True when this request opened its connection (not a reused keep-alive socket). */
    newConnection: boolean;
    readonly start: number;
    end: number;
    /** HTTP status, absent on a transport failure. */
    status?: number;
    /** Color named by the response's served-by header. */
    color?: Color;
    /** Version named by the response's served-by header. */
    version?: string;
    /** Transport failure (ECONNRESET, timeout, ...), absent on success. */
    error?: string;
    /** True when the answer carried the injected-fault header (`x-fault: injected`): a failure the rehearsal caused on purpose. */
    injected?: boolean;
    /** Scenario phase when the request started. */
    readonly phase: string;
}

/** How far behind its schedule a client may catch up (ms of missed sends it makes up for). */
const CATCH_UP_MS = 1000;

/** True when a request failed: transport error, timeout, or a non-2xx answer. */
export function isFailure(r: Pick<RequestRecord, "status" | "error">): boolean {
    return r.error !== undefined || r.status === undefined || r.status < 200 || r.status > 299;
}

/** True when a request failed on purpose: the app's injected fault (`x-fault: injected`), not the machinery. */
export function isInjectedFailure(r: Pick<RequestRecord, "status" | "error" | "injected">): boolean {
    return r.injected === true && isFailure(r);
}

/** True when a request failed for any other reason than the injected fault: a failure of the release machinery. */
export function isMachineryFailure(r: Pick<RequestRecord, "status" | "error" | "injected">): boolean {
    return isFailure(r) && r.injected !== true;
}

/**
 * Reads `<color>@<version>` (the served-by header: the local proxy's `green@2.0.0 green-vm-0`, or the sample app's
 * `green@2.0.0`) into its parts.
 * Returns an empty object for anything else.
 */
export function parseServedBy(value: string | string[] | undefined): { color?: Color; version?: string } {
    const v = Array.isArray(value) ? value[0] : value;
    const m = v ? /^\s*([a-z]+)@(\S+)(?:\s+\S+)?\s*$/.exec(v) : null;
    if (!m || !isColor(m[1])) return {};
    return { color: m[1], version: m[2] };
}

export interface LoadOptions {
    readonly host: string;
    readonly port: number;
    /** Path of steady requests, e.g. `/goals`. */
    readonly path: string;
    /** Every n-th request of a client is a write instead: `POST writePath` with a small JSON body. @default never */
    readonly writeEvery?: number;
    /** Path of the writes, e.g. `/goals`. */
    readonly writePath?: string;
    /** Total requests per second over all clients. */
    readonly rate: number;
    /** Number of keep-alive clients (connections). */
    readonly connections: number;
    /** Name of the response header `<color>@<version>`. */
    readonly servedByHeader: string;
    /** Name of the response header that marks an injected failure (its value `injected`). @default none */
    readonly faultHeader?: string;
    /** A request without an answer after this long counts as failed ("timeout"). @default 10000 */
    readonly timeoutMs?: number;
    /** The current scenario phase, read when each request starts. */
    readonly phase: () => string;
    /** The clock: ms since the rehearsal started. */
    readonly now: () => number;
}

/** A running load generator. */
export interface Load {
    /** Every request so far (finished or not: unfinished ones have `end` = NaN). */
    readonly records: RequestRecord[];
    /**
     * Sends `count` requests to `path` (e.g. a slow one: `/goals?delayMs=1500`), each on a new connection that is
     * closed afterwards, and resolves when they have all finished.
     */
    oneShot(kind: Exclude<RequestKind, "steady">, path: string, count: number): Promise<void>;
    /** Stops sending, waits for requests in flight (at most `timeoutMs`), closes every connection. */
    stop(): Promise<void>;
}

/** Starts the steady traffic at once. */
export function startLoad(opts: LoadOptions): Load {
    const records: RequestRecord[] = [];
    const timeoutMs = opts.timeoutMs ?? 10000;
    const intervalMs = (1000 * opts.connections) / opts.rate;
    const socketIds = new WeakMap<Socket, number>();
    let nextSocketId = 0;
    let running = true;
    const inFlight = new Set<Promise<void>>();
    const agents: http.Agent[] = [];

    function send(kind: RequestKind, client: number, agent: http.Agent, path: string, body?: string): Promise<void> {
        const rec: RequestRecord = {
            kind,
            client,
            connection: -1,
            newConnection: true,
            start: opts.now(),
            end: Number.NaN,
            phase: opts.phase(),
        };
        records.push(rec);
        const done = new Promise<void>((resolve) => {
            let settled = false;
            const finish = (error?: string): void => {
                if (settled) return;
                settled = true;
                rec.end = opts.now();
                if (error !== undefined) rec.error = error;
                resolve();
            };
            const req = http.request(
                {
                    host: opts.host,
                    port: opts.port,
                    path,
                    agent,
                    ...(body === undefined
                        ? {}
                        : { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }),
                },
                (res) => {
                    rec.status = res.statusCode;
                    Object.assign(rec, parseServedBy(res.headers[opts.servedByHeader]));
                    if (opts.faultHeader !== undefined && res.headers[opts.faultHeader] === "injected") rec.injected = true;
                    res.on("data", () => undefined);
                    res.on("end", () => finish());
                    res.on("error", (e) => finish(errorName(e)));
                    res.on("aborted", () => finish("aborted"));
                },
            );
            req.on("socket", (s: Socket) => {
                let id = socketIds.get(s);
                if (id === undefined) {
                    id = nextSocketId++;
                    socketIds.set(s, id);
                }
                rec.connection = id;
                rec.newConnection = !req.reusedSocket;
            });
            req.setTimeout(timeoutMs, () => {
                req.destroy(new Error("timeout"));
            });
            req.on("error", (e) => finish(errorName(e)));
            req.end(body);
        });
        inFlight.add(done);
        void done.then(() => inFlight.delete(done));
        return done;
    }

    async function client(i: number): Promise<void> {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
        agents.push(agent);
        // Spread the clients' first requests over one interval so the load is steady from the start.
        let next = performance.now() + Math.random() * intervalMs;
        for (let n = 1; running; n++) {
            const wait = next - performance.now();
            if (wait > 0) await sleep(wait);
            if (!running) break;
            // A client that fell behind (slow answers) catches up on at most CATCH_UP_MS of missed sends.
            next = Math.max(next + intervalMs, performance.now() - CATCH_UP_MS);
            const write = opts.writeEvery !== undefined && opts.writePath !== undefined && n % opts.writeEvery === 0;
            if (write) await send("steady", i, agent, opts.writePath as string, JSON.stringify({ title: `goal ${i}.${n}` }));
            else await send("steady", i, agent, opts.path);
        }
    }

    const clients = Array.from({ length: opts.connections }, (_, i) => client(i));

    return {
        records,
        async oneShot(kind, path, count): Promise<void> {
            const agent = new http.Agent({ keepAlive: false });
            agents.push(agent);
            await Promise.all(Array.from({ length: count }, () => send(kind, -1, agent, path)));
        },
        async stop(): Promise<void> {
            running = false;
            await Promise.all(clients);
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([Promise.all([...inFlight]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
            clearTimeout(timer);
            for (const a of agents) a.destroy();
        },
    };
}

function errorName(e: Error & { code?: string }): string {
    return e.code ?? e.message;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
