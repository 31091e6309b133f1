/**
 * The rehearsal's options: parsed from the command line (`npm run rehearse -- --duration 120 ...`) and turned into
 * the scenario's timing (pure).
 */
import * as path from "path";
import { Fault, FAULTS } from "../app/src/config";
import { DEFAULT_WATCH_THRESHOLDS, WatchThresholds } from "../release/postFlipAnalysis";

export interface RehearsalOptions {
    /** Seconds of load, the whole scenario included. @default 120 */
    readonly durationS: number;
    /** Steady requests per second over all connections. @default 1000 */
    readonly rate: number;
    /** Keep-alive connections (virtual clients). @default 100 */
    readonly connections: number;
    /** Where the JSON report goes; the chart is written next to it (`.svg`). @default reports/rehearsal/report.json */
    readonly reportPath: string;
    /**
     * What is broken: in v3, the build whose flip must be refused (`unhealthy`, `wrong-version`, `crash-on-start`); or,
     * with `errors-after-flip`, in v2, which passes the gate and fails a fifth of its requests once it takes
     * production traffic, so the post-flip watch flips production back (a shorter scenario). @default "unhealthy"
     */
    readonly fault: Fault;
    /** The app to release: a directory with a bluegreen.json (docs/app-contract.md). @default undefined (the Node sample, app/) */
    readonly app?: string;
}

export const DEFAULT_OPTIONS: RehearsalOptions = {
    durationS: 120,
    rate: 1000,
    connections: 100,
    reportPath: path.join("reports", "rehearsal", "report.json"),
    fault: "unhealthy",
};

/** The default length of an `errors-after-flip` run (its scenario is one flip and the watch's flip-back). */
export const FAULT_RUN_DEFAULT_DURATION_S = 30;

export const USAGE = `usage: npm run rehearse -- [--duration <seconds>] [--rate <requests/s>] [--connections <n>]
                        [--report <path>] [--fault unhealthy|wrong-version|crash-on-start|errors-after-flip]
                        [--app <directory>]

Runs a whole blue/green release on this machine under steady load (HAProxy as the load balancer, PostgreSQL, two
VMs per color, each deployed by vm-scripts/deploy-app.sh behind its local proxy), and writes a JSON report and an
SVG chart of the cut-over.

  --duration <seconds>     length of the run, scenario included (default ${DEFAULT_OPTIONS.durationS}, at least 15)
  --rate <requests/s>      steady load over all connections (default ${DEFAULT_OPTIONS.rate})
  --connections <n>        keep-alive connections (default ${DEFAULT_OPTIONS.connections})
  --report <path>          JSON report; the chart goes next to it as .svg (default ${DEFAULT_OPTIONS.reportPath})
  --fault <fault>          what is broken in v3, whose flip must be refused (default ${DEFAULT_OPTIONS.fault}); or
                           errors-after-flip: v2 passes the gate, then fails 20% of requests once it is live, and
                           the post-flip watch flips production back by itself (default duration ${FAULT_RUN_DEFAULT_DURATION_S} s; the run
                           lasts until the flip-back and a few seconds after it, at least --duration)
  --app <directory>        the app to release: any directory with a bluegreen.json (docs/app-contract.md), packed
                           with npm run app:pack -- <version> --app <directory> (default: the Node sample, app/);
                           the load asks GET /goals?limit=5, POST /goals and GET /slow?ms=N, as both samples serve
`;

