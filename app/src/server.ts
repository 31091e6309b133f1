/**
 * The sample app's HTTP side: two listeners (production and staging port) sharing one handler, readiness, the drain
 * on SIGTERM and the maximum age of keep-alive connections.
 *
 * Start it in-process with {@link startApp}, or as a process with main.ts (see there). Plain `node:http`: the app
 * has five routes, and a framework (express, fastify) would add dependencies to the artifact without removing any
 * of the code that matters here (connection tracking for drain and maximum age, which no framework does for us).
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import { BuildInfo } from "./buildInfo";
import { AppConfig } from "./config";
import { crashIfAsked, FAULT_HEADER, FAULT_HEADER_VALUE, injectsError, neverHealthy, reportedVersion } from "./faults";
import { GoalStore, MAX_TITLE_LENGTH, openGoalStore } from "./store/goalStore";
import { decideTransientRetry, TransientPolicy } from "../../migrator/transient";

/** The readiness check's backoff: 250 ms doubling to 5 s; past 8 attempts (about 20 s) it says it gives up waiting fast. */
const READINESS_RETRY: TransientPolicy = { attempts: 8, baseDelayMs: 250, maxDelayMs: 5_000 };

export interface StartAppOptions {
    readonly config: AppConfig;
    readonly buildInfo: BuildInfo;
    /** The goals store; opened from `config.databaseUrl` when absent. */
    readonly store?: GoalStore;
    /** Where log events go (one object per event). @default JSON lines on stdout */
    readonly log?: (event: Record<string, unknown>) => void;
}

export interface RunningApp {
    /** The ports actually bound (useful when the config asked for 0). */
    readonly ports: { readonly production: number; readonly staging?: number };
    /** `<color>@<version>`, as sent in the `x-served-by` header. */
    readonly servedBy: string;
    /** True once the database answered (and no fault forbids it), until the drain starts. */
    isReady(): boolean;
    /**
     * Drains: /health turns 503, (after `drainDelayMs`) both listeners stop accepting, idle keep-alive connections are closed, responses
     * carry `Connection: close`, in-flight requests finish. Resolves when every connection is closed, or after
     * `drainTimeoutMs` when the rest are cut. Idempotent.
     */
    drain(): Promise<void>;
}

/** Header naming the instance that answered, e.g. `x-served-by: blue@1.0.0` (the load generator counts by it). */
export const SERVED_BY_HEADER = "x-served-by";
/** Longest `/slow?ms=` the app honours. */
export const MAX_SLOW_MS = 30_000;
const MAX_BODY_BYTES = 16 * 1024;

interface ConnectionState {
    readonly openedAt: number;
    inFlight: number;
    lastActiveAt: number;
}

/**
 * Whether the response being written must close its connection: always while draining, and once the connection
 * has lived `maxAgeMs` (so keep-alive clients reconnect, and a reconnect after a flip lands on the new color).
 */
export function shouldCloseConnection(openedAt: number, now: number, maxAgeMs: number, draining: boolean): boolean {
    return draining || now - openedAt >= maxAgeMs;
}

/**
 * Whether an idle connection is closed by the periodic sweep: past its maximum age and idle for at least `graceMs`
 * (a client that just got a response may be sending its next request; closing under it would fail that request).
 */
export function shouldCloseIdleConnection(state: ConnectionState, now: number, maxAgeMs: number, graceMs: number): boolean {
    return state.inFlight === 0 && now - state.openedAt >= maxAgeMs && now - state.lastActiveAt >= graceMs;
}

class HttpError extends Error {
    constructor(
        readonly status: number,
        message: string,
        /** Close the connection after answering (the rest of the request may still be arriving). */
        readonly close = false,
    ) {
        super(message);
    }
}

