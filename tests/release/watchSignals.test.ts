import { metricsText } from "../support/proxyMetricsText";
import { counterReset, countersFromMetrics, parsePrometheusText, ProxyCounters, sampleFromCounters } from "../../release/watchSignals";

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

    it("is the counters' increase, minus the watch's own probe, with the probe's verdict and round trip", () => {
        const s = sampleFromCounters({ ...base, before: counters({ "2xx": 100, "5xx": 3 }), after: counters({ "2xx": 181, "5xx": 23, "4xx": 2 }), probe: { status: 200, ms: 12 } });
        expect(s.requests).toEqual({ "2xx": 80, "3xx": 0, "4xx": 2, "5xx": 20 });
        expect(s.connectionErrors).toBe(0);
        expect(s.probe).toBe("pass");
        expect(s.latency.find((b) => b.leMs === 25)?.count).toBe(1);
        expect(s.latency.find((b) => b.leMs === 10)?.count).toBe(0);
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
