import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import type { RequestRecord } from "../../rehearsal/load";
import {
    analyse,
    DEFAULT_WATCH_THRESHOLDS,
    latencyPercentile,
    mergeLatency,
    Sample,
    samplesFromRecords,
    thresholdProblems,
    WatchThresholds,
} from "../../release/postFlipAnalysis";

const T = DEFAULT_WATCH_THRESHOLDS; // 5% errors, p95 ≤ 1000 ms, 20 requests per interval, 3 in a row, 5 s intervals
const STEP = T.watchIntervalSeconds * 1000;

/** One interval of traffic as the rehearsal's load generator would record it. */
interface Second {
    readonly requests: number;
    /** Fraction answered 5xx. */
    readonly fiveXx?: number;
    /** Extra 4xx answers (one client's burst). */
    readonly fourXx?: number;
    /** Requests that got no answer. */
    readonly connErrors?: number;
    readonly latencyMs?: number;
}

/** Request records for consecutive intervals of `T.watchIntervalSeconds`, starting at `fromMs`, answered by `color`. */
function records(intervals: readonly Second[], color: "blue" | "green" = "green", fromMs = 0): RequestRecord[] {
    const out: RequestRecord[] = [];
    intervals.forEach((iv, k) => {
        const total = iv.requests + (iv.fourXx ?? 0) + (iv.connErrors ?? 0);
        const bad = Math.round(iv.requests * (iv.fiveXx ?? 0));
        for (let j = 0; j < total; j++) {
            const start = fromMs + k * STEP + Math.floor((j * STEP) / Math.max(total, 1));
            const base = { kind: "steady" as const, client: j % 20, connection: j % 20, newConnection: false, start, phase: "green live" };
            if (j < iv.requests) {
                out.push({ ...base, end: start + (iv.latencyMs ?? 20), status: j < bad ? 503 : 200, color, version: "2.0.0" });
            } else if (j < iv.requests + (iv.fourXx ?? 0)) {
                out.push({ ...base, end: start + 5, status: 404, color, version: "2.0.0" });
            } else {
                out.push({ ...base, end: start + 3, error: "ECONNRESET" });
            }
        }
    });
    return out;
}

function samples(intervals: readonly Second[], color: "blue" | "green" = "green", fromMs = 0): Sample[] {
    return samplesFromRecords(records(intervals, color, fromMs), {
        color,
        intervalSeconds: T.watchIntervalSeconds,
        fromMs,
        toMs: fromMs + intervals.length * STEP,
        includeUnattributed: true,
    });
}

const judgedOf = (s: Sample): number => s.requests["2xx"] + s.requests["3xx"] + s.requests["5xx"] + s.connectionErrors;

const healthy = (n: number, requests = 500): Second[] => Array.from({ length: n }, () => ({ requests }));

describe("samplesFromRecords buckets request records per interval like the local proxy would count them", () => {
    it("counts status classes, connection errors and latency buckets per interval, empty intervals included", () => {
        const recs = records([{ requests: 10, fiveXx: 0.2, fourXx: 3, connErrors: 2, latencyMs: 300 }, { requests: 0 }]);
        const s = samplesFromRecords(recs, { color: "green", intervalSeconds: 5, fromMs: 0, toMs: 15000, includeUnattributed: true });
        expect(s.map((x) => x.startMs)).toEqual([0, 5000, 10000]);
        expect(s[0].requests).toEqual({ "2xx": 8, "3xx": 0, "4xx": 3, "5xx": 2 });
        expect(s[0].connectionErrors).toBe(2);
        expect(latencyPercentile(s[0].latency, 95)).toBe(500);
        expect(s[1].requests["2xx"] + s[2].connectionErrors).toBe(0);
    });

    it("leaves out the other color's requests, and transport failures unless asked", () => {
        const recs = [...records([{ requests: 10, connErrors: 4 }], "green"), ...records([{ requests: 7 }], "blue")];
        const [g] = samplesFromRecords(recs, { color: "green", intervalSeconds: 5, fromMs: 0, toMs: 5000 });
        expect(g.requests["2xx"]).toBe(10);
        expect(g.connectionErrors).toBe(0);
    });
});

