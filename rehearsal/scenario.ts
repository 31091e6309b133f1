/**
 * The rehearsal: a whole blue/green release on this machine, under load.
 *
 *   v1 live on blue → expand migration → deploy v2 to green → gate passes → flip → roll back → flip again
 *   → contract refused (blue still runs v1) → deploy onto blue refused (rollback window) → after the window,
 *   v2 deployed to blue → contract runs → broken v3 deployed to the idle color → its flip refused.
 *
 * With `--fault errors-after-flip`, a shorter scenario: v1 live on blue, a v2 on green that passes the gate but fails
 * a fifth of its requests once it takes production traffic → flip → the post-flip watch judges `fail` → the release
 * agent's flip-back through ARM → production back on blue, by itself.
 *
 * Every production switch goes through ARM (rehearsal/armFront.ts: the ARM stand-in holds the load balancer, the
 * front HAProxy follows its production rule), and every forward flip starts the release agent's watch
 * (rehearsal/watch.ts), in both scenarios.
 *
 * Every decision comes from the release guard's pure functions (release/guard.ts: `evaluateRelease`, `recordStep`,
 * `rollbackWindowEndsAt`) and from the product's health gate (vm-scripts/health-gate.sh); this file only carries
 * them out: HAProxy's runtime API for the switch, process restarts for a deploy, the migration runner for the
 * schema. The load generator runs the whole time and records every request.
 */
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { Fault } from "../app/src/config";
import { Color, COLORS, idleColor } from "../release/colors";
import {
    ContractMigration,
    evaluateRelease,
    GuardContext,
    ReleaseState,
    recordStep,
    rollbackWindowEndsAt,
    SchemaStatus,
    Verdict,
} from "../release/guard";
import { prepareReleases, ReleaseArtifact, REPO_ROOT } from "./apps";
import { AzureStandIn, createVm, DeployResult, deployToVm, LocalVm, startAzureStandIn, stopVmsAtCleanup } from "./localVm";
import { AutoRollbackEvent, buckets, buildReport, FlipEvent, RehearsalReport, Refusal, ReportInput, runEndMs } from "./report";
import { ChartMarker, renderChart } from "./chart";
import { AppliedChange, ArmFront, ARM_PROVISIONING_MS, startArmFront } from "./armFront";
import { RehearsalWatch, startRehearsalWatch } from "./watch";
import { FAULT_HEADER } from "../app/src/faults";
import type { WatchSpec } from "../release/watchContract";
import { Cleanup } from "./cleanup";
import { openRehearsalDatabase, RehearsalDatabase } from "./database";
import { appSmokeChecks, runGate } from "./gate";
import { RunningHaproxy, setLiveColor, startHaproxy } from "./haproxy";
import { Load, RequestRecord, startLoad } from "./load";
import { faultScenarioTiming, planClock, rehearsalWatchThresholds, RehearsalOptions, ScenarioTiming, scenarioTiming, SLOW_REQUEST_LEAD_MS } from "./options";
import { freePort } from "./postgres";
import { releaseProofProblems } from "../release/readBack";
import { ensurePrerequisites } from "./prerequisites";

/** The versions the rehearsal releases. */
export const VERSIONS = { v1: "1.0.0", v2: "2.0.0", v3: "3.0.0" } as const;
/** VMs per color. */
export const INSTANCES_PER_COLOR = 2;
/** Slow requests started just before each switch (they must finish on the old color). */
export const SLOW_REQUESTS_PER_SWITCH = 5;
/** How long a long query holds its lock on goals while the expand of release 2 runs (the lock-timeout proof). */
export const MIGRATION_LOCK_HOLD_MS = 1500;
/** The header naming who answered: the local proxy's `<color>@<version> <vm>`, whatever the app. */
const SERVED_BY = "x-served-by";

export interface RehearsalResult {
    readonly report: RehearsalReport;
    /** Every request (for tests that judge each one). */
    readonly records: readonly RequestRecord[];
    readonly flips: readonly FlipEvent[];
    readonly timing: ScenarioTiming;
    /** The post-flip watches the flips started, in order. */
    readonly watches: readonly RehearsalWatch[];
    readonly reportPath: string;
    readonly chartPath: string;
    /** The temporary directory the run worked in (deleted at the end). */
    readonly workDir: string;
}

/** Where the timeline goes (a line at a time). */
export type Print = (line: string) => void;