/** Parses the command line. Throws an Error naming the bad option, the value and the fix. */
export function parseOptions(argv: readonly string[]): RehearsalOptions {
    const out: { -readonly [K in keyof RehearsalOptions]: RehearsalOptions[K] } = { ...DEFAULT_OPTIONS };
    let durationGiven = false;
    const number = (flag: string, raw: string | undefined, min: number, max: number, example: number): number => {
        const n = Number(raw);
        if (raw === undefined || raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
            throw new Error(
                `${flag} ${raw === undefined ? "needs a value" : `"${raw}" is not a number from ${min} to ${max}`}; e.g. ${flag} ${example}.\n${USAGE}`,
            );
        }
        return n;
    };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = argv[i + 1];
        switch (flag) {
            case "--duration":
                out.durationS = number(flag, value, 15, 3600, 120);
                durationGiven = true;
                break;
            case "--rate":
                out.rate = number(flag, value, 1, 20000, 1000);
                break;
            case "--connections":
                out.connections = Math.round(number(flag, value, 1, 2000, 100));
                break;
            case "--report":
                if (!value || value.startsWith("--")) throw new Error(`--report needs a path, e.g. --report reports/run.json.\n${USAGE}`);
                out.reportPath = value;
                break;
            case "--fault":
                if (!(FAULTS as readonly string[]).includes(value ?? "")) {
                    throw new Error(`--fault ${value === undefined ? "needs a value" : `"${value}" is not a fault`}; use one of ${FAULTS.join(", ")}.\n${USAGE}`);
                }
                out.fault = value as Fault;
                break;
            case "--app":
                if (!value || value.startsWith("--")) throw new Error(`--app needs the directory of an app with a bluegreen.json, e.g. --app app-python.\n${USAGE}`);
                out.app = value;
                break;
            case "--help":
            case "-h":
                throw new Error(USAGE);
            default:
                throw new Error(`unknown option "${flag}".\n${USAGE}`);
        }
        i++;
    }
    if (out.fault === "errors-after-flip" && !durationGiven) out.durationS = FAULT_RUN_DEFAULT_DURATION_S;
    if (out.rate / out.connections > 100) {
        throw new Error(
            `--rate ${out.rate} over --connections ${out.connections} is ${out.rate / out.connections} requests/s per connection; ` +
                `keep it at most 100 (e.g. --connections ${Math.ceil(out.rate / 100)}).\n${USAGE}`,
        );
    }
    return out;
}

/** How long before the program's change of the load balancer is sent the slow requests start (then in flight). */
export const SLOW_REQUEST_LEAD_MS = 200;

/** When each step of the scenario happens, in ms after the load started, and the timing settings it uses. */
export interface ScenarioTiming {
    /** The VMs' local proxies close client connections older than this (PROXY_MAX_CONNECTION_AGE_MS). */
    readonly maxConnectionAgeMs: number;
    /** The rollback window (the guard's `rollbackWindowMinutes` is this / 60 000). */
    readonly rollbackWindowMs: number;
    /**
     * How long slow requests take (`/slow?ms=`). They start {@link SLOW_REQUEST_LEAD_MS} before the program's change
     * of the load balancer is sent, and must still be in flight when it is applied: the change goes through ARM (a
     * token, a GET, a PUT, provisioning), which took over 300 ms on a loaded machine.
     */
    readonly slowRequestMs: number;
    /**
     * The least time between two flips, so that each converges first (every old connection reaches its maximum age)
     * even when an earlier step ran late on a busy machine.
     */
    readonly minFlipGapMs: number;
    /** Target start time of each step (a step that is late starts as soon as the previous one is done). */
    readonly at: {
        readonly expand: number;
        readonly deployGreen: number;
        readonly flip: number;
        readonly rollback: number;
        readonly flipAgain: number;
        readonly refusals: number;
        readonly brokenDeploy: number;
        readonly end: number;
    };
}

/**
 * Spreads the scenario over the run: flips far enough apart that every old connection reaches its maximum age in
 * between (so each flip converges before the next), and a rollback window that is still open at the refusals and
 * has closed some time before the v3 deploy.
 */
export function scenarioTiming(durationS: number): ScenarioTiming {
    const d = durationS * 1000;
    const maxConnectionAgeMs = Math.round(Math.min(3000, Math.max(500, d / 20)));
    return {
        maxConnectionAgeMs,
        rollbackWindowMs: Math.round(0.22 * d),
        slowRequestMs: Math.round(maxConnectionAgeMs / 2 + 300),
        minFlipGapMs: Math.round(1.5 * maxConnectionAgeMs + 500),
        at: {
            expand: Math.round(0.02 * d),
            deployGreen: Math.round(0.04 * d),
            flip: Math.round(0.15 * d),
            rollback: Math.round(0.27 * d),
            flipAgain: Math.round(0.39 * d),
            refusals: Math.round(0.42 * d),
            // the v2 deploy onto blue and the contract happen when the window closes: 0.39 + 0.22 = 0.61
            brokenDeploy: Math.round(0.72 * d),
            end: d,
        },
    };
}

