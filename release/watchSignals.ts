/**
 * The post-flip watch's signals (issue 16, point 1): each app VM's local proxy (HAProxy, release/localProxy.ts) serves
 * its counters in Prometheus text on `/metrics` (HAProxy's own exporter) and its latency histogram on
 * `/metrics/latency` (the proxy's Lua script). The watch reads both every interval and turns two consecutive reads of
 * one VM into one `Sample` (release/postFlipAnalysis.ts): the answers by status class, the connection errors and the
 * latency buckets of that interval, summed over the VM's slots (`slot_a`, `slot_b`), and the result of the watch's
 * own health probe.
 *
 * - Only the slots' backends are counted (`proxy="slot_a"|"slot_b"`): health probes (the load balancer's, several a
 *   second on Azure, and the watch's own) go through the proxy's probe backends (`probe_a`, `probe_b`) and the
 *   metrics frontend's answers are not requests of the app. So a color without users' traffic counts 0 requests.
 * - A request the proxy could not connect to the app for is answered 503 by the proxy and counted both as a 5xx
 *   answer and as a connection error (measured): it is counted once, as a connection error.
 * - A counter that went down, or a new `haproxy_process_start_time_seconds`, means the proxy restarted (a reload, a
 *   reboot): the interval counts what the new process counted, never a negative or a huge delta.
 * - Latency: the histogram `bluegreen_proxy_response_seconds` times every answer of the app to a user's request
 *   (HAProxy 2.6's exporter has only a mean and a maximum); an interval's buckets are the histogram's increase. A proxy
 *   without the histogram (configured by an older release of the product) gives samples without latency, never the
 *   probe's round trip. HAProxy's mean (`haproxy_backend_response_time_average_seconds`) is kept for people.
 *
 * Node built-ins only: the release agent runs it from the tool bundle.
 */
import { LATENCY_METRIC } from "./localProxy";
import { LatencyBucket, Sample, StatusClass } from "./postFlipAnalysis";

/** The counters of one read of one VM's `/metrics`, summed over its slots. */
export interface ProxyCounters {
    /** `haproxy_process_start_time_seconds`: a new value means a new process (counters start again). */
    readonly processStart?: number;
    readonly responses: Readonly<Record<StatusClass, number>>;
    readonly connectionErrors: number;
    /** Mean response time of the last 1,024 answers (ms), the largest over the slots; undefined when not served. */
    readonly meanResponseMs?: number;
    /** The latency histogram since the process started, summed over the slots (cumulative); undefined when not served. */
    readonly latency?: readonly LatencyBucket[];
}

const CLASSES: readonly StatusClass[] = ["2xx", "3xx", "4xx", "5xx"];

/** One Prometheus text line: `name{label="v",…} value`. */
interface MetricLine {
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly value: number;
}

/** The samples of a Prometheus text exposition (comments and malformed lines skipped). */
export function parsePrometheusText(text: string): MetricLine[] {
    const out: MetricLine[] = [];
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
        if (!m) continue;
        const labels: Record<string, string> = {};
        for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_s, c: string) => (c === "n" ? "\n" : c));
        const value = Number(m[3]);
        if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
    }
    return out;
}

/** Is this backend one of the local proxy's slots (`slot_a`, `slot_b`)? */
export const isSlotBackend = (proxy: string | undefined): boolean => proxy !== undefined && /^slot_[ab]$/.test(proxy);

/**
 * The slots' latency histogram in a `/metrics/latency` text, summed over the slots: cumulative buckets by bound (ms,
 * the last Infinity). Empty when no slot answered yet (the histogram has no series then); undefined when the text has
 * no `# TYPE` line of the histogram (not the local proxy's).
 */
export function latencyFromMetrics(text: string): LatencyBucket[] | undefined {
    if (!new RegExp(`^# TYPE ${LATENCY_METRIC} histogram$`, "m").test(text)) return undefined;
    const byBound = new Map<number, number>();
    for (const l of parsePrometheusText(text)) {
        if (l.name !== `${LATENCY_METRIC}_bucket` || !isSlotBackend(l.labels.proxy)) continue;
        const le = l.labels.le === "+Inf" ? Infinity : Number(l.labels.le) * 1000;
        if (Number.isNaN(le)) continue;
        const leMs = Math.round(le * 1000) / 1000;
        byBound.set(leMs, (byBound.get(leMs) ?? 0) + l.value);
    }
    return [...byBound.entries()].sort((a, b) => a[0] - b[0]).map(([leMs, count]) => ({ leMs, count }));
}

/**
 * The counters of one `/metrics` read (and of `/metrics/latency`, when served). Throws when the text is not the local
 * proxy's (no slot backend's answers): a wrong port or another service must not read as a VM without traffic.
 */
