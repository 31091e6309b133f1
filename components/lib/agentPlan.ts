/**
 * What the release agent runs in this update, as a pure function of the validated config: the health gate of the
 * live color, the post-flip watch's run, each color's expand migrations and, with `runContractMigrations`, each
 * color's contract migrations —
 * their settings, and the execution requests (key + digest) the release guard names them from. The components are
 * given the very settings the digests were computed from, so a name changes exactly when what runs changes.
 */
import { StackConfig } from "../../config/validate";
import { Color, COLORS } from "../../release/colors";
import type { ExecutionRequest } from "../../release/executions";
import { GATE_DEFAULTS, GateScripts, healthGateExecution, HealthGateSettings } from "../healthGate";
import { migrationExecution, MigrationRunSettings, MigrationScripts } from "../migrationRun";
import { PostFlipWatchSettings, postFlipWatchExecution, WatchScripts } from "../postFlipWatch";
import type { WatchedVm } from "../../release/watchContract";
import { colorPrivateIps } from "./ipLayout";
import { HEALTH_PATH, PORTS } from "./ports";

/** The Key Vault secrets of the stack, and who reads them (components/secretVault.ts; index.ts grants). */
export const SECRET_NAMES = {
    /** The administrator's mssql:// URL: the release agent only. */
    adminUrl: "sql-admin-url",
    /** The app user's password (set by `ensure-app-user`): the release agent only. */
    appPassword: "app-db-password",
    /** The app user's mssql:// URL: the app VMs only. */
    appDatabaseUrl: "app-database-url",
} as const;

/** Seconds a runner waits for another runner's lock (the other color's run, on a first deploy). */
export const MIGRATION_LOCK_TIMEOUT_SECONDS = 1800;

export interface AgentPlan {
    readonly gate: HealthGateSettings;
    readonly migrations: Readonly<Record<Color, { readonly expand: MigrationRunSettings; readonly contract?: MigrationRunSettings }>>;
    /** The post-flip watch's run (components/postFlipWatch.ts): it starts a watch only after a flip. */
    readonly watch: PostFlipWatchSettings;
    /** For the release guard: one request per run. */
    readonly requests: readonly ExecutionRequest[];
}

export interface AgentPlanInputs {
    readonly config: StackConfig;
    /** The app subnet's CIDR (the VMs' static IPs are computed from it). */
    readonly subnetCidr: string;
    /** The app's least-privilege database user. */
    readonly appUser: string;
    /** Names of the contract migrations in migrations/ (a new one makes the contract run a new execution). */
    readonly contractMigrations: readonly string[];
    readonly scripts: { readonly gate: GateScripts; readonly migrations: MigrationScripts; readonly watch: WatchScripts };
    /** SHA-256 of the tool bundle (components/lib/toolBundle.ts): the runner and migrations every run uses. */
    readonly toolsSha256: string;
}

/** The agent's runs for this update. */
export function planAgentRuns(inputs: AgentPlanInputs): AgentPlan {
    const { config } = inputs;
    const live = config.colors[config.liveColor];
    const gate: HealthGateSettings = {
        color: config.liveColor,
        version: live.version,
        hosts: colorPrivateIps(inputs.subnetCidr, config.liveColor, live.instanceCount),
        ...GATE_DEFAULTS,
        artifactSha256: live.artifactSha256 ?? "",
        ...(live.artifact ? { artifactUrlOverride: live.artifact.url } : {}),
        toolsSha256: inputs.toolsSha256,
        adminUrlSecret: SECRET_NAMES.adminUrl,
        ...(config.smokeChecks.length > 0 ? { smokeChecks: config.smokeChecks } : {}),
    };
    const runningVersions = COLORS.map((c) => config.colors[c].version);
    const migrations = Object.fromEntries(COLORS.map((color) => {
        const settings = config.colors[color];
        const common = {
            color,
            version: settings.version,
            toolsSha256: inputs.toolsSha256,
            lockTimeoutSeconds: MIGRATION_LOCK_TIMEOUT_SECONDS,
            adminUrlSecret: SECRET_NAMES.adminUrl,
            appPasswordSecret: SECRET_NAMES.appPassword,
        };
        const expand: MigrationRunSettings = { ...common, phase: "expand", appUser: inputs.appUser };
        const contract: MigrationRunSettings | undefined = config.runContractMigrations
            ? { ...common, phase: "contract", runningVersions, contractMigrations: [...inputs.contractMigrations] }
            : undefined;
        return [color, { expand, ...(contract ? { contract } : {}) }];
    })) as unknown as AgentPlan["migrations"];
    // Every VM the watch reads: its local proxy's /metrics and, through it, the health path on the production port.
    const watchedVms = (color: Color): WatchedVm[] =>
        colorPrivateIps(inputs.subnetCidr, color, config.colors[color].instanceCount)
            .map((host, index) => ({ name: `${color}-vm-${index}`, host, metricsPort: PORTS.metrics, healthPort: PORTS.productionBackend }));
    const watch: PostFlipWatchSettings = {
        liveColor: config.liveColor,
        version: live.version,
        plan: {
            vms: { blue: watchedVms("blue"), green: watchedVms("green") },
            healthPath: HEALTH_PATH,
            thresholds: config.watch,
        },
        toolsSha256: inputs.toolsSha256,
    };
    const requests: ExecutionRequest[] = [
        healthGateExecution(gate, inputs.scripts.gate, config.retryTag),
        postFlipWatchExecution(watch, inputs.scripts.watch, config.retryTag),
        ...COLORS.flatMap((color) => [migrations[color].expand, ...(migrations[color].contract ? [migrations[color].contract] : [])])
            .map((settings) => migrationExecution(settings as MigrationRunSettings, inputs.scripts.migrations, config.retryTag)),
    ];
    return { gate, migrations, watch, requests };
}
