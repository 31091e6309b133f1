/**
 * HAProxy as the local stand-in for the Azure Standard load balancer.
 *
 * It runs in TCP mode, like the Azure LB: the backend is chosen once per client connection, so a switch sends every
 * NEW connection to the new color while established connections stay where they are (until the app closes them at
 * its maximum connection age). Which backend is live is not in the config file but in a map file read at run time:
 *
 *   use_backend %[str(live),map(<map>,be_blue)]
 *
 * and the flip is `set map <map> live be_green` on the admin socket (the runtime API): no reload, no restart.
 * A second frontend (staging) sends connections to the idle color's staging port, like the Azure staging rule
 * (which uses another backend port so the NSG can tell the two apart): `set map <map> idle stg_blue`.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Color, idleColor } from "../release/colors";
import { parseShowMap, runtimeCommand } from "../release/localProxy";

/** One app instance behind the load balancer. */
export interface BackendServer {
    /** Server name in HAProxy, e.g. `blue-0` (shown in its stats). */
    readonly name: string;
    /** The instance's production port. */
    readonly port: number;
    /** The instance's staging port. @default port */
    readonly stagingPort?: number;
}

export interface HaproxyLayout {
    /** Unix socket of the runtime API (admin level). */
    readonly socketPath: string;
    /** The map file that says which backend is live and which is idle. */
    readonly mapPath: string;
    /** Port of the production frontend (Azure: port 80 rule). */
    readonly productionPort: number;
    /** Port of the staging frontend, routed to the idle color (Azure: staging rule). */
    readonly stagingPort: number;
    /** The app instances of each color. */
    readonly servers: Readonly<Record<Color, readonly BackendServer[]>>;
    /** Path of the HTTP health probe. @default "/health" */
    readonly healthPath?: string;
    /** Interval of the health probe in ms. @default 500 */
    readonly checkIntervalMs?: number;
    /** Where HAProxy logs failed connections (a file it writes to through stdout). @default no log */
    readonly logErrors?: boolean;
}

/** The HAProxy backend of a color's production port: `be_blue` / `be_green`. */
export function backendName(color: Color): string {
    return `be_${color}`;
}

/** The HAProxy backend of a color's staging port: `stg_blue` / `stg_green`. */
export function stagingBackendName(color: Color): string {
    return `stg_${color}`;
}

/** The map file's content for a live color: `live` → its production backend, `idle` → the other's staging backend. */
export function renderLiveMap(live: Color): string {
    return `live ${backendName(live)}\nidle ${stagingBackendName(idleColor(live))}\n`;
}

/**
 * The whole HAProxy configuration (pure). TCP mode everywhere; HTTP health checks on each app instance, like the
 * Azure LB's probe (three failures in a row take an instance out, two passes bring it back), so an instance that
 * reports 503 while it drains soon gets no new connections. With `logErrors`, failed connections are logged.
 */
export function renderHaproxyConfig(layout: HaproxyLayout): string {
    const health = layout.healthPath ?? "/health";
    const inter = layout.checkIntervalMs ?? 500;
    const lines = [
        "global",
        `    stats socket ${layout.socketPath} mode 600 level admin`,
        "    maxconn 4096",
        ...(layout.logErrors ? ["    log stdout format raw local0"] : []),
        "",
        "defaults",
        "    mode tcp",
        ...(layout.logErrors ? ["    log global", "    option tcplog", "    option dontlog-normal"] : []),
        "    timeout connect 2s",
        // A probe answer slower than this counts as a failure (a busy 2-core machine can stall a process briefly).
        "    timeout check 1s",
        // Longer than any idle gap of a keep-alive client: HAProxy itself never cuts a connection in this rehearsal.
        "    timeout client 10m",
        "    timeout server 10m",
        "",
        "frontend production",
        `    bind 127.0.0.1:${layout.productionPort}`,
        `    use_backend %[str(live),map(${layout.mapPath},${backendName("blue")})]`,
        "",
        "frontend staging",
        `    bind 127.0.0.1:${layout.stagingPort}`,
        `    use_backend %[str(idle),map(${layout.mapPath},${stagingBackendName("green")})]`,
    ];
    for (const color of ["blue", "green"] as const) {
        for (const staging of [false, true]) {
            lines.push(
                "",
                `backend ${staging ? stagingBackendName(color) : backendName(color)}`,
                "    balance roundrobin",
                `    option httpchk GET ${health}`,
                "    http-check expect status 200",
                // Like the Azure probe's threshold: one slow answer does not take an instance out of rotation.
                `    default-server inter ${inter}ms fall 3 rise 2`,
                ...layout.servers[color].map(
                    (s) => `    server ${s.name} 127.0.0.1:${staging ? (s.stagingPort ?? s.port) : s.port} check`,
                ),
            );
        }
    }
    return lines.join("\n") + "\n";
}

/** The runtime API's one-command call: the local proxy's (release/localProxy.ts), which this stand-in shares. */
export { runtimeCommand };

