/**
 * Stand-ins of the local proxy's Prometheus text for the watch's unit tests: HAProxy 2.6's exporter (`/metrics`) and
 * the proxy's latency histogram (`/metrics/latency`, release/localProxy.ts renderLatencyLua). The shapes were copied
 * from a real HAProxy (tests/release/watchSignals.int.test.ts reads the real ones).
 */
import { LATENCY_BUCKETS_MS, LATENCY_METRIC } from "../../release/localProxy";

export type ClassCounts = Partial<Record<"2xx" | "3xx" | "4xx" | "5xx", number>>;

/** HAProxy's exporter text for one VM (the lines the watch reads, plus a frontend that must not count). */
export function metricsText(c: { a: Partial<Record<"2xx" | "3xx" | "4xx" | "5xx", number>>; b?: Partial<Record<"2xx" | "3xx" | "4xx" | "5xx", number>>; connErrors?: number; start?: number; meanS?: number; probes?: number }): string {
    const lines = [
        "# HELP haproxy_process_start_time_seconds Start time in seconds",
        "# TYPE haproxy_process_start_time_seconds gauge",
        `haproxy_process_start_time_seconds ${c.start ?? 1796165083}`,
        `haproxy_frontend_http_responses_total{proxy="app",code="2xx"} 999999`,
        `haproxy_backend_http_responses_total{proxy="metrics",code="2xx"} 777`,
    ];
    for (const [slot, counts] of [["slot_a", c.a], ["slot_b", c.b ?? {}]] as const) {
        for (const code of ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]) {
            lines.push(`haproxy_backend_http_responses_total{proxy="${slot}",code="${code}"} ${(counts as Record<string, number>)[code] ?? 0}`);
        }
        lines.push(`haproxy_backend_connection_errors_total{proxy="${slot}"} ${slot === "slot_a" ? (c.connErrors ?? 0) : 0}`);
        lines.push(`haproxy_backend_response_time_average_seconds{proxy="${slot}"} ${slot === "slot_a" ? (c.meanS ?? 0.001).toFixed(6) : "0.000000"}`);
    }
    // The health probes' backend: the load balancer's and the watch's probes, never the users' requests.
    lines.push(`haproxy_backend_http_responses_total{proxy="probe_a",code="2xx"} ${c.probes ?? 0}`);
    return lines.join("\n") + "\n";
}

/** The latency histogram's text for one VM: each slot's answers' times (ms), as the proxy's Lua script writes it. */
export function latencyText(slots: Partial<Record<"slot_a" | "slot_b", readonly number[]>>): string {
    const lines = [`# HELP ${LATENCY_METRIC} Time from the local proxy to the app's response headers, per slot backend.`, `# TYPE ${LATENCY_METRIC} histogram`];
    for (const [slot, ms] of Object.entries(slots)) {
        for (const le of LATENCY_BUCKETS_MS) {
            const label = Number.isFinite(le) ? String(le / 1000) : "+Inf";
            lines.push(`${LATENCY_METRIC}_bucket{proxy="${slot}",le="${label}"} ${ms.filter((v) => v <= le).length}`);
        }
        lines.push(`${LATENCY_METRIC}_sum{proxy="${slot}"} ${(ms.reduce((a, b) => a + b, 0) / 1000).toFixed(6)}`);
        lines.push(`${LATENCY_METRIC}_count{proxy="${slot}"} ${ms.length}`);
    }
    return lines.join("\n") + "\n";
}