/**
 * The post-flip watch's thresholds in the rehearsal for a watch of `watchMs`: the product's defaults
 * (DEFAULT_WATCH_THRESHOLDS) with `watchMinutes` = the watch's length. When the watch is shorter than the
 * `watchConsecutiveIntervals` intervals a fail needs (a short default run: its rollback window is 22% of the run),
 * the interval shrinks to fit them, never below 1 s; undefined when even 1 s intervals do not fit (no watch).
 */
export function rehearsalWatchThresholds(watchMs: number): WatchThresholds | undefined {
    const d = DEFAULT_WATCH_THRESHOLDS;
    const watchMinutes = watchMs / 60_000;
    if (watchMs >= d.watchIntervalSeconds * d.watchConsecutiveIntervals * 1000) return { ...d, watchMinutes };
    const watchIntervalSeconds = Math.floor(watchMs / 1000 / d.watchConsecutiveIntervals);
    return watchIntervalSeconds >= 1 ? { ...d, watchIntervalSeconds, watchMinutes } : undefined;
}

/** When the steps of the `errors-after-flip` scenario happen, in ms after the load started. */
export interface FaultScenarioTiming {
    /** The VMs' local proxies close client connections older than this (as in the default scenario). */
    readonly maxConnectionAgeMs: number;
    /** How long slow requests take (`/slow?ms=`); they start shortly before the flip. */
    readonly slowRequestMs: number;
    /** The flip to the broken v2 (target time; the gate runs first). */
    readonly flip: number;
    /** How long the watch watches after the flip: the rest of the run, and long enough to fail with the defaults. */
    readonly watchMs: number;
    /** The rollback window: the watch's length (the watch may not outlast it). */
    readonly rollbackWindowMs: number;
    /** The load runs on this long after the automatic flip-back, so the move back is measured to its end. */
    readonly tailMs: number;
    /** The earliest end of the load (`--duration`). */
    readonly end: number;
}

/**
 * The `errors-after-flip` scenario: v2 is on green before the load starts; the flip comes once the clients hold their
 * keep-alive connections; the watch runs for the rest of the run but at least 45 s (the defaults fail a 20% error
 * rate after 3 intervals of 5 s, plus up to an interval of alignment); the load goes on for 1.5 × the maximum
 * connection age + 0.5 s after the flip-back (every connection moved back) or until `durationS`, whichever is later.
 */
export function faultScenarioTiming(durationS: number): FaultScenarioTiming {
    const d = durationS * 1000;
    const { maxConnectionAgeMs, slowRequestMs } = scenarioTiming(durationS);
    const flip = 2000;
    const watchMs = Math.max(d - flip, 45_000);
    return { maxConnectionAgeMs, slowRequestMs, flip, watchMs, rollbackWindowMs: watchMs, tailMs: Math.round(1.5 * maxConnectionAgeMs + 500), end: d };
}

/**
 * The scenario's plan on the load's clock (`since`: ms since the load started). `step(planned)` waits until the step's
 * planned time plus how late the run already is, and resolves with that lateness. A step that starts late (the one
 * before took longer than planned: a deploy on a slow disk) delays every later step by as much, so they keep their
 * spacing (the rollback inside the rollback window, the refusals before it closes) instead of bunching up; a run
 * never catches up by cutting a gap short.
 */
export function planClock(since: () => number, wait: (ms: number) => Promise<void>): { step(planned: number): Promise<number> } {
    let late = 0;
    return {
        async step(planned: number): Promise<number> {
            const ms = planned + late - since();
            if (ms > 0) await wait(ms);
            late = Math.max(late, since() - planned);
            return late;
        },
    };
}
