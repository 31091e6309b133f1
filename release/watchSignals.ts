/**
 * The post-flip watch's signals (issue 16, point 1): each app VM's local proxy (HAProxy, release/localProxy.ts) serves
 * its counters in Prometheus text on `/metrics` (HAProxy's own exporter). The watch reads them every interval and turns
 * two consecutive reads of one VM into one `Sample` (release/postFlipAnalysis.ts): the answers by status class and
 * the connection errors of that interval, summed over the VM's slots (`slot_a`, `slot_b`), and the result of the
 * watch's own health probe.
 *
 * - A request the proxy could not connect to the app for is answered 503 by the proxy and counted both as a 5xx
 *   answer and as a connection error (measured): it is counted once, as a connection error.
 * - Only the slots' backends are counted (`proxy="slot_a"|"slot_b"`): the metrics frontend's own answers are not
 *   requests of the app.
 * - A counter that went down, or a new `haproxy_process_start_time_seconds`, means the proxy restarted (a reload, a
 *   reboot): the interval counts what the new process counted, never a negative or a huge delta.
 * - The watch's probe passes through the proxy too: its answer is taken out of the interval's counts, so the watch
 *   never mistakes its own probes for traffic.
 * - Latency: HAProxy 2.6's exporter has no histogram, only `haproxy_backend_response_time_average_seconds` (the mean
 *   of the last 1,024 answers, not of the interval) and `haproxy_backend_max_response_time_seconds` (since the
 *   proxy started). Neither is a percentile, so neither feeds the analysis' latency rule: the buckets of a sample are
 *   the watch's own probe's round trip (through the proxy to the app), and the proxy's mean is kept in the record for
 *   people (docs/post-flip-watch.md, "Latency").
 *
 * Node built-ins only: the release agent runs it from the tool bundle.
 */
import { DEFAULT_LATENCY_BUCKETS_MS, LatencyBucket, Sample, StatusClass } from "./postFlipAnalysis";

/** The counters of one read of one VM's `/metrics`, summed over its slots. */
export interface ProxyCounters {
    /** `haproxy_process_start_time_seconds`: a new value means a new process (counters start again). */
    readonly processStart?: number;
    readonly responses: Readonly<Record<StatusClass, number>>;
    readonly connectionErrors: number;
    /** Mean response time of the last 1,024 answers (ms), the largest over the slots; undefined when not served. */
    readonly meanResponseMs?: number;
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
 * The counters of one `/metrics` read. Throws when the text is not the local proxy's (no slot backend's answers):
 * a wrong port or another service must not read as a VM without traffic.
 */
export function countersFromMetrics(text: string): ProxyCounters {
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
    return {
        ...(start ? { processStart: start.value } : {}),
        responses,
        connectionErrors,
        ...(means.length > 0 ? { meanResponseMs: Math.max(...means) } : {}),
    };
}

/** The watch's health probe of one VM in one interval. */
export interface ProbeResult {
    /** The HTTP status, undefined when no answer came (refused, reset, timeout). */
    readonly status?: number;
    /** Round trip in ms (to the answer or to the failure). */
    readonly ms: number;
}

/** Did the proxy restart between two reads? (a new process start time, or any counter lower than before) */
export function counterReset(before: ProxyCounters, after: ProxyCounters): boolean {
    if (before.processStart !== undefined && after.processStart !== undefined && before.processStart !== after.processStart) return true;
    return CLASSES.some((c) => after.responses[c] < before.responses[c]) || after.connectionErrors < before.connectionErrors;
}

/** The probe's status class, when it got an answer the proxy counted. */
function probeClass(p: ProbeResult | undefined): StatusClass | undefined {
    if (p?.status === undefined) return undefined;
    const c = `${Math.floor(p.status / 100)}xx`;
    return CLASSES.includes(c as StatusClass) ? (c as StatusClass) : undefined;
}

/** The health probe's verdict: 200 passes, anything else (no answer included) fails. */
export const probeVerdict = (p: ProbeResult): "pass" | "fail" => (p.status === 200 ? "pass" : "fail");

/** Cumulative buckets of the given latencies (ms) over `bounds` (the last is Infinity). */
export function latencyBuckets(values: readonly number[], bounds: readonly number[] = DEFAULT_LATENCY_BUCKETS_MS): LatencyBucket[] {
    if (values.length === 0) return [];
    return bounds.map((leMs) => ({ leMs, count: values.filter((v) => v <= leMs).length }));
}

export interface SampleInput {
    readonly color: string;
    readonly vm: string;
    readonly startMs: number;
    /** The previous read (undefined: the proxy could not be read then). */
    readonly before?: ProxyCounters;
    /** This read (undefined: the proxy could not be read now; the sample then has no requests). */
    readonly after?: ProxyCounters;
    /** The watch's probe sent in this interval, before `after` was read (its answer is in `after`'s counts). */
    readonly probe?: ProbeResult;
}

/**
 * One VM's sample of one interval: the counters' increase from `before` to `after` (what the new process counted when
 * the proxy restarted in between), minus the watch's own probe, with the probe's result and round trip.
 */
export function sampleFromCounters(i: SampleInput): Sample {
    const requests = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<StatusClass, number>;
    let connectionErrors = 0;
    if (i.after && i.before) {
        const reset = counterReset(i.before, i.after);
        for (const c of CLASSES) requests[c] = reset ? i.after.responses[c] : i.after.responses[c] - i.before.responses[c];
        const own = probeClass(i.probe);
        if (own) requests[own] = Math.max(0, requests[own] - 1);
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
        latency: i.probe ? latencyBuckets([i.probe.ms]) : [],
        ...(i.probe ? { probe: probeVerdict(i.probe) } : {}),
    };
}

/**
 * A VM's counters since its proxy started, as one sample: the old color's history up to the watch's start, the
 * baseline the new color is compared with (the analysis uses only its sums).
 */
export function lifetimeSample(color: string, vm: string, startMs: number, c: ProxyCounters): Sample {
    return { color, vm, startMs, requests: { ...c.responses }, connectionErrors: c.connectionErrors, latency: [] };
}
