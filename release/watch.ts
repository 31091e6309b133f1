/**
 * The post-flip watch (issue 16, point 4): after a flip, the release agent reads the new live color's local proxies
 * every interval, judges them with the post-flip analysis and, on `fail`, sends production back to the rollback target
 * by itself — once per flip. It runs as a systemd unit on the agent (vm-scripts/agent-watch.sh, release/watchCli.ts),
 * so it keeps running when the machine that ran `pulumi up` goes away.
 *
 * Each interval: probe then read every watched VM (the new color's and, as the baseline, the old color's), turn the
 * reads into samples (release/watchSignals.ts), `analyse(all samples since the flip, baseline, thresholds)`; a verdict
 * event per interval. `fail` → one call of `flipBack` with a FlipBackRecord, a full record (when, from, to, why, the
 * samples, the flip-back's answer) as JSON in the state directory and in the journal, and the watch ends. It also ends
 * at `until` (`passed`, or `inconclusive`: never a flip-back on too little traffic), by the kill switch (`stop`) or by
 * `promote`.
 *
 * State is on disk, per flip (`<stateDir>/flips/<flipId>/state.json`, written after every interval): a restarted
 * process resumes the same flip's watch, never flips back a second time for it (not even when the first attempt was
 * cut short: the state says `flipping-back` before the call), and never watches a finished or expired flip again. A
 * watch started for a newer flip marks older unfinished ones `superseded`.
 *
 * Node built-ins only: the release agent runs it from the tool bundle.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { isColor } from "./colors";
import { analyse, Analysis, Sample, thresholdProblems, Verdict } from "./postFlipAnalysis";
import type { FlipBackRecord, WatchedVm, WatchSpec } from "./watchContract";
import { LATENCY_METRICS_PATH } from "./localProxy";
import { countersFromMetrics, lifetimeSample, ProbeResult, ProxyCounters, sampleFromCounters } from "./watchSignals";

/** How a watch ended. */
export type WatchOutcome =
    | "passed"
    | "inconclusive"
    | "flipped-back"
    | "flip-back-failed"
    | "flip-back-interrupted"
    | "stopped"
    | "promoted"
    | "expired"
    | "superseded";

export type WatchStatus = "watching" | "flipping-back" | WatchOutcome;

/** Event types, in the order they can happen (the rehearsal measures detectMs and restoreMs from their `at`). */
export type WatchEventType =
    | "watch-started"
    | "watch-resumed"
    | "verdict"
    | "first-bad-interval"
    | "verdict-fail"
    | "flip-back-started"
    | "flip-back-done"
    | "flip-back-failed"
    | "watch-ended";

export interface WatchEvent {
    /** ISO 8601, the watch's clock. */
    readonly at: string;
    readonly type: WatchEventType;
    readonly flipId: string;
    /** The interval's number (1 = the first judged interval), for `verdict` and `first-bad-interval`. */
    readonly interval?: number;
    readonly verdict?: Verdict;
    readonly outcome?: WatchOutcome;
    /** `first-bad-interval`: when that interval started (ISO): no failed request of the color was seen before it. */
    readonly intervalStartedAt?: string;
    readonly reasons?: readonly string[];
}

/**
 * What the flip-back (the agent's ARM call, release/flipBack.ts) answered: done when `problems` is empty. Whatever
 * else it answers (its ARM attempts) is kept in the record as it came.
 */
export interface FlipBackResult {
    readonly outcome: string;
    readonly problems: readonly string[];
}

/** The full record of an automatic flip-back: `<stateDir>/flips/<flipId>/flip-back.json` and the journal. */
export interface FlipBackFullRecord {
    readonly record: FlipBackRecord;
    readonly analysis: Analysis;
    /** The new color's samples since the flip (per VM and interval), and the old color's (baseline). */
    readonly samples: readonly Sample[];
    readonly baseline: readonly Sample[];
    /** What the flip-back answered (its ARM attempts are in `problems` and `outcome`), or why it threw. */
    readonly flipBack: FlipBackResult;
    readonly spec: WatchSpec;
}

