/**
 * The product's local proxy on every app VM: HAProxy in front of the app, so the drain and the switch of a release
 * never depend on what the app does (docs/local-proxy.md).
 *
 *   Azure LB :80 → VM :8080 (production) ┐
 *   Azure LB :8080 → VM :8081 (staging)  ┴→ HAProxy (HTTP) → the active slot: app a on 127.0.0.1:9101, or app b on :9102
 *
 * - A release starts beside the running one in the other slot (its own port), is checked on that port, then the proxy
 *   switches (`set map <map> active slot_b` on HAProxy's runtime API: no reload, no restart; the next request of every
 *   client connection goes to the new slot), the old slot's in-flight requests finish, and only then is it stopped.
 * - Every client connection older than `maxConnectionAgeMs` is closed after its next response (`Connection: close`),
 *   and an idle one after `keepAliveIdleMs`: after a flip of the load balancer, whose established TCP flows stay on
 *   the old color, keep-alive clients reconnect — to the new color — within that bound, whatever the app does.
 *
 * - The load balancer's health probe (and every request for `healthPath`) goes to the active slot through backends of
 *   its own (`probe_a`, `probe_b`): the slots' backends count only the users' requests, so the post-flip watch never
 *   takes Azure's probes (several a second) for traffic (release/watchSignals.ts).
 * - The answers of the slots' backends are timed in a latency histogram (a small Lua script the proxy loads,
 *   {@link renderLatencyLua}), served in Prometheus text beside HAProxy's own exporter: the watch's latency percentile
 *   is that of the users' requests.
 *
 * This file runs on the VMs as `local-proxy.js` (transpiled by the program, components/lib/vmScripts.ts), called by
 * vm-scripts/deploy-app.sh, so it imports only Node's built-ins; the rehearsal uses the same functions.
 */
import * as fs from "fs";
import * as net from "net";

/** The two places a release can run on a VM. */
export type Slot = "a" | "b";
export const SLOTS: readonly Slot[] = ["a", "b"];

/** The app's port of each slot (loopback only: nothing but the local proxy reaches it). */
export const SLOT_PORTS: Readonly<Record<Slot, number>> = { a: 9101, b: 9102 };

/** How long a client connection may live before it is closed after its next response. */
export const DEFAULT_MAX_CONNECTION_AGE_MS = 30_000;

/** The other slot. */
export function otherSlot(slot: Slot): Slot {
    return slot === "a" ? "b" : "a";
}

export function isSlot(value: unknown): value is Slot {
    return value === "a" || value === "b";
}

/** HAProxy's backend of a slot: `slot_a`. */
export function slotBackend(slot: Slot): string {
    return `slot_${slot}`;
}

/** The backend the health probes of a slot go through (same app, not counted as the users' requests): `probe_a`. */
export function probeBackend(slot: Slot): string {
    return `probe_${slot}`;
}

/** The path of the latency histogram on the metrics port (Prometheus text; HAProxy's own exporter is on `/metrics`). */
export const LATENCY_METRICS_PATH = "/metrics/latency";
/** The histogram's metric (seconds, Prometheus' unit), per slot backend: `bluegreen_proxy_response_seconds_bucket`. */
export const LATENCY_METRIC = "bluegreen_proxy_response_seconds";
/**
 * The histogram's bucket bounds (ms; the last is +Inf). The post-flip analysis' own (release/postFlipAnalysis.ts
 * DEFAULT_LATENCY_BUCKETS_MS, repeated because this file imports nothing; a test compares them).
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, Infinity];

/** The map file's content: which slot gets the requests. */
export function renderSlotMap(active: Slot): string {
    return `active ${slotBackend(active)}\n`;
}

/** The active slot a map file names, or undefined (no file, or not a slot map). */
export function parseSlotMap(text: string | undefined): Slot | undefined {
    const m = /^active slot_([ab])\s*$/m.exec(text ?? "");
    return m ? (m[1] as Slot) : undefined;
}

