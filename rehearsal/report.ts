/**
 * The rehearsal's numbers, computed from the request records and the scenario's events (pure functions).
 *
 * Definitions (also in docs/rehearsal.md):
 * - a request FAILED when it got no answer (reset, timeout, ...) or a non-2xx status;
 * - `switchMs` of a flip: from the moment the switch command was sent until every NEW connection lands on the new
 *   color = the later of (the runtime API's acknowledgement) and (the start of the last new connection served by
 *   the old color), both measured from the command;
 * - `convergeMs` of a flip: from the command until the end of the last request served by the old color (requests on
 *   established keep-alive connections, slow requests in flight). Bounded by the app's maximum connection age plus
 *   the longest request.
 * - an automatic flip-back (the post-flip watch's): `detectMs` from the first bad request the watched color served
 *   after its flip to the watch's `fail` verdict; `restoreMs` from that verdict until every NEW connection lands on
 *   the old color again (the later of HAProxy's acknowledgement of the switch the load balancer's change caused and
 *   the start of the last new connection the failed color still served).
 * - failed requests are told apart: `faultFailures` carry the injected fault's header (`x-fault: injected`), the
 *   rehearsal broke them on purpose; every other failure is the machinery's (`machineryFailures`), which must stay 0.
 * Each flip's window runs from its command to the next flip's command (or the end of the run).
 */
import { Color, COLORS } from "../release/colors";
import { isFailure, isInjectedFailure, isMachineryFailure, RequestKind, RequestRecord } from "./load";

/** A flip carried out at the load balancer (the front HAProxy). Times in ms since the rehearsal started. */
export interface FlipEvent {
    readonly from: Color;
    readonly to: Color;
    /** When the switch command was sent to HAProxy (the load balancer's change took effect). */
    readonly at: number;
    /** When the runtime API confirmed the new map. */
    readonly ackAt: number;
    /** The guard classified it as a rollback (an automatic flip-back is one too). */
    readonly rollback: boolean;
    /** Made by the post-flip watch (the release agent's automatic flip-back), not by the scenario. @default false */
    readonly automatic?: boolean;
    /** When the change was sent to the load balancer's management API (ARM's PUT), before it took effect at `at`. */
    readonly requestedAt?: number;
}

/** An automatic flip-back as the rehearsal saw it: the watch's `fail` verdict and the flip it caused. */
export interface AutoRollbackEvent {
    /** When the watched flip took effect (its FlipEvent's `at`). */
    readonly watchedFlipAt: number;
    /** When the watch judged `fail` (ms since the rehearsal started). */
    readonly verdictAt: number;
    /** The watch's reasons. */
    readonly reason: string;
    /** The flip-back at the load balancer (`automatic: true`), from the failed color to the rollback target. */
    readonly flip: FlipEvent;
}

/** The report's row of an automatic flip-back. */
export interface AutoRollbackRow {
    /** When production went back (the load balancer's change took effect), ISO 8601. */
    readonly at: string;
    readonly atMs: number;
    /** The color that failed the watch. */
    readonly from: Color;
    /** The rollback target production went back to. */
    readonly to: Color;
    readonly reason: string;
    /** From the first bad request of the watched color after its flip (or the flip, when none failed) to the verdict. */
    readonly detectMs: number;
    /** From the verdict until every new connection lands on `to`. */
    readonly restoreMs: number;
    /** When the first bad request started (ms since the rehearsal started), absent when none failed. */
    readonly firstBadRequestMs?: number;
    /** When the watch judged `fail` (ms since the rehearsal started). */
    readonly verdictMs: number;
}

