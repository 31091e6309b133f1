/**
 * The health gate of the rehearsal is the product's own: vm-scripts/health-gate.sh, the script the release agent
 * runs inside the VNet before a flip, judged by the same read-back decision (release/readBack.ts). Here it runs on this machine against the color's instances
 * (each by its own port, as the Azure gate addresses each VM), with the migration status the runner reported, and the
 * app's smoke checks (`<app>/smoke-checks.yaml`, docs/smoke-checks.md) run by the same runner the agent runs.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readVmScript } from "../components/lib/vmScripts";
import { readSmokeChecksFile } from "../config/smokeChecksFile";
import { Color } from "../release/colors";
import { REPO_ROOT } from "./apps";
import { runCommandVerdict } from "../release/readBack";
import type { SmokeCheck } from "../release/smokeChecks";

export interface GateRequest {
    readonly color: Color;
    /** The version every instance of the color must report. */
    readonly version: string;
    /** The instances' ports (each checked directly, not through the load balancer). */
    readonly ports: readonly number[];
    /** A shell command printing the runner's `status --json` (the gate's schema check). */
    readonly statusCommand?: string;
    /** Bounded retries: attempts × interval is how long a starting color gets. */
    readonly attempts: number;
    readonly intervalS: number;
    /** The user's smoke checks, sent to every instance once it is healthy (release/smokeChecks.ts). @default [] */
    readonly smokeChecks?: readonly SmokeCheck[];
}

/** The file of an app's smoke checks in the rehearsal: `smoke-checks.yaml` beside its bluegreen.json. */
export const SMOKE_CHECKS_FILE = "smoke-checks.yaml";

/**
 * The smoke checks of the app in `appDir` (its `smoke-checks.yaml`, checked as `pulumi up` checks a stack's
 * smokeChecksFile), or none when it has no such file. Throws naming every problem of a file that is not valid.
 */
export function appSmokeChecks(appDir: string): { readonly file?: string; readonly checks: readonly SmokeCheck[] } {
    const file = path.join(appDir, SMOKE_CHECKS_FILE);
    if (!fs.existsSync(file)) return { checks: [] };
    const read = readSmokeChecksFile(file, { read: (p) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined) });
    if (read.problems.length > 0) {
        throw new Error(`${file} is not a valid list of smoke checks (docs/smoke-checks.md):\n` +
            read.problems.map((p) => `  - ${p.key}${p.value === undefined ? "" : ` = ${JSON.stringify(p.value)}`} ${p.reason}; allowed: ${p.allowed}; fix: ${p.fix}`).join("\n"));
    }
    return { file, checks: read.checks };
}

export interface GateResult {
    readonly passed: boolean;
    /** 0 pass, 1 an instance failed, 3 the schema does not fit, 4 a smoke check failed, 2 usage error. */
    readonly exitCode: number;
    /** Everything the script printed. */
    readonly output: string;
    /** The lines that say why it failed (what each instance answered), or the pass line. */
    readonly summary: string;
    /** True when the gate did not decide: it was stopped by a signal (Ctrl-C reaches it too), so no verdict exists. */
    readonly interrupted: boolean;
}

/** The gate's result from how its process ended: killed by a signal, or exited 129/130/143 on one, is no verdict. */
export function gateResult(code: number | null, signal: NodeJS.Signals | null, output: string, startedAt: Date = new Date()): GateResult {
    const exitCode = code ?? 1;
    const interrupted = signal !== null || code === 129 || code === 130 || code === 143;
    // The same decision the program takes on the release agent's gate, read back from Azure (release/readBack.ts):
    // the run's state and exit code, as an instance view of this run.
    const view = { executionState: exitCode === 0 && !interrupted ? "Succeeded" : "Failed", exitCode, startTime: startedAt.toISOString() };
    const passed = !interrupted && runCommandVerdict(view, { what: "the health gate", name: "rehearsal", ranInThisUpdate: true, updateStartedAt: startedAt, retry: "run the step again" }).passed;
    return {
        passed,
        exitCode,
        output,
        summary: interrupted ? `health gate interrupted (${signal ?? `exit ${code}`}): no verdict` : gateSummary(output, passed),
        interrupted,
    };
}

/** The lines of the gate's output worth repeating in a refusal: the failure block, or the last line on success. */
export function gateSummary(output: string, passed: boolean): string {
    const lines = output.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
    if (passed) return lines[lines.length - 1] ?? "";
    const start = lines.findIndex((l) => l.startsWith("HEALTH GATE FAILED"));
    const block = start < 0 ? lines.slice(-5) : lines.slice(start);
    // The script prints its failure block twice (stdout and stderr): keep it once.
    const seen = new Set<string>();
    return block.filter((l) => (seen.has(l) ? false : (seen.add(l), true))).join("\n");
}

/** Runs vm-scripts/health-gate.sh and resolves with its verdict. */
export function runGate(req: GateRequest): Promise<GateResult> {
    const script = path.join(REPO_ROOT, "vm-scripts", "health-gate.sh");
    const env: Record<string, string> = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        GATE_COLOR: req.color,
        GATE_VERSION: req.version,
        GATE_HOSTS: req.ports.map((p) => `127.0.0.1:${p}`).join(","),
        GATE_ATTEMPTS: String(req.attempts),
        GATE_INTERVAL: String(req.intervalS),
        GATE_TIMEOUT: "2",
        GATE_APP_DIR: REPO_ROOT,
        // No GATE_VERSION_PATH: the release each VM runs is proven by its deploy's release proof (read by the scenario
        // with release/readBack.ts, as the program reads it from Azure), not by asking the app.
        ...(req.statusCommand ? { GATE_DB_STATUS_CMD: req.statusCommand } : {}),
    };
    // The checks and their runner as the program ships them to the agent (components/healthGate.ts).
    const smokeDir = req.smokeChecks && req.smokeChecks.length > 0 ? fs.mkdtempSync(path.join(os.tmpdir(), "bluegreen-smoke-")) : undefined;
    if (smokeDir) {
        env.GATE_SMOKE_CHECKS = path.join(smokeDir, "smoke-checks.json");
        env.GATE_SMOKE_RUNNER = path.join(smokeDir, "smoke-checks.js");
        fs.writeFileSync(env.GATE_SMOKE_CHECKS, JSON.stringify(req.smokeChecks));
        fs.writeFileSync(env.GATE_SMOKE_RUNNER, readVmScript("smoke-checks.js"));
    }
    const startedAt = new Date();
    return new Promise<GateResult>((resolve, reject) => {
        const child = spawn("bash", [script], { env, cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        child.on("error", reject);
        child.on("close", (code, signal) => resolve(gateResult(code, signal, output, startedAt)));
    }).finally(() => {
        if (smokeDir) fs.rmSync(smokeDir, { recursive: true, force: true });
    });
}
