import { thresholdProblems, DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";
import { DEFAULT_OPTIONS, FAULT_RUN_DEFAULT_DURATION_S, faultScenarioTiming, parseOptions, planClock, rehearsalWatchThresholds, scenarioTiming, SLOW_REQUEST_LEAD_MS } from "../../rehearsal/options";

describe("parseOptions", () => {
    it("uses the defaults when given nothing", () => {
        expect(parseOptions([])).toEqual(DEFAULT_OPTIONS);
        expect(DEFAULT_OPTIONS).toMatchObject({ durationS: 120, rate: 1000, connections: 100, fault: "unhealthy" });
    });

    it("reads every option", () => {
        expect(
            parseOptions(["--duration", "30", "--rate", "500", "--connections", "150", "--report", "out/r.json", "--fault", "crash-on-start"]),
        ).toEqual({ durationS: 30, rate: 500, connections: 150, reportPath: "out/r.json", fault: "crash-on-start" });
    });

    it.each([
        [["--duration", "abc"], /--duration "abc" is not a number from 15 to 3600; e\.g\. --duration 120/],
        [["--duration", "5"], /--duration "5" is not a number from 15/],
        [["--rate"], /--rate needs a value/],
        [["--connections", "0"], /--connections "0" is not a number from 1/],
        [["--fault", "slow"], /--fault "slow" is not a fault; use one of unhealthy, wrong-version, crash-on-start, errors-after-flip/],
        [["--report"], /--report needs a path/],
        [["--colour", "blue"], /unknown option "--colour"/],
        [["--rate", "5000", "--connections", "10"], /500 requests\/s per connection; keep it at most 100 \(e\.g\. --connections 50\)/],
    ])("refuses %j, naming the value and the fix", (argv, message) => {
        expect(() => parseOptions(argv)).toThrow(message);
    });

    it("runs errors-after-flip for its own default duration unless --duration is given", () => {
        expect(parseOptions(["--fault", "errors-after-flip"])).toMatchObject({ fault: "errors-after-flip", durationS: FAULT_RUN_DEFAULT_DURATION_S });
        expect(FAULT_RUN_DEFAULT_DURATION_S).toBe(30);
        expect(parseOptions(["--duration", "20", "--fault", "errors-after-flip"]).durationS).toBe(20);
        expect(parseOptions(["--fault", "errors-after-flip", "--duration", "60"]).durationS).toBe(60);
    });

    it("shows the usage with every refusal", () => {
        expect(() => parseOptions(["--bogus"])).toThrow(/usage: npm run rehearse --/);
    });
});

describe("scenarioTiming", () => {
    it.each([15, 20, 60, 120, 600])("for %d s puts the steps in order inside the run", (durationS) => {
        const t = scenarioTiming(durationS);
        const steps = [t.at.expand, t.at.deployGreen, t.at.flip, t.at.rollback, t.at.flipAgain, t.at.refusals, t.at.brokenDeploy, t.at.end];
        expect([...steps].sort((a, b) => a - b)).toEqual(steps);
        expect(t.at.end).toBe(durationS * 1000);
    });

    it.each([15, 20, 120, 600])("for %d s spaces the flips so that each converges (max connection age + a slow request) before the next", (durationS) => {
        const t = scenarioTiming(durationS);
        const gap = Math.min(t.at.rollback - t.at.flip, t.at.flipAgain - t.at.rollback);
        expect(gap).toBeGreaterThan(t.maxConnectionAgeMs + t.slowRequestMs);
        expect(t.minFlipGapMs).toBeGreaterThan(t.maxConnectionAgeMs + t.slowRequestMs);
    });

    it.each([15, 20, 120, 600])("for %d s keeps each slow request in flight for at least 450 ms after the change of the load balancer is sent", (durationS) => {
        const t = scenarioTiming(durationS);
        expect(t.slowRequestMs - SLOW_REQUEST_LEAD_MS).toBeGreaterThanOrEqual(450);
    });

    it.each([15, 20, 120])("for %d s keeps the rollback window open at the refusals and closed before the broken deploy", (durationS) => {
        const t = scenarioTiming(durationS);
        expect(t.at.flipAgain + t.rollbackWindowMs).toBeGreaterThan(t.at.refusals);
        expect(t.at.flipAgain + t.rollbackWindowMs).toBeLessThan(t.at.brokenDeploy);
    });

    it("keeps the maximum connection age between 0.5 and 3 s", () => {
        expect(scenarioTiming(15).maxConnectionAgeMs).toBe(750);
        expect(scenarioTiming(20).maxConnectionAgeMs).toBe(1000);
        expect(scenarioTiming(120).maxConnectionAgeMs).toBe(3000);
    });
});

describe("rehearsalWatchThresholds", () => {
    it("uses the product's defaults when the watch fits their intervals, watching for the watch's length", () => {
        expect(rehearsalWatchThresholds(26_400)).toEqual({ ...DEFAULT_WATCH_THRESHOLDS, watchMinutes: 0.44 });
        expect(rehearsalWatchThresholds(45_000)).toEqual({ ...DEFAULT_WATCH_THRESHOLDS, watchMinutes: 0.75 });
    });

    it("shrinks the interval for a short watch so that a fail can still happen, never below 1 s", () => {
        expect(rehearsalWatchThresholds(4_400)).toEqual({ ...DEFAULT_WATCH_THRESHOLDS, watchIntervalSeconds: 1, watchMinutes: 4_400 / 60_000 });
        expect(rehearsalWatchThresholds(12_000)?.watchIntervalSeconds).toBe(4);
        expect(rehearsalWatchThresholds(2_999)).toBeUndefined();
    });

    it.each([3_000, 3_300, 4_400, 14_999, 15_000, 26_400, 600_000])("gives valid settings for a %d ms watch inside an equal rollback window", (ms) => {
        const t = rehearsalWatchThresholds(ms);
        expect(t).toBeDefined();
        expect(thresholdProblems(t!, ms / 60_000)).toEqual([]);
    });

    it.each([15, 20, 120])("fits a watch in the rollback window of the default scenario's last flip (%d s)", (durationS) => {
        expect(rehearsalWatchThresholds(scenarioTiming(durationS).rollbackWindowMs)).toBeDefined();
    });
});

describe("faultScenarioTiming", () => {
    it.each([15, 20, 30, 120])("for %d s flips early and watches long enough to fail with the default thresholds", (durationS) => {
        const t = faultScenarioTiming(durationS);
        const d = DEFAULT_WATCH_THRESHOLDS;
        expect(t.flip).toBeLessThan(t.end);
        // the defaults fail after watchConsecutiveIntervals intervals, plus up to one of alignment, plus the first read
        expect(t.watchMs).toBeGreaterThanOrEqual((d.watchConsecutiveIntervals + 2) * d.watchIntervalSeconds * 1000);
        expect(t.flip + t.watchMs).toBeGreaterThanOrEqual(t.end);
        expect(rehearsalWatchThresholds(t.watchMs)).toEqual({ ...d, watchMinutes: t.watchMs / 60_000 });
        expect(thresholdProblems(rehearsalWatchThresholds(t.watchMs)!, t.rollbackWindowMs / 60_000)).toEqual([]);
        expect(t.tailMs).toBeGreaterThan(t.maxConnectionAgeMs);
    });
});

describe("the default scenario's plan when a step overruns (planClock)", () => {
    /** A clock the test moves: `wait` advances it, `work` is a step that takes time. */
    function fakeClock() {
        let t = 0;
        return { since: () => t, wait: async (ms: number) => void (t += ms), work: (ms: number) => void (t += ms) };
    }

    it("runs each step at its planned time while the run keeps to the plan", async () => {
        const c = fakeClock();
        const plan = planClock(c.since, c.wait);
        const starts: number[] = [];
        for (const planned of [400, 3000, 5400]) {
            expect(await plan.step(planned)).toBe(0);
            starts.push(c.since());
            c.work(500);
        }
        expect(starts).toEqual([400, 3000, 5400]);
    });

    it("delays every later step by as much as a deploy overran, so the rollback keeps its distance from the flip", async () => {
        const c = fakeClock();
        const plan = planClock(c.since, c.wait);
        await plan.step(800); // the deploy of green, planned to be done long before the flip at 3000
        c.work(9600);
        expect(await plan.step(3000)).toBe(7400); // the flip starts at 10400, 7.4 s late
        const flipAt = c.since();
        c.work(1000);
        await plan.step(5400); // the rollback: 2.4 s after the flip, as planned, not at once
        expect(c.since() - flipAt).toBe(2400);
        await plan.step(7800);
        expect(c.since() - flipAt).toBe(4800);
    });

    it("never pulls a step earlier to catch up, and adds a later overrun to the earlier one", async () => {
        const c = fakeClock();
        const plan = planClock(c.since, c.wait);
        await plan.step(1000);
        c.work(3000); // 2 s late at the next step
        expect(await plan.step(2000)).toBe(2000);
        c.work(100);
        expect(await plan.step(3000)).toBe(2000); // the gap of 1 s is kept: at 5000, not 2100
        expect(c.since()).toBe(5000);
        c.work(4000); // overruns again: 9000 vs the next step's 4000 + 2000
        expect(await plan.step(4000)).toBe(5000);
    });
});
