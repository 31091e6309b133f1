/**
 * The post-flip watch in the rehearsal: the release agent's own loop (release/watch.ts `runWatch`), run in-process
 * by the scenario after each flip, with the agent's flip-back through the ARM stand-in (rehearsal/armFront.ts). It
 * reads each watched VM's local proxy (`/metrics` on its own port here; 8405 on every VM on Azure) and probes its
 * `/health`, judges every interval, and on `fail` moves production back once, by ARM, which the front HAProxy follows.
 *
 * In-process rather than release/watchCli.ts as a child process: the scenario needs the watch's events (each verdict,
 * the fail, the flip-back) on its own clock for the report and the chart, and a child would add a process to start and
 * stop on every way out. The loop, the analysis, the spec, the state directory and the flip-back are the agent's.
 *
 * A watch ends by itself (pass, inconclusive, flipped back, at `until`), or is stopped by the scenario (the kill
 * switch, `requestControl(..., "stop")`) at a manual rollback and when the run ends: its wait is cut short so that no
 * further interval is judged.
 */
import { requestControl, runWatch, WatchEvent, WatchOptions, WatchOutcome } from "../release/watch";
import type { Verdict } from "../release/postFlipAnalysis";
import type { WatchSpec } from "../release/watchContract";

/** One watch as the scenario sees it. Times on the scenario's clock (ms since the load started). */
export interface RehearsalWatch {
    readonly spec: WatchSpec;
    /** When the watch started. */
    readonly startedAt: number;
    /** Every verdict, one per interval. */
    readonly verdicts: { readonly at: number; readonly verdict: Verdict }[];
    /** The `fail` verdict that made the flip-back, when there was one. */
    readonly fail: () => { readonly at: number; readonly reasons: readonly string[] } | undefined;
    /** How it ended, and when (undefined while it runs). */
    readonly ended: () => { readonly at: number; readonly outcome: WatchOutcome } | undefined;
    /** Resolves when the watch has ended (never rejects). */
    readonly done: Promise<void>;
    /** The kill switch: the watch ends without judging another interval; production stays where it is. */
    stop(): Promise<void>;
}

export interface RehearsalWatchOptions {
    /** The agent's state directory (one per run). */
    readonly stateDir: string;
    /** The agent's flip-back (through the ARM stand-in). */
    readonly flipBack: WatchOptions["flipBack"];
    /** Turns the watch's ISO times into the scenario's clock. */
    readonly clock: (iso: string) => number;
    /** The scenario's timeline. */
    readonly say: (text: string) => void;
}

/** Starts the agent's watch of `spec` in this process. */
export function startRehearsalWatch(spec: WatchSpec, o: RehearsalWatchOptions): RehearsalWatch {
    const verdicts: { at: number; verdict: Verdict }[] = [];
    let fail: { at: number; reasons: readonly string[] } | undefined;
    let ended: { at: number; outcome: WatchOutcome } | undefined;
    const abort = new AbortController();
    const sleep = (ms: number): Promise<void> =>
        new Promise((resolve, reject) => {
            if (abort.signal.aborted) return reject(new Error("stopped"));
            const timer = setTimeout(resolve, ms);
            abort.signal.addEventListener("abort", () => {
                clearTimeout(timer);
                reject(new Error("stopped"));
            }, { once: true });
        });
    const t = spec.thresholds;
    const onEvent = (e: WatchEvent): void => {
        const at = o.clock(e.at);
        const why = e.reasons?.length ? `: ${e.reasons.join("; ")}` : "";
        switch (e.type) {
            case "watch-started":
                o.say(
                    `WATCH ${spec.to} (the release agent's loop, in this process): ${spec.targets.map((v) => `${v.name} :${v.metricsPort}/metrics`).join(", ")}; ` +
                        `intervals of ${t.watchIntervalSeconds} s, fail after ${t.watchConsecutiveIntervals} bad in a row (error ratio > ${t.watchErrorRatio * 100}%, ` +
                        `p${t.watchLatencyPercentile} > ${t.watchLatencyMs} ms, or no traffic), for ${Math.round(t.watchMinutes * 600) / 10} s; on fail back to ${spec.from} through ARM`,
                );
                break;
            case "verdict":
                if (e.verdict) verdicts.push({ at, verdict: e.verdict });
                break;
            case "first-bad-interval":
                o.say(`watch: first interval with failed requests on ${spec.to} (interval ${e.interval})`);
                break;
            case "verdict-fail":
                fail = { at, reasons: e.reasons ?? [] };
                o.say(`WATCH VERDICT fail (interval ${e.interval})${why}`);
                break;
            case "flip-back-started":
            case "flip-back-done":
            case "flip-back-failed":
                o.say(`watch: ${e.type}${why}`);
                break;
            case "watch-ended":
                ended = { at, outcome: e.outcome ?? "stopped" };
                o.say(`watch of ${spec.to} ended: ${e.outcome}${e.outcome === "flipped-back" ? "" : why}`);
                break;
            default:
                break;
        }
    };
    const startedAt = o.clock(new Date().toISOString());
    const done = runWatch(spec, { stateDir: o.stateDir, flipBack: o.flipBack, sleep, log: () => undefined, onEvent }).then(
        () => undefined,
        (e: Error) => {
            if (!ended) {
                ended = { at: o.clock(new Date().toISOString()), outcome: "stopped" };
                o.say(`watch of ${spec.to} ${abort.signal.aborted ? "stopped (kill switch)" : `failed: ${e.message}`}`);
            }
        },
    );
    return {
        spec,
        startedAt,
        verdicts,
        fail: () => fail,
        ended: () => ended,
        done,
        async stop(): Promise<void> {
            if (!ended) {
                requestControl(o.stateDir, spec.flipId, "stop");
                abort.abort();
            }
            await done;
        },
    };
}