/** detectMs and restoreMs of an automatic flip-back, judged on the requests that started before `until`. */
export function autoRollbackMetrics(
    records: readonly RequestRecord[],
    e: AutoRollbackEvent,
    until: number,
): { detectMs: number; restoreMs: number; firstBadRequestMs?: number } {
    const failed = e.flip.from;
    let firstBad: number | undefined;
    let lastNewOnFailed = e.flip.ackAt;
    for (const r of records) {
        if (r.start >= until) continue;
        // A bad request of the watched color: a failed answer it sent, or a failure that reached no app at all.
        if (r.start >= e.watchedFlipAt && r.start <= e.verdictAt && isFailure(r) && (r.color === failed || r.color === undefined)) {
            if (firstBad === undefined || r.start < firstBad) firstBad = r.start;
        }
        if (r.newConnection && r.start >= e.verdictAt && r.color === failed && r.start > lastNewOnFailed) lastNewOnFailed = r.start;
    }
    return {
        detectMs: round(e.verdictAt - (firstBad ?? e.watchedFlipAt)),
        restoreMs: round(Math.max(e.flip.ackAt, lastNewOnFailed) - e.verdictAt),
        ...(firstBad !== undefined ? { firstBadRequestMs: round(firstBad) } : {}),
    };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
    if (values.length === 0) return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * How long after a flip's command a new connection may still reach the old color (HAProxy applies the switch to new
 * connections within milliseconds; this leaves room for a loaded 2-core machine). New connections on the old color
 * later than this count against the rehearsal's verdict.
 */
export const SWITCH_TOLERANCE_MS = 250;

export interface FlipMetrics {
    readonly switchMs: number;
    readonly convergeMs: number;
    /** New connections opened in the flip's window (after the command). */
    readonly newConnections: number;
    /** Of those, served by the old color (expected only in the first moments, before HAProxy has switched). */
    readonly newConnectionsOnOldColor: number;
    /** Of those, started more than SWITCH_TOLERANCE_MS after the command: each one is a failure of the switch. */
    readonly lateNewConnectionsOnOldColor: number;
}

/** switchMs and convergeMs of `flip`, judged on requests that started before `until` (the next flip). */
export function flipMetrics(records: readonly RequestRecord[], flip: FlipEvent, until: number): FlipMetrics {
    let lastOldNewConnection = flip.at;
    let lastOldEnd = flip.at;
    let newConnections = 0;
    let newConnectionsOnOldColor = 0;
    let lateNewConnectionsOnOldColor = 0;
    for (const r of records) {
        if (r.start >= until || r.color === undefined) continue;
        if (r.color === flip.from && r.end > lastOldEnd && r.end < until) lastOldEnd = r.end;
        if (r.newConnection && r.start >= flip.at) {
            newConnections++;
            if (r.color === flip.from) {
                newConnectionsOnOldColor++;
                if (r.start >= flip.at + SWITCH_TOLERANCE_MS) lateNewConnectionsOnOldColor++;
                if (r.start > lastOldNewConnection) lastOldNewConnection = r.start;
            }
        }
    }
    return {
        switchMs: round(Math.max(flip.ackAt, lastOldNewConnection) - flip.at),
        convergeMs: round(lastOldEnd - flip.at),
        newConnections,
        newConnectionsOnOldColor,
        lateNewConnectionsOnOldColor,
    };
}

/**
 * New connections that started at least `toleranceMs` after a flip's command (and before the next flip) and were
 * NOT served by the flip's new color. The rehearsal's claim is that this list is empty.
 */
export function newConnectionsMissingTheSwitch(
    records: readonly RequestRecord[],
    flips: readonly FlipEvent[],
    toleranceMs: number,
    endOfRun = Number.POSITIVE_INFINITY,
): RequestRecord[] {
    const bad: RequestRecord[] = [];
    flips.forEach((f, i) => {
        const until = i + 1 < flips.length ? flips[i + 1].at : endOfRun;
        for (const r of records) {
            if (r.newConnection && r.start >= f.at + toleranceMs && r.start < until && !isFailure(r) && r.color !== f.to) {
                bad.push(r);
            }
        }
    });
    return bad;
}

export interface LatencySummary {
    readonly count: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
}

/** p50/p99/max latency (ms) of the steady requests of each phase, in the order the phases first occur. */
export function latencyByPhase(records: readonly RequestRecord[]): Record<string, LatencySummary> {
    const byPhase = new Map<string, number[]>();
    for (const r of records) {
        if (r.kind !== "steady" || isFailure(r) || Number.isNaN(r.end)) continue;
        const list = byPhase.get(r.phase) ?? [];
        list.push(r.end - r.start);
        byPhase.set(r.phase, list);
    }
    const out: Record<string, LatencySummary> = {};
    for (const [phase, values] of byPhase) {
        out[phase] = {
            count: values.length,
            p50: round(percentile(values, 50)),
            p99: round(percentile(values, 99)),
            max: round(Math.max(...values)),
        };
    }
    return out;
}

