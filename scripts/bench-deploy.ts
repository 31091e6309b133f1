/**
 * Benchmark (not a test): a deploy of a new release onto one VM, locally, with the product's own deploy path
 * (vm-scripts/deploy-app.sh, its local proxy, the rehearsal's stand-ins for Azure and systemd), for both sample apps,
 * under keep-alive load on the VM. Run with `npm run bench:deploy [-- --runs 5 --rate 200 --app app-python]`.
 *
 * For each redeploy it reads the deploy's own timing line (`switched to slot b and serving 1.0.1 in 640 ms (the app's
 * own start: 420 ms; the product's part: 220 ms)`): from the start of deploy-app.sh to "switched and serving", minus
 * the app's own start time (from `systemctl start` to its first 200 on /health). Targets: the product's part under
 * 2 s, and 0 failed requests during the redeploys.
 */
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { prepareReleases } from "../rehearsal/apps";
import { Cleanup } from "../rehearsal/cleanup";
import { openRehearsalDatabase } from "../rehearsal/database";
import { createVm, deployToVm, startAzureStandIn, stopVmsAtCleanup } from "../rehearsal/localVm";
import { isFailure, startLoad } from "../rehearsal/load";

/** The deploy's timing line, parsed. */
export interface DeployTiming {
    readonly totalMs: number;
    readonly appStartMs: number;
    readonly productMs: number;
}

/** Reads deploy-app.sh's `switched to slot … in T ms (the app's own start: A ms; the product's part: P ms)`. */
export function deployTiming(output: string): DeployTiming | undefined {
    const m = /serving \S+ in (\d+) ms \(the app's own start: (\d+) ms; the product's part: (-?\d+) ms\)/.exec(output);
    return m ? { totalMs: Number(m[1]), appStartMs: Number(m[2]), productMs: Number(m[3]) } : undefined;
}

function arg(name: string, fallback: string): string {
    const i = process.argv.indexOf(name);
    return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchApp(app: string | undefined, runs: number, rate: number): Promise<Record<string, unknown>> {
    const cleanup = new Cleanup();
    const work = cleanup.tempDir("bg-bench-deploy-");
    try {
        const db = await openRehearsalDatabase(cleanup, work);
        await db.up(db.releaseDirs.v1, "expand");
        const versions = ["1.0.0", "1.0.1"];
        const prepared = await prepareReleases(work, versions, () => undefined, app ? { appDir: app } : {});
        const azure = await startAzureStandIn(cleanup);
        azure.vault.secrets.set("app-database-url", db.appUrl);
        const published = Object.fromEntries(versions.map((v) => [v, azure.publish(prepared.artifacts[v].file, `app-${v}.tgz`)]));
        const vm = await createVm(work, "green", 0);
        stopVmsAtCleanup(cleanup, [vm]);
        const deploy = (version: string) =>
            deployToVm(vm, azure, work, { version, artifactUrl: published[version].url, sha256: published[version].sha256, maxConnectionAgeMs: 30_000 });
        const first = await deploy(versions[0]);
        if (first.code !== 0) throw new Error(`the first deploy failed:\n${first.output}`);

        const t0 = performance.now();
        const load = startLoad({
            host: "127.0.0.1",
            port: vm.port,
            path: "/goals?limit=5",
            writeEvery: 20,
            writePath: "/goals",
            rate,
            connections: Math.max(1, Math.ceil(rate / 50)),
            servedByHeader: "x-served-by",
            phase: () => "redeploys",
            now: () => performance.now() - t0,
        });
        const timings: DeployTiming[] = [];
        for (let i = 0; i < runs; i++) {
            await new Promise((r) => setTimeout(r, 500));
            const run = await deploy(versions[(i + 1) % 2]);
            const timing = deployTiming(run.output);
            if (run.code !== 0 || !timing) throw new Error(`redeploy ${i + 1} failed:\n${run.output}`);
            timings.push(timing);
        }
        await new Promise((r) => setTimeout(r, 500));
        await load.stop();
        const failed = load.records.filter(isFailure);
        return {
            app: `${prepared.appName}${app ? ` (${app})` : " (the Node sample)"}`,
            redeploys: runs,
            productMs: { median: median(timings.map((t) => t.productMs)), max: Math.max(...timings.map((t) => t.productMs)) },
            appStartMs: { median: median(timings.map((t) => t.appStartMs)) },
            totalMs: { median: median(timings.map((t) => t.totalMs)) },
            requests: load.records.length,
            failedRequests: failed.length,
            ...(failed.length > 0 ? { firstFailures: failed.slice(0, 5) } : {}),
        };
    } finally {
        await cleanup.run();
    }
}

async function main(): Promise<void> {
    const runs = Number(arg("--runs", "5"));
    const rate = Number(arg("--rate", "200"));
    const only = arg("--app", "");
    const apps = only ? [only === "app" ? undefined : only] : [undefined, "app-python"];
    const results = [];
    for (const app of apps) {
        const r = await benchApp(app, runs, rate);
        console.log(JSON.stringify(r));
        results.push(r);
    }
    const out = path.join("reports", "bench-deploy.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), runs, rate, results }, null, 2) + "\n");
    const ok = results.every((r) => (r.productMs as { max: number }).max < 2000 && r.failedRequests === 0);
    console.log(`${ok ? "PASS" : "FAIL"}: the product's part of a deploy under 2 s and 0 failed requests (report: ${out})`);
    process.exitCode = ok ? 0 : 1;
}

if (require.main === module) {
    main().catch((e) => {
        console.error((e as Error).message);
        process.exitCode = 1;
    });
}