/** What the proxy's configuration depends on. */
export interface ProxySettings {
    /** Where the load balancer's production rule sends traffic (and its probe asks /health). @default 8080 */
    readonly productionPort?: number;
    /** Where the staging rule sends traffic. @default 8081 */
    readonly stagingPort?: number;
    /** Address both listen on. @default "0.0.0.0" (the NSG decides who reaches them) */
    readonly listenHost?: string;
    /** The app's port of each slot. @default {@link SLOT_PORTS} */
    readonly slotPorts?: Readonly<Record<Slot, number>>;
    /** The runtime API's Unix socket (admin level, mode 600). */
    readonly socketPath: string;
    /** The map file naming the active slot ({@link renderSlotMap}). */
    readonly mapPath: string;
    /** A client connection older than this is closed after its next response. @default 30000 */
    readonly maxConnectionAgeMs?: number;
    /** An idle keep-alive client connection is closed after this. @default maxConnectionAgeMs */
    readonly keepAliveIdleMs?: number;
    /** The longest a request may wait for the app's answer (then 504). @default 300000 */
    readonly serverTimeoutMs?: number;
    /** The VM's name, last in the `x-served-by` header of every answer. @default none */
    readonly servedBy?: string;
    /**
     * The map file naming the release each slot runs (`slot_a green@2.0.0`, {@link renderReleasesMap}): the
     * `x-served-by` header of every answer starts with the serving slot's — which color and release answered, whatever
     * the app says. @default no such header (unless `servedBy` is set: then the VM's name alone)
     */
    readonly releasesMapPath?: string;
    /**
     * Port of the proxy's Prometheus endpoint (`GET /metrics`, HAProxy's own exporter): requests by status class and
     * response times per slot, as the proxy saw them — the post-flip watch's signals, and any monitoring's.
     * @default none (no endpoint)
     */
    readonly metricsPort?: number;
    /**
     * The path of the health probe (the load balancer's, the deploy's, the watch's): its requests go to the active slot
     * through the probe backends, apart from the users' requests. @default "/health"
     */
    readonly healthPath?: string;
    /**
     * Where the Lua script of the latency histogram ({@link renderLatencyLua}) is (`node local-proxy.js lua` writes
     * it): with `metricsPort`, the slots' answers are timed and served on {@link LATENCY_METRICS_PATH}.
     * @default none (no histogram)
     */
    readonly latencyScriptPath?: string;
    /** The system user HAProxy drops to after binding (the Debian package's `haproxy`). @default none (stays as started) */
    readonly runAs?: string;
}