/** The body of `req`, or an HttpError: 413 over MAX_BODY_BYTES, 408 when it has not all arrived within `timeoutMs`. */
function readBody(req: http.IncomingMessage, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const timer = setTimeout(() => {
            reject(new HttpError(408, `the request body did not arrive within ${timeoutMs} ms; send it at once`, true));
        }, timeoutMs);
        const settle = (): void => clearTimeout(timer);
        req.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY_BYTES) {
                settle();
                reject(new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`, true));
            } else chunks.push(c);
        });
        req.on("end", () => {
            settle();
            resolve(Buffer.concat(chunks).toString("utf8"));
        });
        req.on("error", (e) => {
            settle();
            reject(e);
        });
    });
}

/**
 * The title of a POST /goals body, or an HttpError(400) saying what is wrong with it. Lengths are in UTF-16 code
 * units, as NVARCHAR(200) counts them (a character outside the Basic Multilingual Plane, e.g. most emoji, takes 2).
 */
export function parseNewGoal(body: string): string {
    let data: unknown;
    try {
        data = JSON.parse(body);
    } catch {
        throw new HttpError(400, 'body is not JSON; send {"title": "Run a marathon"}');
    }
    const title = (data as { title?: unknown } | null)?.title;
    if (typeof title !== "string" || title.trim() === "") {
        throw new HttpError(400, 'title is missing or empty; send {"title": "Run a marathon"}');
    }
    if (title.length > MAX_TITLE_LENGTH) {
        throw new HttpError(
            400,
            `title is ${title.length} UTF-16 code units long; at most ${MAX_TITLE_LENGTH} are allowed (most characters count 1, ` +
                `emoji and other characters outside the Basic Multilingual Plane count 2)`,
        );
    }
    const nul = title.indexOf("\u0000");
    if (nul >= 0) {
        throw new HttpError(400, `title contains a NUL character (\\u0000) at UTF-16 code unit ${nul + 1}, which a title cannot hold (PostgreSQL cannot store it at all); remove it`);
    }
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.exec(title);
    if (lone) {
        throw new HttpError(
            400,
            `title contains a lone UTF-16 surrogate (\\u${lone[0].charCodeAt(0).toString(16)}) at code unit ${lone.index + 1}, which is not a character; send valid Unicode`,
        );
    }
    return title.trim();
}

function listLimit(raw: string | null): number {
    if (raw === null) return 20;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw new HttpError(400, `limit=${raw} must be an integer from 1 to 100`);
    return n;
}

/** `() => fs.existsSync(file)`, looked up at most every `everyMs`; always false without a file. */
function fileExists(file: string | undefined, everyMs: number): () => boolean {
    let checkedAt = -Infinity;
    let exists = false;
    return () => {
        if (file === undefined) return false;
        const now = Date.now();
        if (now - checkedAt >= everyMs) {
            checkedAt = now;
            exists = fs.existsSync(file);
        }
        return exists;
    };
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/**
 * Starts the app: opens the store (unless given), listens on both ports, then reports ready once the database
 * answers. Throws (before listening) under `APP_FAULT=crash-on-start`.
 *
 *   const app = await startApp({ config: readAppConfig(process.env), buildInfo: readBuildInfo(file, false) });
 *   ...
 *   await app.drain();
 */
export async function startApp(options: StartAppOptions): Promise<RunningApp> {
    const { config, buildInfo } = options;
    const log = options.log ?? ((e) => console.log(JSON.stringify({ time: new Date().toISOString(), ...e })));
    crashIfAsked(config.fault);

    const version = reportedVersion(buildInfo.version, config.fault);
    const servedBy = `${config.color}@${version}`;
    const store = options.store ?? (await openGoalStore(config.databaseUrl, buildInfo.version));
    let ready = false;
    let draining = false;
    const connections = new Map<net.Socket, ConnectionState>();

    function send(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
        const state = connections.get(res.req.socket);
        const close = shouldCloseConnection(state?.openedAt ?? 0, Date.now(), config.maxConnectionAgeMs, draining);
        res.writeHead(status, {
            "content-type": "application/json; charset=utf-8",
            "cache-control": "no-store",
            [SERVED_BY_HEADER]: servedBy,
            ...(close ? { connection: "close" } : {}),
            ...headers,
        });
        res.end(JSON.stringify(body));
    }

    async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = new URL(req.url ?? "/", "http://app");
        const method = req.method ?? "GET";
        const only = (...allowed: string[]): void => {
            if (!allowed.includes(method)) throw new HttpError(405, `${method} is not allowed on ${url.pathname}; use ${allowed.join(" or ")}`);
        };
        switch (url.pathname) {
            case "/health": {
                only("GET", "HEAD");
                const healthy = ready && !draining && !neverHealthy(config.fault);
                const status = draining ? "draining" : neverHealthy(config.fault) ? "unhealthy" : ready ? "ok" : "starting";
                return send(res, healthy ? 200 : 503, { status });
            }
            case "/":
            case "/version":
                only("GET", "HEAD");
                return send(res, 200, { version, color: config.color });
            case "/goals":
                only("GET", "POST");
                if (method === "GET") {
                    return send(res, 200, { goals: await store.list(listLimit(url.searchParams.get("limit"))) });
                }
                return send(res, 201, await store.add(parseNewGoal(await readBody(req, config.bodyTimeoutMs))));
            case "/slow": {
                only("GET");
                const ms = Math.min(Math.max(Number(url.searchParams.get("ms")) || 0, 0), MAX_SLOW_MS);
                await sleep(ms);
                return send(res, 200, { sleptMs: ms });
            }
            default:
                throw new HttpError(404, `no route ${url.pathname}; try /health, /version or /goals`);
        }
    }

    // APP_FAULT=errors-after-flip: does the marker exist (looked at most every 100 ms), and the requests counted since.
    const inProduction = fileExists(config.faultMarker, 100);
    let productionRequests = 0;

    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
        const state = connections.get(req.socket);
        if (state) {
            state.inFlight++;
            let counted = true;
            const done = (): void => {
                if (!counted) return;
                counted = false;
                state.inFlight--;
                state.lastActiveAt = Date.now();
            };
            res.on("finish", done);
            res.on("close", done);
        }
        const pathname = (req.url ?? "/").split("?")[0];
        if (config.fault === "errors-after-flip" && pathname !== "/health" && inProduction()) {
            if (injectsError(config.fault, true, pathname, ++productionRequests)) {
                req.resume();
                send(res, 503, { error: "injected fault: APP_FAULT=errors-after-flip fails one request in five in production" }, { [FAULT_HEADER]: FAULT_HEADER_VALUE });
                return;
            }
        }
        route(req, res).catch((e: unknown) => {
            if (res.headersSent) return;
            if (e instanceof HttpError) {
                send(res, e.status, { error: e.message }, e.close ? { connection: "close" } : {});
                // The rest of the body may still be trickling in: do not wait for it.
                if (e.close) res.on("finish", () => req.socket.destroySoon());
                return;
            }
            log({ event: "request-failed", path: req.url, message: (e as Error).message });
            send(res, 503, { error: "the database did not answer; retry shortly" });
        });
    };

    const servers = config.stagingPort === undefined ? [http.createServer(handler)] : [http.createServer(handler), http.createServer(handler)];
    for (const server of servers) {
        server.on("connection", (socket: net.Socket) => {
            const now = Date.now();
            connections.set(socket, { openedAt: now, inFlight: 0, lastActiveAt: now });
            socket.on("close", () => connections.delete(socket));
        });
    }
    const listen = (server: http.Server, port: number): Promise<number> =>
        new Promise((resolve, reject) => {
            server.once("error", reject);
            server.listen(port, config.host, () => {
                server.off("error", reject);
                resolve((server.address() as net.AddressInfo).port);
            });
        });
    let ports: { production: number; staging?: number };
    try {
        ports = { production: await listen(servers[0], config.port) };
        if (config.stagingPort !== undefined) ports.staging = await listen(servers[1], config.stagingPort);
    } catch (e) {
        servers.forEach((s) => s.listening && s.close());
        await store.close().catch(() => undefined);
        throw new Error(`cannot listen on ${config.host}:${config.port}${config.stagingPort === undefined ? "" : `/${config.stagingPort}`}: ${(e as Error).message}`);
    }
    log({ event: "listening", servedBy, host: config.host, ports, commit: buildInfo.commit });

    // Close idle keep-alive connections past their maximum age (busy ones get Connection: close on their next response).
    const sweepEvery = Math.max(50, Math.min(1_000, Math.floor(config.maxConnectionAgeMs / 4)));
    const idleGraceMs = Math.min(1_000, config.maxConnectionAgeMs);
    const sweep = setInterval(() => {
        const now = Date.now();
        for (const [socket, state] of connections) {
            if (shouldCloseIdleConnection(state, now, config.maxConnectionAgeMs, idleGraceMs)) socket.end();
        }
    }, sweepEvery);
    sweep.unref();

    // Ready once the database answers: retried with backoff (migrator/transient.ts says each retry, with the code); a
    // refused login or address is not retried (it stays unready, saying the fix); past the bound it says so once and
    // keeps checking at the longest interval (the database may come back: a server should not give up for good).
    void (async () => {
        for (let attempt = 1; !draining; attempt++) {
            try {
                await store.ping();
                ready = true;
                log({ event: "ready", servedBy });
                return;
            } catch (e) {
                const decision = decideTransientRetry("the database", e, Math.min(attempt, READINESS_RETRY.attempts), READINESS_RETRY);
                const code = decision.class.code;
                if (decision.class.kind === "login-refused" || decision.class.kind === "address-refused") {
                    log({ event: "database-refused", code, message: (e as Error).message, fix: decision.note });
                    return;
                }
                if (attempt === READINESS_RETRY.attempts) {
                    log({ event: "database-unavailable", code, note: decision.note ?? `the database did not answer in ${attempt} attempts (${(e as Error).message}); still checking every ${READINESS_RETRY.maxDelayMs / 1000} s` });
                }
                const retryInMs = Math.min(READINESS_RETRY.maxDelayMs, READINESS_RETRY.baseDelayMs * 2 ** (Math.min(attempt, 20) - 1));
                log({ event: "database-not-ready", code, message: (e as Error).message, attempt, retryInMs });
                await sleep(retryInMs);
            }
        }
    })();

    let drained: Promise<void> | undefined;
    const drain = (): Promise<void> => {
        drained ??= (async () => {
            draining = true;
            clearInterval(sweep);
            const started = Date.now();
            log({ event: "draining", servedBy, openConnections: connections.size, delayMs: config.drainDelayMs });
            if (config.drainDelayMs > 0) await sleep(config.drainDelayMs); // still accepting: /health says 503
            const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
            servers.forEach((s) => s.closeIdleConnections());
            let timer: NodeJS.Timeout | undefined;
            const timedOut = await Promise.race([
                closed.then(() => false),
                new Promise<boolean>((r) => (timer = setTimeout(() => r(true), config.drainTimeoutMs))),
            ]);
            clearTimeout(timer);
            if (timedOut) {
                log({ event: "drain-timeout", cutConnections: connections.size, drainTimeoutMs: config.drainTimeoutMs });
                servers.forEach((s) => s.closeAllConnections());
                await closed;
            }
            await Promise.race([store.close().catch(() => undefined), sleep(2_000)]);
            log({ event: "drained", servedBy, ms: Date.now() - started });
        })();
        return drained;
    };

    return { ports, servedBy, isReady: () => ready && !draining, drain };
}
