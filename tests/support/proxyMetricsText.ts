/** Stand-ins of HAProxy 2.6's Prometheus text (release/localProxy.ts `/metrics`) for the watch's unit tests. */

export type ClassCounts = Partial<Record<"2xx" | "3xx" | "4xx" | "5xx", number>>;

/** HAProxy's exporter text for one VM (the lines the watch reads, plus a frontend that must not count). */
export function metricsText(c: { a: Partial<Record<"2xx" | "3xx" | "4xx" | "5xx", number>>; b?: Partial<Record<"2xx" | "3xx" | "4xx" | "5xx", number>>; connErrors?: number; start?: number; meanS?: number }): string {
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
    return lines.join("\n") + "\n";
}