export function countersFromMetrics(text: string, latencyText?: string): ProxyCounters {
    const lines = parsePrometheusText(text);
    const slot = lines.filter((l) => isSlotBackend(l.labels.proxy));
    const responses = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<StatusClass, number>;
    let seen = false;
    for (const l of slot) {
        if (l.name !== "haproxy_backend_http_responses_total") continue;
        seen = true;
        const code = l.labels.code as StatusClass;
        if (CLASSES.includes(code)) responses[code] += l.value;
    }
    if (!seen) throw new Error("no haproxy_backend_http_responses_total of a slot (slot_a, slot_b): not the local proxy's /metrics");
    const connectionErrors = slot.filter((l) => l.name === "haproxy_backend_connection_errors_total").reduce((n, l) => n + l.value, 0);
    const means = slot.filter((l) => l.name === "haproxy_backend_response_time_average_seconds").map((l) => l.value * 1000);
    const start = lines.find((l) => l.name === "haproxy_process_start_time_seconds");
    const latency = latencyText === undefined ? undefined : latencyFromMetrics(latencyText);
    return {
        ...(start ? { processStart: start.value } : {}),
        responses,
        connectionErrors,
        ...(means.length > 0 ? { meanResponseMs: Math.max(...means) } : {}),
        ...(latency ? { latency } : {}),
    };
}

/** The watch's health probe of one VM in one interval. */
export interface ProbeResult {
    /** The HTTP status, undefined when no answer came (refused, reset, timeout). */
    readonly status?: number;
    /** Round trip in ms (to the answer or to the failure). */
    readonly ms: number;
}

/** Answers a cumulative histogram counts (its last bucket, +Inf); 0 for none. */
const answered = (buckets: readonly LatencyBucket[] | undefined): number => buckets?.[buckets.length - 1]?.count ?? 0;

/** Did the proxy restart between two reads? (a new process start time, or any counter lower than before) */
export function counterReset(before: ProxyCounters, after: ProxyCounters): boolean {
    if (before.processStart !== undefined && after.processStart !== undefined && before.processStart !== after.processStart) return true;
    return CLASSES.some((c) => after.responses[c] < before.responses[c]) || after.connectionErrors < before.connectionErrors || answered(after.latency) < answered(before.latency);
}

/**
 * The increase of a cumulative histogram from `before` to `after` (both since the process started): the interval's
 * buckets. `after` itself when the proxy restarted in between; empty when either read has no histogram.
 */
export function latencyIncrease(before: readonly LatencyBucket[] | undefined, after: readonly LatencyBucket[] | undefined, reset: boolean): LatencyBucket[] {
    if (!after || after.length === 0) return [];
    if (reset) return after.map((b) => ({ ...b }));
    if (!before) return [];
    const was = new Map(before.map((b) => [b.leMs, b.count]));
    const out = after.map((b) => ({ leMs: b.leMs, count: Math.max(0, b.count - (was.get(b.leMs) ?? 0)) }));
    return answered(out) > 0 ? out : [];
}

/** The health probe's verdict: 200 passes, anything else (no answer included) fails. */
export const probeVerdict = (p: ProbeResult): "pass" | "fail" => (p.status === 200 ? "pass" : "fail");

export interface SampleInput {
    readonly color: string;
    readonly vm: string;
    readonly startMs: number;
    /** The previous read (undefined: the proxy could not be read then). */
    readonly before?: ProxyCounters;
    /** This read (undefined: the proxy could not be read now; the sample then has no requests). */
    readonly after?: ProxyCounters;
    /** The watch's probe sent in this interval (through the probe backends: not in the counts). */
    readonly probe?: ProbeResult;
}

/**
 * One VM's sample of one interval: the counters' and the histogram's increase from `before` to `after` (what the new
 * process counted when the proxy restarted in between), with the probe's result.
 */
export function sampleFromCounters(i: SampleInput): Sample {
    const requests = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<StatusClass, number>;
    let connectionErrors = 0;
    let latency: LatencyBucket[] = [];
    if (i.after && i.before) {
        const reset = counterReset(i.before, i.after);
        for (const c of CLASSES) requests[c] = reset ? i.after.responses[c] : i.after.responses[c] - i.before.responses[c];
        latency = latencyIncrease(i.before.latency, i.after.latency, reset);
        // Measured on HAProxy 2.6: a request whose connection to the app fails is answered 503 by the proxy and counted
        // in both connection_errors and the 5xx answers. Counted once here, as a connection error.
        const errors = reset ? i.after.connectionErrors : i.after.connectionErrors - i.before.connectionErrors;
        connectionErrors = Math.min(errors, requests["5xx"]);
        requests["5xx"] -= connectionErrors;
    }
    return {
        color: i.color,
        vm: i.vm,
        startMs: i.startMs,
        requests,
        connectionErrors,
        latency,
        ...(i.probe ? { probe: probeVerdict(i.probe) } : {}),
    };
}

/**
 * A VM's counters since its proxy started, as one sample: the old color's history up to the watch's start, the
 * baseline the new color is compared with (the analysis uses only its sums).
 */
export function lifetimeSample(color: string, vm: string, startMs: number, c: ProxyCounters): Sample {
    const latency = c.latency && answered(c.latency) > 0 ? c.latency.map((b) => ({ ...b })) : [];
    return { color, vm, startMs, requests: { ...c.responses }, connectionErrors: c.connectionErrors, latency };
}
