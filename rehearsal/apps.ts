/**
 * The app instances of the rehearsal: real processes of the app, two per color, each on a fixed production and
 * staging port (the HAProxy backends point at those ports, as the Azure pools point at VMs).
 *
 * They run the real artifact: `packApp` (app/pack.ts, what `npm run app:pack` does) builds one, and each version is
 * an unpacked copy of it whose build-info.json is stamped with that version (written with the app's own
 * `writeBuildInfo`), so `/version` reports the stamp exactly as on a VM. One pack, not three: a pack compiles the
 * app and copies its node_modules (tens of seconds on a busy 2-core machine); the copies differ only in their stamp.
 * A "deploy" onto a color is what the VM extension does on Azure: stop the color's instances with SIGTERM (they
 * drain) and start the new release on the same ports.
 */
import { ChildProcess, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { packApp } from "../app/pack";
import { BUILD_INFO_FILE, writeBuildInfo } from "../app/src/buildInfo";
import { Fault } from "../app/src/config";
import { Color } from "../release/colors";
import { Cleanup, stopProcess } from "./cleanup";

/** The repository root (where app/ and node_modules/ are). */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** The entry point inside an unpacked artifact (what the systemd unit runs on a VM). */
export const ARTIFACT_ENTRY = path.join("dist", "app", "src", "main.js");

/**
 * Packs the app once and unpacks one release directory per version under `work/releases/`, each stamped with its
 * version. Returns the directory of each version.
 */
export async function prepareReleases(work: string, versions: readonly string[], log: (line: string) => void): Promise<Record<string, string>> {
    const started = Date.now();
    // The rehearsal rehearses this working tree, uncommitted changes included: its artifact never leaves the
    // machine, so the dirty-tree refusal of app:pack does not apply (the stamp says dirty).
    const packed = await packApp({ version: versions[0], distDir: path.join(work, "dist"), allowDirty: true });
    const out: Record<string, string> = {};
    for (const version of versions) {
        const dir = path.join(work, "releases", version);
        fs.mkdirSync(dir, { recursive: true });
        execFileSync("tar", ["-xzf", packed.artifact, "-C", dir]);
        if (version !== versions[0]) {
            writeBuildInfo(path.join(dir, BUILD_INFO_FILE), { version, builtAt: new Date().toISOString(), commit: `rehearsal copy of ${versions[0]}` });
        }
        out[version] = dir;
    }
    log(
        `packed the app once (${path.basename(packed.artifact)}, ${(packed.bytes / 1024 / 1024).toFixed(1)} MiB, ${Date.now() - started} ms) ` +
            `and unpacked ${versions.length} releases stamped ${versions.join(", ")}`,
    );
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
    /** The unpacked artifact to run (see {@link prepareReleases}). */
    readonly releaseDir: string;
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
        ...(spec.fault ? { APP_FAULT: spec.fault } : {}),
    };
}

/** Starts one instance as a process (registered with `cleanup`). */
export function startInstance(cleanup: Cleanup, spec: InstanceSpec): Instance {
    const log = fs.openSync(spec.logFile, "a");
    const child = cleanup.spawn(
        slotName(spec.slot),
        process.execPath,
        [path.join(spec.releaseDir, ARTIFACT_ENTRY)],
        {
            cwd: spec.releaseDir,
            env: { PATH: process.env.PATH ?? "", ...instanceEnv(spec) },
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