/** What is kept on disk per flip. */
export interface WatchState {
    readonly flipId: string;
    status: WatchStatus;
    readonly startedAt: string;
    /** Intervals judged so far (a sample's `startMs` is `startedAt + (interval − 1) × step`: restarts leave no gap). */
    intervals: number;
    samples: Sample[];
    baseline: Sample[];
    /** Per interval: the proxies' mean response time (ms, last 1,024 answers) per VM, for people; not judged. */
    meanResponseMs: Record<string, number>[];
    events: WatchEvent[];
    firstBadSeen: boolean;
    last?: Analysis;
    ended?: { readonly at: string; readonly outcome: WatchOutcome; readonly reasons: readonly string[] };
    flipBack?: FlipBackResult;
    spec: WatchSpec;
}

export interface WatchResult {
    readonly flipId: string;
    readonly outcome: WatchOutcome;
    /** True when the flip had already ended before this call (nothing was watched). */
    readonly alreadyEnded: boolean;
    readonly analysis?: Analysis;
    readonly record?: FlipBackFullRecord;
}

/** An HTTP GET: status and body, or a thrown error (refused, timeout). */
export type Fetch = (url: string, timeoutMs: number) => Promise<{ status: number; body: string }>;

export interface WatchOptions {
    readonly stateDir: string;
    readonly flipBack: (record: FlipBackRecord) => Promise<FlipBackResult>;
    /** ms since the epoch. @default Date.now */
    readonly now?: () => number;
    /** @default setTimeout */
    readonly sleep?: (ms: number) => Promise<void>;
    /** @default a GET with Node's http */
    readonly fetch?: Fetch;
    /** A line for the journal. @default console.log */
    readonly log?: (line: string) => void;
    readonly onEvent?: (event: WatchEvent) => void;
}

const FINAL: readonly WatchStatus[] = ["passed", "inconclusive", "flipped-back", "flip-back-failed", "flip-back-interrupted", "stopped", "promoted", "expired", "superseded"];

/** Is this status the end of a watch? */
export const isEnded = (s: WatchStatus): s is WatchOutcome => FINAL.includes(s);

/** The directory of one flip's state. */
export function flipDir(stateDir: string, flipId: string): string {
    return path.join(stateDir, "flips", flipId.replace(/[^A-Za-z0-9._-]/g, "_"));
}

/** Control files the CLI writes and the loop checks each interval. */
export const CONTROL = { stop: "stop", promote: "promote" } as const;

/** What is wrong with a spec (empty when it can be watched). */
export function watchSpecProblems(spec: WatchSpec): string[] {
    const problems: string[] = [];
    const iso = (s: unknown): boolean => typeof s === "string" && !Number.isNaN(Date.parse(s));
    if (!spec || typeof spec !== "object") return ["the spec is not a JSON object (WatchSpec, release/watchContract.ts)"];
    if (!iso(spec.flipId)) problems.push(`flipId ${JSON.stringify(spec.flipId)} is not an ISO 8601 time (the guard's lastFlipAt)`);
    if (!iso(spec.until)) problems.push(`until ${JSON.stringify(spec.until)} is not an ISO 8601 time`);
    if (!isColor(spec.from) || !isColor(spec.to) || spec.from === spec.to) problems.push(`from ${JSON.stringify(spec.from)} and to ${JSON.stringify(spec.to)} must be the two colors, blue and green`);
    const vmProblems = (what: string, vms: unknown): void => {
        if (!Array.isArray(vms)) return void problems.push(`${what} is not a list of VMs`);
        for (const vm of vms as WatchedVm[]) {
            const port = (p: unknown): boolean => Number.isInteger(p) && (p as number) > 0 && (p as number) < 65536;
            if (!vm || typeof vm.name !== "string" || typeof vm.host !== "string" || vm.host === "" || !port(vm.metricsPort) || !port(vm.healthPort)) {
                problems.push(`${what}: ${JSON.stringify(vm)} needs a name, a host and two TCP ports (metricsPort, healthPort)`);
            }
        }
    };
    vmProblems("targets", spec.targets);
    vmProblems("baseline", spec.baseline);
    if (Array.isArray(spec.targets) && spec.targets.length === 0) problems.push("targets is empty: the new live color has no VMs to watch");
    if (typeof spec.healthPath !== "string" || !spec.healthPath.startsWith("/")) problems.push(`healthPath ${JSON.stringify(spec.healthPath)} must start with /`);
    if (!spec.thresholds || typeof spec.thresholds !== "object") problems.push("thresholds is missing (WatchThresholds)");
    else problems.push(...thresholdProblems(spec.thresholds, Number.POSITIVE_INFINITY));
    return problems;
}