/** Runs the whole rehearsal and writes the report and the chart. Stops everything it started, also on failure. */
export async function runRehearsal(options: RehearsalOptions, print: Print, cleanup = new Cleanup()): Promise<RehearsalResult> {
    const work = cleanup.tempDir("bg-rehearsal-");
    try {
        return await rehearse(options, print, cleanup, work);
    } finally {
        // The logs (HAProxy's failed connections, each instance's events) outlive the run, next to the report.
        const logs = logsDirFor(options.reportPath);
        const files = fs.existsSync(work) ? fs.readdirSync(work).filter((f) => f.endsWith(".log")) : [];
        if (files.length > 0) {
            fs.mkdirSync(logs, { recursive: true });
            for (const f of files) fs.copyFileSync(path.join(work, f), path.join(logs, f));
        }
        await cleanup.run();
    }
}

/** Where the logs of a run go: `<report without .json>-logs/`. */
export function logsDirFor(reportPath: string): string {
    return path.resolve(reportPath).replace(/\.json$/i, "") + "-logs";
}

async function rehearse(options: RehearsalOptions, print: Print, cleanup: Cleanup, work: string): Promise<RehearsalResult> {
    const faultRun = options.fault === "errors-after-flip";
    const faultTiming = faultScenarioTiming(options.durationS);
    const base = scenarioTiming(options.durationS);
    // The fault scenario's rollback window is its watch's length (a watch may not outlast the window).
    const timing: ScenarioTiming = faultRun ? { ...base, rollbackWindowMs: faultTiming.rollbackWindowMs } : base;
    const t0 = performance.now();
    const now = (): number => performance.now() - t0;
    const epochAtT0 = Date.now() - now();
    let loadStartedAt = Number.NaN;
    /** An ISO time (ARM's, the watch's) on the scenario's clock: ms since the load started. */
    const fromIso = (iso: string): number => Date.parse(iso) - epochAtT0 - loadStartedAt;
    const timeline: { atMs: number; text: string }[] = [];
    const say = (text: string): void => {
        const at = Number.isNaN(loadStartedAt) ? -1 : now() - loadStartedAt;
        timeline.push({ atMs: Math.round(at), text });
        const stamp = at < 0 ? "  setup" : `${(at / 1000).toFixed(1).padStart(6)}s`;
        for (const [i, line] of text.split("\n").entries()) print(`${i === 0 ? stamp : "       "} ${i === 0 ? "" : "  "}${line}`);
    };

    ensurePrerequisites(print);
    say(`work directory ${work} (config, migrations of each release; deleted at the end, logs copied to ${logsDirFor(options.reportPath)})`);

    // --- Setup: database, builds, v1 on both colors, HAProxy live on blue -----------------------------------------
    const db: RehearsalDatabase = await openRehearsalDatabase(cleanup, work);
    say(`PostgreSQL started; the app connects as its least-privilege user: ${db.maskedUrl}`);
    const applied1 = await db.up(db.releaseDirs.v1, "expand");
    say(`release 1 schema applied: ${applied1.join(", ") || "(nothing to do)"}`);

    // errors-after-flip: v2 runs on green from the start (release 2's expand applied first), broken by a fault the
    // gate cannot see; the marker that turns it on is created when the load balancer sends production to green.
    const faultMarker = path.join(work, "production-on-green");
    if (faultRun) {
        const expanded = await db.up(db.releaseDirs.v2, "expand");
        say(`release 2 expand applied (v2 runs on green from the start): ${expanded.join(", ") || "(nothing to do)"}`);
    }
    const prepared = faultRun
        ? await prepareReleases(work, [VERSIONS.v1, VERSIONS.v2], say, { appDir: options.app, broken: VERSIONS.v2, fault: options.fault, faultMarker })
        : await prepareReleases(work, Object.values(VERSIONS), say, { appDir: options.app, broken: VERSIONS.v3, fault: options.fault });
    // The app's smoke checks (docs/smoke-checks.md): every gate sends them to each instance once it is healthy.
    const smoke = appSmokeChecks(options.app ? path.resolve(options.app) : path.join(REPO_ROOT, "app"));
    say(smoke.file ? `smoke checks: ${smoke.checks.map((c) => `"${c.name}" (${c.method} ${c.path})`).join(", ")} from ${path.relative(REPO_ROOT, smoke.file)}` : "smoke checks: none (the app has no smoke-checks.yaml)");
    const azure: AzureStandIn = await startAzureStandIn(cleanup);
    azure.vault.secrets.set("app-database-url", db.appUrl);
    const published: Record<string, ReleaseArtifact & { url: string; sha256: string }> = {};
    for (const [version, artifact] of Object.entries(prepared.artifacts)) published[version] = { ...artifact, ...azure.publish(artifact.file, `app-${version}.tgz`) };
    const vms: Record<Color, LocalVm[]> = { blue: [], green: [] };
    for (const color of COLORS) {
        for (let index = 0; index < INSTANCES_PER_COLOR; index++) vms[color].push(await createVm(work, color, index));
    }
    stopVmsAtCleanup(cleanup, [...vms.blue, ...vms.green]);
    /** The last run of the deployment on each VM (what Azure keeps in the extension's status). */
    const lastRun = new Map<string, DeployResult>();
    /** The product's deploy on every VM of the color at once, as the extensions run on Azure. */
    const deployColor = async (color: Color, version: string, waitSeconds = 30): Promise<string[]> => {
        const release = published[version];
        const results = await Promise.all(
            vms[color].map((vm) =>
                deployToVm(vm, azure, work, {
                    version,
                    artifactUrl: release.url,
                    sha256: release.sha256,
                    maxConnectionAgeMs: timing.maxConnectionAgeMs,
                    waitSeconds,
                    ...(release.appSettings ? { appSettings: release.appSettings } : {}),
                }),
            ),
        );
        for (const r of results) {
            lastRun.set(r.vm.name, r);
            fs.writeFileSync(path.join(work, `deploy-${r.vm.name}-${version}.log`), r.output);
        }
        return results.map((r) => {
            const lines = r.output.trim().split("\n");
            const switched = lines.find((l) => l.includes("switched to slot"));
            return r.code === 0
                ? `${r.vm.name}: ${switched ? switched.replace(/^deploy-app: /, "") : lines[lines.length - 2] ?? ""} (${r.ms} ms)`
                : `${r.vm.name}: deploy FAILED (exit ${r.code}): ${(lines.find((l) => l.includes("FAILED")) ?? lines[lines.length - 1] ?? "").replace(/^deploy-app: FAILED: /, "")}`;
        });
    };
    const greenFirst = faultRun ? VERSIONS.v2 : VERSIONS.v1;
    const firstDeploys = await Promise.all([deployColor("blue", VERSIONS.v1), deployColor("green", greenFirst)]);
    const failedFirst = [...vms.blue, ...vms.green].filter((vm) => lastRun.get(vm.name)?.code !== 0);
    if (failedFirst.length > 0) {
        throw new Error(`the first deploy of ${VERSIONS.v1} failed on ${failedFirst.map((v) => v.name).join(", ")}:\n${failedFirst.map((v) => lastRun.get(v.name)?.output ?? "").join("\n")}`);
    }
    say(
        `${prepared.appName} ${VERSIONS.v1}${faultRun ? ` (blue) and ${VERSIONS.v2} (green, broken: errors-after-flip)` : ""} deployed by vm-scripts/deploy-app.sh to ${INSTANCES_PER_COLOR} VMs per color, each behind its local proxy: ` +
            COLORS.flatMap((c) => vms[c].map((vm) => `${vm.name} 127.0.0.1:${vm.port} (staging ${vm.stagingPort})`)).join(", ") +
            "\n" +
            firstDeploys.flat().join("\n"),
    );

    const haproxy: RunningHaproxy = await startHaproxy(
        {
            socketPath: path.join(work, "haproxy.sock"),
            mapPath: path.join(work, "live.map"),
            productionPort: await freePort(),
            stagingPort: await freePort(),
            servers: {
                blue: vms.blue.map((vm) => ({ name: vm.name, port: vm.port, stagingPort: vm.stagingPort })),
                green: vms.green.map((vm) => ({ name: vm.name, port: vm.port, stagingPort: vm.stagingPort })),
            },
            logErrors: true,
        },
        work,
        "blue",
    );
    cleanup.add("stop HAProxy", () => haproxy.stop());
    const { productionPort, stagingPort } = haproxy.layout;
    say(`HAProxy (TCP mode, the load balancer) production 127.0.0.1:${productionPort} → blue, staging 127.0.0.1:${stagingPort} → green`);

    // The load balancer's configuration lives in ARM (the stand-in); HAProxy follows its production rule.
    /** Automatic flip-backs HAProxy carried out (the watch's), handled once the scenario's state exists. */
    let onAutomaticFlip: (change: AppliedChange & { flipBack: NonNullable<AppliedChange["flipBack"]> }) => void = () => undefined;
    const front: ArmFront = await startArmFront({
        live: "blue",
        pools: { blue: vms.blue.map(() => "127.0.0.1"), green: vms.green.map(() => "127.0.0.1") },
        setLive: (color) => setLiveColor(haproxy.layout.socketPath, haproxy.layout.mapPath, color),
        beforeSwitch: (color) => {
            if (faultRun && color === "green" && !fs.existsSync(faultMarker)) fs.writeFileSync(faultMarker, `${new Date().toISOString()}\n`);
        },
        onApplied: (change) => {
            if (change.flipBack) onAutomaticFlip({ ...change, flipBack: change.flipBack });
        },
        now: () => now() - loadStartedAt,
        epochAtZero: () => epochAtT0 + loadStartedAt,
    });
    cleanup.add("stop the ARM stand-in", () => front.close());
    say(`ARM stand-in ${front.arm.url} holds the load balancer ${front.arm.loadBalancerId}: production rule → blue; HAProxy follows each change it applies (provisioning ${ARM_PROVISIONING_MS} ms)`);

    /** The gate's release check: every VM of the color proves the release (its last deploy's proof), as on Azure. */
    const proofProblems = (color: Color, version: string): string[] =>
        releaseProofProblems(
            vms[color].map((vm) => ({ name: vm.name, view: { statuses: [{ message: lastRun.get(vm.name)?.output ?? "" }] } })),
            { color, version, sha256: published[version].sha256 },
            `pulumi config set ${color}ForceUpdateTag <new value> && pulumi up`,
        );

    // --- The guard's state, first deploy ------------------------------------------------------------------------
    const colorState = (version: string): ReleaseState["blue"] => ({ version, vmSize: "local-process", image: "node" });
    const guardContext = (extra: Partial<GuardContext> = {}): GuardContext => ({
        now: new Date(),
        rollbackWindowMinutes: timing.rollbackWindowMs / 60_000,
        ...extra,
    });
    const schema = async (): Promise<SchemaStatus> => db.schemaStatus(db.releaseDirs.v2);
    let state: ReleaseState;
    {
        const first: ReleaseState = { liveColor: "blue", blue: colorState(VERSIONS.v1), green: colorState(greenFirst) };
        const verdict = evaluateRelease(undefined, first, guardContext());
        if (!verdict.allowed) throw new Error(`the guard refused the first deploy:\n${verdict.reasons.join("\n")}`);
        const gate = await runGate({ color: "blue", version: VERSIONS.v1, ports: vms.blue.map((vm) => vm.port), attempts: 40, intervalS: 0.25, smokeChecks: smoke.checks });
        if (!gate.passed) throw new Error(`blue v1 did not pass its health gate at setup:\n${gate.summary}`);
        state = recordStep(undefined, first, guardContext());
        say(`guard: ${verdict.step}, allowed; gate: ${gate.summary}`);
    }

    // --- Load ---------------------------------------------------------------------------------------------------
    let phase = `blue live (v${VERSIONS.v1})`;
    const load: Load = startLoad({
        host: "127.0.0.1",
        port: productionPort,
        path: "/goals?limit=5",
        writeEvery: 20,
        writePath: "/goals",
        rate: options.rate,
        connections: options.connections,
        servedByHeader: SERVED_BY,
        faultHeader: FAULT_HEADER,
        phase: () => phase,
        now: () => now() - loadStartedAt,
    });
    loadStartedAt = now();
    let loadStopped = false;
    cleanup.add("stop the load", async () => {
        if (!loadStopped) await load.stop();
    });
    say(`load started: ${options.rate} req/s over ${options.connections} keep-alive connections (GET /goals, every 20th a POST)`);
    const since = (): number => now() - loadStartedAt;
    const until = async (ms: number): Promise<void> => {
        const wait = ms - since();
        if (wait > 0) await sleep(wait);
    };

    const flips: FlipEvent[] = [];
    const blockedFlips: Refusal[] = [];
    const blockedDeploys: Refusal[] = [];
    const blockedContracts: Refusal[] = [];
    const markers: ChartMarker[] = [];
    const mark = (kind: ChartMarker["kind"], label: string): void => {
        markers.push({ at: since(), kind, label });
    };
    const refuse = (list: Refusal[], label: string, what: string, reason: string): void => {
        list.push({ at: Math.round(since()), what, reason });
        mark("refused", `${label} refused`);
        say(`REFUSED ${what}:\n${reason}`);
    };

    // --- The post-flip watch ------------------------------------------------------------------------------------
    const watchStateDir = path.join(work, "watch-state");
    const watches: RehearsalWatch[] = [];
    /** Each automatic flip-back with the watch that made it and the flip it watched. */
    const automatic: { watch: RehearsalWatch; watchedFlip: FlipEvent; flip: FlipEvent }[] = [];
    const runningWatch = (): RehearsalWatch | undefined => watches.find((w) => !w.ended());
    cleanup.add("stop the post-flip watch", async () => {
        await Promise.all(watches.map((w) => w.stop()));
    });
    /**
     * After a flip to `to` (not a rollback), the release agent watches `to` for `watchMs`, as `pulumi up` would hand it
     * a WatchSpec: the new color's VMs (their local proxies' metrics ports), the old color's as the baseline, the ARM
     * id of the load balancer and the endpoint (the stand-in's).
     */
    const startWatch = (from: Color, to: Color, flipId: string, watchMs: number): void => {
        const thresholds = rehearsalWatchThresholds(watchMs);
        if (!thresholds) {
            say(`no watch of ${to}: its ${Math.round(watchMs)} ms are shorter than 3 intervals of 1 s (a longer --duration gives one)`);
            return;
        }
        const watched = (vm: LocalVm) => ({ name: vm.name, host: "127.0.0.1", metricsPort: vm.metricsPort, healthPort: vm.port });
        const spec: WatchSpec = {
            flipId,
            from,
            to,
            targets: vms[to].map(watched),
            baseline: vms[from].map(watched),
            healthPath: "/health",
            thresholds,
            until: new Date(Date.parse(flipId) + watchMs).toISOString(),
            loadBalancerId: front.arm.loadBalancerId,
            armEndpoint: front.arm.url,
        };
        watches.push(startRehearsalWatch(spec, { stateDir: watchStateDir, flipBack: front.flipBackFactory(spec, () => undefined), clock: fromIso, say }));
    };
    /** The kill switch of the running watch, if any (a manual rollback, the end of the run). */
    const stopWatch = async (): Promise<void> => {
        await runningWatch()?.stop();
    };
    onAutomaticFlip = (change) => {
        const watch = watches.find((w) => w.spec.flipId === change.flipBack.flipId);
        const watchedFlip = [...flips].reverse().find((f) => !f.automatic && f.to === change.flipBack.from);
        const flipEvent: FlipEvent = { from: change.flipBack.from, to: change.color, at: change.at, ackAt: change.ackAt, rollback: true, automatic: true, requestedAt: change.requestedAt };
        flips.push(flipEvent);
        if (watch && watchedFlip) automatic.push({ watch, watchedFlip, flip: flipEvent });
        const after: ReleaseState = { ...state, liveColor: change.color };
        state = recordStep(state, after, guardContext());
        phase = `automatically flipped back: ${change.color} live (v${state[change.color].version})`;
        mark("auto-rollback", `automatic flip-back → ${change.color}`);
        say(
            `AUTOMATIC FLIP-BACK ${change.flipBack.from} → ${change.color} by the release agent through ARM (PUT at ${(change.requestedAt / 1000).toFixed(1)} s, ` +
                `applied ${(change.at - change.requestedAt).toFixed(0)} ms later; HAProxy acknowledged in ${(change.ackAt - change.at).toFixed(1)} ms)\n` +
                `recorded in the load balancer's tag bluegreen-flip-back: ${change.flipBack.reason}`,
        );
    };
    const verdictText = (v: Verdict): string =>
        [`guard: ${v.step}, ${v.allowed ? "allowed" : "refused"}`, ...v.reasons, ...v.notices.map((n) => `notice: ${n}`)].join("\n");

    /** A deploy of `version` onto `color`: the guard decides, then the product's deploy runs on each of its VMs. */
    const deploy = async (color: Color, version: string, fault?: Fault): Promise<boolean> => {
        const after: ReleaseState = { ...state, [color]: colorState(version) };
        const ctx = guardContext();
        const verdict = evaluateRelease(state, after, ctx);
        if (!verdict.allowed) {
            refuse(blockedDeploys, `deploy → ${color}`, `deploy ${version} onto ${color}`, verdict.reasons.join("\n"));
            return false;
        }
        say(`deploy ${version}${fault ? ` (broken: ${fault})` : ""} onto ${color}: ${verdictText(verdict)}`);
        const started = since();
        // A broken release gets a few seconds to prove it never becomes healthy (the manifest allows more on Azure).
        const outcome = await deployColor(color, version, fault ? 4 : 30);
        state = recordStep(state, after, ctx);
        mark("note", `${color} → ${version}`);
        const failed = vms[color].filter((vm) => lastRun.get(vm.name)?.code !== 0).length;
        say(
            `${failed === 0 ? `${color} now runs ${version}` : `the deploy of ${version} onto ${color} failed on ${failed} of ${vms[color].length} VMs; their local proxies kept the release they served`} ` +
                `(${Math.round(since() - started)} ms):\n${outcome.join("\n")}`,
        );
        return true;
    };

    /** A flip to `to`: the guard decides, the gate checks every instance and the schema, then HAProxy switches. */
    const flip = async (to: Color): Promise<boolean> => {
        const previous = flips[flips.length - 1];
        const from = state.liveColor;
        const after: ReleaseState = { ...state, liveColor: to };
        // The gate first (it takes a moment), then the guard: its "now" is then the moment of the switch, and one
        // "now" serves the verdict and the record (a rollback judged inside the window is recorded as one). The gate
        // checks the VMs of `to` directly, not through the load balancer, so it runs while the previous switch's
        // connections converge (the gap between flips), not after: a slow gate does not push a rollback out of its window.
        const [gate] = await Promise.all([
            db.statusCommand(db.releaseDirs.v2, work).then((statusCommand) =>
                runGate({
                    color: to,
                    version: state[to].version,
                    ports: vms[to].map((vm) => vm.port),
                    statusCommand,
                    attempts: 8,
                    intervalS: 0.25,
                    smokeChecks: smoke.checks,
                }),
            ),
            previous ? until(previous.at + timing.minFlipGapMs) : Promise.resolve(),
        ]);
        if (gate.interrupted) {
            // Ctrl-C reached the gate too: that is not a refusal, and the report must not say it was.
            say(`flip ${from} → ${to} interrupted: ${gate.summary}`);
            throw new Error(`interrupted during the health gate of ${to}`);
        }
        const ctx = guardContext({ schema: await schema() });
        const verdict = evaluateRelease(state, after, ctx);
        const proofs = proofProblems(to, state[to].version);
        if (!verdict.allowed || !gate.passed || proofs.length > 0) {
            const reasons = [...verdict.reasons, ...proofs, ...(gate.passed ? [] : [gate.summary])];
            refuse(blockedFlips, `flip → ${to}`, `flip ${from} → ${to} (${state[to].version})`, reasons.join("\n"));
            return false;
        }
        const rollback = verdict.step === "rollback";
        // A rollback reverts the watched flip: its watch stops first (the kill switch), so it cannot flip back too.
        if (rollback) await stopWatch();
        // Slow requests in flight on the old color across the switch; they must complete.
        const slow = load.oneShot("slow", `/slow?ms=${timing.slowRequestMs}`, SLOW_REQUESTS_PER_SWITCH);
        await sleep(SLOW_REQUEST_LEAD_MS);
        // The program's change of the load balancer, through ARM; HAProxy follows when ARM applies it.
        const change = await front.flip(to);
        const { at, ackAt, requestedAt } = change;
        flips.push({ from, to, at, ackAt, rollback, requestedAt });
        state = recordStep(state, after, ctx);
        phase = `${rollback ? "rolled back: " : ""}${to} live (v${state[to].version})`;
        mark("flip", `${rollback ? "rollback" : "flip"} → ${to}`);
        say(
            `${rollback ? "ROLLBACK" : "FLIP"} ${from} → ${to}: ${verdictText(verdict)}\n${gate.summary}\n` +
                `ARM: PUT of the load balancer (production rule → ${to}) applied ${(at - requestedAt).toFixed(0)} ms later; ` +
                `HAProxy runtime API: set map live ${to} (acknowledged in ${(ackAt - at).toFixed(1)} ms)`,
        );
        if (!rollback) {
            // The agent watches the new color until the rollback window closes (then the old color is no target).
            startWatch(from, to, state.lastFlipAt ?? new Date().toISOString(), faultRun ? faultTiming.watchMs : timing.rollbackWindowMs);
        }
        // Fresh connections right after the switch measure when every new connection lands on the new color.
        const probes: Promise<void>[] = [];
        for (let i = 0; i < 20; i++) {
            probes.push(load.oneShot("probe", "/health", 1));
            await sleep(25);
        }
        await Promise.all([slow, ...probes]);
        return true;
    };

    /** Contract migrations: the guard decides with the versions both colors run; the runner applies them. */
    const contract = async (): Promise<boolean> => {
        const pending: ContractMigration[] = await db.pendingContract(db.releaseDirs.v2);
        const after: ReleaseState = { ...state, runContractMigrations: true };
        const ctx = guardContext({ contract: pending });
        const verdict = evaluateRelease(state, after, ctx);
        const names = pending.map((m) => `${m.name} (requires ${m.requiresVersion})`).join(", ");
        if (!verdict.allowed) {
            refuse(blockedContracts, "contract", `contract ${names}`, verdict.reasons.join("\n"));
            return false;
        }
        const applied = await db.up(db.releaseDirs.v2, "contract", [state.blue.version, state.green.version]);
        state = recordStep(state, after, ctx);
        mark("note", "contract");
        say(`contract: ${verdictText(verdict)}\napplied under load: ${applied.join(", ")}`);
        return true;
    };

    // --- The scenario -------------------------------------------------------------------------------------------
    let migrationUnderLock: ReportInput["migrationUnderLock"];
    if (faultRun) {
        // errors-after-flip: flip to the v2 that passes the gate; the watch must flip production back by itself.
        await until(faultTiming.flip);
        if (!(await flip("green"))) {
            throw new Error("the flip to green (v2, broken only once it takes production traffic) was refused; see the timeline above");
        }
        const watch = runningWatch();
        if (!watch) throw new Error("the flip to green started no post-flip watch");
        await watch.done;
        // The agent reads the flip-back back from ARM as soon as ARM says it is provisioned; HAProxy may still be
        // switching (the stand-in's hook): wait for it, so the flip-back is recorded before the tail is measured.
        await front.arm.settled();
        const back = flips.find((f) => f.automatic);
        if (!back) say(`no automatic flip-back: the watch ended ${watch.ended()?.outcome ?? "?"}`);
        // The load goes on until every connection has moved back (or to --duration).
        await until(Math.max(faultTiming.end, back ? back.at + faultTiming.tailMs : 0));
    } else {
        const plan = planClock(since, sleep);
        let reportedLate = 0;
        /** The next step of the plan; says so when the run has fallen behind it by another second or more. */
        const step = async (planned: number, what: string): Promise<void> => {
            const late = await plan.step(planned);
            if (late - reportedLate >= 1000) {
                say(`the plan runs ${(late / 1000).toFixed(1)} s late at the ${what} (a step before it took longer than planned): the steps after it keep their spacing`);
                reportedLate = late;
            }
        };
        await step(timing.at.expand, "expand");
        // A long query of the live app holds a lock on goals while the expand runs: its ALTER TABLE gives up after the
        // statement lock timeout instead of queueing the app's requests behind it, and the runner retries.
        const releaseLock = await db.holdTableLock("goals");
        const lockedAt = since();
        const lockTimer = setTimeout(() => void releaseLock(), MIGRATION_LOCK_HOLD_MS);
        let expanded: string[];
        try {
            expanded = await db.up(db.releaseDirs.v2, "expand");
        } finally {
            clearTimeout(lockTimer);
            await releaseLock();
        }
        const retries = db.takeMigrationLog().filter((l) => /lock timeout/.test(l));
        migrationUnderLock = { startMs: lockedAt, endMs: since(), heldMs: MIGRATION_LOCK_HOLD_MS, retries };
        mark("note", "expand");
        say(
            `expand migrations of release 2 applied under load: ${expanded.join(", ") || "(none)"}\n` +
                `while a long query held a lock on goals for ${MIGRATION_LOCK_HOLD_MS} ms: ${retries.length} lock-timeout retries` +
                `${retries[0] ? ` (first: ${retries[0]})` : ""}`,
        );

        await step(timing.at.deployGreen, "deploy of green");
        if (!(await deploy("green", VERSIONS.v2))) throw new Error("the guard refused deploying v2 to the idle color green");

        await step(timing.at.flip, "flip");
        if (!(await flip("green"))) throw new Error("the flip to green was refused; see the timeline above");

        await step(timing.at.rollback, "rollback");
        if (!(await flip("blue"))) throw new Error("the rollback to blue was refused; see the timeline above");

        await step(timing.at.flipAgain, "second flip");
        if (!(await flip("green"))) throw new Error("the second flip to green was refused; see the timeline above");

        await step(timing.at.refusals, "refusals");
        if (await contract()) throw new Error("the contract ran while blue still runs v1: the guard should have refused it");
        if (await deploy("blue", VERSIONS.v2)) throw new Error("a deploy onto blue inside the rollback window was allowed");

        const windowEnds = rollbackWindowEndsAt(state, timing.rollbackWindowMs / 60_000);
        if (windowEnds) {
            say(`waiting for the rollback window to close (${Math.max(0, Math.round((windowEnds.getTime() - Date.now()) / 100) / 10)} s)`);
            await sleep(Math.max(0, windowEnds.getTime() - Date.now() + 100));
        }
        // The watch of the last flip ends with the window, by itself: its last read may still be under way on a busy
        // machine, so it gets two intervals and a second before the kill switch (which would report it "stopped").
        const last = runningWatch();
        if (last) await Promise.race([last.done, sleep(2 * last.spec.thresholds.watchIntervalSeconds * 1000 + 1000)]);
        await stopWatch();
        // Blue is no rollback target any more and gets v2.
        if (!(await deploy("blue", VERSIONS.v2))) throw new Error("the deploy of v2 onto blue after the window was refused");
        if (!(await contract())) throw new Error("the contract was refused although both colors run v2");
        phase = `${state.liveColor} live (v${VERSIONS.v2}), both colors v2`;

        await step(timing.at.brokenDeploy, "broken deploy");
        const idle = idleColor(state.liveColor);
        await deploy(idle, VERSIONS.v3, options.fault);
        if (options.fault === "unhealthy" && vms[idle].every((vm) => lastRun.get(vm.name)?.code === 0)) {
            say(`note: ${prepared.appName} does not honour APP_FAULT=unhealthy, so its v${VERSIONS.v3} is healthy; use --fault crash-on-start or wrong-version for this app`);
        }
        phase = `${state.liveColor} live, broken v${VERSIONS.v3} on ${idle}`;
        if (await flip(idle)) throw new Error(`the flip to a broken v3 (${options.fault}) was allowed`);
        await step(timing.at.end, "end");
    }
    await stopWatch();
    const durationMs = since();
    await load.stop();
    loadStopped = true;
    say(`load stopped after ${(durationMs / 1000).toFixed(1)} s`);

    // --- Report and chart ---------------------------------------------------------------------------------------
    const autoRollbacks: AutoRollbackEvent[] = automatic.map((a) => ({
        watchedFlipAt: a.watchedFlip.at,
        verdictAt: a.watch.fail()?.at ?? a.flip.requestedAt ?? a.flip.at,
        reason: (a.watch.fail()?.reasons ?? []).join("; "),
        flip: a.flip,
    }));
    const report = buildReport({
        startedAt: new Date(Date.now() - (now() - loadStartedAt)),
        durationMs,
        settings: {
            durationS: options.durationS,
            rate: options.rate,
            connections: options.connections,
            fault: options.fault,
            maxConnectionAgeMs: timing.maxConnectionAgeMs,
            rollbackWindowMs: timing.rollbackWindowMs,
            slowRequestMs: timing.slowRequestMs,
            instancesPerColor: INSTANCES_PER_COLOR,
            watch: "the release agent's runWatch (release/watch.ts) in this process; its flip-back (release/flipBack.ts) through the ARM stand-in",
            watchIntervalSeconds: watches[0]?.spec.thresholds.watchIntervalSeconds ?? 0,
            watchConsecutiveIntervals: watches[0]?.spec.thresholds.watchConsecutiveIntervals ?? 0,
            watchErrorRatio: watches[0]?.spec.thresholds.watchErrorRatio ?? 0,
            armProvisioningMs: ARM_PROVISIONING_MS,
        },
        records: load.records,
        flips,
        autoRollbacks,
        ...(migrationUnderLock ? { migrationUnderLock } : {}),
        blockedFlips,
        blockedDeploys,
        blockedContracts,
        timeline,
    });
    const reportPath = path.resolve(options.reportPath);
    const chartPath = reportPath.replace(/\.json$/i, "") + ".svg";
    fs.mkdirSync(path.dirname(reportPath), { recursive: true });
    fs.writeFileSync(reportPath, JSON.stringify(report, null, 2) + "\n");
    const bucketMs = durationMs > 60_000 ? 1000 : 500;
    const chartEndMs = runEndMs(load.records, durationMs);
    fs.writeFileSync(
        chartPath,
        renderChart({
            title: `Blue/green rehearsal: ${report.totalRequests} requests, ${report.failedRequests} failed, ${options.rate} req/s over ${options.connections} connections`,
            buckets: buckets(load.records, bucketMs, chartEndMs),
            bucketMs,
            endMs: chartEndMs,
            markers,
            watches: watches.map((w) => ({ startMs: w.startedAt, endMs: w.ended()?.at ?? durationMs, label: `watch ${w.spec.to}` })),
            verdicts: watches.flatMap((w) => w.verdicts),
        }),
    );
    return { report, records: load.records, flips, timing, watches, reportPath, chartPath, workDir: work };
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
