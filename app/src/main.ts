/**
 * The app as a process. Settings come from the environment (see config.ts and docs/app.md); the version from the
 * artifact's build-info.json.
 *
 * - In an artifact (what systemd runs on a VM): `node dist/app/src/main.js`, from the artifact root.
 * - From a checkout (tests, the local rehearsal):
 *   `APP_COLOR=blue DATABASE_URL=postgres://… APP_HOST=127.0.0.1 APP_PORT=9080 APP_STAGING_PORT=9081 \
 *    APP_BUILD_INFO=/tmp/v1/build-info.json node -r ts-node/register/transpile-only app/src/main.ts`
 *   `APP_BUILD_INFO` names a stamp written with `writeBuildInfo` (buildInfo.ts), so one checkout can play v1 and v2;
 *   without it a checkout reports 0.0.0-dev. The deploy script never sets it: on a VM the stamp is the artifact's.
 * - In-process: `startApp(options)` from server.ts.
 *
 * Prints one JSON line per event on stdout (`{"event":"listening","ports":{…}}` once bound, `"ready"` once the
 * database answers). SIGTERM (or SIGINT) drains and exits 0 — a second one does not cut the drain short; a bad setting or `APP_FAULT=crash-on-start` prints
 * `app: fatal: <why>` on stderr and exits 1.
 */
import { defaultBuildInfoPath, readBuildInfo } from "./buildInfo";
import { readAppConfig } from "./config";
import { startApp } from "./server";

async function main(): Promise<void> {
    const config = readAppConfig(process.env);
    const stampFile = process.env.APP_BUILD_INFO || defaultBuildInfoPath();
    const fromSource = __filename.endsWith(".ts") && !process.env.APP_BUILD_INFO;
    const buildInfo = readBuildInfo(stampFile, fromSource);
    const app = await startApp({ config, buildInfo });
    // Every signal is handled (not `once`): a second SIGTERM while draining must not kill the process with its default
    // action and reset the requests still in flight. The drain is idempotent and ends by DRAIN_TIMEOUT_MS anyway.
    const stop = (signal: string): void => {
        console.log(JSON.stringify({ time: new Date().toISOString(), event: "signal", signal }));
        void app.drain().then(() => process.exit(0));
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((e: unknown) => {
    // Plain text: this is what an operator reads in `journalctl -u bluegreen-app` when a deploy fails.
    console.error(`app: fatal: ${(e as Error).message}`);
    process.exit(1);
});
