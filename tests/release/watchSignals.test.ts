import { latencyText, metricsText } from "../support/proxyMetricsText";
import { counterReset, countersFromMetrics, latencyFromMetrics, lifetimeSample, parsePrometheusText, ProxyCounters, sampleFromCounters } from "../../release/watchSignals";

describe("reading the local proxy's Prometheus text", () => {
    it("parses names, labels and values, skipping comments", () => {
        expect(parsePrometheusText('# HELP x\nfoo{a="1",b="x\\"y"} 3.5\nbar 2\nnot a line\n')).toEqual([
            { name: "foo", labels: { a: "1", b: 'x"y' }, value: 3.5 },
            { name: "bar", labels: {}, value: 2 },
        ]);
    });

    it("sums both slots' answers by class and counts no other proxy", () => {
        const c = countersFromMetrics(metricsText({ a: { "2xx": 10, "5xx": 2 }, b: { "2xx": 5, "4xx": 1 }, connErrors: 1, meanS: 0.25 }));
        expect(c).toEqual({ processStart: 1796165083, responses: { "2xx": 15, "3xx": 0, "4xx": 1, "5xx": 2 }, connectionErrors: 1, meanResponseMs: 250 });
    });

    it("counts no health probe: the probe backends' answers are not the users' requests", () => {
        const c = countersFromMetrics(metricsText({ a: { "2xx": 3 }, probes: 5000 }));
        expect(c.responses["2xx"]).toBe(3);
    });

    it("sums both slots' latency histograms into cumulative buckets in ms", () => {
        const text = latencyText({ slot_a: [3, 30, 700], slot_b: [12, 4000] }) + 'bluegreen_proxy_response_seconds_bucket{proxy="probe_a",le="+Inf"} 99\n';
        const buckets = latencyFromMetrics(text) ?? [];
        expect(buckets.map((b) => b.leMs)).toEqual([5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, Infinity]);
        expect(Object.fromEntries(buckets.map((b) => [b.leMs, b.count]))).toMatchObject({ 5: 1, 10: 1, 25: 2, 50: 3, 500: 3, 1000: 4, 2500: 4, 5000: 5, Infinity: 5 });
        expect(latencyFromMetrics(latencyText({}))).toEqual([]); // served, nothing answered yet
        expect(latencyFromMetrics("404 page")).toBeUndefined(); // not the histogram
        expect(countersFromMetrics(metricsText({ a: {} }), text).latency?.at(-1)?.count).toBe(5);
    });

    it("refuses a text without the slots' answers (a wrong port must not read as a VM without traffic)", () => {
        expect(() => countersFromMetrics('haproxy_backend_http_responses_total{proxy="other",code="2xx"} 5\n')).toThrow(/not the local proxy's/);
    });
});

const counters = (r: Partial<ProxyCounters["responses"]>, connectionErrors = 0, processStart = 100): ProxyCounters => ({
    processStart,
    responses: { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, ...r },
    connectionErrors,
});

describe("two reads of one VM → the interval's sample", () => {
    const base = { color: "green", vm: "green-vm-0", startMs: 5000 };

    it("is the counters' increase with the probe's verdict; its latency is the users' requests', not the probe's", () => {
        const hist = (ms: number[]): ProxyCounters["latency"] => latencyFromMetrics(latencyText({ slot_a: ms }));
        const before = { ...counters({ "2xx": 100, "5xx": 3 }), latency: hist([20, 20, 20]) };
        const after = { ...counters({ "2xx": 181, "5xx": 23, "4xx": 2 }), latency: hist([20, 20, 20, 30, 800, 800]) };
        const s = sampleFromCounters({ ...base, before, after, probe: { status: 200, ms: 2 } });
        expect(s.requests).toEqual({ "2xx": 81, "3xx": 0, "4xx": 2, "5xx": 20 });
        expect(s.connectionErrors).toBe(0);
        expect(s.probe).toBe("pass");
        expect(s.latency.find((b) => b.leMs === 5)?.count).toBe(0); // the probe's 2 ms is not in it
        expect(s.latency.find((b) => b.leMs === 25)?.count).toBe(0);
        expect(s.latency.find((b) => b.leMs === 50)?.count).toBe(1);
        expect(s.latency.find((b) => b.leMs === 1000)?.count).toBe(3);
        // no answer in the interval, or a proxy without the histogram: no latency, never a made-up one
        expect(sampleFromCounters({ ...base, before: after, after }).latency).toEqual([]);
        expect(sampleFromCounters({ ...base, before: counters({}), after: counters({ "2xx": 5 }), probe: { status: 200, ms: 2 } }).latency).toEqual([]);
    });

    it("after a restart of the proxy takes the new process's histogram, and keeps the old color's history as its baseline", () => {
        const hist = (ms: number[]): ProxyCounters["latency"] => latencyFromMetrics(latencyText({ slot_a: ms }));
        const before = { ...counters({ "2xx": 500 }), latency: hist(Array<number>(500).fill(20)) };
        const after = { ...counters({ "2xx": 2 }, 0, 160), latency: hist([3000, 3000]) };
        expect(sampleFromCounters({ ...base, before, after }).latency.find((b) => b.leMs === 2500)?.count).toBe(0);
        expect(sampleFromCounters({ ...base, before, after }).latency.at(-1)?.count).toBe(2);
        expect(lifetimeSample("blue", "blue-vm-0", 0, before).latency.find((b) => b.leMs === 25)?.count).toBe(500);
    });

    it("counts a refused connection once (HAProxy counts it as a connection error and as its own 503)", () => {
        const s = sampleFromCounters({ ...base, before: counters({ "5xx": 0 }, 0), after: counters({ "5xx": 7, "2xx": 10 }, 4) });
        expect(s.requests["5xx"]).toBe(3);
        expect(s.connectionErrors).toBe(4);
    });

    it("after a restart of the proxy counts what the new process counted: never negative, never the old totals", () => {
        const before = counters({ "2xx": 50_000, "5xx": 40 }, 2, 100);
        const restarted = counters({ "2xx": 30, "5xx": 1 }, 0, 160);
        expect(counterReset(before, restarted)).toBe(true);
        expect(sampleFromCounters({ ...base, before, after: restarted }).requests).toEqual({ "2xx": 30, "3xx": 0, "4xx": 0, "5xx": 1 });
        // The same without a start time: a counter that went down is a restart too.
        const noStart = (c: ProxyCounters): ProxyCounters => ({ responses: c.responses, connectionErrors: c.connectionErrors });
        expect(sampleFromCounters({ ...base, before: noStart(before), after: noStart(restarted) }).requests["2xx"]).toBe(30);
        expect(counterReset(counters({ "2xx": 5 }), counters({ "2xx": 6 }))).toBe(false);
    });

    it("has no requests when the VM could not be read, and a failed probe when it did not answer", () => {
        const s = sampleFromCounters({ ...base, before: counters({ "2xx": 5 }), probe: { ms: 2000 } });
        expect(s.requests).toEqual({ "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 });
        expect(s.probe).toBe("fail");
    });
});
