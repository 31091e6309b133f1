/**
 * A tiny in-process stand-in for the app, for testing the rehearsal's own parts (HAProxy switch, load generator)
 * without the real app: answers every path with 200 and a `x-served-by: <color>@<version>` header, `?delayMs=N`
 * delays the answer, `/health` answers 503 once draining. After `maxConnectionAgeMs` a connection's next response
 * carries `Connection: close`, like the real app.
 */
import * as http from "http";
import type { Socket } from "net";

export interface StandInApp {
    readonly port: number;
    /** Stops reporting healthy, closes connections as their requests finish, resolves when the server has closed. */
    drain(): Promise<void>;
}

export function startStandInApp(color: string, version: string, maxConnectionAgeMs: number): Promise<StandInApp> {
    const born = new WeakMap<Socket, number>();
    let draining = false;
    const server = http.createServer((req, res) => {
        const sock = req.socket;
        const url = new URL(req.url ?? "/", "http://x");
        if (url.pathname === "/health") {
            res.writeHead(draining ? 503 : 200).end();
            return;
        }
        const age = Date.now() - (born.get(sock) ?? Date.now());
        const headers: http.OutgoingHttpHeaders = { "x-served-by": `${color}@${version}`, "content-type": "text/plain" };
        if (draining || age > maxConnectionAgeMs) headers.connection = "close";
        const delay = Number(url.searchParams.get("delayMs") ?? 0);
        setTimeout(() => res.writeHead(200, headers).end("ok\n"), delay);
    });
    server.keepAliveTimeout = 60000;
    server.on("connection", (s: Socket) => born.set(s, Date.now()));
    return new Promise((resolve) => {
        server.listen(0, "127.0.0.1", () => {
            resolve({
                port: (server.address() as { port: number }).port,
                drain: () =>
                    new Promise<void>((r) => {
                        draining = true;
                        server.close(() => r());
                        server.closeIdleConnections();
                    }),
            });
        });
    });
}
