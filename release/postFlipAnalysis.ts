/**
 * The post-flip analysis (issue 16, point 2): after the load balancer moves, is the new live color healthy? A pure
 * function from samples (per VM and interval: requests by status class, connection errors, latency buckets, the
 * health probe) to `pass | fail | inconclusive` with reasons that name the numbers. It decides; it does not watch
 * and does not flip back (the release agent will call it every interval, docs/post-flip-watch.md).
 *
 * Node built-ins only: it runs on the release agent.
 *
 * The rules (each one tested in tests/release/postFlipAnalysis.test.ts):
 * - The color is judged per interval over all its VMs together (the samples of one interval are summed).
 * - Error ratio = (5xx + connection errors) / (2xx + 3xx + 5xx + connection errors). 4xx are the client's errors, not
 *   the app's: they are neither failures nor do they dilute the ratio.
 * - An interval is judged only when that denominator reaches `watchMinRequests`; a smaller one is skipped (it
 *   neither counts towards nor breaks a streak of bad intervals).
 * - The limit is `max(watchErrorRatio, watchBaselineFactor × the old color's error ratio)` when a baseline (the old
 *   color's last minutes) has at least `watchMinRequests` requests; else `watchErrorRatio`. So a baseline that
 *   already had errors does not fail the new color for the same errors, and a clean baseline does not make the
 *   threshold stricter than configured.
 * - Latency: the `watchLatencyPercentile` percentile of an interval, estimated from its buckets (the upper bound of
 *   the bucket holding it: never lower than the truth), must not exceed `max(watchLatencyMs, watchBaselineFactor ×
 *   the baseline's)`. The first interval is a warm-up for latency (slow start: caches, JIT, pools) and not judged.
 * - A rule fails only after `watchConsecutiveIntervals` bad intervals in a row: one bad interval is not a fail.
 * - No traffic reaching the color is `fail`, never `inconclusive`: no samples at all, every interval empty, or
 *   `watchConsecutiveIntervals` empty intervals in a row (an interval no VM reported, between two that were, is empty).
 * - A VM whose health probe fails in `watchConsecutiveIntervals` intervals in a row is `fail`.
 * - `inconclusive` when nothing failed but no interval had enough requests to judge; else `pass`.
 */

/** HTTP status classes the local proxy counts. */
export type StatusClass = "2xx" | "3xx" | "4xx" | "5xx";

/** One latency bucket, Prometheus style: requests that took at most `leMs` (cumulative; the last `leMs` is Infinity). */
export interface LatencyBucket {
    readonly leMs: number;
    readonly count: number;
}

/** What one VM's local proxy saw in one interval. */
export interface Sample {
    /** The color the VM belongs to (for the reasons). */
    readonly color: string;
    /** VM name, e.g. `green-vm-0`. */
    readonly vm: string;
    /** Start of the interval, ms (any epoch, the same for every sample of one analysis). */
    readonly startMs: number;
    /** Answers by status class. */
    readonly requests: Readonly<Record<StatusClass, number>>;
    /** Requests that got no answer (reset, refused, timeout). */
    readonly connectionErrors: number;
    /** Cumulative latency buckets of the answered requests; empty when unknown. */
    readonly latency: readonly LatencyBucket[];
    /** The health probe in this interval: "pass", "fail", or undefined when not probed. */
    readonly probe?: "pass" | "fail";
}

/**
 * The watch's settings. Field names are the config keys they will be read from (`pulumi config set <key> <value>`).
 */