/** Node's http GET, with a timeout. */
export const httpFetch: Fetch = (url, timeoutMs) =>
    new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: timeoutMs, headers: { "user-agent": "bluegreen-watch", connection: "close" } }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", reject);
    });

function readJson<T>(file: string): T | undefined {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as T;
    } catch {
        return undefined;
    }
}

function writeJsonAtomic(file: string, value: unknown): void {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.new`;
    fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
}

/** The state of one flip's watch, when there is one. */
export function readWatchState(stateDir: string, flipId: string): WatchState | undefined {
    return readJson<WatchState>(path.join(flipDir(stateDir, flipId), "state.json"));
}

/** Every flip's state in the directory, oldest flip first. */
export function listWatchStates(stateDir: string): WatchState[] {
    const root = path.join(stateDir, "flips");
    if (!fs.existsSync(root)) return [];
    return fs.readdirSync(root)
        .map((d) => readJson<WatchState>(path.join(root, d, "state.json")))
        .filter((s): s is WatchState => s !== undefined)
        .sort((a, b) => Date.parse(a.flipId) - Date.parse(b.flipId));
}

/** Asks the watch of `flipId` to stop (kill switch) or end early as passed (promote): it sees the file next interval. */
export function requestControl(stateDir: string, flipId: string, what: keyof typeof CONTROL): string {
    const file = path.join(flipDir(stateDir, flipId), CONTROL[what]);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, `${new Date().toISOString()}\n`, { mode: 0o600 });
    return file;
}

/** Runs the watch of `spec` until it ends; see the file's comment. Throws on a spec it cannot watch. */
export async function runWatch(spec: WatchSpec, opts: WatchOptions): Promise<WatchResult> {
    const problems = watchSpecProblems(spec);
    if (problems.length > 0) throw new Error(`the watch's spec was refused: ${problems.join("; ")}`);
    const now = opts.now ?? Date.now;
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const fetch = opts.fetch ?? httpFetch;
    const log = opts.log ?? ((line: string) => console.log(line));
    const dir = flipDir(opts.stateDir, spec.flipId);
    const stateFile = path.join(dir, "state.json");
    const iso = (ms: number): string => new Date(ms).toISOString();
    const untilMs = Date.parse(spec.until);
    const stepMs = spec.thresholds.watchIntervalSeconds * 1000;
    const timeoutMs = Math.min(2000, Math.max(200, stepMs / 2));

    let state = readJson<WatchState>(stateFile);
    if (state && state.status === "flipping-back") {
        // The process ended during the flip-back call: whether it moved the rule is unknown; never a second one.
        state.status = "flip-back-interrupted";
        state.ended = { at: iso(now()), outcome: "flip-back-interrupted", reasons: ["the watch stopped during its flip-back; it is not sent again (at most one per flip): check the load balancer (npm run status)"] };
        writeJsonAtomic(stateFile, state);
    }
    if (state && isEnded(state.status)) {
        log(`watch ${spec.flipId}: already ended (${state.status}); nothing to watch`);
        return { flipId: spec.flipId, outcome: state.status, alreadyEnded: true, ...(state.last ? { analysis: state.last } : {}) };
    }
    const emit = (e: Omit<WatchEvent, "at" | "flipId">): void => {
        const event: WatchEvent = { at: iso(now()), flipId: spec.flipId, ...e };
        if (state) state.events.push(event);
        log(`watch ${spec.flipId}: ${event.type}${event.verdict ? ` ${event.verdict}` : ""}${event.outcome ? ` ${event.outcome}` : ""}${event.interval ? ` (interval ${event.interval})` : ""}${event.reasons?.length ? `: ${event.reasons.join("; ")}` : ""}`);
        opts.onEvent?.(event);
    };
    const end = (outcome: WatchOutcome, reasons: readonly string[]): WatchResult => {
        const s = state as WatchState;
        s.status = outcome;
        s.ended = { at: iso(now()), outcome, reasons };
        emit({ type: "watch-ended", outcome, reasons });
        writeJsonAtomic(stateFile, s);
        return { flipId: spec.flipId, outcome, alreadyEnded: false, ...(s.last ? { analysis: s.last } : {}) };
    };

    if (!state && now() >= untilMs) {
        state = { flipId: spec.flipId, status: "expired", startedAt: iso(now()), intervals: 0, samples: [], baseline: [], meanResponseMs: [], events: [], firstBadSeen: false, spec };
        return end("expired", [`the watch of flip ${spec.flipId} was to end at ${spec.until}: nothing watched`]);
    }
    // A newer flip's watch replaces older unfinished ones.
    for (const other of listWatchStates(opts.stateDir)) {
        if (other.flipId === spec.flipId || isEnded(other.status) || Date.parse(other.flipId) > Date.parse(spec.flipId)) continue;
        other.status = "superseded";
        other.ended = { at: iso(now()), outcome: "superseded", reasons: [`flip ${spec.flipId} started a new watch`] };
        writeJsonAtomic(path.join(flipDir(opts.stateDir, other.flipId), "state.json"), other);
    }
    const resumed = state !== undefined;
    state ??= { flipId: spec.flipId, status: "watching", startedAt: iso(now()), intervals: 0, samples: [], baseline: [], meanResponseMs: [], events: [], firstBadSeen: false, spec };
    const s: WatchState = state;
    emit({ type: resumed ? "watch-resumed" : "watch-started", reasons: [`${spec.to} watched until ${spec.until}; on fail production goes back to ${spec.from}`] });
    writeJsonAtomic(stateFile, s);

    const key = (vm: WatchedVm): string => `${vm.host}:${vm.metricsPort}`;
    const probe = async (vm: WatchedVm): Promise<ProbeResult> => {
        const t0 = now();
        try {
            const r = await fetch(`http://${vm.host}:${vm.healthPort}${spec.healthPath}`, timeoutMs);
            return { status: r.status, ms: Math.max(0, now() - t0) };
        } catch {
            return { ms: Math.max(0, now() - t0) };
        }
    };
    const scrape = async (vm: WatchedVm): Promise<ProxyCounters | undefined> => {
        try {
            const r = await fetch(`http://${vm.host}:${vm.metricsPort}/metrics`, timeoutMs);
            if (r.status !== 200) return undefined;
            // The latency histogram, when the proxy serves it (a proxy configured by an older release does not: 404).
            const l = await fetch(`http://${vm.host}:${vm.metricsPort}${LATENCY_METRICS_PATH}`, timeoutMs).catch(() => undefined);
            return countersFromMetrics(r.body, l?.status === 200 ? l.body : undefined);
        } catch {
            return undefined;
        }
    };
    /** Probe then read each VM (in parallel); the probe goes through the proxy's probe backend, not in the counts. */
    const read = (vms: readonly WatchedVm[]): Promise<{ vm: WatchedVm; probe: ProbeResult; counters?: ProxyCounters }[]> =>
        Promise.all(vms.map(async (vm) => {
            const p = await probe(vm);
            const counters = await scrape(vm);
            return { vm, probe: p, ...(counters ? { counters } : {}) };
        }));

    // The first read only sets the counters' starting point (after a restart too); the old color's counters since its
    // proxy started are its baseline when there is none yet.
    const previous = new Map<string, ProxyCounters | undefined>();
    const first = await read([...spec.targets, ...spec.baseline]);
    for (const r of first) previous.set(key(r.vm), r.counters);
    if (s.baseline.length === 0) {
        for (const r of first.filter((x) => spec.baseline.includes(x.vm))) {
            if (r.counters) s.baseline.push(lifetimeSample(spec.from, r.vm.name, Date.parse(s.startedAt), r.counters));
        }
    }
    let tickAt = now();

    for (;;) {
        const control = (what: keyof typeof CONTROL): boolean => fs.existsSync(path.join(dir, CONTROL[what]));
        if (control("stop")) return end("stopped", [`kill switch: ${path.join(dir, CONTROL.stop)}; production stays on ${spec.to}`]);
        if (control("promote")) return end("promoted", [`promoted: ${spec.to} stays live, the watch ended early`]);
        if (now() >= untilMs) {
            const final = s.last ?? analyse(s.samples, s.baseline, spec.thresholds);
            s.last = final;
            if (final.verdict === "pass") return end("passed", final.reasons);
            return end("inconclusive", [`inconclusive at the end of the watch: no flip-back on too little evidence`, ...final.reasons]);
        }
        const next = tickAt + stepMs;
        const wait = Math.min(next, untilMs) - now();
        if (wait > 0) await sleep(wait);
        if (now() >= untilMs && now() < next) continue;
        const intervalStart = tickAt;
        tickAt = now();

        const reads = await read([...spec.targets, ...spec.baseline]);
        s.intervals += 1;
        const startMs = Date.parse(s.startedAt) + (s.intervals - 1) * stepMs;
        const means: Record<string, number> = {};
        const fresh: Sample[] = [];
        for (const r of reads) {
            const isTarget = spec.targets.includes(r.vm);
            const sample = sampleFromCounters({ color: isTarget ? spec.to : spec.from, vm: r.vm.name, startMs, before: previous.get(key(r.vm)), after: r.counters, probe: r.probe });
            if (r.counters) previous.set(key(r.vm), r.counters);
            else previous.set(key(r.vm), undefined);
            if (r.counters?.meanResponseMs !== undefined) means[r.vm.name] = r.counters.meanResponseMs;
            (isTarget ? s.samples : s.baseline).push(sample);
            if (isTarget) fresh.push(sample);
        }
        s.meanResponseMs.push(means);

        if (!s.firstBadSeen && fresh.some((x) => x.requests["5xx"] + x.connectionErrors > 0)) {
            s.firstBadSeen = true;
            emit({ type: "first-bad-interval", interval: s.intervals, intervalStartedAt: iso(intervalStart) });
        }
        const analysis = analyse(s.samples, s.baseline, spec.thresholds);
        s.last = analysis;
        emit({ type: "verdict", interval: s.intervals, verdict: analysis.verdict, reasons: analysis.verdict === "fail" ? analysis.reasons : analysis.reasons.slice(0, 1) });
        if (analysis.verdict !== "fail") {
            writeJsonAtomic(stateFile, s);
            continue;
        }

        emit({ type: "verdict-fail", interval: s.intervals, verdict: "fail", reasons: analysis.reasons });
        const record: FlipBackRecord = { flipId: spec.flipId, at: iso(now()), from: spec.to, to: spec.from, reason: analysis.reasons.join("; ") };
        s.status = "flipping-back";
        writeJsonAtomic(stateFile, s);
        emit({ type: "flip-back-started", reasons: [`production from ${spec.to} back to ${spec.from}`] });
        let result: FlipBackResult;
        try {
            result = await opts.flipBack(record);
        } catch (e) {
            result = { outcome: "error", problems: [(e as Error).message] };
        }
        s.flipBack = result;
        const ok = result.problems.length === 0;
        emit({ type: ok ? "flip-back-done" : "flip-back-failed", reasons: [`${result.outcome}`, ...result.problems] });
        const full: FlipBackFullRecord = { record, analysis, samples: s.samples, baseline: s.baseline, flipBack: result, spec };
        writeJsonAtomic(path.join(dir, "flip-back.json"), full);
        log(`watch ${spec.flipId}: flip-back record ${JSON.stringify({ ...full, samples: `${s.samples.length} samples in ${path.join(dir, "flip-back.json")}`, baseline: `${s.baseline.length} samples` })}`);
        const outcome = end(ok ? "flipped-back" : "flip-back-failed", [
            ok ? `production went back from ${spec.to} to ${spec.from}` : `the flip-back from ${spec.to} to ${spec.from} failed (${result.outcome}): ${result.problems.join("; ")}; it is not retried by the watch: move it by hand (npm run status)`,
            ...analysis.reasons,
        ]);
        return { ...outcome, record: full };
    }
}