/** Failures counted by cause: the transport error code, or `HTTP <status>` (`HTTP 503 (injected)` for the fault's). */
export function failuresByCause(records: readonly RequestRecord[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of records) {
        if (!isFailure(r)) continue;
        const cause = r.error ?? (r.status === undefined ? "no answer" : `HTTP ${r.status}${r.injected ? " (injected)" : ""}`);
        out[cause] = (out[cause] ?? 0) + 1;
    }
    return out;
}

/** One time bucket of the chart: successful requests per color and failures, by each request's end time. */
export interface Bucket {
    /** Start of the bucket, ms since the rehearsal started. */
    readonly t: number;
    readonly blue: number;
    readonly green: number;
    readonly errors: number;
}

/**
 * Where the chart's time axis ends: the nominal duration, or later when requests finished after it (slow requests,
 * the load's last round). Counting those into a last bucket cut at the nominal duration drew a spike there.
 */
export function runEndMs(records: readonly RequestRecord[], durationMs: number): number {
    let end = durationMs;
    for (const r of records) {
        const at = Number.isNaN(r.end) ? r.start : r.end;
        if (at > end) end = at;
    }
    return end;
}

/** Counts requests into buckets of `bucketMs` from 0 to `endMs` (by the time each one finished). */
export function buckets(records: readonly RequestRecord[], bucketMs: number, endMs: number): Bucket[] {
    const n = Math.max(1, Math.ceil(endMs / bucketMs));
    const out = Array.from({ length: n }, (_, i) => ({ t: i * bucketMs, blue: 0, green: 0, errors: 0 }));
    for (const r of records) {
        const at = Number.isNaN(r.end) ? r.start : r.end;
        const b = out[Math.min(n - 1, Math.max(0, Math.floor(at / bucketMs)))];
        if (isFailure(r)) b.errors++;
        else if (r.color === "blue") b.blue++;
        else if (r.color === "green") b.green++;
    }
    return out;
}

/** A guard refusal shown in the report. */
export interface Refusal {
    /** ms since the rehearsal started. */
    readonly at: number;
    readonly what: string;
    readonly reason: string;
}

/** The expand migration run while a long query held a lock on its table, and the app's requests meanwhile. */
export interface MigrationUnderLock {
    /** When the lock was taken and when the migration finished, in ms since the load started. */
    readonly startMs: number;
    readonly endMs: number;
    /** How long the long query held its lock. */
    readonly heldMs: number;
    /** The runner's retry lines ("… lock timeout (attempt 1 of 10); retrying the migration in 200 ms"). */
    readonly retries: readonly string[];
    /** Requests started in the window, how many failed, and their latency. */
    readonly requests: number;
    readonly failed: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
}

/** Requests that started in [startMs, endMs]: how many, how many failed, and latency percentiles (ms). */
export function windowMetrics(
    records: readonly RequestRecord[],
    startMs: number,
    endMs: number,
): { requests: number; failed: number; p50: number; p99: number; max: number } {
    const inWindow = records.filter((r) => r.start >= startMs && r.start <= endMs);
    const latencies = inWindow.filter((r) => !isFailure(r)).map((r) => r.end - r.start);
    return {
        requests: inWindow.length,
        failed: inWindow.filter(isFailure).length,
        p50: round(percentile(latencies, 50)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies.length ? Math.max(...latencies) : 0),
    };
}

