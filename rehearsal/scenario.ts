/**
 * The rehearsal: a whole blue/green release on this machine, under load.
 *
 *   v1 live on blue → expand migration → deploy v2 to green → gate passes → flip → roll back → flip again
 *   → contract refused (blue still runs v1) → deploy onto blue refused (rollback window) → after the window,
 *   v2 deployed to blue → contract runs → broken v3 deployed to the idle color → its flip refused.
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
import { buckets, buildReport, FlipEvent, RehearsalReport, Refusal, runEndMs } from "./report";
import { ChartMarker, renderChart } from "./chart";
import { Cleanup } from "./cleanup";
import { openRehearsalDatabase, RehearsalDatabase } from "./database";
import { appSmokeChecks, runGate } from "./gate";
import { RunningHaproxy, setLiveColor, startHaproxy } from "./haproxy";
import { Load, RequestRecord, startLoad } from "./load";
import { RehearsalOptions, ScenarioTiming, scenarioTiming } from "./options";
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
    const timing = scenarioTiming(options.durationS);
    const t0 = performance.now();
    const now = (): number => performance.now() - t0;
    let loadStartedAt = Number.NaN;
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

    const prepared = await prepareReleases(work, Object.values(VERSIONS), say, { appDir: options.app, broken: VERSIONS.v3, fault: options.fault });
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
    const firstDeploys = await Promise.all([deployColor("blue", VERSIONS.v1), deployColor("green", VERSIONS.v1)]);
    const failedFirst = [...vms.blue, ...vms.green].filter((vm) => lastRun.get(vm.name)?.code !== 0);
    if (failedFirst.length > 0) {
        throw new Error(`the first deploy of ${VERSIONS.v1} failed on ${failedFirst.map((v) => v.name).join(", ")}:\n${failedFirst.map((v) => lastRun.get(v.name)?.output ?? "").join("\n")}`);
    }
    say(
        `${prepared.appName} ${VERSIONS.v1} deployed by vm-scripts/deploy-app.sh to ${INSTANCES_PER_COLOR} VMs per color, each behind its local proxy: ` +
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
        const first: ReleaseState = { liveColor: "blue", blue: colorState(VERSIONS.v1), green: colorState(VERSIONS.v1) };
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
        if (previous) await until(previous.at + timing.minFlipGapMs);
        const from = state.liveColor;
        const after: ReleaseState = { ...state, liveColor: to };
        // The gate first (it takes a moment), then the guard: its "now" is then the moment of the switch, and one
        // "now" serves the verdict and the record (a rollback judged inside the window is recorded as one).
        const gate = await runGate({
            color: to,
            version: state[to].version,
            ports: vms[to].map((vm) => vm.port),
            statusCommand: await db.statusCommand(db.releaseDirs.v2, work),
            attempts: 8,
            intervalS: 0.25,
            smokeChecks: smoke.checks,
        });
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
        // Slow requests in flight on the old color across the switch; they must complete.
        const slow = load.oneShot("slow", `/slow?ms=${timing.slowRequestMs}`, SLOW_REQUESTS_PER_SWITCH);
        await sleep(Math.min(200, timing.slowRequestMs / 3));
        const at = since();
        await setLiveColor(haproxy.layout.socketPath, haproxy.layout.mapPath, to);
        const ackAt = since();
        const rollback = verdict.step === "rollback";
        flips.push({ from, to, at, ackAt, rollback });
        state = recordStep(state, after, ctx);
        phase = `${rollback ? "rolled back: " : ""}${to} live (v${state[to].version})`;
        mark("flip", `${rollback ? "rollback" : "flip"} → ${to}`);
        say(
            `${rollback ? "ROLLBACK" : "FLIP"} ${from} → ${to}: ${verdictText(verdict)}\n${gate.summary}\n` +
                `HAProxy runtime API: set map live ${to} (acknowledged in ${(ackAt - at).toFixed(1)} ms)`,
        );
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
    await until(timing.at.expand);
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
    const migrationUnderLock = { startMs: lockedAt, endMs: since(), heldMs: MIGRATION_LOCK_HOLD_MS, retries };
    mark("note", "expand");
    say(
        `expand migrations of release 2 applied under load: ${expanded.join(", ") || "(none)"}\n` +
            `while a long query held a lock on goals for ${MIGRATION_LOCK_HOLD_MS} ms: ${retries.length} lock-timeout retries` +
            `${retries[0] ? ` (first: ${retries[0]})` : ""}`,
    );

    await until(timing.at.deployGreen);
    if (!(await deploy("green", VERSIONS.v2))) throw new Error("the guard refused deploying v2 to the idle color green");

    await until(timing.at.flip);
    if (!(await flip("green"))) throw new Error("the flip to green was refused; see the timeline above");

    await until(timing.at.rollback);
    if (!(await flip("blue"))) throw new Error("the rollback to blue was refused; see the timeline above");

    await until(timing.at.flipAgain);
    if (!(await flip("green"))) throw new Error("the second flip to green was refused; see the timeline above");

    await until(timing.at.refusals);
    if (await contract()) throw new Error("the contract ran while blue still runs v1: the guard should have refused it");
    if (await deploy("blue", VERSIONS.v2)) throw new Error("a deploy onto blue inside the rollback window was allowed");

    const windowEnds = rollbackWindowEndsAt(state, timing.rollbackWindowMs / 60_000);
    if (windowEnds) {
        say(`waiting for the rollback window to close (${Math.max(0, Math.round((windowEnds.getTime() - Date.now()) / 100) / 10)} s)`);
        await sleep(Math.max(0, windowEnds.getTime() - Date.now() + 100));
    }
    if (!(await deploy("blue", VERSIONS.v2))) throw new Error("the deploy of v2 onto blue after the window was refused");
    if (!(await contract())) throw new Error("the contract was refused although both colors run v2");
    phase = `${state.liveColor} live (v${VERSIONS.v2}), both colors v2`;

    await until(timing.at.brokenDeploy);
    const idle = idleColor(state.liveColor);
    await deploy(idle, VERSIONS.v3, options.fault);
    if (options.fault === "unhealthy" && vms[idle].every((vm) => lastRun.get(vm.name)?.code === 0)) {
        say(`note: ${prepared.appName} does not honour APP_FAULT=unhealthy, so its v${VERSIONS.v3} is healthy; use --fault crash-on-start or wrong-version for this app`);
    }
    phase = `${state.liveColor} live, broken v${VERSIONS.v3} on ${idle}`;
    if (await flip(idle)) throw new Error(`the flip to a broken v3 (${options.fault}) was allowed`);

    await until(timing.at.end);
    const durationMs = since();
    await load.stop();
    loadStopped = true;
    say(`load stopped after ${(durationMs / 1000).toFixed(1)} s`);

    // --- Report and chart ---------------------------------------------------------------------------------------
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
        },
        records: load.records,
        flips,
        migrationUnderLock,
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
        }),
    );
    return { report, records: load.records, flips, timing, reportPath, chartPath, workDir: work };
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