export interface WatchThresholds {
    /** Highest ratio of failed requests (5xx + connection errors) an interval may have. @default 0.05 */
    readonly watchErrorRatio: number;
    /** The latency percentile judged (0 < p < 100). @default 95 */
    readonly watchLatencyPercentile: number;
    /** Highest latency (ms) that percentile may reach. @default 1000 */
    readonly watchLatencyMs: number;
    /** Requests (4xx not counted) an interval needs before it is judged. @default 20 */
    readonly watchMinRequests: number;
    /** Bad intervals in a row that make a `fail`. @default 3 */
    readonly watchConsecutiveIntervals: number;
    /** Length of one analysis interval, seconds. @default 5 */
    readonly watchIntervalSeconds: number;
    /** The old color's numbers times this factor may raise the limits (never lower them). @default 2 */
    readonly watchBaselineFactor: number;
    /** How long the new live color is watched after a flip, minutes; at most `rollbackWindowMinutes`. @default 10 */
    readonly watchMinutes: number;
}

/**
 * Defaults for production: a 20% failure rate is caught in 3 intervals of 5 s (15 s, plus up to one interval of
 * alignment), well inside the 30 s the issue asks for detection and restore together; one bad interval is not enough.
 */
export const DEFAULT_WATCH_THRESHOLDS: WatchThresholds = {
    watchErrorRatio: 0.05,
    watchLatencyPercentile: 95,
    watchLatencyMs: 1000,
    watchMinRequests: 20,
    watchConsecutiveIntervals: 3,
    watchIntervalSeconds: 5,
    watchBaselineFactor: 2,
    watchMinutes: 10,
};

/** Latency bucket bounds (ms) used by `samplesFromRecords`. */
export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, Infinity];

export type Verdict = "pass" | "fail" | "inconclusive";

export interface Analysis {
    readonly verdict: Verdict;
    /** Why, with the numbers; for `fail`, the failing rules first. */
    readonly reasons: string[];
}

