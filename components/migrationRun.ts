/**
 * The schema migrations of a release, run on **the release agent** (components/releaseAgent.ts), inside the virtual
 * network (the database is private): an Azure run command runs vm-scripts/run-migrations.sh, which fetches the
 * product's tool bundle — this repository's migration runner and migrations/, pinned by SHA-256
 * (components/lib/toolBundle.ts) — with vm-scripts/deploy-app.sh (FETCH_ONLY: downloaded and checksum-verified) and
 * runs that runner as the database administrator. Nothing of the app's artifact runs on the agent:
 *   - `<name>-expand`: `ensure-app-user` (the app's least-privilege contained user) then `up --phase expand`;
 *   - `<name>-contract` (only with `runContractMigrations`): `up --phase contract --running-versions <blue>,<green>`.
 * The administrator's URL and the app user's password are read from Key Vault by the agent's identity
 * (vm-scripts/keyvault-secret.sh): no secret is in the script or in the run command's parameters.
 *
 * The color's app deployment goes through `verified` (its VM names are passed through it): a new version never
 * starts before its expand migrations are in, **as Azure reports them** (the run command's instance view), also on a
 * later `pulumi up` that sends nothing new (azure-native keeps a failed run command in state as created).
 *
 * One per color (`blue-migrate`, `green-migrate`), each with its own version. The release guard names each run from
 * a digest of what it does (release/executions.ts): a deploy to the idle color, a retry (`retryTag`) or a second
 * contract run is a new name on the agent, never one used before; a flip changes nothing here.
 */
import * as pulumi from "@pulumi/pulumi";
import { Color } from "../release/colors";
import type { ExecutionRequest } from "../release/executions";
import { AgentRun, AgentRunContext, agentScript, agentWorkDir, executionDigest, runOnAgent } from "./lib/agentRun";
import { childOptions, withDependsOn } from "./lib/childOptions";
import { readVmScript } from "./lib/vmScripts";

export type MigrationPhase = "expand" | "contract";

/** The execution key of a color's migration run, e.g. `migrate-expand-green`. */
export function migrationKey(phase: MigrationPhase, color: Color): string {
    return `migrate-${phase}-${color}`;
}

/** What one migration run does (plain: it names the execution and fills the script). */
export interface MigrationRunSettings {
    readonly phase: MigrationPhase;
    readonly color: Color;
    readonly version: string;
    /** SHA-256 of the tool bundle (the runner and the migrations this checkout ships): a new runner or migration is a new run. */
    readonly toolsSha256: string;
    /** Expand: the app's database user to ensure. */
    readonly appUser?: string;
    /** Contract: the versions both colors run. */
    readonly runningVersions?: readonly string[];
    /** Contract: the contract migrations it may apply (a new one is a new execution). */
    readonly contractMigrations?: readonly string[];
    readonly lockTimeoutSeconds: number;
    /** Key Vault secret names the agent reads. */
    readonly adminUrlSecret: string;
    readonly appPasswordSecret: string;
}

/** The product's scripts a migration run writes on the agent. */
export interface MigrationScripts {
    readonly deployApp: string;
    readonly runMigrations: string;
    readonly keyvaultSecret: string;
}

/** The committed vm-scripts a migration run uses. */
export function migrationScripts(): MigrationScripts {
    return {
        deployApp: readVmScript("deploy-app.sh"),
        runMigrations: readVmScript("run-migrations.sh"),
        keyvaultSecret: readVmScript("keyvault-secret.sh"),
    };
}

/** The run as the guard names it: a change of any setting, script or the retry tag is a new execution. */
export function migrationExecution(settings: MigrationRunSettings, scripts: MigrationScripts, retryTag: string): ExecutionRequest {
    return { key: migrationKey(settings.phase, settings.color), digest: executionDigest({ kind: "migrations", settings, scripts, retryTag }) };
}

