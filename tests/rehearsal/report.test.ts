import fc from "fast-check";
import { RequestRecord } from "../../rehearsal/load";
import {
    AUTO_ROLLBACK_TARGET_MS,
    AutoRollbackEvent,
    autoRollbackMetrics,
    buckets,
    buildReport,
    failuresByCause,
    FlipEvent,
    flipMetrics,
    latencyByPhase,
    newConnectionsMissingTheSwitch,
    formatSummary,
    percentile,
    runEndMs,
    windowMetrics,
    formatVerdict,
    RehearsalReport,
    rehearsalVerdict,
    SWITCH_TOLERANCE_MS,
} from "../../rehearsal/report";
import { bucketRate } from "../../rehearsal/chart";

/** A successful steady request; override what the case is about. */
function req(over: Partial<RequestRecord>): RequestRecord {
    return {
        kind: "steady", client: 0, connection: 0, newConnection: false, start: 0, end: 5,
        status: 200, color: "blue", version: "1.0.0", phase: "p", ...over,
    };
}

const flip: FlipEvent = { from: "blue", to: "green", at: 1000, ackAt: 1003, rollback: false };

describe("percentile", () => {
    it.each([
        [[5], 50, 5],
        [[1, 2, 3, 4], 50, 2],
        [[1, 2, 3, 4], 99, 4],
        [[4, 3, 2, 1], 25, 1],
        [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    ])("of %j at p%d is %d (nearest rank)", (values, p, expected) => {
        expect(percentile(values, p)).toBe(expected);
    });

    it("is NaN for no values", () => {
        expect(percentile([], 50)).toBeNaN();
    });

    it("is always one of the values and grows with p", () => {
        fc.assert(
            fc.property(fc.array(fc.integer({ min: 0, max: 10000 }), { minLength: 1 }), fc.integer({ min: 1, max: 99 }), (values, p) => {
                const v = percentile(values, p);
                expect(values).toContain(v);
                expect(percentile(values, p + 1)).toBeGreaterThanOrEqual(v);
            }),
        );
    });
});

describe("flipMetrics", () => {
    it("measures the switch by the runtime API's answer when no new connection reached the old color", () => {
        const records = [
            req({ newConnection: true, start: 1001, end: 1004, color: "green" }),
            req({ newConnection: true, start: 1200, end: 1204, color: "green" }),
        ];
        expect(flipMetrics(records, flip, Infinity)).toMatchObject({ switchMs: 3, newConnections: 2, newConnectionsOnOldColor: 0 });
    });

    it("measures the switch by the last new connection that still landed on the old color", () => {
        const records = [
            req({ newConnection: true, start: 1002, end: 1006, color: "blue" }),
            req({ newConnection: true, start: 1010, end: 1012, color: "green" }),
        ];
        expect(flipMetrics(records, flip, Infinity)).toMatchObject({ switchMs: 3, newConnectionsOnOldColor: 1 });
        records.push(req({ newConnection: true, start: 1050, end: 1052, color: "blue" }));
        expect(flipMetrics(records, flip, Infinity).switchMs).toBe(50);
    });

    it("measures convergence to the end of the last request the old color served, slow ones included", () => {
        const records = [
            req({ start: 900, end: 1600, kind: "slow" }),
            req({ start: 1700, end: 1750 }), // an established keep-alive connection, still on blue
            req({ start: 1800, end: 1805, color: "green" }),
        ];
        expect(flipMetrics(records, flip, Infinity).convergeMs).toBe(750);
    });

    it("ignores what happens after the next flip", () => {
        const records = [req({ start: 1100, end: 1110 }), req({ start: 3000, end: 3010, newConnection: true })];
        expect(flipMetrics(records, flip, 2000)).toMatchObject({ convergeMs: 110, switchMs: 3, newConnectionsOnOldColor: 0 });
    });
});

describe("newConnectionsMissingTheSwitch", () => {
    it("finds a new connection opened after the switch plus tolerance that the old color served", () => {
        const late = req({ newConnection: true, start: 1150, color: "blue" });
        const records = [
            req({ newConnection: true, start: 1050, color: "blue" }), // inside the tolerance
            req({ newConnection: false, start: 1500, color: "blue" }), // established connection: allowed
            req({ newConnection: true, start: 1200, color: "green" }),
            late,
        ];
        expect(newConnectionsMissingTheSwitch(records, [flip], 100)).toEqual([late]);
    });

    it("judges each request against the flip whose window it started in", () => {
        const back: FlipEvent = { from: "green", to: "blue", at: 2000, ackAt: 2002, rollback: true };
        const records = [
            req({ newConnection: true, start: 1500, color: "green" }),
            req({ newConnection: true, start: 2500, color: "blue" }),
        ];
        expect(newConnectionsMissingTheSwitch(records, [flip, back], 100)).toEqual([]);
        const wrong = req({ newConnection: true, start: 2500, color: "green" });
        expect(newConnectionsMissingTheSwitch([...records, wrong], [flip, back], 100)).toEqual([wrong]);
    });
});

describe("failures", () => {
    it.each([
        [{ status: 503 }, "HTTP 503"],
        [{ status: undefined, error: "ECONNRESET" }, "ECONNRESET"],
        [{ status: undefined, error: "timeout" }, "timeout"],
        [{ status: 302 }, "HTTP 302"],
        [{ status: 503, injected: true }, "HTTP 503 (injected)"],
    ])("counts %j as a failure caused by %s", (over, cause) => {
        expect(failuresByCause([req(over), req({})])).toEqual({ [cause]: 1 });
    });

    it("tells the injected fault's failures apart from the machinery's in the report", () => {
        const records = [
            req({ status: 503, injected: true, color: "green" }),
            req({ status: 503, injected: true, color: "green" }),
            req({ status: 503, color: "green" }), // a 503 without the header: the machinery's
            req({ status: undefined, color: undefined, error: "ECONNRESET" }),
            req({ status: 200, injected: true }), // the header on a success is no failure
            req({}),
        ];
        const report = buildReport({ startedAt: new Date(0), durationMs: 1000, settings: {}, records, flips: [], blockedFlips: [], blockedDeploys: [], blockedContracts: [], timeline: [] });
        expect(report).toMatchObject({ failedRequests: 4, faultFailures: 2, machineryFailures: 2, autoRollbacks: [] });
        expect(report.failures).toEqual({ "HTTP 503 (injected)": 2, "HTTP 503": 1, ECONNRESET: 1 });
        expect(report.failureSamples.map((r) => r.status ?? r.error)).toEqual([503, "ECONNRESET"]);
        expect(formatSummary(report)).toContain("4 failed: ");
        expect(formatSummary(report)).toContain("2 by the injected fault, 2 by the machinery");
    });
});

describe("an automatic flip-back: detectMs and restoreMs", () => {
    // green went live at 1000; its first bad answer started at 1500; the watch said fail at 16,500; production was
    // back on blue at the load balancer at 16,700 (HAProxy acknowledged at 16,702).
    const back: FlipEvent = { from: "green", to: "blue", at: 16_700, ackAt: 16_702, rollback: true, automatic: true, requestedAt: 16_640 };
    const event: AutoRollbackEvent = { watchedFlipAt: 1000, verdictAt: 16_500, reason: "green: error ratio 20%", flip: back };
    const records = [
        req({ start: 900, end: 905, color: "blue", status: 200 }),
        req({ start: 950, end: 960, color: "blue", status: 503 }), // before the flip: not the watched color's
        req({ start: 1200, end: 1210, color: "green" }),
        req({ start: 1500, end: 1505, color: "green", status: 503, injected: true }),
        req({ start: 2000, end: 2005, color: "green", status: 503, injected: true }),
        req({ newConnection: true, start: 16_600, end: 16_605, color: "green" }), // before the switch: expected
        req({ newConnection: true, start: 16_710, end: 16_715, color: "green" }), // after it: the switch's tail
        req({ newConnection: true, start: 16_720, end: 16_725, color: "blue" }),
        req({ newConnection: false, start: 17_500, end: 17_505, color: "green" }), // an established connection
    ];

    it("detects from the first bad request of the watched color after its flip, restores at the last new connection it still served", () => {
        expect(autoRollbackMetrics(records, event, Infinity)).toEqual({ detectMs: 15_000, restoreMs: 210, firstBadRequestMs: 1500 });
    });

    it("restores at the runtime API's answer when no new connection reached the failed color after the verdict", () => {
        expect(autoRollbackMetrics(records.filter((r) => r.start !== 16_710), event, Infinity).restoreMs).toBe(202);
    });

    it("counts a request that reached no app (a reset) as bad, and detects from the flip when nothing failed", () => {
        const reset = req({ start: 1100, end: 1100, color: undefined, status: undefined, error: "ECONNRESET" });
        expect(autoRollbackMetrics([...records, reset], event, Infinity).detectMs).toBe(15_400);
        const clean = records.filter((r) => r.status === 200);
        expect(autoRollbackMetrics(clean, event, Infinity)).toMatchObject({ detectMs: 15_500 });
        expect(autoRollbackMetrics(clean, event, Infinity).firstBadRequestMs).toBeUndefined();
    });

    it("is in the report as autoRollbacks, and its flip in flips as automatic with the ARM time", () => {
        const forward: FlipEvent = { from: "blue", to: "green", at: 1000, ackAt: 1002, rollback: false, requestedAt: 940 };
        const report = buildReport({
            startedAt: new Date("2026-11-23T12:00:00Z"),
            durationMs: 20_000,
            settings: { fault: "errors-after-flip" },
            records,
            flips: [forward, back],
            autoRollbacks: [event],
            blockedFlips: [],
            blockedDeploys: [],
            blockedContracts: [],
            timeline: [],
        });
        expect(report.autoRollbacks).toEqual([
            { at: "2026-11-23T12:00:16.700Z", atMs: 16_700, from: "green", to: "blue", reason: "green: error ratio 20%", detectMs: 15_000, restoreMs: 210, firstBadRequestMs: 1500, verdictMs: 16_500 },
        ]);
        expect(report.flips.map((f) => [f.automatic, f.armMs])).toEqual([[false, 60], [true, 60]]);
        expect(report.faultFailures).toBe(2);
        expect(report.machineryFailures).toBe(1); // the 503 without the header, before the flip
        expect(formatSummary(report)).toContain("automatic flip-back green → blue at 16.7 s: ARM 60 ms, switch");
        expect(formatSummary(report)).toContain("automatic flip-backs: green → blue at 16.7 s: detect 15000 ms + restore 210 ms = 15210 ms (green: error ratio 20%)");
    });
});

describe("latencyByPhase", () => {
    it("gives p50/p99/max of the successful steady requests of each phase", () => {
        const records = [
            ...[10, 20, 30, 40].map((d) => req({ phase: "v1 on blue", start: 0, end: d })),
            req({ phase: "v1 on blue", start: 0, end: 9999, kind: "slow" }),
            req({ phase: "v1 on blue", start: 0, end: 5000, status: 500 }),
            req({ phase: "green live", start: 100, end: 107 }),
        ];
        expect(latencyByPhase(records)).toEqual({
            "v1 on blue": { count: 4, p50: 20, p99: 40, max: 40 },
            "green live": { count: 1, p50: 7, p99: 7, max: 7 },
        });
    });
});

describe("buckets", () => {
    it("counts successes per color and failures per bucket by end time", () => {
        const records = [
            req({ end: 100 }),
            req({ end: 600, color: "green" }),
            req({ end: 700, status: 502 }),
            req({ end: 1200, color: "green" }),
        ];
        expect(buckets(records, 500, 1500)).toEqual([
            { t: 0, blue: 1, green: 0, errors: 0 },
            { t: 500, blue: 0, green: 1, errors: 1 },
            { t: 1000, blue: 0, green: 1, errors: 0 },
        ]);
    });
});

describe("the chart's last, partial second", () => {
    it("at a steady 1,000 req/s that ran 300 ms past the nominal duration, no bucket shows more than 1,000 req/s", () => {
        // One request a millisecond from 0 to 20,300 ms; the nominal duration is 20,000 ms.
        const records = Array.from({ length: 20_300 }, (_, i) => req({ start: i, end: i + 0.5 }));
        const endMs = runEndMs(records, 20_000);
        expect(endMs).toBe(20_299.5);
        const counted = buckets(records, 1000, endMs);
        expect(counted).toHaveLength(21);
        expect(counted[20]).toMatchObject({ t: 20_000, blue: 300 });
        const rates = counted.map((b) => bucketRate(b, b.blue, 1000, endMs));
        expect(Math.max(...rates)).toBeLessThanOrEqual(1002);
        expect(Math.min(...rates)).toBeGreaterThanOrEqual(998);
    });
});

describe("buildReport", () => {
    it("adds up requests, failures, colors and versions, and measures each flip", () => {
        const records = [
            req({ connection: 1, newConnection: true, start: 0, end: 4 }),
            req({ connection: 1, start: 500, end: 1100 }),
            req({ connection: 2, newConnection: true, start: 1010, end: 1014, color: "green", version: "2.0.0" }),
            req({ connection: 3, newConnection: true, start: 1020, end: 1020, status: undefined, color: undefined, error: "ECONNRESET" }),
            req({ connection: 4, newConnection: true, start: 1100, end: 1300, kind: "slow", color: "green", version: "2.0.0" }),
        ];
        const report = buildReport({
            startedAt: new Date("2026-11-23T12:00:00Z"),
            durationMs: 2000,
            settings: { connections: 2 },
            records,
            flips: [flip],
            blockedFlips: [{ at: 1500, what: "flip green → blue", reason: "gate failed" }],
            blockedDeploys: [],
            blockedContracts: [],
            timeline: [],
        });
        expect(report).toMatchObject({
            totalRequests: 5,
            failedRequests: 1,
            failures: { ECONNRESET: 1 },
            requestsByKind: { steady: 4, slow: 1, probe: 0 },
            connectionsOpened: 4,
            servedBy: { blue: 2, green: 2 },
            servedByVersion: { "blue@1.0.0": 2, "green@2.0.0": 2 },
            flips: [{ from: "blue", to: "green", at: "2026-11-23T12:00:01.000Z", switchMs: 3, convergeMs: 100 }],
            blockedFlips: [{ reason: "gate failed" }],
        });
    });
});

describe("the expand under a held table lock", () => {
    const records = [
        req({ start: 90, end: 95 }),
        req({ start: 100, end: 110 }),
        req({ start: 200, end: 450 }),
        req({ start: 300, end: 300, status: 503 }),
        req({ start: 400, end: 420 }),
        req({ start: 900, end: 905 }),
    ];

    it("counts the requests that started in the window, the failed ones, and the latency of the others", () => {
        expect(windowMetrics(records, 100, 400)).toEqual({ requests: 4, failed: 1, p50: 20, p99: 250, max: 250 });
        expect(windowMetrics(records, 500, 600)).toMatchObject({ requests: 0, failed: 0 });
    });

    it("is in the report and its summary: retries, requests, failed, p99", () => {
        const report = buildReport({
            startedAt: new Date("2026-11-23T12:00:00Z"),
            durationMs: 1000,
            settings: { connections: 1 },
            records,
            flips: [],
            blockedFlips: [],
            blockedDeploys: [],
            blockedContracts: [],
            timeline: [],
            migrationUnderLock: { startMs: 100, endMs: 400, heldMs: 250, retries: ["0002: lock timeout (attempt 1 of 10); retrying the migration in 200 ms"] },
        });
        expect(report.migrationUnderLock).toMatchObject({ heldMs: 250, requests: 4, failed: 1, p99: 250 });
        expect(formatSummary(report)).toContain("expand under a held table lock (250 ms): 1 lock-timeout retries; 4 requests meanwhile, 1 failed, p50 20 p99 250 max 250 ms");
    });
});

describe("the rehearsal's verdict", () => {
    const flipRow = (late: number, onOld = late) => ({
        from: "blue" as const, to: "green" as const, at: "", atMs: 5000, rollback: false, switchMs: 2, convergeMs: 3000,
        newConnections: 40, newConnectionsOnOldColor: onOld, lateNewConnectionsOnOldColor: late, automatic: false,
    });
    const base = (extra: Partial<RehearsalReport> = {}): RehearsalReport => ({
        ...buildReport({ startedAt: new Date(0), durationMs: 1000, settings: {}, records: [], flips: [], blockedFlips: [], blockedDeploys: [], blockedContracts: [], timeline: [] }),
        flips: [flipRow(0)],
        blockedFlips: [{ at: 1, what: "flip to v3", reason: "gate" }],
        ...extra,
    });

    it("passes a run with no failed request, no late new connection on the old color and the broken flip refused", () => {
        expect(formatVerdict(rehearsalVerdict(base()))).toMatch(/^VERDICT: PASS /);
    });

    it("states on the verdict line the new connections on the old color after the flips, counted against the tolerance", () => {
        const v = rehearsalVerdict(base({ flips: [flipRow(0, 2), flipRow(0, 1)] }));
        expect(v).toMatchObject({ pass: true, newConnectionsOnOldColor: 3, lateNewConnectionsOnOldColor: 0 });
        expect(formatVerdict(v)).toBe(`VERDICT: PASS (new connections on the old color after a switch: 3 within the ${SWITCH_TOLERANCE_MS} ms tolerance, 0 later)`);
        const late = formatVerdict(rehearsalVerdict(base({ flips: [flipRow(1, 4)] })));
        expect(late).toMatch(/^VERDICT: FAIL — /);
        expect(late).toMatch(new RegExp(`\\(new connections on the old color after a switch: 3 within the ${SWITCH_TOLERANCE_MS} ms tolerance, 1 later\\)$`));
    });

    it("fails naming each problem: failed requests, new connections on the old color past the tolerance, no refusal", () => {
        const v = rehearsalVerdict(base({ failedRequests: 2, failures: { reset: 2 }, flips: [flipRow(3)], blockedFlips: [] }));
        expect(v.pass).toBe(false);
        const line = formatVerdict(v);
        expect(line).toMatch(/^VERDICT: FAIL — 2 request\(s\) failed/);
        expect(line).toContain(`3 new connection(s) reached blue later than ${SWITCH_TOLERANCE_MS} ms after the switch`);
        expect(line).toContain("the broken v3's flip was not refused");
    });

    const autoRow = (detectMs: number, restoreMs: number) => ({
        at: "", atMs: 17_000, from: "green" as const, to: "blue" as const, reason: "green: error ratio 20%", detectMs, restoreMs, verdictMs: 16_500,
    });
    const faultRun = (extra: Partial<RehearsalReport> = {}): RehearsalReport =>
        base({ settings: { fault: "errors-after-flip" }, blockedFlips: [], failedRequests: 300, faultFailures: 300, machineryFailures: 0, failures: { "HTTP 503 (injected)": 300 }, autoRollbacks: [autoRow(15_000, 300)], ...extra });

    it("passes an errors-after-flip run whose only failures are the injected ones and whose watch flipped back once in time", () => {
        expect(rehearsalVerdict(faultRun())).toMatchObject({ pass: true, problems: [] });
    });

    it("fails an errors-after-flip run with a machinery failure, no flip-back, no injected failure, or a flip-back past the target", () => {
        const problems = (r: RehearsalReport): string => rehearsalVerdict(r).problems.join("; ");
        expect(problems(faultRun({ failedRequests: 301, failures: { "HTTP 503 (injected)": 300, ECONNRESET: 1 } }))).toBe(
            '1 request(s) failed apart from the injected fault\'s: {"ECONNRESET":1}',
        );
        expect(problems(faultRun({ autoRollbacks: [] }))).toBe("0 automatic flip-back(s) where the watch should have made exactly one");
        expect(problems(faultRun({ failedRequests: 0, faultFailures: 0, failures: {} }))).toMatch(/^the injected fault failed no request/);
        expect(problems(faultRun({ autoRollbacks: [autoRow(AUTO_ROLLBACK_TARGET_MS - 100, 101)] }))).toMatch(/took 30001 ms .*\(target 30000 ms\)/);
    });

    it("fails a run without the fault in which the watch flipped production back", () => {
        expect(rehearsalVerdict(base({ autoRollbacks: [autoRow(15_000, 300)] })).problems).toEqual([
            "the watch flipped production back 1 time(s) although no release was broken: green: error ratio 20%",
        ]);
    });

    it("counts a new connection on the old color as late only past the tolerance", () => {
        const records = [
            req({ newConnection: true, start: 1000 + SWITCH_TOLERANCE_MS - 1, end: 1300, color: "blue" }),
            req({ newConnection: true, start: 1000 + SWITCH_TOLERANCE_MS + 1, end: 1400, color: "blue" }),
        ];
        expect(flipMetrics(records, flip, Infinity)).toMatchObject({ newConnectionsOnOldColor: 2, lateNewConnectionsOnOldColor: 1 });
    });
});