/** Problems of the settings (empty when they can be rendered). */
export function proxySettingsProblems(s: ProxySettings): string[] {
    const problems: string[] = [];
    const port = (name: string, v: number | undefined): void => {
        if (v !== undefined && !(Number.isInteger(v) && v > 0 && v < 65536)) problems.push(`${name} ${v} is not a TCP port (1-65535)`);
    };
    port("productionPort", s.productionPort);
    port("stagingPort", s.stagingPort);
    port("slotPorts.a", s.slotPorts?.a);
    port("slotPorts.b", s.slotPorts?.b);
    port("metricsPort", s.metricsPort);
    const ports = [s.productionPort ?? 8080, s.stagingPort ?? 8081, (s.slotPorts ?? SLOT_PORTS).a, (s.slotPorts ?? SLOT_PORTS).b, ...(s.metricsPort !== undefined ? [s.metricsPort] : [])];
    if (new Set(ports).size !== ports.length) problems.push(`the proxy's ports and the slots' ports must all differ (${ports.join(", ")})`);
    for (const [name, v] of [["maxConnectionAgeMs", s.maxConnectionAgeMs], ["keepAliveIdleMs", s.keepAliveIdleMs], ["serverTimeoutMs", s.serverTimeoutMs]] as const) {
        if (v !== undefined && !(Number.isInteger(v) && v >= 100 && v <= 3_600_000)) problems.push(`${name} ${v} is not a whole number of milliseconds from 100 to 3600000`);
    }
    if (s.servedBy !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(s.servedBy)) problems.push(`servedBy ${JSON.stringify(s.servedBy)} must be 1-64 letters, digits, '.', '_' or '-' (a VM name)`);
    if (s.runAs !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(s.runAs)) problems.push(`runAs ${JSON.stringify(s.runAs)} is not a user name`);
    const paths: [string, string][] = [["socketPath", s.socketPath], ["mapPath", s.mapPath]];
    if (s.releasesMapPath !== undefined) paths.push(["releasesMapPath", s.releasesMapPath]);
    if (s.latencyScriptPath !== undefined) paths.push(["latencyScriptPath", s.latencyScriptPath]);
    if (s.latencyScriptPath !== undefined && s.metricsPort === undefined) problems.push(`latencyScriptPath needs metricsPort (the histogram is served there)`);
    if (s.healthPath !== undefined && !/^\/[A-Za-z0-9._~/-]{0,200}$/.test(s.healthPath)) problems.push(`healthPath ${JSON.stringify(s.healthPath)} must be a path: '/' then letters, digits, '.', '_', '~', '/' or '-'`);
    for (const [name, p] of paths) {
        if (!/^\/[^\s"'#;]+$/.test(p)) problems.push(`${name} ${JSON.stringify(p)} must be an absolute path without spaces, quotes, '#' or ';'`);
    }
    if (s.socketPath.length > 100) problems.push(`socketPath ${s.socketPath} is ${s.socketPath.length} characters; a Unix socket path holds at most 100 here`);
    return problems;
}

/**
 * The whole HAProxy configuration (pure). HTTP mode, so the proxy sees each request: the active slot is chosen per
 * request from the map, and a connection's age is known when its answer leaves.
 */
export function renderProxyConfig(s: ProxySettings): string {
    const problems = proxySettingsProblems(s);
    if (problems.length > 0) throw new Error(`local proxy settings refused: ${problems.join("; ")}`);
    const host = s.listenHost ?? "0.0.0.0";
    const slotPorts = s.slotPorts ?? SLOT_PORTS;
    const maxAge = s.maxConnectionAgeMs ?? DEFAULT_MAX_CONNECTION_AGE_MS;
    const idle = s.keepAliveIdleMs ?? maxAge;
    const latency = s.latencyScriptPath !== undefined;
    const activeSlot = `str(active),map(${s.mapPath},${slotBackend("a")})`;
    return [
        "# Written by vm-scripts/deploy-app.sh (release/localProxy.ts): the product's local proxy in front of the app.",
        "# Do not edit: the next deployment rewrites it. Which slot serves is in the map file, changed at run time.",
        "global",
        `    stats socket ${s.socketPath} mode 600 level admin`,
        "    maxconn 4096",
        ...(latency ? [`    lua-load ${s.latencyScriptPath}`] : []),
        ...(s.runAs ? [`    user ${s.runAs}`, `    group ${s.runAs}`] : []),
        // A reload (a new proxy configuration) lets the old process finish its requests, bounded.
        `    hard-stop-after ${Math.ceil((maxAge + (s.serverTimeoutMs ?? 300_000)) / 1000)}s`,
        "",
        "defaults",
        "    mode http",
        "    option forwardfor",
        "    timeout connect 2s",
        "    timeout http-request 30s",
        "    timeout client 60s",
        `    timeout server ${s.serverTimeoutMs ?? 300_000}ms`,
        `    timeout http-keep-alive ${idle}ms`,
        "",
        "frontend app",
        `    bind ${host}:${s.productionPort ?? 8080} name production`,
        `    bind ${host}:${s.stagingPort ?? 8081} name staging`,
        // The connection's birth, then its age at each request: older than the bound → closed after this answer.
        "    tcp-request session set-var(sess.born) date(0,ms)",
        "    http-request set-var(txn.age) date(0,ms),sub(sess.born)",
        `    http-after-response set-header Connection close if { var(txn.age) -m int ge ${maxAge} }`,
        ...servedByHeader(s),
        // Health probes reach the active slot through its probe backend: the slots' backends count users' requests only.
        `    use_backend %[${activeSlot},regsub(^slot_,probe_)] if { path ${s.healthPath ?? "/health"} }`,
        `    use_backend %[${activeSlot}]`,
        ...SLOTS.flatMap((slot) => [
            "",
            `backend ${slotBackend(slot)}`,
            ...(latency ? ["    http-request lua.bluegreen_latency_start", "    http-response lua.bluegreen_latency_observe"] : []),
            `    server app 127.0.0.1:${slotPorts[slot]}`,
        ]),
        ...SLOTS.flatMap((slot) => ["", `backend ${probeBackend(slot)}`, `    server app 127.0.0.1:${slotPorts[slot]}`]),
        ...(s.metricsPort !== undefined
            ? [
                  "",
                  "# Prometheus text (HAProxy's exporter): haproxy_backend_http_responses_total{proxy=\"slot_a\",code=\"5xx\"}, ...",
                  "frontend metrics",
                  `    bind ${host}:${s.metricsPort}`,
                  "    no log",
                  "    http-request use-service prometheus-exporter if { path /metrics }",
                  ...(latency ? [`    http-request use-service lua.bluegreen_latency_metrics if { path ${LATENCY_METRICS_PATH} }`] : []),
                  "    http-request return status 404",
              ]
            : []),
        "",
    ].join("\n");
}

/** The rule that writes `x-served-by`: `<color>@<version> <vm>` (the serving slot's release, the VM). */
function servedByHeader(s: ProxySettings): string[] {
    const parts = [...(s.releasesMapPath ? [`%[be_name,regsub(^probe_,slot_),map(${s.releasesMapPath},unknown)]`] : []), ...(s.servedBy ? [s.servedBy] : [])];
    return parts.length > 0 ? [`    http-after-response set-header x-served-by "${parts.join(" ")}"`] : [];
}

/**
 * The Lua script the proxy loads for the latency histogram (pure; HAProxy 2.4+, Lua 5.3). Per slot backend: the time
 * from the request leaving the frontend's rules to the app's response headers (queue, connect and the app's answer;
 * `core.now()`, HAProxy's clock, ms resolution), counted into cumulative buckets, served as a Prometheus histogram
 * on {@link LATENCY_METRICS_PATH}. Answers the proxy makes itself (503 when the app is down, 504 on timeout) are not
 * timed: the watch counts them as errors. The counters live in the process: a reload or restart starts them at 0, as
 * HAProxy's own.
 */
export function renderLatencyLua(bucketsMs: readonly number[] = LATENCY_BUCKETS_MS): string {
    const finite = bucketsMs.filter((b) => Number.isFinite(b));
    const le = [...finite.map((b) => String(b / 1000)), "+Inf"];
    return [
        "-- Written by vm-scripts/deploy-app.sh (release/localProxy.ts renderLatencyLua): the local proxy's latency histogram.",
        "-- Do not edit: the next deployment rewrites it.",
        `local bounds_ms = { ${finite.join(", ")} }`,
        `local le = { ${le.map((l) => JSON.stringify(l)).join(", ")} }`,
        "local hist = {} -- backend name -> { counts = { per bucket, not cumulative }, sum = seconds, count = n }",
        "",
        "local function now_ms()",
        "  local t = core.now()",
        "  return t.sec * 1000 + t.usec / 1000",
        "end",
        "",
        'core.register_action("bluegreen_latency_start", { "http-req" }, function(txn)',
        "  txn:set_priv(now_ms())",
        "end)",
        "",
        'core.register_action("bluegreen_latency_observe", { "http-res" }, function(txn)',
        "  local t0 = txn:get_priv()",
        '  if type(t0) ~= "number" then return end',
        "  local ms = now_ms() - t0",
        "  if ms < 0 then ms = 0 end",
        "  local be = txn.f:be_name()",
        "  local h = hist[be]",
        "  if h == nil then",
        "    h = { counts = {}, sum = 0, count = 0 }",
        "    for i = 1, #le do h.counts[i] = 0 end",
        "    hist[be] = h",
        "  end",
        "  local i = #le",
        "  for k = 1, #bounds_ms do",
        "    if ms <= bounds_ms[k] then i = k; break end",
        "  end",
        "  h.counts[i] = h.counts[i] + 1",
        "  h.sum = h.sum + ms / 1000",
        "  h.count = h.count + 1",
        "end)",
        "",
        'core.register_service("bluegreen_latency_metrics", "http", function(applet)',
        "  local out = {",
        `    "# HELP ${LATENCY_METRIC} Time from the local proxy to the app's response headers, per slot backend.",`,
        `    "# TYPE ${LATENCY_METRIC} histogram",`,
        "  }",
        "  local names = {}",
        "  for be in pairs(hist) do names[#names + 1] = be end",
        "  table.sort(names)",
        "  for _, be in ipairs(names) do",
        "    local h = hist[be]",
        "    local cumulative = 0",
        "    for i = 1, #le do",
        "      cumulative = cumulative + h.counts[i]",
        `      out[#out + 1] = string.format('${LATENCY_METRIC}_bucket{proxy="%s",le="%s"} %d', be, le[i], cumulative)`,
        "    end",
        `    out[#out + 1] = string.format('${LATENCY_METRIC}_sum{proxy="%s"} %.6f', be, h.sum)`,
        `    out[#out + 1] = string.format('${LATENCY_METRIC}_count{proxy="%s"} %d', be, h.count)`,
        "  end",
        '  local body = table.concat(out, "\\n") .. "\\n"',
        "  applet:set_status(200)",
        '  applet:add_header("content-type", "text/plain; version=0.0.4")',
        '  applet:add_header("content-length", tostring(#body))',
        "  applet:start_response()",
        "  applet:send(body)",
        "end)",
        "",
    ].join("\n");
}

/** The releases map's content: what each slot runs, `<color>@<version>` (`-` for nothing). */
export function renderReleasesMap(releases: Readonly<Record<Slot, string>>): string {
    return SLOTS.map((slot) => `${slotBackend(slot)} ${releases[slot] || "-"}\n`).join("");
}

/** What each slot runs according to a releases map file (`-` when nothing or no file). */
export function parseReleasesMap(text: string | undefined): Record<Slot, string> {
    const out: Record<Slot, string> = { a: "-", b: "-" };
    for (const line of (text ?? "").split("\n")) {
        const m = /^slot_([ab]) (\S+)\s*$/.exec(line);
        if (m) out[m[1] as Slot] = m[2];
    }
    return out;
}

/**
 * Records what `slot` runs in the releases map, in memory (when the proxy runs) and in the file, before requests go
 * there, so the first answer from it already says so.
 */
export async function recordRelease(socketPath: string | undefined, releasesMapPath: string, slot: Slot, release: string): Promise<void> {
    if (!/^[A-Za-z0-9._@+-]{1,80}$/.test(release)) throw new Error(`release ${JSON.stringify(release)} is not <color>@<version>`);
    const releases = { ...parseReleasesMap(fs.existsSync(releasesMapPath) ? fs.readFileSync(releasesMapPath, "utf8") : undefined), [slot]: release };
    if (socketPath) {
        const answer = await runtimeCommand(socketPath, `set map ${releasesMapPath} ${slotBackend(slot)} ${release}`);
        if (answer.trim() !== "") throw new Error(`the local proxy did not record ${release} for slot ${slot}: "${answer.trim()}"`);
    }
    writeFileAtomic(releasesMapPath, renderReleasesMap(releases));
}

/** Sends one command line to HAProxy's runtime API and returns its answer (the socket closes after one command). */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 2000): Promise<string> {
    return new Promise((resolve, reject) => {
        const sock = net.createConnection(socketPath);
        let out = "";
        const timer = setTimeout(() => {
            sock.destroy();
            reject(new Error(`HAProxy's runtime API did not answer "${command}" within ${timeoutMs} ms (${socketPath})`));
        }, timeoutMs);
        sock.setEncoding("utf8");
        sock.on("connect", () => sock.write(command + "\n"));
        sock.on("data", (d: string) => (out += d));
        sock.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        sock.on("close", () => {
            clearTimeout(timer);
            resolve(out);
        });
    });
}

/** The entries of a map as HAProxy holds them in memory (`show map` lines: `0x55d0c5a3e0a0 active slot_a`). */
export function parseShowMap(out: string): Record<string, string> {
    const entries: Record<string, string> = {};
    for (const line of out.split("\n")) {
        const m = /^0x[0-9a-f]+ (\S+) (\S+)$/.exec(line.trim());
        if (m) entries[m[1]] = m[2];
    }
    return entries;
}

/** Requests a server is busy with (`show stat` CSV: its current sessions plus its queue), by `backend/server`. */
export function parseInFlight(csv: string): Record<string, number> {
    const lines = csv.split("\n");
    const header = (lines[0] ?? "").replace(/^# /, "").split(",");
    const col = (name: string): number => header.indexOf(name);
    const [px, sv, qcur, scur] = [col("pxname"), col("svname"), col("qcur"), col("scur")];
    const out: Record<string, number> = {};
    if ([px, sv, qcur, scur].some((i) => i < 0)) return out;
    for (const line of lines.slice(1)) {
        const f = line.split(",");
        if (f.length <= scur || f[sv] === "FRONTEND" || f[sv] === "BACKEND" || !f[px]) continue;
        out[`${f[px]}/${f[sv]}`] = (Number(f[qcur]) || 0) + (Number(f[scur]) || 0);
    }
    return out;
}

/** Writes a file through a temporary one and a rename: a reader sees the old content or the new, never half. */
export function writeFileAtomic(file: string, text: string): void {
    const tmp = `${file}.new`;
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, file);
}

/**
 * Switches the proxy to `slot`: the map in memory (one runtime-API call, read back to confirm), then the map file,
 * so a restart of the proxy keeps the choice. Throws naming HAProxy's answer when the map did not change — the map file
 * is then left as it was, so memory and file never disagree about a switch that did not happen.
 */
export async function switchSlot(socketPath: string, mapPath: string, slot: Slot): Promise<void> {
    const answer = await runtimeCommand(socketPath, `set map ${mapPath} active ${slotBackend(slot)}`);
    const map = parseShowMap(await runtimeCommand(socketPath, `show map ${mapPath}`));
    if (map.active !== slotBackend(slot)) {
        throw new Error(`the local proxy did not switch to slot ${slot}: its map is ${JSON.stringify(map)}, the runtime API said "${answer.trim()}"`);
    }
    writeFileAtomic(mapPath, renderSlotMap(slot));
}

/** Requests the slot's app is busy with, as the proxy counts them. */
export async function inFlight(socketPath: string, slot: Slot): Promise<number> {
    const counts = parseInFlight(await runtimeCommand(socketPath, "show stat"));
    const n = counts[`${slotBackend(slot)}/app`];
    if (n === undefined) throw new Error(`the local proxy has no server ${slotBackend(slot)}/app (show stat); is its configuration this product's?`);
    // Health probes in flight to the slot's app count too (a proxy configured before the probe backends has none).
    return n + (counts[`${probeBackend(slot)}/app`] ?? 0);
}

export interface DrainResult {
    readonly drained: boolean;
    /** In flight when the wait began. */
    readonly atStart: number;
    /** In flight when it ended (0 when drained). */
    readonly left: number;
    readonly waitedMs: number;
}

/**
 * Waits until the slot's app has no request in flight (the proxy sends it no new one once switched away), polling
 * every `intervalMs`, at most `timeoutMs`.
 */
export async function waitDrained(socketPath: string, slot: Slot, timeoutMs: number, intervalMs = 50, now: () => number = Date.now): Promise<DrainResult> {
    const started = now();
    const atStart = await inFlight(socketPath, slot);
    let left = atStart;
    while (left > 0 && now() - started < timeoutMs) {
        await new Promise((r) => setTimeout(r, intervalMs));
        left = await inFlight(socketPath, slot);
    }
    return { drained: left === 0, atStart, left, waitedMs: now() - started };
}

const USAGE = [
    "usage: node local-proxy.js config <settings.json>            print the HAProxy configuration (settings: ProxySettings as JSON)",
    "       node local-proxy.js lua                               print the latency histogram's Lua script (settings' latencyScriptPath)",
    "       node local-proxy.js active <map-file>                  print the slot the map file names (a or b), nothing when none",
    "       node local-proxy.js switch <socket> <map-file> <a|b>   send new requests to the slot, then write the map file",
    "       node local-proxy.js drain <socket> <a|b> <timeout-s>   wait until the slot has no request in flight (exit 3: still busy)",
    "       node local-proxy.js in-flight <socket> <a|b>           print how many requests the slot's app is busy with",
    "       node local-proxy.js release <socket|-> <releases-map> <a|b> <color@version>   record what the slot runs (x-served-by)",
].join("\n");

/** The command line: what deploy-app.sh calls. Resolves with the exit code. */
export async function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
    const [command, ...args] = argv;
    try {
        if (command === "config" && args.length === 1) {
            out(renderProxyConfig(JSON.parse(fs.readFileSync(args[0], "utf8")) as ProxySettings).trimEnd());
            return 0;
        }
        if (command === "lua" && args.length === 0) {
            out(renderLatencyLua().trimEnd());
            return 0;
        }
        if (command === "active" && args.length === 1) {
            const slot = parseSlotMap(fs.existsSync(args[0]) ? fs.readFileSync(args[0], "utf8") : undefined);
            if (slot) out(slot);
            return 0;
        }
        if (command === "switch" && args.length === 3 && isSlot(args[2])) {
            const started = Date.now();
            await switchSlot(args[0], args[1], args[2]);
            out(`local-proxy: new requests go to slot ${args[2]} (${Date.now() - started} ms)`);
            return 0;
        }
        if (command === "drain" && args.length === 3 && isSlot(args[1]) && Number(args[2]) >= 0) {
            const r = await waitDrained(args[0], args[1], Number(args[2]) * 1000);
            out(r.drained
                ? `local-proxy: slot ${args[1]} drained: ${r.atStart} request(s) in flight at the switch, none after ${r.waitedMs} ms`
                : `local-proxy: slot ${args[1]} still has ${r.left} request(s) in flight after ${args[2]} s (stopTimeoutSeconds); stopping it anyway`);
            return r.drained ? 0 : 3;
        }
        if (command === "release" && args.length === 4 && isSlot(args[2])) {
            await recordRelease(args[0] === "-" ? undefined : args[0], args[1], args[2], args[3]);
            return 0;
        }
        if (command === "in-flight" && args.length === 2 && isSlot(args[1])) {
            out(String(await inFlight(args[0], args[1])));
            return 0;
        }
    } catch (e) {
        err(`local-proxy: ${(e as Error).message}`);
        return 1;
    }
    err(USAGE);
    return 2;
}

if (require.main === module) {
    void main(process.argv.slice(2), (s) => console.log(s), (s) => console.error(s)).then((code) => {
        process.exitCode = code;
    });
}
