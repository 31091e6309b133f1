/** A tiny HTTP client for the app's tests: status, headers, parsed JSON body, and which socket carried it. */
import * as http from "http";
import * as net from "net";

export interface Reply {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: unknown;
    /** Local port of the client socket: the same value for two replies means the connection was reused. */
    readonly localPort: number;
}

export function request(port: number, path: string, opts: { method?: string; body?: string; agent?: http.Agent } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const req = http.request(
            { host: "127.0.0.1", port, path, method: opts.method ?? "GET", agent: opts.agent ?? false },
            (res) => {
                const chunks: Buffer[] = [];
                const localPort = res.socket.localPort ?? 0;
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    let body: unknown = text;
                    try {
                        body = JSON.parse(text);
                    } catch {
                        // not JSON: keep the text
                    }
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, body, localPort });
                });
                res.on("error", reject);
            },
        );
        req.on("error", reject);
        if (opts.body !== undefined) req.setHeader("content-type", "application/json");
        req.end(opts.body);
    });
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (await check()) return;
        await sleep(25);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** True when nothing accepts TCP connections on 127.0.0.1:`port` (the listener is closed). */
export function isRefused(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        s.on("connect", () => {
            s.destroy();
            resolve(false);
        });
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
    });
}