/** Reads the map as HAProxy holds it in memory: `{ live: "be_blue", idle: "be_green" }`. */
export async function showMap(socketPath: string, mapPath: string): Promise<Record<string, string>> {
    return parseShowMap(await runtimeCommand(socketPath, `show map ${mapPath}`));
}

/**
 * The flip: points `live` at the color's backend and `idle` at the other one, in one runtime-API call, then reads
 * the map back to confirm. Throws (naming what HAProxy answered) when the map did not change.
 */
export async function setLiveColor(socketPath: string, mapPath: string, live: Color): Promise<void> {
    const answer = await runtimeCommand(
        socketPath,
        `set map ${mapPath} live ${backendName(live)};set map ${mapPath} idle ${stagingBackendName(idleColor(live))}`,
    );
    const map = await showMap(socketPath, mapPath);
    if (map.live !== backendName(live) || map.idle !== stagingBackendName(idleColor(live))) {
        throw new Error(
            `HAProxy did not switch to ${live}: map is ${JSON.stringify(map)}, runtime API said "${answer.trim()}"`,
        );
    }
}

/** State of every server as HAProxy's health checks see it, e.g. `{ "be_blue/blue-0": "UP", "stg_blue/blue-0": "UP" }`. */
export async function serverStates(socketPath: string): Promise<Record<string, string>> {
    const csv = await runtimeCommand(socketPath, "show stat");
    const states: Record<string, string> = {};
    for (const line of csv.split("\n")) {
        const f = line.split(",");
        if (f.length > 17 && /^(be|stg)_/.test(f[0]) && f[1] !== "BACKEND") states[`${f[0]}/${f[1]}`] = f[17];
    }
    return states;
}

export interface RunningHaproxy {
    readonly layout: HaproxyLayout;
    readonly process: ChildProcess;
    /** Sends SIGTERM (immediate stop) and waits for the exit; SIGKILL after `timeoutMs`. */
    stop(timeoutMs?: number): Promise<void>;
}

/** The haproxy binary, or undefined when it is not installed. */
export function findHaproxy(): string | undefined {
    return ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"].find((p) => fs.existsSync(p));
}

/**
 * Writes the config and map into `dir` and starts HAProxy in the foreground (`-db`), live on `live`.
 * Resolves once the runtime API answers. The caller owns stopping it.
 */
export async function startHaproxy(layout: HaproxyLayout, dir: string, live: Color): Promise<RunningHaproxy> {
    fs.writeFileSync(layout.mapPath, renderLiveMap(live));
    const running = await runHaproxy(renderHaproxyConfig(layout), dir, layout.socketPath);
    return { layout, ...running };
}

/** A running HAProxy of any configuration (the load balancer's stand-in, or a VM's local proxy in the tests). */
export interface HaproxyProcess {
    readonly process: ChildProcess;
    /** Sends SIGTERM (immediate stop) and waits for the exit; SIGKILL after `timeoutMs`. */
    stop(timeoutMs?: number): Promise<void>;
}

/**
 * Writes `config` to `dir/haproxy.cfg`, checks it (`haproxy -c`), starts HAProxy in the foreground (`-db`, its output
 * to `dir/haproxy.log`) and resolves once its runtime API answers on `socketPath`. The caller owns stopping it.
 */
export async function runHaproxy(config: string, dir: string, socketPath: string): Promise<HaproxyProcess> {
    const bin = findHaproxy();
    if (!bin) throw new Error("HAProxy is not installed. Install it with: apt-get update && apt-get install -y haproxy");
    const cfg = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(cfg, config);
    const check = spawn(bin, ["-c", "-q", "-f", cfg], { stdio: ["ignore", "pipe", "pipe"] });
    let checkOut = "";
    check.stdout?.on("data", (d) => (checkOut += d));
    check.stderr?.on("data", (d) => (checkOut += d));
    const checkCode = await new Promise<number | null>((r) => check.on("close", r));
    if (checkCode !== 0) throw new Error(`HAProxy rejected ${cfg} (exit ${checkCode}): ${checkOut.trim()}`);

    const log = fs.openSync(path.join(dir, "haproxy.log"), "a");
    const child = spawn(bin, ["-db", "-f", cfg], { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const deadline = Date.now() + 10000;
    for (;;) {
        try {
            await runtimeCommand(socketPath, "show info", 500);
            break;
        } catch (e) {
            if (child.exitCode !== null || Date.now() > deadline) {
                child.kill("SIGKILL");
                const tail = fs.readFileSync(path.join(dir, "haproxy.log"), "utf8").slice(-2000);
                throw new Error(`HAProxy did not start (${(e as Error).message}). Its log:\n${tail}`);
            }
            await new Promise((r) => setTimeout(r, 50));
        }
    }
    return {
        process: child,
        async stop(timeoutMs = 3000): Promise<void> {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
            await exited;
            clearTimeout(timer);
        },
    };
}
