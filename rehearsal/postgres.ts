/**
 * A real, throw-away PostgreSQL server (for the local rehearsal and for tests): a new cluster in a temporary
 * directory, on a free localhost port, owned by the `postgres` system user (initdb refuses to run as root).
 * Nothing is assumed to be running. (tests/support/postgres.ts re-exports this module for the test suites.)
 *
 *   const pg = await startPostgres();      // { url, stop() }
 *   const url = await pg.createDatabase("runner_test");
 *   ...
 *   await pg.stop();
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export interface LocalPostgres {
    /** Connection URL of the `postgres` database. */
    readonly url: string;
    readonly port: number;
    /** Creates a fresh database and returns its URL. */
    createDatabase(name: string): Promise<string>;
    stop(): Promise<void>;
}

/** The name the test suites use: same as {@link LocalPostgres}. */
export type TestPostgres = LocalPostgres;

/** The newest installed PostgreSQL's bin directory (Debian keeps it off PATH), or undefined when none is installed. */
export function findPostgresBin(): string | undefined {
    const root = "/usr/lib/postgresql";
    if (!fs.existsSync(root)) return undefined;
    const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")));
    versions.sort((a, b) => Number(b) - Number(a));
    return versions.length ? path.join(root, versions[0], "bin") : undefined;
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, below Linux's ephemeral range (32768-60999), so that no
 * outgoing connection takes it while a server that owns it restarts (the rehearsal restarts apps on fixed ports).
 */
export async function freeFixedPort(): Promise<number> {
    for (let attempt = 0; attempt < 100; attempt++) {
        const port = 20000 + Math.floor(Math.random() * 12000);
        if (handedOut.has(port)) continue;
        const free = await new Promise<boolean>((resolve) => {
            const srv = net.createServer();
            srv.once("error", () => resolve(false));
            srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
        });
        if (free) {
            handedOut.add(port);
            return port;
        }
    }
    return freePort();
}

/** Ports {@link freeFixedPort} and {@link freePort} gave out in this process: never twice. */
const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it), never one this process was given before: the
 * OS offers a port it gave a moment ago again (measured here: 10 repeats in 400 calls), and two servers of one test
 * on one port is a refused proxy configuration or a server that cannot start.
 */
export async function freePort(): Promise<number> {
    for (;;) {
        const port = await new Promise<number>((resolve, reject) => {
            const srv = net.createServer();
            srv.on("error", reject);
            srv.listen(0, "127.0.0.1", () => {
                const p = (srv.address() as net.AddressInfo).port;
                srv.close(() => resolve(p));
            });
        });
        if (!handedOut.has(port)) {
            handedOut.add(port);
            return port;
        }
    }
}

function asPostgres(bin: string, args: string[]): void {
    const isRoot = process.getuid?.() === 0;
    const cmd = isRoot ? "runuser" : bin;
    const full = isRoot ? ["-u", "postgres", "--", bin, ...args] : args;
    const r = spawnSync(cmd, full, { encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`${path.basename(bin)} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
    }
}

/** Starts a new cluster (on `options.port`, else a free port); call `stop()` to stop it and delete its directory. */
export async function startPostgres(options: { port?: number } = {}): Promise<LocalPostgres> {
    const bin = findPostgresBin();
    if (!bin) {
        throw new Error("PostgreSQL is not installed. Install it with: apt-get update && apt-get install -y postgresql");
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-pg-"));
    fs.chmodSync(dir, 0o700);
    if (process.getuid?.() === 0) execFileSync("chown", ["postgres:postgres", dir]);
    const port = options.port ?? (await freePort());
    asPostgres(path.join(bin, "initdb"), ["-D", dir, "-A", "trust", "-U", "postgres", "--no-sync"]);
    asPostgres(path.join(bin, "pg_ctl"), [
        "-D", dir,
        "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
        "-l", path.join(dir, "log"), "-w", "start",
    ]);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    return {
        url,
        port,
        async createDatabase(name: string): Promise<string> {
            const { Client } = await import("pg");
            const c = new Client({ connectionString: url });
            await c.connect();
            try {
                await c.query(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
            } finally {
                await c.end();
            }
            return `postgres://postgres@127.0.0.1:${port}/${name}`;
        },
        async stop(): Promise<void> {
            try {
                // Already stopped (e.g. Ctrl-C in a terminal reached the server too): nothing to stop.
                if (fs.existsSync(path.join(dir, "postmaster.pid"))) {
                    asPostgres(path.join(bin, "pg_ctl"), ["-D", dir, "-m", "fast", "-w", "stop"]);
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}
