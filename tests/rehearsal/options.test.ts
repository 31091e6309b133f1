import { thresholdProblems, DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";
import { DEFAULT_OPTIONS, FAULT_RUN_DEFAULT_DURATION_S, faultScenarioTiming, parseOptions, rehearsalWatchThresholds, scenarioTiming } from "../../rehearsal/options";

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
