/**
 * The health gate: before the load balancer sends production traffic to a color, every VM of that color must answer
 * `/health` with 200, and the database's migrations must fit that version. (Which release each VM runs is not asked
 * of the app: the program reads each VM's release proof back from its deployment, components/appDeployment.ts
 * `proven`, and the load balancer waits for both.) vm-scripts/health-gate.sh does the checking; this component runs it on **the release agent**
 * (components/releaseAgent.ts), inside the virtual network, as an Azure run command (the backend ports and the
 * database are private, and Pulumi Deployments' runners have no fixed IP). The agent checks every VM by its private
 * IP, in parallel, and runs the schema check with the product's runner and migrations (the tool bundle, pinned by
 * SHA-256: components/lib/toolBundle.ts) as the administrator (the credential
 * is read from Key Vault by the agent's identity: vm-scripts/agent-gate.sh).
 *
 * The load balancer moves only on `verified`: the run command's result **read back from Azure** (its instance view:
 * state Succeeded, exit code 0, started in this update when its name is new). `treatFailureAsDeploymentFailure` fails
 * the update that runs a failing gate; the read-back is what stops a later, unchanged `pulumi up` — Azure does not
 * run an unchanged run command again, so without it that update would move the load balancer on the old failure.
 *
 * The user's smoke checks (config `smokeChecksFile`, release/smokeChecks.ts, docs/smoke-checks.md) go with it: once every
 * VM answers `/health`, the agent sends each check to each VM (same host and port) and the gate fails on any answer
 * that is not the expected one. They are part of the settings, so a changed check is a new gate run.
 *
 * When it runs: the release guard names the gate from a digest of what it checks (release/executions.ts). A new name
 * is a new run command: on a flip, a rollback and a flip again (each a new name, never one used before on the agent),
 * on a change of the live color's VMs, on a retry (`retryTag`), or on a new tool bundle (a new migration or runner:
 * the live color's schema check runs again after the expand) — never on a plain deploy to the idle color.
 *
 * No dependency cycle: the pools are IP-based, so NICs do not reference the load balancer
 * (VMs → app deployment → gate → load balancer).
 */
import * as pulumi from "@pulumi/pulumi";
import { Color } from "../release/colors";
import { GATE_TIMING, gateWorstSeconds } from "../release/rollbackBound";
import type { ExecutionRequest } from "../release/executions";
import { ColorVm } from "./colorSet";
import { AgentRunContext, agentScript, agentWorkDir, executionDigest, runOnAgent } from "./lib/agentRun";
import { childOptions } from "./lib/childOptions";
import { PORTS } from "./lib/ports";
import { readVmScript } from "./lib/vmScripts";
import { SmokeCheck, smokeChecksWorstSeconds } from "../release/smokeChecks";

/** The execution key of the gate: one gate, for the live color. */
export const GATE_KEY = "gate";

/** What the gate checks: everything that goes into its script and its digest (plain, known when the program starts). */
export interface HealthGateSettings {
    readonly color: Color;
    readonly version: string;
    /** Private IPs of every VM of the color (static, known at plan time). */
    readonly hosts: readonly string[];
    readonly port: number;
    readonly attempts: number;
    readonly intervalSeconds: number;
    readonly timeoutSeconds: number;
    /** SHA-256 of the color's artifact (what the VMs were deployed from: a new artifact is a new gate). */
    readonly artifactSha256: string;
    /** The artifact URL when the user publishes their own (else the program's container, fixed per version). */
    readonly artifactUrlOverride?: string;
    /** SHA-256 of the tool bundle: its runner and migrations do the schema check. */
    readonly toolsSha256: string;
    /** Name of the Key Vault secret holding the administrator's database URL. */
    readonly adminUrlSecret: string;
    /** The user's smoke checks, sent to every VM once it is healthy (absent = none: a stack without checks keeps its digest). */
    readonly smokeChecks?: readonly SmokeCheck[];
}

/** Defaults of the gate's timing (release/rollbackBound.ts: they bound how long a rollback takes). */
export const GATE_DEFAULTS = { port: PORTS.productionBackend, ...GATE_TIMING } as const;

/** Azure's upper limit for a run command's timeout, in seconds. */
export const MAX_RUN_COMMAND_SECONDS = 5400;

/** The product's scripts the gate writes on the agent. */
export interface GateScripts {
    readonly agentGate: string;
    readonly healthGate: string;
    readonly deployApp: string;
    readonly keyvaultSecret: string;
    /** The smoke checks' runner (release/smokeChecks.ts, transpiled). */
    readonly smokeChecks: string;
}

/** The committed vm-scripts the gate runs. */
export function gateScripts(): GateScripts {
    return {
        agentGate: readVmScript("agent-gate.sh"),
        healthGate: readVmScript("health-gate.sh"),
        deployApp: readVmScript("deploy-app.sh"),
        keyvaultSecret: readVmScript("keyvault-secret.sh"),
        smokeChecks: readVmScript("smoke-checks.js"),
    };
}

/** The gate as the guard names it: a change of any setting, script or the retry tag is a new execution. */
export function healthGateExecution(settings: HealthGateSettings, scripts: GateScripts, retryTag: string): ExecutionRequest {
    return { key: GATE_KEY, digest: executionDigest({ kind: "health-gate", settings, scripts, retryTag }) };
}