describe("latency buckets", () => {
    it("estimates a percentile as the bound of the bucket holding it, never below the truth", () => {
        const b = [
            { leMs: 100, count: 90 },
            { leMs: 500, count: 96 },
            { leMs: Infinity, count: 100 },
        ];
        expect(latencyPercentile(b, 90)).toBe(100);
        expect(latencyPercentile(b, 95)).toBe(500);
        expect(latencyPercentile(b, 99)).toBe(Infinity);
        expect(latencyPercentile([], 95)).toBeNaN();
    });

    it("merges VMs with different bounds, erring on the slow side", () => {
        const m = mergeLatency([
            [{ leMs: 100, count: 10 }, { leMs: Infinity, count: 10 }],
            [{ leMs: 50, count: 5 }, { leMs: 200, count: 10 }, { leMs: Infinity, count: 10 }],
        ]);
        expect(m).toEqual([
            { leMs: 50, count: 5 },
            { leMs: 100, count: 15 },
            { leMs: 200, count: 20 },
            { leMs: Infinity, count: 20 },
        ]);
    });
});

describe("analyse: a broken new color fails (the true side)", () => {
    it.each<[string, Second[], RegExp]>([
        ["20% 5xx from the start: fail after 3 intervals", healthy(3).map((s) => ({ ...s, fiveXx: 0.2 })), /error ratio \(5xx \+ connection errors\) 20% over 3 interval\(s\) in a row \(threshold 5%\), 1,500 requests/],
        ["20% 5xx after a good start", [...healthy(4), ...healthy(3).map((s) => ({ ...s, fiveXx: 0.2 }))], /20% over 3 interval/],
        ["connection errors count as failures", healthy(3).map((s) => ({ ...s, connErrors: 100 })), /error ratio .* 16\.7% over 3/],
        ["p95 latency 3 s after the warm-up interval", [{ requests: 500 }, ...healthy(3).map((s) => ({ ...s, latencyMs: 3000 }))], /p95 latency above 1,000 ms \(up to 5,000 ms\) over 3 interval/],
        ["no traffic at all", [{ requests: 0 }, { requests: 0 }], /no traffic: 0 requests in 2 interval/],
        ["no traffic for 3 intervals after some", [...healthy(2), { requests: 0 }, { requests: 0 }, { requests: 0 }], /no traffic for 3 intervals in a row \(15 s/],
    ])("%s", (_name, intervals, reason) => {
        const a = analyse(samples(intervals), undefined, T);
        expect(a.verdict).toBe("fail");
        expect(a.reasons.join("\n")).toMatch(reason);
    });

    it("fails within exactly the consecutive intervals: 2 bad intervals are not yet a fail, the 3rd is", () => {
        const bad = healthy(3).map((s) => ({ ...s, fiveXx: 0.2 }));
        expect(analyse(samples(bad.slice(0, 2)), undefined, T).verdict).toBe("pass");
        expect(analyse(samples(bad), undefined, T).verdict).toBe("fail");
    });

    it("intervals no VM reported at all count as empty: silence for 3 intervals is no traffic", () => {
        const s = samples([...healthy(2), { requests: 0 }, { requests: 0 }, { requests: 0 }, ...healthy(1)]);
        const silent = s.filter((x) => judgedOf(x) > 0);
        expect(silent).toHaveLength(3);
        const a = analyse(silent, undefined, T);
        expect(a.verdict).toBe("fail");
        expect(a.reasons[0]).toMatch(/no traffic for 3 intervals in a row/);
    });

    it("no samples at all is fail, never inconclusive", () => {
        expect(analyse([], undefined, T)).toEqual({ verdict: "fail", reasons: [expect.stringMatching(/no samples/)] });
    });

    it("a VM whose health probe fails 3 intervals in a row fails the color, though the other VM serves well", () => {
        const vm0 = samples(healthy(3)).map((s) => ({ ...s, vm: "green-vm-0", probe: "fail" as const }));
        const vm1 = samples(healthy(3)).map((s) => ({ ...s, vm: "green-vm-1", probe: "pass" as const }));
        const a = analyse([...vm0, ...vm1], undefined, T);
        expect(a.verdict).toBe("fail");
        expect(a.reasons[0]).toBe("green: green-vm-0: health probe failed in 3 intervals in a row (limit 3)");
    });

    it("a baseline with errors does not excuse a new color that is much worse", () => {
        const base = samples(healthy(6).map((s) => ({ ...s, fiveXx: 0.04 })), "blue", -6 * STEP);
        const a = analyse(samples(healthy(3).map((s) => ({ ...s, fiveXx: 0.2 }))), base, T);
        expect(a.verdict).toBe("fail");
        expect(a.reasons[0]).toMatch(/20% over 3 interval\(s\) in a row \(limit 8%: 2 × the old color's 4%\)/);
    });
});

describe("analyse: a healthy new color does not fail (the false-positive side)", () => {
    it.each<[string, Second[], "pass" | "inconclusive", RegExp]>([
        ["steady healthy traffic", healthy(6), "pass", /error ratio 0% over 6 judged interval\(s\) \(threshold 5%\), 3,000 requests/],
        ["slow start: the first interval's p95 is 3 s", [{ requests: 500, latencyMs: 3000 }, ...healthy(5)], "pass", /first interval's p95 latency 5,000 ms ignored \(warm-up\)/],
        ["slow start over 2 intervals", [{ requests: 500, latencyMs: 3000 }, { requests: 500, latencyMs: 3000 }, ...healthy(4)], "pass", /fewer than 3 slow intervals/],
        ["one client's burst of 4xx", [...healthy(2), { requests: 500, fourXx: 5000 }, ...healthy(2)], "pass", /5,000 4xx answers: client errors/],
        ["4xx only, every interval", healthy(4).map((s) => ({ ...s, fourXx: 400 })), "pass", /1,600 4xx answers/],
        ["one bad interval among good ones", [...healthy(2), { requests: 500, fiveXx: 0.5 }, ...healthy(2)], "pass", /50% over 1 interval.*not a fail/],
        ["bad intervals that are not in a row", [{ requests: 500, fiveXx: 0.2 }, ...healthy(1), { requests: 500, fiveXx: 0.2 }, ...healthy(1), { requests: 500, fiveXx: 0.2 }], "pass", /over 1 interval/],
        ["little traffic (under 20 requests per interval): inconclusive, not fail", healthy(4, 5).map((s, i) => (i % 2 ? { ...s, fiveXx: 0.4 } : s)), "inconclusive", /too little traffic to judge: 20 requests in 4 interval\(s\), none with the 20/],
        ["a single request in error in a tiny interval", [{ requests: 1, fiveXx: 1 }, { requests: 1, fiveXx: 1 }, { requests: 1, fiveXx: 1 }], "inconclusive", /too little traffic/],
        ["one empty interval is not 'no traffic'", [...healthy(2), { requests: 0 }, ...healthy(2)], "pass", /error ratio 0%/],
    ])("%s", (_name, intervals, verdict, reason) => {
        const a = analyse(samples(intervals), undefined, T);
        expect(a.verdict).toBe(verdict);
        expect(a.reasons.join("\n")).toMatch(reason);
    });

    it("the first interval is a warm-up for latency even when one bad interval would fail (watchConsecutiveIntervals 1)", () => {
        const one = { ...T, watchConsecutiveIntervals: 1 };
        expect(analyse(samples([{ requests: 500, latencyMs: 3000 }, ...healthy(3)]), undefined, one).verdict).toBe("pass");
        expect(analyse(samples([...healthy(1), { requests: 500, latencyMs: 3000 }, ...healthy(2)]), undefined, one).verdict).toBe("fail");
    });

    it("a baseline that already had errors raises the limit: the same 8% on the new color passes", () => {
        const base = samples(healthy(12).map((s) => ({ ...s, fiveXx: 0.08 })), "blue", -12 * STEP);
        const fresh = samples(healthy(6).map((s) => ({ ...s, fiveXx: 0.08 })));
        expect(analyse(fresh, undefined, T).verdict).toBe("fail");
        const a = analyse(fresh, base, T);
        expect(a.verdict).toBe("pass");
        expect(a.reasons[0]).toMatch(/limit 16%: 2 × the old color's 8%/);
    });

    it("a clean baseline does not make the threshold stricter", () => {
        const base = samples(healthy(12), "blue", -12 * STEP);
        expect(analyse(samples(healthy(6).map((s) => ({ ...s, fiveXx: 0.04 }))), base, T).verdict).toBe("pass");
    });

    it("a baseline that was already slow raises the latency limit", () => {
        const base = samples(healthy(12).map((s) => ({ ...s, latencyMs: 2000 })), "blue", -12 * STEP);
        const slow = samples(healthy(6).map((s) => ({ ...s, latencyMs: 2000 })));
        expect(analyse(slow, undefined, T).verdict).toBe("fail");
        expect(analyse(slow, base, T).verdict).toBe("pass");
    });

    it("a baseline with too few requests is ignored, and says so", () => {
        const base = samples([{ requests: 5, fiveXx: 1 }], "blue", -STEP);
        const a = analyse(samples(healthy(3).map((s) => ({ ...s, fiveXx: 0.2 }))), base, T);
        expect(a.verdict).toBe("fail");
        expect(a.reasons.join("\n")).toMatch(/baseline ignored: 5 requests, fewer than 20/);
    });

    it("a single failed probe is not a fail", () => {
        const s = samples(healthy(4)).map((x, i) => ({ ...x, probe: i === 1 ? ("fail" as const) : ("pass" as const) }));
        const a = analyse(s, undefined, T);
        expect(a.verdict).toBe("pass");
        expect(a.reasons.join("\n")).toMatch(/health probe failed in 1 interval\(s\) in a row, fewer than 3/);
    });
});

describe("analyse: properties", () => {
    const interval = fc.record({
        requests: fc.integer({ min: 0, max: 120 }),
        fiveXx: fc.double({ min: 0, max: 1, noNaN: true }),
        fourXx: fc.integer({ min: 0, max: 50 }),
        latencyMs: fc.integer({ min: 1, max: 3000 }),
    });

    // Only judged intervals get more: an interval too small to judge may turn out bad once it has enough requests
    // (fast-check found it: 2 slow requests + 19 fast ones make a p95 that is slow), which is the point of the minimum.
    it("adding fast successful 2xx requests to the judged intervals never turns pass into fail", () => {
        const judged = (s: Sample): boolean => judgedOf(s) >= T.watchMinRequests;
        fc.assert(
            fc.property(fc.array(interval, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 500 }), (ivs, extra) => {
                const before = analyse(samples(ivs), undefined, T);
                fc.pre(before.verdict === "pass");
                const more = samples(ivs).map((s) =>
                    judged(s)
                        ? {
                              ...s,
                              requests: { ...s.requests, "2xx": s.requests["2xx"] + extra },
                              latency: s.latency.map((b) => (b.leMs >= 25 ? { ...b, count: b.count + extra } : b)),
                          }
                        : s,
                );
                return analyse(more, undefined, T).verdict === "pass";
            }),
            { numRuns: 60 },
        );
    });

    it("4xx answers added to intervals that have other traffic never change the verdict", () => {
        fc.assert(
            fc.property(fc.array(interval, { minLength: 1, maxLength: 8 }), (ivs) => {
                const s = samples(ivs);
                const withMore = s.map((x) =>
                    x.requests["2xx"] + x.requests["5xx"] > 0 ? { ...x, requests: { ...x.requests, "4xx": x.requests["4xx"] + 1000 } } : x,
                );
                return analyse(withMore, undefined, T).verdict === analyse(s, undefined, T).verdict;
            }),
            { numRuns: 60 },
        );
    });

    it("fewer bad intervals in a row than watchConsecutiveIntervals never fail on errors", () => {
        fc.assert(
            fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), (badness) => {
                fc.pre(!/1{3}/.test(badness.map((b) => (b ? 1 : 0)).join("")));
                const ivs = badness.map((b) => ({ requests: 200, fiveXx: b ? 0.5 : 0 }));
                return analyse(samples(ivs), undefined, T).verdict === "pass";
            }),
            { numRuns: 60 },
        );
    });
});

describe("analyse on a real rehearsal run (tests/fixtures/post-flip/rehearsal-records.json)", () => {
    /** Recorded by scripts/record-post-flip-fixture.ts: npm run rehearse's scenario at 200 req/s over 20 connections for 20 s. */
    const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "post-flip", "rehearsal-records.json"), "utf8")) as {
        flips: { from: string; to: string; at: number }[];
        rows: [number, number, number | null, string | null, string | null, string][];
    };
    const recs = fixture.rows.map(([start, end, status, color, error]) => ({
        start,
        end,
        ...(status === null ? {} : { status }),
        ...(color === null ? {} : { color }),
        ...(error === null ? {} : { error }),
    }));
    const lastMs = Math.max(...recs.map((r) => r.start));
    // The run is short (flips 2.5 s apart): judge it in 1 s intervals.
    const t: WatchThresholds = { ...T, watchIntervalSeconds: 1 };

    it("the last flip's new color passes, judged against the old color's seconds before it", () => {
        const flip = fixture.flips[fixture.flips.length - 1];
        const after = samplesFromRecords(recs, { color: flip.to, intervalSeconds: 1, fromMs: flip.at, toMs: lastMs, includeUnattributed: true });
        const before = samplesFromRecords(recs, { color: flip.from, intervalSeconds: 1, fromMs: Math.max(0, flip.at - 5000), toMs: flip.at });
        expect(after.length).toBeGreaterThanOrEqual(10);
        const a = analyse(after, before, t);
        expect(a.verdict).toBe("pass");
        expect(a.reasons[0]).toMatch(/^green: error ratio 0% over \d+ judged interval/);
    });

    it("the same run with 20% of the new color's answers turned into 503 fails", () => {
        const flip = fixture.flips[fixture.flips.length - 1];
        let n = 0;
        const broken = recs.map((r) => (r.start >= flip.at && r.color === flip.to && n++ % 5 === 0 ? { ...r, status: 503 } : r));
        const after = samplesFromRecords(broken, { color: flip.to, intervalSeconds: 1, fromMs: flip.at, toMs: lastMs });
        expect(analyse(after, undefined, t).verdict).toBe("fail");
    });
});