/** The report written by `--report`. */
export interface RehearsalReport {
    readonly startedAt: string;
    readonly durationMs: number;
    readonly settings: Readonly<Record<string, string | number>>;
    readonly totalRequests: number;
    /** Every failed request: `faultFailures` + `machineryFailures`. */
    readonly failedRequests: number;
    /** Failed because of the injected fault (the answer said `x-fault: injected`). */
    readonly faultFailures: number;
    /** Failed for any other reason: the release machinery's failures, which must stay 0. */
    readonly machineryFailures: number;
    readonly failures: Record<string, number>;
    /** The first failures of the machinery (at most 20), to find where they happened. */
    readonly failureSamples: RequestRecord[];
    readonly requestsByKind: Record<RequestKind, number>;
    readonly achievedRatePerSecond: number;
    readonly connectionsOpened: number;
    readonly flips: {
        from: Color;
        to: Color;
        at: string;
        atMs: number;
        rollback: boolean;
        switchMs: number;
        convergeMs: number;
        newConnections: number;
        newConnectionsOnOldColor: number;
        lateNewConnectionsOnOldColor: number;
        /** Made by the post-flip watch (automatic flip-back). */
        automatic: boolean;
        /** From the management API's PUT to the change at the load balancer, when it went through the ARM stand-in. */
        armMs?: number;
    }[];
    /** The post-flip watch's automatic flip-backs (none in a run without the errors-after-flip fault). */
    readonly autoRollbacks: AutoRollbackRow[];
    readonly blockedFlips: Refusal[];
    readonly blockedDeploys: Refusal[];
    readonly blockedContracts: Refusal[];
    readonly servedBy: Record<Color, number>;
    readonly servedByVersion: Record<string, number>;
    readonly latencyMs: Record<string, LatencySummary>;
    readonly timeline: { atMs: number; text: string }[];
    readonly migrationUnderLock?: MigrationUnderLock;
}

export interface ReportInput {
    readonly startedAt: Date;
    readonly durationMs: number;
    readonly settings: Readonly<Record<string, string | number>>;
    readonly records: readonly RequestRecord[];
    readonly flips: readonly FlipEvent[];
    /** The watch's automatic flip-backs (each one's flip is also in `flips`). @default none */
    readonly autoRollbacks?: readonly AutoRollbackEvent[];
    readonly blockedFlips: readonly Refusal[];
    readonly blockedDeploys: readonly Refusal[];
    readonly blockedContracts: readonly Refusal[];
    readonly timeline: readonly { atMs: number; text: string }[];
    readonly migrationUnderLock?: Pick<MigrationUnderLock, "startMs" | "endMs" | "heldMs" | "retries">;
}

/** Builds the report from what the rehearsal recorded. */
export function buildReport(input: ReportInput): RehearsalReport {
    const { records } = input;
    const servedBy: Record<Color, number> = { blue: 0, green: 0 };
    const servedByVersion: Record<string, number> = {};
    const requestsByKind: Record<RequestKind, number> = { steady: 0, slow: 0, probe: 0 };
    const connections = new Set<number>();
    let failed = 0;
    let injected = 0;
    for (const r of records) {
        requestsByKind[r.kind]++;
        if (r.connection >= 0) connections.add(r.connection);
        if (isFailure(r)) {
            failed++;
            if (isInjectedFailure(r)) injected++;
            continue;
        }
        if (r.color) servedBy[r.color]++;
        if (r.color && r.version) {
            const key = `${r.color}@${r.version}`;
            servedByVersion[key] = (servedByVersion[key] ?? 0) + 1;
        }
    }
    const iso = (ms: number): string => new Date(input.startedAt.getTime() + ms).toISOString();
    const nextFlipAfter = (at: number): number => input.flips.find((f) => f.at > at)?.at ?? Number.POSITIVE_INFINITY;
    const flips = input.flips.map((f, i) => {
        const until = i + 1 < input.flips.length ? input.flips[i + 1].at : Number.POSITIVE_INFINITY;
        return {
            from: f.from,
            to: f.to,
            at: iso(f.at),
            atMs: round(f.at),
            rollback: f.rollback,
            ...flipMetrics(records, f, until),
            automatic: f.automatic === true,
            ...(f.requestedAt !== undefined ? { armMs: round(f.at - f.requestedAt) } : {}),
        };
    });
    const autoRollbacks: AutoRollbackRow[] = (input.autoRollbacks ?? []).map((e) => ({
        at: iso(e.flip.at),
        atMs: round(e.flip.at),
        from: e.flip.from,
        to: e.flip.to,
        reason: e.reason,
        ...autoRollbackMetrics(records, e, nextFlipAfter(e.flip.at)),
        verdictMs: round(e.verdictAt),
    }));
    return {
        startedAt: input.startedAt.toISOString(),
        durationMs: round(input.durationMs),
        settings: input.settings,
        totalRequests: records.length,
        failedRequests: failed,
        faultFailures: injected,
        machineryFailures: failed - injected,
        failures: failuresByCause(records),
        failureSamples: records.filter(isMachineryFailure).slice(0, 20),
        requestsByKind,
        achievedRatePerSecond: round((requestsByKind.steady * 1000) / Math.max(1, input.durationMs)),
        connectionsOpened: connections.size,
        flips,
        autoRollbacks,
        blockedFlips: [...input.blockedFlips],
        blockedDeploys: [...input.blockedDeploys],
        blockedContracts: [...input.blockedContracts],
        servedBy,
        servedByVersion,
        latencyMs: latencyByPhase(records),
        timeline: [...input.timeline],
        ...(input.migrationUnderLock
            ? {
                  migrationUnderLock: {
                      ...input.migrationUnderLock,
                      startMs: round(input.migrationUnderLock.startMs),
                      endMs: round(input.migrationUnderLock.endMs),
                      retries: [...input.migrationUnderLock.retries],
                      ...windowMetrics(records, input.migrationUnderLock.startMs, input.migrationUnderLock.endMs),
                  },
              }
            : {}),
    };
}

