/**
 * `npm run rehearse -- --fault errors-after-flip`, once (CI time is tight: 20 s asked, about 22 s of load): a v2 that
 * passes the gate and fails a fifth of its requests once it takes production traffic. The release agent's watch
 * judges `fail` and flips production back through the ARM stand-in, which the front HAProxy follows — by itself,
 * with the default thresholds, within 30 s of detection and restore. Integration tier, serial (it measures times).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isFailure } from "../../rehearsal/load";
import { AUTO_ROLLBACK_TARGET_MS, newConnectionsMissingTheSwitch, rehearsalVerdict, SWITCH_TOLERANCE_MS } from "../../rehearsal/report";
import { RehearsalResult, runRehearsal } from "../../rehearsal/scenario";
import { DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";

describe("the rehearsal with --fault errors-after-flip", () => {
    let dir: string;
    let result: RehearsalResult;
    const lines: string[] = [];
    let tookMs = 0;

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-fault-rehearsal-"));
        const started = Date.now();
        try {
            result = await runRehearsal(
                { durationS: 20, rate: 300, connections: 100, fault: "errors-after-flip", reportPath: path.join(dir, "report.json") },
                (line) => lines.push(line),
            );
        } catch (e) {
            console.log(lines.join("\n"));
            throw e;
        }
        tookMs = Date.now() - started;
    }, 400_000);

    afterAll(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("flips to green through its gate, and the watch flips production back to blue by itself, once, within 30 s", () => {
        expect(result.report.blockedFlips).toEqual([]);
        expect(result.report.flips.map((f) => [f.from, f.to, f.automatic])).toEqual([
            ["blue", "green", false],
            ["green", "blue", true],
        ]);
        expect(result.report.autoRollbacks).toHaveLength(1);
        const [back] = result.report.autoRollbacks;
        expect(back).toMatchObject({ from: "green", to: "blue", reason: expect.stringMatching(/^green: error ratio \(5xx \+ connection errors\) \d+(\.\d+)?% over 3 interval\(s\) in a row \(threshold 5%\)/) });
        // the default thresholds: 3 bad intervals of 5 s, so never sooner than 2 intervals after the first bad request
        expect(result.watches[0].spec.thresholds).toEqual({ ...DEFAULT_WATCH_THRESHOLDS, watchMinutes: result.watches[0].spec.thresholds.watchMinutes });
        expect(back.detectMs).toBeGreaterThan(2 * DEFAULT_WATCH_THRESHOLDS.watchIntervalSeconds * 1000);
        expect(back.restoreMs).toBeGreaterThanOrEqual(0);
        expect(back.detectMs + back.restoreMs).toBeLessThan(AUTO_ROLLBACK_TARGET_MS);
        console.log(`errors-after-flip: detectMs ${back.detectMs}, restoreMs ${back.restoreMs}, fault failures ${result.report.faultFailures}, machinery failures ${result.report.machineryFailures}, took ${(tookMs / 1000).toFixed(1)} s`);
    });

    it("counts the injected fault's failures apart, about a fifth of green's answers; the machinery fails none", () => {
        expect(result.report.machineryFailures).toBe(0);
        expect(result.report.faultFailures).toBeGreaterThan(0);
        const failed = result.records.filter(isFailure);
        expect(failed.every((r) => r.injected === true && r.status === 503 && r.color === "green")).toBe(true);
        const green = result.records.filter((r) => r.color === "green" && r.kind === "steady");
        const share = failed.length / green.length;
        expect(share).toBeGreaterThan(0.15);
        expect(share).toBeLessThan(0.25);
        expect(rehearsalVerdict(result.report)).toMatchObject({ pass: true, problems: [] });
    });

    it("sends every new connection to blue again after the flip-back (the load balancer's change, through ARM)", () => {
        expect(newConnectionsMissingTheSwitch(result.records, result.flips, SWITCH_TOLERANCE_MS)).toEqual([]);
        const back = result.flips[1];
        const after = result.records.filter((r) => r.newConnection && r.start > back.at + SWITCH_TOLERANCE_MS);
        expect(after.length).toBeGreaterThan(20);
        expect(after.every((r) => r.color === "blue")).toBe(true);
        expect(result.report.flips[1].armMs).toBeGreaterThan(0);
        expect(lines.join("\n")).toMatch(/AUTOMATIC FLIP-BACK green → blue by the release agent through ARM[\s\S]*recorded in the load balancer's tag bluegreen-flip-back: green: error ratio/);
    });

    it("writes the report with autoRollbacks and a chart marking the watch, its verdicts and the flip-back", () => {
        const report = JSON.parse(fs.readFileSync(result.reportPath, "utf8"));
        expect(report.autoRollbacks).toEqual([expect.objectContaining({ from: "green", to: "blue" })]);
        expect(report).toMatchObject({ machineryFailures: 0, settings: { fault: "errors-after-flip" } });
        const svg = fs.readFileSync(result.chartPath, "utf8");
        expect(svg.match(/<g class="watch">/g)).toHaveLength(1);
        expect(svg.match(/<g class="verdict verdict-fail">/g)).toHaveLength(1);
        expect(svg.match(/<g class="marker marker-auto-rollback">/g)).toHaveLength(1);
        expect(fs.existsSync(result.workDir)).toBe(false);
    });
});
