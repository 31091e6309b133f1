import { DEFAULT_OPTIONS, parseOptions, scenarioTiming } from "../../rehearsal/options";

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
        [["--fault", "slow"], /--fault "slow" is not a fault; use one of unhealthy, wrong-version, crash-on-start/],
        [["--report"], /--report needs a path/],
        [["--colour", "blue"], /unknown option "--colour"/],
        [["--rate", "5000", "--connections", "10"], /500 requests\/s per connection; keep it at most 100 \(e\.g\. --connections 50\)/],
    ])("refuses %j, naming the value and the fix", (argv, message) => {
        expect(() => parseOptions(argv)).toThrow(message);
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