/** The few lines printed at the end of a run. */
export function formatSummary(report: RehearsalReport): string {
    const lines = [
        `requests: ${report.totalRequests} (${report.failedRequests} failed${
            report.failedRequests ? ": " + JSON.stringify(report.failures) : ""
        }${report.faultFailures ? `; ${report.faultFailures} by the injected fault, ${report.machineryFailures} by the machinery` : ""}), ` +
            `~${report.achievedRatePerSecond} req/s steady over ${report.settings.connections} keep-alive connections, ${report.connectionsOpened} connections opened`,
        `served by: ${COLORS.map((c) => `${c} ${report.servedBy[c]}`).join(", ")} (${Object.entries(report.servedByVersion)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")})`,
        ...report.flips.map(
            (f) =>
                `${f.automatic ? "automatic flip-back" : f.rollback ? "rollback" : "flip"} ${f.from} → ${f.to} at ${(f.atMs / 1000).toFixed(1)} s: ` +
                `${f.armMs !== undefined ? `ARM ${f.armMs} ms, ` : ""}switch ${f.switchMs} ms, converge ${f.convergeMs} ms, ` +
                `${f.newConnections} new connections after it (${f.newConnectionsOnOldColor} on ${f.from}, ` +
                `${f.lateNewConnectionsOnOldColor} of them later than the ${SWITCH_TOLERANCE_MS} ms tolerance)`,
        ),
        `automatic flip-backs: ${
            report.autoRollbacks.length === 0
                ? "none"
                : report.autoRollbacks
                      .map((a) => `${a.from} → ${a.to} at ${(a.atMs / 1000).toFixed(1)} s: detect ${a.detectMs} ms + restore ${a.restoreMs} ms = ${round(a.detectMs + a.restoreMs)} ms (${a.reason})`)
                      .join("; ")
        }`,
        `refused: ${report.blockedFlips.length} flip(s), ${report.blockedDeploys.length} deploy(s), ${report.blockedContracts.length} contract run(s)`,
        "latency (ms) by phase: " +
            Object.entries(report.latencyMs)
                .map(([p, l]) => `${p} p50 ${l.p50} p99 ${l.p99}`)
                .join("; "),
        ...(report.migrationUnderLock
            ? [
                  `expand under a held table lock (${report.migrationUnderLock.heldMs} ms): ${report.migrationUnderLock.retries.length} lock-timeout ` +
                      `retries; ${report.migrationUnderLock.requests} requests meanwhile, ${report.migrationUnderLock.failed} failed, ` +
                      `p50 ${report.migrationUnderLock.p50} p99 ${report.migrationUnderLock.p99} max ${report.migrationUnderLock.max} ms`,
              ]
            : []),
    ];
    return lines.join("\n");
}

/** The rehearsal's verdict: PASS, or each thing that failed. */
export interface RehearsalVerdict {
    readonly pass: boolean;
    readonly problems: readonly string[];
    /** New connections the old color served after a flip's command, over all flips (within the tolerance or not). */
    readonly newConnectionsOnOldColor: number;
    /** Of those, started more than SWITCH_TOLERANCE_MS after the command: each one fails the verdict. */
    readonly lateNewConnectionsOnOldColor: number;
}