/** The script the run command executes (vm-scripts/agent-gate.sh with this release's settings). */
export function healthGateScript(settings: HealthGateSettings, run: { toolsUrl: string; keyvaultUrl: string }, scripts: GateScripts): string {
    const smoke = settings.smokeChecks ?? [];
    const dir = agentWorkDir(GATE_KEY);
    return agentScript({
        generatedBy: "components/healthGate.ts",
        key: GATE_KEY,
        env: [
            ["GATE_COLOR", settings.color],
            ["GATE_VERSION", settings.version],
            ["GATE_HOSTS", settings.hosts.join(",")],
            ["GATE_PORT", String(settings.port)],
            ["GATE_ATTEMPTS", String(settings.attempts)],
            ["GATE_INTERVAL", String(settings.intervalSeconds)],
            ["GATE_TIMEOUT", String(settings.timeoutSeconds)],
            ["APP_COLOR", settings.color],
            ["APP_VERSION", settings.version],
            ["TOOLS_URL", run.toolsUrl],
            ["TOOLS_SHA256", settings.toolsSha256],
            ["KEYVAULT_URL", run.keyvaultUrl],
            ["ADMIN_URL_SECRET", settings.adminUrlSecret],
            // Always exported (empty without checks): the agent's directory keeps an earlier run's files.
            ["GATE_SMOKE_CHECKS", smoke.length > 0 ? `${dir}/smoke-checks.json` : ""],
            ["GATE_SMOKE_RUNNER", smoke.length > 0 ? `${dir}/smoke-checks.js` : ""],
        ],
        files: {
            "agent-gate.sh": scripts.agentGate,
            "health-gate.sh": scripts.healthGate,
            "deploy-app.sh": scripts.deployApp,
            "keyvault-secret.sh": scripts.keyvaultSecret,
            ...(smoke.length > 0 ? { "smoke-checks.js": scripts.smokeChecks, "smoke-checks.json": `${JSON.stringify(smoke, null, 2)}\n` } : {}),
        },
        run: "agent-gate.sh",
    });
}

/**
 * The run command's timeout: the worst case of the bounded retries (the VMs are checked in parallel, so one attempt
 * waits at most two request timeouts, then the interval), plus fetching the artifact and the schema check, capped at
 * Azure's limit, plus the smoke checks' timeouts (each VM's checks run one after the other, the VMs in parallel). The
 * number of VMs does not count: see docs/release-guard.md for the rollback bound it gives.
 */
export function gateTimeoutSeconds(settings: Pick<HealthGateSettings, "attempts" | "intervalSeconds" | "timeoutSeconds" | "smokeChecks">): number {
    return Math.min(MAX_RUN_COMMAND_SECONDS, Math.ceil(gateWorstSeconds(settings) + smokeChecksWorstSeconds(settings.smokeChecks ?? [])));
}

export interface HealthGateArgs {
    /** What the gate checks (from {@link HealthGateSettings}; the same settings named its execution). */
    readonly settings: HealthGateSettings;
    /** The color's VMs (from ColorSet): the gate waits for them, and refuses a color without any. */
    readonly vms: readonly ColorVm[];
    /** URL of the tool bundle (the runner and migrations of the schema check). */
    readonly toolsUrl: pulumi.Input<string>;
    /** The vault the agent reads the administrator's URL from. */
    readonly keyvaultUrl: pulumi.Input<string>;
    /** The agent, the guard's names and this update's start (shared by every run on the agent). */
    readonly agent: AgentRunContext;
    /**
     * Texts of the scripts the gate writes on the agent.
     * @default the committed vm-scripts ({@link gateScripts})
     */
    readonly scripts?: GateScripts;
}

/**
 * Runs the health gate on the release agent as `<name>-check`. Make the load balancer's inputs go through `verified`
 * (components/loadBalancer.ts `gateRun`), and this component depend on the color's app deployment and on the guard.
 */
export class HealthGate extends pulumi.ComponentResource {
    /** The color the gate checks. */
    public readonly color: Color;
    /** The version it requires. */
    public readonly version: string;
    /** The name of the gate run that passed, once read back from Azure; rejects when it did not pass. */
    public readonly verified: pulumi.Output<string>;

    constructor(name: string, args: HealthGateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:healthGate:HealthGate", name, {}, opts);
        const settings = args.settings;
        if (args.vms.length === 0 || settings.hosts.length === 0) {
            throw new Error(`HealthGate ${name}: the ${settings.color} color has no VMs to check; its instance count must be at least 1.`);
        }
        this.color = settings.color;
        this.version = settings.version;
        const scripts = args.scripts ?? gateScripts();
        const script = pulumi.all([args.toolsUrl, args.keyvaultUrl]).apply(([toolsUrl, keyvaultUrl]) =>
            healthGateScript(settings, { toolsUrl, keyvaultUrl }, scripts),
        );
        const run = runOnAgent(`${name}-check`, {
            key: GATE_KEY,
            what: `the health gate of ${settings.color} (${settings.version})`,
            script,
            timeoutInSeconds: gateTimeoutSeconds(settings),
            tags: { color: settings.color, version: settings.version },
        }, args.agent, childOptions(this, opts));
        this.verified = run.verified;
        this.registerOutputs({ color: this.color, version: this.version });
    }
}