/** The script a migration run command executes (vm-scripts/run-migrations.sh with these settings; no secret). */
export function migrationRunScript(settings: MigrationRunSettings, run: { toolsUrl: string; keyvaultUrl: string }, scripts: MigrationScripts): string {
    const key = migrationKey(settings.phase, settings.color);
    const dir = agentWorkDir(key);
    return agentScript({
        generatedBy: "components/migrationRun.ts",
        key,
        env: [
            ["MIGRATE_PHASE", settings.phase],
            ["APP_COLOR", settings.color],
            ["APP_VERSION", settings.version],
            ["TOOLS_URL", run.toolsUrl],
            ["TOOLS_SHA256", settings.toolsSha256],
            ["LOCK_TIMEOUT_SECONDS", String(settings.lockTimeoutSeconds)],
            ["KEYVAULT_URL", run.keyvaultUrl],
            ["ADMIN_URL_SECRET", settings.adminUrlSecret],
            ["APP_PASSWORD_SECRET", settings.appPasswordSecret],
            ["DEPLOY_SCRIPT", `${dir}/deploy-app.sh`],
            ["KEYVAULT_SCRIPT", `${dir}/keyvault-secret.sh`],
            ["APP_HOME", `${dir}/app`],
            ...(settings.appUser !== undefined ? ([["APP_DB_USER", settings.appUser]] as [string, string][]) : []),
            ...(settings.runningVersions !== undefined ? ([["RUNNING_VERSIONS", settings.runningVersions.join(",")]] as [string, string][]) : []),
        ],
        files: { "deploy-app.sh": scripts.deployApp, "run-migrations.sh": scripts.runMigrations, "keyvault-secret.sh": scripts.keyvaultSecret },
        run: "run-migrations.sh",
    });
}

export interface MigrationRunArgs {
    /** The expand run's settings (always run). */
    readonly expand: MigrationRunSettings;
    /** The contract run's settings, when this update runs the contract (config `runContractMigrations`). @default undefined */
    readonly contract?: MigrationRunSettings;
    /** URL of the tool bundle (components/toolBundle.ts), fetched with the agent's managed identity. */
    readonly toolsUrl: pulumi.Input<string>;
    /** The vault the agent reads the secrets from. */
    readonly keyvaultUrl: pulumi.Input<string>;
    /** The agent, the guard's names and this update's start. */
    readonly agent: AgentRunContext;
    /**
     * Seconds the run command may take (Azure's limit is 5400).
     * @default 3600
     */
    readonly timeoutSeconds?: number;
    /**
     * Texts of the scripts written on the agent.
     * @default the committed vm-scripts ({@link migrationScripts})
     */
    readonly scripts?: MigrationScripts;
}

/**
 * Runs a color's expand migrations (and, with a contract, its contract migrations) on the release agent. Pass the
 * color's app deployment through `verified`.
 */
export class MigrationRun extends pulumi.ComponentResource {
    public readonly color: Color;
    public readonly version: string;
    /** The expand run. */
    public readonly expand: AgentRun;
    /** The contract run, when asked for. */
    public readonly contract?: AgentRun;
    /** The names of the runs once Azure reports them passed; rejects otherwise. */
    public readonly verified: pulumi.Output<string[]>;

    constructor(name: string, args: MigrationRunArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:migrationRun:MigrationRun", name, {}, opts);
        const s = args.expand;
        if (args.contract && (!args.contract.runningVersions || args.contract.runningVersions.length === 0)) {
            throw new Error(`MigrationRun ${name}: a contract run needs runningVersions (the versions both colors run).`);
        }
        this.color = s.color;
        this.version = s.version;
        const scripts = args.scripts ?? migrationScripts();
        const childOpts = childOptions(this, opts);
        // `after`: the contract's script goes through the expand run's read-back, so it never runs after a failed expand.
        const run = (phase: MigrationPhase, settings: MigrationRunSettings, options: pulumi.CustomResourceOptions, after?: pulumi.Output<string>): AgentRun =>
            runOnAgent(`${name}-${phase}`, {
                key: migrationKey(phase, settings.color),
                what: `the ${phase} migrations of ${settings.color} (${settings.version})`,
                script: pulumi.all([args.toolsUrl, args.keyvaultUrl, after]).apply(([toolsUrl, keyvaultUrl]) =>
                    migrationRunScript(settings, { toolsUrl, keyvaultUrl }, scripts)),
                timeoutInSeconds: args.timeoutSeconds ?? 3600,
                tags: { color: settings.color, version: settings.version, phase },
            }, args.agent, options);

        this.expand = run("expand", s, childOpts);
        if (args.contract) this.contract = run("contract", args.contract, withDependsOn(childOpts, this.expand.command), this.expand.verified);
        this.verified = pulumi.all([this.expand.verified, ...(this.contract ? [this.contract.verified] : [])]);
        this.registerOutputs({ color: this.color, version: this.version });
    }
}