/** The issue's target for an automatic flip-back with the default thresholds: detectMs + restoreMs at most this. */
export const AUTO_ROLLBACK_TARGET_MS = 30_000;

/**
 * Judges a run: no request failed but those the injected fault failed on purpose, every flip reached every new
 * connection within SWITCH_TOLERANCE_MS (new connections on the old color later than that are counted), and the
 * scenario ran to its end. With the broken-v3 faults: the broken v3's flip was refused and the watch never flipped
 * back. With `errors-after-flip`: the fault failed requests, and the watch flipped production back exactly once
 * within AUTO_ROLLBACK_TARGET_MS of detection and restore.
 */
export function rehearsalVerdict(report: RehearsalReport, completed = true): RehearsalVerdict {
    const problems: string[] = [];
    const faultRun = report.settings.fault === "errors-after-flip";
    if (!completed) problems.push("the scenario did not run to its end");
    const machinery = report.failedRequests - (report.faultFailures ?? 0);
    if (machinery > 0) {
        const causes = Object.fromEntries(Object.entries(report.failures).filter(([cause]) => !cause.endsWith("(injected)")));
        problems.push(`${machinery} request(s) failed${faultRun ? " apart from the injected fault's" : ""}: ${JSON.stringify(causes)}`);
    }
    for (const f of report.flips) {
        if (f.lateNewConnectionsOnOldColor > 0) {
            problems.push(
                `${f.automatic ? "automatic flip-back" : f.rollback ? "rollback" : "flip"} ${f.from} → ${f.to} at ${(f.atMs / 1000).toFixed(1)} s: ${f.lateNewConnectionsOnOldColor} new connection(s) ` +
                    `reached ${f.from} later than ${SWITCH_TOLERANCE_MS} ms after the switch`,
            );
        }
    }
    if (report.flips.length === 0) problems.push("no flip happened");
    const autoRollbacks = report.autoRollbacks ?? [];
    if (faultRun) {
        if (report.faultFailures === 0) problems.push("the injected fault failed no request (does the app honour APP_FAULT=errors-after-flip? docs/app.md)");
        if (autoRollbacks.length !== 1) problems.push(`${autoRollbacks.length} automatic flip-back(s) where the watch should have made exactly one`);
        for (const a of autoRollbacks) {
            if (a.detectMs + a.restoreMs > AUTO_ROLLBACK_TARGET_MS) {
                problems.push(`the automatic flip-back took ${round(a.detectMs + a.restoreMs)} ms from the first bad request to production restored (target ${AUTO_ROLLBACK_TARGET_MS} ms)`);
            }
        }
    } else {
        if (report.blockedFlips.length === 0) problems.push("the broken v3's flip was not refused");
        if (autoRollbacks.length > 0) problems.push(`the watch flipped production back ${autoRollbacks.length} time(s) although no release was broken: ${autoRollbacks.map((a) => a.reason).join("; ")}`);
    }
    const sum = (pick: (f: RehearsalReport["flips"][number]) => number) => report.flips.reduce((n, f) => n + pick(f), 0);
    return {
        pass: problems.length === 0,
        problems,
        newConnectionsOnOldColor: sum((f) => f.newConnectionsOnOldColor),
        lateNewConnectionsOnOldColor: sum((f) => f.lateNewConnectionsOnOldColor),
    };
}

/**
 * The last line of a run: PASS or what failed, then the count of new connections on the old color after the flips
 * against the stated tolerance (SWITCH_TOLERANCE_MS).
 */
export function formatVerdict(verdict: RehearsalVerdict): string {
    const within = verdict.newConnectionsOnOldColor - verdict.lateNewConnectionsOnOldColor;
    const counted = `(new connections on the old color after a switch: ${within} within the ${SWITCH_TOLERANCE_MS} ms tolerance, ${verdict.lateNewConnectionsOnOldColor} later)`;
    return verdict.pass ? `VERDICT: PASS ${counted}` : `VERDICT: FAIL — ${verdict.problems.join("; ")} ${counted}`;
}

function round(x: number): number {
    return Math.round(x * 10) / 10;
}