describe("thresholdProblems: bad watch settings are refused, naming the key, the value and the fix", () => {
    it("accepts the defaults with the default rollback window (60 min)", () => {
        expect(thresholdProblems(T, 60)).toEqual([]);
    });

    it.each<[Partial<WatchThresholds>, number, string]>([
        [{ watchErrorRatio: 0 }, 60, "watchErrorRatio is 0: it must be a number above 0 and below 1 (a ratio: 0.05 is 5%); e.g. pulumi config set watchErrorRatio 0.05"],
        [{ watchErrorRatio: 5 }, 60, "watchErrorRatio is 5: it must be a number above 0 and below 1 (a ratio: 0.05 is 5%); e.g. pulumi config set watchErrorRatio 0.05"],
        [{ watchErrorRatio: Number.NaN }, 60, "watchErrorRatio is NaN"],
        [{ watchLatencyPercentile: 100 }, 60, "watchLatencyPercentile is 100: it must be a number above 0 and below 100; e.g. pulumi config set watchLatencyPercentile 95"],
        [{ watchLatencyMs: 0 }, 60, "pulumi config set watchLatencyMs 1000"],
        [{ watchMinRequests: 2.5 }, 60, "watchMinRequests is 2.5: it must be an integer from 1 to 1000000; e.g. pulumi config set watchMinRequests 20"],
        [{ watchConsecutiveIntervals: 0 }, 60, "pulumi config set watchConsecutiveIntervals 3"],
        [{ watchIntervalSeconds: -5 }, 60, "watchIntervalSeconds is -5: it must be an integer from 1 to 3600 (seconds); e.g. pulumi config set watchIntervalSeconds 5"],
        [{ watchBaselineFactor: 0.5 }, 60, "pulumi config set watchBaselineFactor 2"],
        [{ watchMinutes: 0 }, 60, "watchMinutes is 0: it must be a number above 0 (minutes); e.g. pulumi config set watchMinutes 10"],
        [{ watchMinutes: 90 }, 60, "watchMinutes is 90: longer than rollbackWindowMinutes (60), after which the old color is no longer a rollback target to flip back to; e.g. pulumi config set watchMinutes 10 or pulumi config set rollbackWindowMinutes 90"],
        [{ watchMinutes: 10 }, 5, "e.g. pulumi config set watchMinutes 5 or pulumi config set rollbackWindowMinutes 10"],
        [{ watchMinutes: 10 }, 0, "longer than rollbackWindowMinutes (0), after which the old color is no longer a rollback target to flip back to; e.g. pulumi config set rollbackWindowMinutes 10"],
        [{ watchMinutes: 0.05 }, 60, "watchMinutes is 0.05 (3 s): shorter than one analysis interval (watchIntervalSeconds 5); e.g. pulumi config set watchMinutes 10"],
        [{ watchMinutes: 0.2 }, 60, "watchMinutes is 0.2 (12 s): shorter than watchConsecutiveIntervals × watchIntervalSeconds (3 × 5 s), so the watch could never fail"],
    ])("%o with rollbackWindowMinutes %d", (bad, window, message) => {
        const problems = thresholdProblems({ ...T, ...bad }, window);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toContain(message);
    });

    it("reports every bad key at once", () => {
        expect(thresholdProblems({ ...T, watchErrorRatio: 2, watchMinRequests: 0, watchMinutes: 120 }, 60)).toHaveLength(3);
    });
});