/** One interval of a color: its samples summed over VMs. */
interface Interval {
    readonly startMs: number;
    readonly judged: number;
    readonly failed: number;
    readonly fourXx: number;
    readonly latency: readonly LatencyBucket[];
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");
const fmtPct = (r: number): string => `${(r * 100).toFixed(1).replace(/\.0$/, "")}%`;
const fmtMs = (ms: number): string => (ms === Infinity ? "∞ ms" : `${fmtInt(ms)} ms`);

/** Requests that count for the error ratio: every answer but 4xx, plus connection errors. */
function judgedRequests(s: Pick<Sample, "requests" | "connectionErrors">): number {
    return s.requests["2xx"] + s.requests["3xx"] + s.requests["5xx"] + s.connectionErrors;
}

function failedRequests(s: Pick<Sample, "requests" | "connectionErrors">): number {
    return s.requests["5xx"] + s.connectionErrors;
}

/**
 * Sums cumulative bucket lists over the union of their bounds. A list without a given bound contributes its count at
 * its largest bound below it (so merged estimates err on the slow side).
 */
export function mergeLatency(lists: readonly (readonly LatencyBucket[])[]): LatencyBucket[] {
    const bounds = [...new Set(lists.flatMap((l) => l.map((b) => b.leMs)))].sort((a, b) => a - b);
    return bounds.map((leMs) => ({
        leMs,
        count: lists.reduce((sum, l) => {
            let c = 0;
            for (const b of l) if (b.leMs <= leMs) c = Math.max(c, b.count);
            return sum + c;
        }, 0),
    }));
}

/** The p-th percentile (0 < p < 100) estimated from cumulative buckets: the bound of the bucket holding it; NaN for none. */
export function latencyPercentile(buckets: readonly LatencyBucket[], p: number): number {
    const total = buckets.length === 0 ? 0 : Math.max(...buckets.map((b) => b.count));
    if (total === 0) return Number.NaN;
    const rank = Math.ceil((p / 100) * total);
    const sorted = [...buckets].sort((a, b) => a.leMs - b.leMs);
    for (const b of sorted) if (b.count >= rank) return b.leMs;
    return Infinity;
}

/**
 * The samples summed per interval, in time order. An interval missing between two others (no VM reported: a gap of
 * two or more `stepMs`) is added as an empty one, so silence is not mistaken for nothing to judge.
 */
function intervalsOf(samples: readonly Sample[], stepMs: number): Interval[] {
    const byStart = new Map<number, Sample[]>();
    for (const s of samples) byStart.set(s.startMs, [...(byStart.get(s.startMs) ?? []), s]);
    const present = [...byStart.entries()]
        .sort(([a], [b]) => a - b)
        .map(([startMs, group]) => ({
            startMs,
            judged: group.reduce((n, s) => n + judgedRequests(s), 0),
            failed: group.reduce((n, s) => n + failedRequests(s), 0),
            fourXx: group.reduce((n, s) => n + s.requests["4xx"], 0),
            latency: mergeLatency(group.map((s) => s.latency)),
        }));
    const out: Interval[] = [];
    for (const i of present) {
        const prev = out[out.length - 1];
        const missing = prev ? Math.round((i.startMs - prev.startMs) / stepMs) - 1 : 0;
        for (let k = 1; k <= missing; k++) out.push({ startMs: prev.startMs + k * stepMs, judged: 0, failed: 0, fourXx: 0, latency: [] });
        out.push(i);
    }
    return out;
}

/** Longest run of consecutive items for which `bad` holds, skipping items for which `skip` holds; with its members. */
function longestRun<T>(items: readonly T[], bad: (t: T) => boolean, skip: (t: T) => boolean = () => false): T[] {
    let best: T[] = [];
    let run: T[] = [];
    for (const t of items) {
        if (skip(t)) continue;
        if (bad(t)) {
            run = [...run, t];
            if (run.length > best.length) best = run;
        } else run = [];
    }
    return best;
}

/**
 * Judges the new live color from its samples, against the old color's last minutes when given (`baseline`).
 * Samples may come from any number of VMs; those with the same `startMs` form one interval.
 */
export function analyse(samples: readonly Sample[], baseline: readonly Sample[] | undefined, t: WatchThresholds): Analysis {
    const color = samples[0]?.color ?? "the new color";
    const need = t.watchConsecutiveIntervals;
    const fails: string[] = [];
    const notes: string[] = [];

    if (samples.length === 0) {
        return { verdict: "fail", reasons: [`${color}: no samples: no request reached it (no traffic is a fail, not inconclusive)`] };
    }
    const stepMs = t.watchIntervalSeconds * 1000;
    const intervals = intervalsOf(samples, stepMs);
    const traffic = (i: Interval): number => i.judged + i.fourXx;

    // No traffic.
    const totalTraffic = intervals.reduce((n, i) => n + traffic(i), 0);
    const empty = longestRun(intervals, (i) => traffic(i) === 0);
    if (totalTraffic === 0) {
        fails.push(`${color}: no traffic: 0 requests in ${intervals.length} interval(s) of ${t.watchIntervalSeconds} s`);
    } else if (empty.length >= need) {
        fails.push(`${color}: no traffic for ${empty.length} intervals in a row (${empty.length * t.watchIntervalSeconds} s; limit ${need} intervals)`);
    }

    // Health probes, per VM.
    const vms = [...new Set(samples.map((s) => s.vm))].sort();
    for (const vm of vms) {
        const own = samples.filter((s) => s.vm === vm).sort((a, b) => a.startMs - b.startMs);
        const down = longestRun(own, (s) => s.probe === "fail", (s) => s.probe === undefined);
        if (down.length >= need) fails.push(`${color}: ${vm}: health probe failed in ${down.length} intervals in a row (limit ${need})`);
        else if (down.length > 0) notes.push(`${color}: ${vm}: health probe failed in ${down.length} interval(s) in a row, fewer than ${need}`);
    }

    // Baseline: the old color's last minutes.
    const base = baseline && baseline.length > 0 ? intervalsOf(baseline, stepMs) : [];
    const baseJudged = base.reduce((n, i) => n + i.judged, 0);
    const baseUsable = baseJudged >= t.watchMinRequests;
    const baseRatio = baseUsable ? base.reduce((n, i) => n + i.failed, 0) / baseJudged : 0;
    const baseLatency = baseUsable ? latencyPercentile(mergeLatency(base.map((i) => i.latency)), t.watchLatencyPercentile) : Number.NaN;
    const ratioLimit = Math.max(t.watchErrorRatio, t.watchBaselineFactor * baseRatio);
    const latencyLimit = Number.isFinite(baseLatency) ? Math.max(t.watchLatencyMs, t.watchBaselineFactor * baseLatency) : t.watchLatencyMs;
    const baseText = (limit: number, configured: number, show: (n: number) => string, baseValue: string): string =>
        limit > configured ? `limit ${show(limit)}: ${t.watchBaselineFactor} × the old color's ${baseValue}` : `threshold ${show(configured)}`;
    if (baseline && baseline.length > 0 && !baseUsable) {
        notes.push(`old color's baseline ignored: ${fmtInt(baseJudged)} requests, fewer than ${t.watchMinRequests}`);
    }

    // Error ratio.
    const tooFew = (i: Interval): boolean => i.judged < t.watchMinRequests;
    const judgedIntervals = intervals.filter((i) => !tooFew(i));
    const ratio = (i: Interval): number => i.failed / i.judged;
    const badErrors = longestRun(intervals, (i) => ratio(i) > ratioLimit, tooFew);
    const sum = (is: readonly Interval[], f: (i: Interval) => number): number => is.reduce((n, i) => n + f(i), 0);
    if (badErrors.length > 0) {
        const req = sum(badErrors, (i) => i.judged);
        const text =
            `${color}: error ratio (5xx + connection errors) ${fmtPct(sum(badErrors, (i) => i.failed) / req)} over ${badErrors.length} interval(s) in a row ` +
            `(${baseText(ratioLimit, t.watchErrorRatio, fmtPct, `${fmtPct(baseRatio)}`)}), ${fmtInt(req)} requests`;
        if (badErrors.length >= need) fails.push(text);
        else notes.push(`${text}: fewer than ${need} bad intervals in a row, not a fail`);
    }

    // Latency (the first interval is a warm-up).
    const pOf = (i: Interval): number => latencyPercentile(i.latency, t.watchLatencyPercentile);
    const latencySkip = (i: Interval): boolean => i === intervals[0] || tooFew(i) || Number.isNaN(pOf(i));
    const slow = longestRun(intervals, (i) => pOf(i) > latencyLimit, latencySkip);
    const p = `p${t.watchLatencyPercentile}`;
    if (slow.length > 0) {
        const text =
            `${color}: ${p} latency above ${fmtMs(latencyLimit)} (up to ${fmtMs(Math.max(...slow.map(pOf)))}) over ${slow.length} interval(s) in a row ` +
            `(${baseText(latencyLimit, t.watchLatencyMs, fmtMs, `${p} ${fmtMs(baseLatency)}`)}), ${fmtInt(sum(slow, (i) => i.judged))} requests`;
        if (slow.length >= need) fails.push(text);
        else notes.push(`${text}: fewer than ${need} slow intervals in a row, not a fail`);
    }
    if (intervals.length > 0 && !tooFew(intervals[0]) && pOf(intervals[0]) > latencyLimit) {
        notes.push(`${color}: first interval's ${p} latency ${fmtMs(pOf(intervals[0]))} ignored (warm-up)`);
    }

    const fourXx = sum(intervals, (i) => i.fourXx);
    if (fourXx > 0) notes.push(`${color}: ${fmtInt(fourXx)} 4xx answers: client errors, not counted as failures`);

    if (fails.length > 0) return { verdict: "fail", reasons: [...fails, ...notes] };
    if (judgedIntervals.length === 0) {
        return {
            verdict: "inconclusive",
            reasons: [
                `${color}: too little traffic to judge: ${fmtInt(sum(intervals, (i) => i.judged))} requests in ${intervals.length} interval(s), ` +
                    `none with the ${t.watchMinRequests} an interval needs`,
                ...notes,
            ],
        };
    }
    const req = sum(judgedIntervals, (i) => i.judged);
    return {
        verdict: "pass",
        reasons: [
            `${color}: error ratio ${fmtPct(sum(judgedIntervals, (i) => i.failed) / req)} over ${judgedIntervals.length} judged interval(s) ` +
                `(${baseText(ratioLimit, t.watchErrorRatio, fmtPct, fmtPct(baseRatio))}), ${fmtInt(req)} requests`,
            ...notes,
        ],
    };
}

/** A request as the rehearsal's load generator records it (rehearsal/load.ts RequestRecord): the fields read here. */
export interface RecordLike {
    readonly start: number;
    readonly end: number;
    readonly status?: number;
    readonly color?: string;
    readonly error?: string;
}

export interface BucketOptions {
    /** The color whose requests are bucketed (the served-by header's). */
    readonly color: string;
    readonly intervalSeconds: number;
    /** First interval starts here (ms, the records' clock), e.g. the flip's `at`. */
    readonly fromMs: number;
    /** Records starting at or after this are left out; intervals up to it are produced, empty ones included. */
    readonly toMs: number;
    /** VM name on the samples (records do not say which VM answered). @default the color */
    readonly vm?: string;
    /** Count transport failures without a color (no answer, so no header) as this color's connection errors. @default false */
    readonly includeUnattributed?: boolean;
    /** @default DEFAULT_LATENCY_BUCKETS_MS */
    readonly latencyBucketsMs?: readonly number[];
}

/**
 * Buckets request records per interval into samples (one per interval, empty intervals included) as the local proxy
 * would report them: answers by status class, transport failures as connection errors, latency = end − start.
 */
export function samplesFromRecords(records: readonly RecordLike[], o: BucketOptions): Sample[] {
    const stepMs = o.intervalSeconds * 1000;
    const given = [...(o.latencyBucketsMs ?? DEFAULT_LATENCY_BUCKETS_MS)].sort((a, b) => a - b);
    const bounds = given[given.length - 1] === Infinity ? given : [...given, Infinity];
    const n = Math.max(0, Math.ceil((o.toMs - o.fromMs) / stepMs));
    const acc = Array.from({ length: n }, () => ({
        requests: { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 } as Record<StatusClass, number>,
        connectionErrors: 0,
        latencies: [] as number[],
    }));
    for (const r of records) {
        if (r.start < o.fromMs || r.start >= o.toMs) continue;
        const mine = r.color === o.color || (o.includeUnattributed === true && r.color === undefined && r.error !== undefined);
        if (!mine) continue;
        const a = acc[Math.floor((r.start - o.fromMs) / stepMs)];
        if (r.error !== undefined || r.status === undefined) {
            a.connectionErrors++;
            continue;
        }
        const cls = `${Math.floor(r.status / 100)}xx`;
        if (cls === "2xx" || cls === "3xx" || cls === "4xx" || cls === "5xx") a.requests[cls]++;
        if (Number.isFinite(r.end)) a.latencies.push(r.end - r.start);
    }
    return acc.map((a, i) => ({
        color: o.color,
        vm: o.vm ?? o.color,
        startMs: o.fromMs + i * stepMs,
        requests: a.requests,
        connectionErrors: a.connectionErrors,
        latency: a.latencies.length === 0 ? [] : cumulative(a.latencies, bounds),
    }));
}

/** Cumulative bucket counts of `values` over ascending `bounds`. */
function cumulative(values: readonly number[], bounds: readonly number[]): LatencyBucket[] {
    const counts = bounds.map(() => 0);
    for (const v of values) {
        const i = bounds.findIndex((b) => v <= b);
        if (i >= 0) counts[i]++;
    }
    let running = 0;
    return bounds.map((leMs, i) => ({ leMs, count: (running += counts[i]) }));
}

/** Config keys the watch will read, each with a valid example for the fix. */
const EXAMPLES: Readonly<Record<keyof WatchThresholds, string>> = {
    watchErrorRatio: "0.05",
    watchLatencyPercentile: "95",
    watchLatencyMs: "1000",
    watchMinRequests: "20",
    watchConsecutiveIntervals: "3",
    watchIntervalSeconds: "5",
    watchBaselineFactor: "2",
    watchMinutes: "10",
};

/**
 * What is wrong with the watch's settings, one message per problem, each naming the key, the value, why and the fix
 * (an exact command). Empty when they are valid. `rollbackWindowMinutes` is the stack's (config/validate.ts): the
 * watch must end while the old color is still the rollback target.
 */
export function thresholdProblems(t: WatchThresholds, rollbackWindowMinutes: number): string[] {
    const problems: string[] = [];
    const fix = (key: keyof WatchThresholds, example = EXAMPLES[key]): string => `pulumi config set ${key} ${example}`;
    const range = (key: keyof WatchThresholds, ok: (v: number) => boolean, want: string, integer: boolean): boolean => {
        const v = t[key];
        if (typeof v === "number" && Number.isFinite(v) && (!integer || Number.isInteger(v)) && ok(v)) return true;
        problems.push(`${key} is ${String(v)}: it must be ${integer ? "an integer " : "a number "}${want}; e.g. ${fix(key)}`);
        return false;
    };
    range("watchErrorRatio", (v) => v > 0 && v < 1, "above 0 and below 1 (a ratio: 0.05 is 5%)", false);
    range("watchLatencyPercentile", (v) => v > 0 && v < 100, "above 0 and below 100", false);
    range("watchLatencyMs", (v) => v >= 1 && v <= 600000, "from 1 to 600000 (ms)", true);
    range("watchMinRequests", (v) => v >= 1 && v <= 1000000, "from 1 to 1000000", true);
    const consecutiveOk = range("watchConsecutiveIntervals", (v) => v >= 1 && v <= 100, "from 1 to 100", true);
    const intervalOk = range("watchIntervalSeconds", (v) => v >= 1 && v <= 3600, "from 1 to 3600 (seconds)", true);
    range("watchBaselineFactor", (v) => v >= 1 && v <= 100, "from 1 to 100 (the old color's numbers times it may raise the limits)", false);
    const minutesOk = range("watchMinutes", (v) => v > 0, "above 0 (minutes)", false);
    if (!minutesOk) return problems;
    if (t.watchMinutes > rollbackWindowMinutes) {
        problems.push(
            `watchMinutes is ${t.watchMinutes}: longer than rollbackWindowMinutes (${rollbackWindowMinutes}), after which the old color is no ` +
                `longer a rollback target to flip back to; e.g. ` +
                (rollbackWindowMinutes > 0 ? `${fix("watchMinutes", String(Math.min(Number(EXAMPLES.watchMinutes), rollbackWindowMinutes)))} or ` : "") +
                `pulumi config set rollbackWindowMinutes ${Math.ceil(t.watchMinutes)}`,
        );
    }
    if (intervalOk && t.watchMinutes * 60 < t.watchIntervalSeconds) {
        problems.push(
            `watchMinutes is ${t.watchMinutes} (${t.watchMinutes * 60} s): shorter than one analysis interval (watchIntervalSeconds ${t.watchIntervalSeconds}); ` +
                `e.g. ${fix("watchMinutes")}`,
        );
    } else if (intervalOk && consecutiveOk && t.watchMinutes * 60 < t.watchIntervalSeconds * t.watchConsecutiveIntervals) {
        problems.push(
            `watchMinutes is ${t.watchMinutes} (${t.watchMinutes * 60} s): shorter than watchConsecutiveIntervals × watchIntervalSeconds ` +
                `(${t.watchConsecutiveIntervals} × ${t.watchIntervalSeconds} s), so the watch could never fail; e.g. ${fix("watchMinutes")}`,
        );
    }
    return problems;
}
