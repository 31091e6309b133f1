/**
 * The app instances of the rehearsal: real processes of engineer B's app (app/src/main.ts), two per color, each on
 * a fixed production and staging port (the HAProxy backends point at those ports, as the Azure pools point at VMs).
 *
 * Versions are stamped, not passed in: each version gets its own build-info.json (written with the app's own
 * `writeBuildInfo`) and an instance runs the build named by `APP_BUILD_INFO`, so `/version` reports the stamp,
 * exactly as a packed artifact would. A "deploy" onto a color is what the VM extension does on Azure: stop the
 * color's instances with SIGTERM (they drain) and start the new build on the same ports.
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { writeBuildInfo } from "../app/src/buildInfo";
import { Fault } from "../app/src/config";
import { Color } from "../release/colors";
import { Cleanup, isRunning, stopProcess } from "./cleanup";

/** The repository root (where app/ and node_modules/ are). */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** Writes one build stamp per version into `dir` and returns the path of each. */
export function stampBuilds(dir: string, versions: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const version of versions) {
        const file = path.join(dir, `build-${version}`, "build-info.json");
        fs.mkdirSync(path.dirname(file), { recursive: true });
        writeBuildInfo(file, { version, builtAt: new Date().toISOString(), commit: "rehearsal" });
        out[version] = file;
    }
    return out;
}

/** Where one instance listens. */
export interface Slot {
    readonly color: Color;
    readonly index: number;
    readonly port: number;
    readonly stagingPort: number;
}

/** The HAProxy server name of a slot: `blue-0`. */
export function slotName(slot: Pick<Slot, "color" | "index">): string {
    return `${slot.color}-${slot.index}`;
}

export interface InstanceSpec {
    readonly slot: Slot;
    readonly version: string;
    readonly buildInfoPath: string;
    readonly databaseUrl: string;
    readonly maxConnectionAgeMs: number;
    readonly fault?: Fault;
    /** Where the instance's stdout/stderr go (appended). */
    readonly logFile: string;
}

/** A started instance. */
export interface Instance {
    readonly spec: InstanceSpec;
    readonly process: ChildProcess;
    /** `listening` once both ports are bound; `exited` when it died before that (e.g. crash-on-start). */
    readonly started: Promise<"listening" | "exited">;
    /** SIGTERM (the app drains and exits), SIGKILL after `timeoutMs`. */
    stop(timeoutMs?: number): Promise<void>;
}

/** The environment an instance runs with (what the deploy script writes to /etc/bluegreen/app.env on a VM). */
export function instanceEnv(spec: InstanceSpec): Record<string, string> {
    return {
        APP_COLOR: spec.slot.color,
        APP_HOST: "127.0.0.1",
        APP_PORT: String(spec.slot.port),
        APP_STAGING_PORT: String(spec.slot.stagingPort),
        DATABASE_URL: spec.databaseUrl,
        MAX_CONNECTION_AGE_MS: String(spec.maxConnectionAgeMs),
        DRAIN_TIMEOUT_MS: "10000",
        APP_BUILD_INFO: spec.buildInfoPath,
        ...(spec.fault ? { APP_FAULT: spec.fault } : {}),
    };
}

/** Starts one instance as a process (registered with `cleanup`). */
export function startInstance(cleanup: Cleanup, spec: InstanceSpec): Instance {
    const log = fs.openSync(spec.logFile, "a");
    const child = cleanup.spawn(
        slotName(spec.slot),
        process.execPath,
        ["-r", "ts-node/register/transpile-only", path.join(REPO_ROOT, "app", "src", "main.ts")],
        {
            cwd: REPO_ROOT,
            env: { PATH: process.env.PATH ?? "", TS_NODE_TRANSPILE_ONLY: "true", ...instanceEnv(spec) },
            stdio: ["ignore", "pipe", log],
        },
    );
    fs.closeSync(log);
    const started = new Promise<"listening" | "exited">((resolve) => {
        const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
        lines.on("line", (line) => {
            fs.appendFileSync(spec.logFile, line + "\n");
            if (line.includes('"event":"listening"')) resolve("listening");
        });
        child.once("exit", () => resolve("exited"));
    });
    return {
        spec,
        process: child,
        started,
        stop: (timeoutMs = 15000) => stopProcess(child, "SIGTERM", timeoutMs),
    };
}

/** Whether an instance's process is still running. */
export function instanceRunning(instance: Instance): boolean {
    return isRunning(instance.process);
}
