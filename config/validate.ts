import { Color, COLORS, idleColor, isColor } from "../release/colors";
import { isVersion } from "../release/versions";
import {
    adminUsernameProblem,
    ipv4CidrProblem,
    artifactSha256Problem,
    isSqlSkuName,
    parseSqlDatabaseId,
    sqlDatabaseIdProblem,
    sqlLoginProblem,
    sshPublicKeyProblem,
} from "./checks";
import { MAX_INSTANCES_PER_COLOR } from "../components/lib/ipLayout";
import { appSecretProblem, appSettingProblem, duplicateNames, entriesToMap, MAX_APP_ENTRIES } from "./appEnv";
import { DEFAULT_WATCH_THRESHOLDS, thresholdProblems, WatchThresholds } from "../release/postFlipAnalysis";
import type { SmokeCheck } from "../release/smokeChecks";
import { ConfigFiles, readSmokeChecksFile, smokeChecksPathProblem } from "./smokeChecksFile";

/** Raw config values as the Pulumi engine hands them over: strings (lists and maps as JSON), or undefined if unset. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/** A Marketplace image reference, written in config as the URN `Publisher:Offer:Sku:Version`. */
export interface ImageReference {
    readonly publisher: string;
    readonly offer: string;
    readonly sku: string;
    readonly version: string;
}

/** An artifact the user publishes themselves instead of the program's `app-<version>.tgz` in its own container. */
export interface ArtifactOverride {
    readonly url: string;
    readonly sha256: string;
}

/** Everything that describes one color: what it runs and on what. */
export interface ColorSettings {
    readonly color: Color;
    /** The app version deployed to this color (semver). */
    readonly version: string;
    readonly instanceCount: number;
    readonly vmSize: string;
    readonly image: ImageReference;
    /**
     * SHA-256 (lowercase hex) the VMs require of the artifact before switching to it: the content of
     * `dist/app-<version>.tgz.sha256` written by `npm run app:pack`. Pinned in config, so the stack's
     * history says exactly which bytes each color ran. Always set by validateConfig (optional in the type
     * only so that hand-built settings in older tests still compile).
     */
    readonly artifactSha256?: string;
    /** Set when the user points this color at their own artifact URL (`sha256` = artifactSha256). */
    readonly artifact?: ArtifactOverride;
    /** Changing it re-runs the deployment on every VM of the color (retry after a failed deploy). */
    readonly forceUpdateTag?: string;
    /** The app-VM files' hash the color is pinned to (components/lib/vmTools.ts); unset = this checkout's. */
    readonly vmTools?: string;
    /**
     * The administrator's OpenSSH public key on this color's VMs: `<color>SshPublicKey`, else `sshPublicKey`. Azure
     * cannot change it on an existing VM: a new one replaces the color's VMs (on the idle color only). Always set by
     * validateConfig (optional in the type only so that hand-built settings in older tests still compile).
     */
    readonly sshPublicKey?: string;
    /**
     * The app's own settings (`<color>AppSettings`): environment variable → value, written to the color's env file.
     * @default {} (none)
     */
    readonly appSettings?: Readonly<Record<string, string>>;
    /**
     * The app's own secrets (`<color>AppSecrets`): environment variable → name of a secret the user put into the
     * stack's Key Vault. The color's VMs may read exactly these; deploy-app.sh writes their values to the env file.
     * @default {} (none)
     */
    readonly appSecrets?: Readonly<Record<string, string>>;
}

/**
 * An existing Azure SQL database the stack uses instead of creating one (config `existingSqlDatabaseId`): the stack
 * declares no server or database, so it never creates, replaces or deletes them.
 */
export interface ExistingDatabase {
    /** The database's resource ID as configured. */
    readonly id: string;
    readonly subscriptionId: string;
    readonly resourceGroupName: string;
    readonly serverName: string;
    readonly databaseName: string;
    /** The login migrations run as (its password is read as a secret by config/stackConfig.ts, never validated here). */
    readonly administratorLogin: string;
}

/** The validated stack configuration: the only thing components and index.ts see of config. */
export interface StackConfig {
    readonly location: string;
    readonly liveColor: Color;
    readonly idleColor: Color;
    readonly colors: Readonly<Record<Color, ColorSettings>>;
    /** Availability zones VMs are spread over, round-robin; empty = no zones (regions without them). */
    readonly zones: readonly string[];
    readonly adminUsername: string;
    readonly sshPublicKey: string;
    readonly stagingAllowedCidrs: readonly string[];
    readonly sqlSku: string;
    readonly protectDatabase: boolean;
    /** Set when the stack uses an existing database (then sqlSku and protectDatabase do not apply). */
    readonly existingDatabase?: ExistingDatabase;
    readonly rollbackWindowMinutes: number;
    readonly allowDeployIntoRollbackWindow: boolean;
    readonly runContractMigrations: boolean;
    /** Retry tag of the release agent's runs: a new value re-runs the migration runs and the gate, and re-sends the load balancer. */
    readonly retryTag: string;
    /** VM size of the release agent. */
    readonly agentVmSize: string;
    /** Image of the release agent (a new one replaces the agent VM). */
    readonly agentImage: ImageReference;
    /** The post-flip watch's settings (config `watch*`, docs/post-flip-watch.md): checked together, and against the rollback window. */
    readonly watch: WatchThresholds;
    /** The file of the user's smoke checks (config `smokeChecksFile`), relative to the repository; unset = none. */
    readonly smokeChecksFile?: string;
    /**
     * The user's smoke checks the gate sends every VM of the color about to go live (release/smokeChecks.ts), defaults
     * applied. Empty when no file is set — or when validateConfig was given no files to read (release:check).
     */
    readonly smokeChecks: readonly SmokeCheck[];
}

/** The Pulumi config type of a project key (as declared in Pulumi.yaml). */
export type ConfigKeyType = "string" | "integer" | "boolean" | "array";

/** One project config key: its declaration in Pulumi.yaml and its default. */
export interface ConfigKeySpec {
    readonly key: string;
    readonly type: ConfigKeyType;
    readonly description: string;
    /**
     * Absent = required (the Pulumi CLI refuses a stack without it). `""` = optional with no value: Pulumi
     * requires a value for every declared key without a default, so optional keys (per-color overrides)
     * default to the empty string, which means "not set".
     */
    readonly default?: string | number | boolean | readonly string[];
}

// Debian 13 ships Node.js 20 in its own archive, so cloud-init needs no third-party repository.
const DEFAULT_IMAGE = "Debian:debian-13:13-gen2:latest";

/**
 * Every project config key, its type, description and default. Pulumi.yaml declares exactly these
 * (a test compares the two), and validation reads defaults from here.
 */
export const CONFIG_KEYS: readonly ConfigKeySpec[] = [
    { key: "liveColor", type: "string", description: "The color that takes production traffic: blue or green. The cut-over is `pulumi config set liveColor green && pulumi up`." },
    { key: "blueVersion", type: "string", description: "App version (semver) deployed to the blue VMs." },
    { key: "greenVersion", type: "string", description: "App version (semver) deployed to the green VMs." },
    { key: "instanceCount", type: "integer", description: "VMs per color (1 to 30), unless a per-color count is set.", default: 1 },
    { key: "blueInstanceCount", type: "string", description: "VMs in the blue color; overrides instanceCount.", default: "" },
    { key: "greenInstanceCount", type: "string", description: "VMs in the green color; overrides instanceCount.", default: "" },
    { key: "vmSize", type: "string", description: "Azure VM size for both colors, unless a per-color size is set.", default: "Standard_B2s" },
    { key: "blueVmSize", type: "string", description: "VM size of the blue color; overrides vmSize.", default: "" },
    { key: "greenVmSize", type: "string", description: "VM size of the green color; overrides vmSize.", default: "" },
    { key: "image", type: "string", description: "Marketplace image URN Publisher:Offer:Sku:Version for both colors, unless a per-color image is set. Must be Debian 13 (trixie) or newer — cloud-init installs Node.js 20 from the image's own apt archive (Ubuntu 24.04's is Node.js 18, too old).", default: DEFAULT_IMAGE },
    { key: "blueImage", type: "string", description: "Image URN of the blue color; overrides image.", default: "" },
    { key: "greenImage", type: "string", description: "Image URN of the green color; overrides image.", default: "" },
    { key: "zones", type: "array", description: "Availability zones the VMs of each color are spread over, round-robin (e.g. [\"1\",\"2\",\"3\"]). Empty for regions without zones.", default: [] },
    { key: "adminUsername", type: "string", description: "Linux administrator user on every VM (SSH key login only).", default: "azureops" },
    { key: "sshPublicKey", type: "string", description: "OpenSSH public key (ssh-ed25519 or ssh-rsa) for the administrator user, on the release agent and on each color without its own key." },
    { key: "blueSshPublicKey", type: "string", description: "SSH public key of the blue VMs; overrides sshPublicKey. A new key replaces that color's VMs: change it on the idle color (key rotation: docs/infrastructure.md).", default: "" },
    { key: "greenSshPublicKey", type: "string", description: "SSH public key of the green VMs; overrides sshPublicKey. A new key replaces that color's VMs: change it on the idle color (key rotation: docs/infrastructure.md).", default: "" },
    { key: "stagingAllowedCidrs", type: "array", description: "IPv4 CIDR blocks allowed to reach the staging endpoint (the idle color). Empty = reachable from inside the VNet only.", default: [] },
    { key: "sqlSku", type: "string", description: "Azure SQL Database SKU name (Basic, S0..S12, P1..P15, GP_Gen5_2, GP_S_Gen5_1, BC_Gen5_4, ...).", default: "S0" },
    { key: "protectDatabase", type: "boolean", description: "Protect the SQL database from deletion by Pulumi (protect: true). Keep true in production.", default: true },
    { key: "existingSqlDatabaseId", type: "string", description: "Optional: resource ID of an existing Azure SQL database to use instead of creating a server and database (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Sql/servers/<server>/databases/<db>, from `az sql db show --query id -o tsv`). The stack then adds only the VNet rule, the app's user and the migration journal, and never creates, replaces or deletes the server or database. Chosen at the first deploy: switching later is refused.", default: "" },
    { key: "existingSqlAdminLogin", type: "string", description: "With existingSqlDatabaseId: the SQL login migrations run as (the server administrator, or a db_owner of the database).", default: "" },
    { key: "existingSqlAdminPassword", type: "string", description: "With existingSqlDatabaseId: that login's password, set as a secret: `pulumi config set --secret existingSqlAdminPassword`. Kept in Key Vault for the release agent, never printed.", default: "" },
    { key: "blueArtifactSha256", type: "string", description: "SHA-256 (hex) of the blue artifact, checked on every VM before it switches: the first field of dist/app-<blueVersion>.tgz.sha256 from `npm run app:pack -- <blueVersion>`." },
    { key: "greenArtifactSha256", type: "string", description: "SHA-256 (hex) of the green artifact, checked on every VM before it switches: the first field of dist/app-<greenVersion>.tgz.sha256 from `npm run app:pack -- <greenVersion>`." },
    { key: "blueArtifactUrl", type: "string", description: "Optional: HTTPS URL of your own blue artifact, instead of app-<blueVersion>.tgz in the program's container (blueArtifactSha256 is its checksum).", default: "" },
    { key: "greenArtifactUrl", type: "string", description: "Optional: HTTPS URL of your own green artifact, instead of app-<greenVersion>.tgz in the program's container (greenArtifactSha256 is its checksum).", default: "" },
    { key: "blueVmTools", type: "string", description: "Pin blue to the VM-side files it runs (a 12-hex hash from the release guard's refusal); unset = this checkout's vm-scripts. Keeps a merge of vm-scripts/ off the live color until a release step.", default: "" },
    { key: "greenVmTools", type: "string", description: "Pin green to the VM-side files it runs (a 12-hex hash from the release guard's refusal); unset = this checkout's vm-scripts. Keeps a merge of vm-scripts/ off the live color until a release step.", default: "" },
    { key: "blueForceUpdateTag", type: "string", description: "Change it to re-run the deployment on every blue VM (retry a failed deploy) without changing the version.", default: "" },
    { key: "greenForceUpdateTag", type: "string", description: "Change it to re-run the deployment on every green VM (retry a failed deploy) without changing the version.", default: "" },
    { key: "blueAppSettings", type: "array", description: "The app's own settings on the blue VMs, as NAME=value entries (`pulumi config set --path 'blueAppSettings[0]' LOG_LEVEL=info`): environment variables in the app's env file. Change them on the idle color (docs/app-contract.md).", default: [] },
    { key: "greenAppSettings", type: "array", description: "The app's own settings on the green VMs, as NAME=value entries (`pulumi config set --path 'greenAppSettings[0]' LOG_LEVEL=info`): environment variables in the app's env file. Change them on the idle color (docs/app-contract.md).", default: [] },
    { key: "blueAppSecrets", type: "array", description: "The app's own secrets on the blue VMs, as NAME=<Key Vault secret name> entries (`pulumi config set --path 'blueAppSecrets[0]' STRIPE_KEY=stripe-key`): you put each secret into the stack's Key Vault; the blue VMs may read exactly these and write them to the env file (docs/app-contract.md).", default: [] },
    { key: "greenAppSecrets", type: "array", description: "The app's own secrets on the green VMs, as NAME=<Key Vault secret name> entries (`pulumi config set --path 'greenAppSecrets[0]' STRIPE_KEY=stripe-key`): you put each secret into the stack's Key Vault; the green VMs may read exactly these and write them to the env file (docs/app-contract.md).", default: [] },
    { key: "rollbackWindowMinutes", type: "integer", description: "Minutes after a flip during which the previous live color is kept as the instant rollback target and not deployed to.", default: 60 },
    { key: "allowDeployIntoRollbackWindow", type: "boolean", description: "Allow deploying onto the rollback target inside the rollback window (gives up the instant rollback).", default: false },
    { key: "runContractMigrations", type: "boolean", description: "Run contract-phase migrations in this update (only when every color that can take traffic supports them).", default: false },
    { key: "retryTag", type: "string", description: "Change it (e.g. 1, 2, ...) to run again what a release step runs: the release agent's migration runs and health gate (under new names), every app deployment (a no-op on a VM already healthy at its release) and the load balancer (its pools). The one retry after a failed gate, migration run, deployment or empty pool.", default: "" },
    { key: "agentVmSize", type: "string", description: "VM size of the release agent (runs migrations and the health gate; no app).", default: "Standard_B1s" },
    { key: "agentImage", type: "string", description: "Image URN of the release agent; a new one replaces the agent VM (safe between releases). Defaults to image.", default: "" },
    { key: "smokeChecksFile", type: "string", description: "Optional: a YAML file of the repository (e.g. app/smoke-checks.yaml) listing your smoke checks: requests with expected answers the health gate sends to every VM of the color about to go live, besides /health; a failing check refuses the flip (docs/smoke-checks.md).", default: "" },
    { key: "watchMinutes", type: "integer", description: "Minutes the new live color is watched after a flip, and flipped back by itself if it fails (docs/post-flip-watch.md). At most rollbackWindowMinutes, at least one analysis interval.", default: DEFAULT_WATCH_THRESHOLDS.watchMinutes },
    { key: "watchErrorRatio", type: "string", description: "Post-flip watch: highest ratio of failed requests (5xx and connection errors; 4xx not counted) an interval may have, a number above 0 and below 1 (0.05 = 5%).", default: String(DEFAULT_WATCH_THRESHOLDS.watchErrorRatio) },
    { key: "watchLatencyPercentile", type: "string", description: "Post-flip watch: the latency percentile judged, a number above 0 and below 100 (e.g. 95 or 99.9).", default: String(DEFAULT_WATCH_THRESHOLDS.watchLatencyPercentile) },
    { key: "watchLatencyMs", type: "integer", description: "Post-flip watch: highest latency (ms, 1 to 600000) that percentile may reach in an interval.", default: DEFAULT_WATCH_THRESHOLDS.watchLatencyMs },
    { key: "watchMinRequests", type: "integer", description: "Post-flip watch: requests (4xx not counted) an interval needs before it is judged; fewer say nothing either way.", default: DEFAULT_WATCH_THRESHOLDS.watchMinRequests },
    { key: "watchConsecutiveIntervals", type: "integer", description: "Post-flip watch: bad intervals in a row that fail the new color (1 to 100); one bad interval is not a fail unless this is 1.", default: DEFAULT_WATCH_THRESHOLDS.watchConsecutiveIntervals },
    { key: "watchIntervalSeconds", type: "integer", description: "Post-flip watch: length of one analysis interval, seconds (1 to 3600).", default: DEFAULT_WATCH_THRESHOLDS.watchIntervalSeconds },
    { key: "watchBaselineFactor", type: "string", description: "Post-flip watch: the old color's error ratio and latency times this factor (1 to 100) may raise the limits, never lower them: a shared dependency's errors do not fail the new color.", default: String(DEFAULT_WATCH_THRESHOLDS.watchBaselineFactor) },
];

/** The watch's keys in the order they are read; their numbers are checked together by thresholdProblems. */
const WATCH_KEYS: readonly (keyof WatchThresholds)[] = [
    "watchMinutes", "watchErrorRatio", "watchLatencyPercentile", "watchLatencyMs",
    "watchMinRequests", "watchConsecutiveIntervals", "watchIntervalSeconds", "watchBaselineFactor",
];

/** The provider key that carries the Azure region. */
export const LOCATION_KEY = "azure-native:location";

/** One bad config value: which key, what was wrong, what is allowed, and the command that fixes it. */
export interface ConfigProblem {
    readonly key: string;
    readonly value: string | undefined;
    readonly reason: string;
    readonly allowed: string;
    readonly fix: string;
}

/** Thrown when the stack config has bad values; lists every problem at once. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly ConfigProblem[]) {
        super(formatProblems(problems));
        this.name = "ConfigError";
    }
}

function formatProblems(problems: readonly ConfigProblem[]): string {
    const lines = problems.map((p) => {
        const what = p.value === undefined ? `${p.key} ${p.reason}` : `${p.key} = ${JSON.stringify(p.value)} ${p.reason}`;
        return `  - ${what}.\n      allowed: ${p.allowed}\n      fix:     ${p.fix}`;
    });
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    return `Invalid stack configuration (${count}); no resource was declared or changed:\n${lines.join("\n")}`;
}

function setCommand(key: string, example: string): string {
    return `pulumi config set ${key} ${example}`;
}

/** Collects problems while reading raw values, so every bad key is reported in one error. */
class Reader {
    readonly problems: ConfigProblem[] = [];

    constructor(private readonly raw: RawConfig) {}

    private spec(key: string): ConfigKeySpec {
        if (key === LOCATION_KEY) return { key, type: "string", description: "Azure region (provider config)" };
        const spec = CONFIG_KEYS.find((k) => k.key === key);
        if (!spec) throw new Error(`internal: config key ${key} is not declared in CONFIG_KEYS`);
        return spec;
    }

    problem(key: string, value: string | undefined, reason: string, allowed: string, fix: string): void {
        this.problems.push({ key, value, reason, allowed, fix });
    }

    /** The value as given (no default). */
    rawValue(key: string): string | undefined {
        return this.raw[key];
    }

    /** The raw value, or the declared default rendered as a string, or undefined. */
    private rawOrDefault(key: string): string | undefined {
        const def = this.spec(key).default;
        const value = this.raw[key];
        if (value !== undefined && !(value === "" && def === "")) return value;
        if (def === undefined || def === "") return undefined;
        return Array.isArray(def) ? JSON.stringify(def) : String(def);
    }

    string(key: string, allowed: string, example: string, problemOf: (v: string) => string | undefined): string | undefined {
        const value = this.rawOrDefault(key);
        if (value === undefined) return undefined;
        const reason = problemOf(value);
        if (reason) {
            this.problem(key, value, reason, allowed, setCommand(key, example));
            return undefined;
        }
        return value;
    }

    required(key: string, allowed: string, example: string, problemOf: (v: string) => string | undefined): string | undefined {
        if (this.rawOrDefault(key) === undefined) {
            this.problem(key, undefined, "is not set", allowed, setCommand(key, example));
            return undefined;
        }
        return this.string(key, allowed, example, problemOf);
    }

    integer(key: string, min: number, max: number, example: string): number | undefined {
        const allowed = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
        const value = this.string(key, allowed, example, (v) => {
            if (!/^-?\d+$/.test(v.trim())) return "is not a whole number";
            const n = Number(v);
            if (n < min) return `is below ${min}`;
            if (n > max) return `is above ${max}`;
            return undefined;
        });
        return value === undefined ? undefined : Number(value);
    }

    /** A number (a whole one when `integer`); its range is the caller's to check. */
    number(key: string, integer: boolean, example: string): number | undefined {
        const allowed = integer ? "a whole number" : "a number, e.g. 0.05";
        const value = this.string(key, allowed, example, (v) => {
            const t = v.trim();
            if (integer ? !/^-?\d+$/.test(t) : !/^-?(\d+\.?\d*|\.\d+)$/.test(t)) return integer ? "is not a whole number" : "is not a number";
            return undefined;
        });
        return value === undefined ? undefined : Number(value);
    }

    boolean(key: string): boolean | undefined {
        const value = this.string(key, "true | false", "true", (v) => (v === "true" || v === "false" ? undefined : "is not true or false"));
        return value === undefined ? undefined : value === "true";
    }

    list(key: string, allowedItem: string, example: string, itemProblem: (v: string) => string | undefined): string[] | undefined {
        const value = this.rawOrDefault(key);
        if (value === undefined) return undefined;
        const fix = `pulumi config set --path '${key}[0]' ${example}`;
        let parsed: unknown;
        try {
            parsed = JSON.parse(value);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
            this.problem(key, value, "is not a list of strings", `a YAML list of ${allowedItem}`, fix);
            return undefined;
        }
        let ok = true;
        parsed.forEach((item: string, index: number) => {
            const reason = itemProblem(item);
            if (reason) {
                ok = false;
                this.problem(`${key}[${index}]`, item, reason, allowedItem, `pulumi config set --path '${key}[${index}]' ${example}`);
            }
        });
        return ok ? parsed : undefined;
    }
}

/** Parses an image URN `Publisher:Offer:Sku:Version`; `undefined` when it does not have four non-empty parts. */
export function parseImageUrn(value: string): ImageReference | undefined {
    const parts = value.split(":");
    if (parts.length !== 4 || parts.some((p) => p.trim() === "" || p !== p.trim())) return undefined;
    const [publisher, offer, sku, version] = parts;
    return { publisher, offer, sku, version };
}

const VERSION_ALLOWED = "a semantic version MAJOR.MINOR.PATCH, e.g. 1.4.2 or 2.0.0-rc.1";
const versionProblem = (v: string): string | undefined => (isVersion(v) ? undefined : "is not a semantic version");
const vmSizeProblem = (v: string): string | undefined => (/^Standard_[A-Za-z0-9_]+$/.test(v) ? undefined : "is not an Azure VM size name");
const imageProblem = (v: string): string | undefined => (parseImageUrn(v) ? undefined : "is not an image URN with four parts");
const zoneProblem = (v: string): string | undefined => (/^[1-9]$/.test(v) ? undefined : "is not an availability zone number");

/** The value config/stackConfig.ts passes for a secret key that is set (the secret itself is never validated or shown). */
export const SECRET_SET = "(secret, set)";

/** Reads existingSqlDatabaseId and its login and password; the login and password only make sense with it. */
function readExistingDatabase(r: Reader): ExistingDatabase | undefined {
    const id = r.string("existingSqlDatabaseId", "an Azure SQL database resource ID /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Sql/servers/<server>/databases/<db>",
        '"$(az sql db show -g <rg> -s <server> -n <db> --query id -o tsv)"', sqlDatabaseIdProblem);
    const login = r.string("existingSqlAdminLogin", "a SQL login name, e.g. sqladmin", "sqladmin", sqlLoginProblem);
    const password = r.string("existingSqlAdminPassword", "that login's password, set as a secret", "--secret existingSqlAdminPassword", () => undefined);
    const rawId = r.rawValue("existingSqlDatabaseId");
    if (rawId === undefined || rawId === "") {
        if (login !== undefined) r.problem("existingSqlAdminLogin", login, "is set but existingSqlDatabaseId is not (a created database has its own administrator)", "empty unless existingSqlDatabaseId is set", "pulumi config rm existingSqlAdminLogin");
        if (password !== undefined) r.problem("existingSqlAdminPassword", undefined, "is set but existingSqlDatabaseId is not", "empty unless existingSqlDatabaseId is set", "pulumi config rm existingSqlAdminPassword");
        return undefined;
    }
    if (r.rawValue("existingSqlAdminLogin") === undefined || r.rawValue("existingSqlAdminLogin") === "") {
        r.problem("existingSqlAdminLogin", undefined, "is not set, and existingSqlDatabaseId is: migrations need a login on that database", "a SQL login name (the server administrator, or a db_owner of the database)", "pulumi config set existingSqlAdminLogin sqladmin");
    }
    if (password === undefined) {
        r.problem("existingSqlAdminPassword", undefined, "is not set, and existingSqlDatabaseId is", "the login's password, as a secret", "pulumi config set --secret existingSqlAdminPassword");
    }
    const parsed = id === undefined ? undefined : parseSqlDatabaseId(id);
    if (!parsed || login === undefined || password === undefined) return undefined;
    return { id: (id as string).trim(), ...parsed, administratorLogin: login };
}

/** Reads a list of NAME=value entries (app settings or secrets): each checked, at most MAX_APP_ENTRIES. */
function readAppEntries(r: Reader, key: string, allowed: string, example: string, problemOf: (v: string) => string | undefined): string[] | undefined {
    const entries = r.list(key, allowed, example, problemOf);
    if (entries !== undefined && entries.length > MAX_APP_ENTRIES) {
        r.problem(key, `${entries.length} entries`, `has more than ${MAX_APP_ENTRIES} entries`, `at most ${MAX_APP_ENTRIES}`, `pulumi config edit: remove entries from ${key}`);
        return undefined;
    }
    return entries;
}

/** What each watch key allows, for the error's `allowed` line (thresholdProblems says why a value is wrong). */
const WATCH_ALLOWED: Readonly<Record<keyof WatchThresholds, string>> = {
    watchMinutes: "a whole number of minutes, at most rollbackWindowMinutes and at least watchConsecutiveIntervals × watchIntervalSeconds",
    watchErrorRatio: "a number above 0 and below 1 (0.05 = 5%)",
    watchLatencyPercentile: "a number above 0 and below 100",
    watchLatencyMs: "a whole number from 1 to 600000 (ms)",
    watchMinRequests: "a whole number from 1 to 1000000",
    watchConsecutiveIntervals: "a whole number from 1 to 100",
    watchIntervalSeconds: "a whole number from 1 to 3600 (seconds)",
    watchBaselineFactor: "a number from 1 to 100",
};

/**
 * Reads the post-flip watch's keys (defaults: DEFAULT_WATCH_THRESHOLDS) and checks them together with
 * `thresholdProblems` (release/postFlipAnalysis.ts, the rules the agent's watch runs with): ranges, a watch longer
 * than the rollback window, or shorter than one interval or than the bad intervals a fail needs.
 */
function readWatch(r: Reader, rollbackWindowMinutes: number | undefined): WatchThresholds | undefined {
    const read: Partial<Record<keyof WatchThresholds, number>> = {};
    for (const key of WATCH_KEYS) {
        const integer = CONFIG_KEYS.find((k) => k.key === key)?.type === "integer";
        const value = r.number(key, integer, String(DEFAULT_WATCH_THRESHOLDS[key]));
        if (value !== undefined) read[key] = value;
    }
    // Keys that did not parse were reported above; the others are still checked (a bad window: ranges only).
    const parsed = WATCH_KEYS.every((k) => read[k] !== undefined);
    const watch: WatchThresholds = { ...DEFAULT_WATCH_THRESHOLDS, ...read };
    const problems = thresholdProblems(watch, rollbackWindowMinutes ?? Infinity).filter((p) => parsed || WATCH_KEYS.some((k) => read[k] !== undefined && p.startsWith(`${k} is `)));
    for (const message of problems) {
        // "<key> is <value>: <why>; e.g. <fix>" (release/postFlipAnalysis.ts)
        const m = /^(watch\w+) is (.*?): (.*); e\.g\. (.*)$/.exec(message);
        const key = (m?.[1] ?? "watchMinutes") as keyof WatchThresholds;
        const why = m === null ? message : m[3].startsWith("it must") ? `is out of range: ${m[3]}` : `is ${m[3]}`;
        r.problem(key, String(watch[key]), why, WATCH_ALLOWED[key] ?? "see docs/post-flip-watch.md", m ? m[4] : `pulumi config set ${key} ${DEFAULT_WATCH_THRESHOLDS[key]}`);
    }
    return parsed && problems.length === 0 ? watch : undefined;
}

/**
 * Validates raw config strings into a typed {@link StackConfig}.
 * Pure: the caller (config/stackConfig.ts) reads the strings from Pulumi, and hands over `files` to read the smoke
 * checks file from (without them, as release:check replays a stack file's history, the file is not read and
 * `smokeChecks` is empty). Throws one {@link ConfigError} listing every bad key (its value, why, the allowed values
 * and the command that fixes it).
 */
export function validateConfig(raw: RawConfig, files?: ConfigFiles): StackConfig {
    const r = new Reader(raw);

    const location = r.required(LOCATION_KEY, "an Azure region name, e.g. westeurope", "westeurope", (v) =>
        /^[a-z][a-z0-9]+$/.test(v) ? undefined : "is not an Azure region name (lowercase letters and digits)",
    );
    const liveColor = r.required("liveColor", "blue | green", "blue", (v) => (isColor(v) ? undefined : "is not a color")) as
        | Color
        | undefined;

    const sharedCount = r.integer("instanceCount", 1, MAX_INSTANCES_PER_COLOR, "2");
    const sharedSize = r.string("vmSize", "an Azure VM size, e.g. Standard_B2s", "Standard_B2s", vmSizeProblem);
    const sharedImage = r.string("image", "an image URN Publisher:Offer:Sku:Version", DEFAULT_IMAGE, imageProblem);

    const colors: Partial<Record<Color, ColorSettings>> = {};
    const colorKeys: Partial<Record<Color, string>> = {};
    for (const color of COLORS) {
        const version = r.required(`${color}Version`, VERSION_ALLOWED, "1.0.0", versionProblem);
        const count = r.integer(`${color}InstanceCount`, 1, MAX_INSTANCES_PER_COLOR, "2") ?? sharedCount;
        const size = r.string(`${color}VmSize`, "an Azure VM size, e.g. Standard_B2s", "Standard_B2s", vmSizeProblem) ?? sharedSize;
        const imageUrn = r.string(`${color}Image`, "an image URN Publisher:Offer:Sku:Version", DEFAULT_IMAGE, imageProblem) ?? sharedImage;
        const url = r.string(`${color}ArtifactUrl`, "an https:// URL", `https://example.org/app-1.0.0.tgz`, (v) =>
            /^https:\/\/[^\s/]+\/\S+$/.test(v) ? undefined : "is not an https:// URL",
        );
        const sha256 = r.required(`${color}ArtifactSha256`, "64 lowercase hex digits: the first field of dist/app-<version>.tgz.sha256 (after npm run app:pack -- <version>)", `"$(cut -d' ' -f1 dist/app-${version ?? "1.0.0"}.tgz.sha256)"`, artifactSha256Problem);
        const forceUpdateTag = r.string(`${color}ForceUpdateTag`, "letters, digits, . _ -", "retry-1", (v) =>
            /^[A-Za-z0-9._-]{1,64}$/.test(v) ? undefined : "is not a tag of letters, digits, . _ - (at most 64)",
        );
        const vmTools = r.string(`${color}VmTools`, "12 lowercase hex digits (a VM tools hash)", "0123456789ab", (v) =>
            /^[0-9a-f]{12}$/.test(v) ? undefined : "is not a VM tools hash (12 lowercase hex digits)",
        );
        const colorKey = r.string(`${color}SshPublicKey`, "an OpenSSH public key line: ssh-ed25519 AAAA... or ssh-rsa AAAA...", '"$(cat ~/.ssh/id_ed25519.pub)"', sshPublicKeyProblem);
        if (colorKey !== undefined) colorKeys[color] = colorKey.trim();
        const appSettings = readAppEntries(r, `${color}AppSettings`, "NAME=value: an environment variable name (not PORT, STAGING_PORT, APP_COLOR, APP_VERSION, DATABASE_URL) and a value without ' \\ or newlines", "LOG_LEVEL=info", appSettingProblem);
        const appSecrets = readAppEntries(r, `${color}AppSecrets`, "NAME=<Key Vault secret name>: an environment variable name and the name of a secret you put into the stack's Key Vault (not the product's own)", "STRIPE_KEY=stripe-key", appSecretProblem);
        if (appSettings !== undefined && appSecrets !== undefined) {
            for (const name of duplicateNames(appSettings, appSecrets)) {
                r.problem(`${color}AppSettings`, name, `and ${color}AppSecrets set ${name} more than once`, "each variable once, as a setting or a secret", `pulumi config edit: keep one ${name}= entry in ${color}AppSettings or ${color}AppSecrets`);
            }
        }
        if (version === undefined || count === undefined || size === undefined || imageUrn === undefined || sha256 === undefined) continue;
        colors[color] = {
            color,
            version,
            instanceCount: count,
            vmSize: size,
            image: parseImageUrn(imageUrn) as ImageReference,
            artifactSha256: sha256,
            ...(url !== undefined ? { artifact: { url, sha256 } } : {}),
            ...(forceUpdateTag !== undefined ? { forceUpdateTag } : {}),
            ...(vmTools !== undefined ? { vmTools } : {}),
            ...(appSettings && appSettings.length > 0 ? { appSettings: entriesToMap(appSettings) } : {}),
            ...(appSecrets && appSecrets.length > 0 ? { appSecrets: entriesToMap(appSecrets) } : {}),
        };
    }

    const zones = r.list("zones", "an availability zone number such as \"1\"", "1", zoneProblem);
    const adminUsername = r.string("adminUsername", "a Linux user name that Azure does not reserve, e.g. azureops", "azureops", adminUsernameProblem);
    const sshPublicKey = r.required("sshPublicKey", "an OpenSSH public key line: ssh-ed25519 AAAA... or ssh-rsa AAAA...", '"$(cat ~/.ssh/id_ed25519.pub)"', sshPublicKeyProblem);
    const stagingAllowedCidrs = r.list("stagingAllowedCidrs", "an IPv4 CIDR block such as 203.0.113.0/24", "203.0.113.0/24", ipv4CidrProblem);
    const sqlSku = r.string("sqlSku", "Basic, S0..S12, P1..P15, GP_Gen5_<n>, GP_S_Gen5_<n>, BC_Gen5_<n>, HS_Gen5_<n>", "S0", (v) =>
        isSqlSkuName(v) ? undefined : "is not an Azure SQL Database SKU name",
    );
    const protectDatabase = r.boolean("protectDatabase");
    const existingDatabase = readExistingDatabase(r);
    const rollbackWindowMinutes = r.integer("rollbackWindowMinutes", 0, Number.MAX_SAFE_INTEGER, "60");
    const allowDeployIntoRollbackWindow = r.boolean("allowDeployIntoRollbackWindow");
    const runContractMigrations = r.boolean("runContractMigrations");
    const retryTag = r.string("retryTag", "letters, digits, . _ -", "1", (v) =>
        /^[A-Za-z0-9._-]{1,32}$/.test(v) ? undefined : "is not a tag of letters, digits, . _ - (at most 32)",
    );
    const agentVmSize = r.string("agentVmSize", "an Azure VM size, e.g. Standard_B1s", "Standard_B1s", vmSizeProblem);
    const agentImage = r.string("agentImage", "an image URN Publisher:Offer:Sku:Version", DEFAULT_IMAGE, imageProblem) ?? sharedImage;
    const watch = readWatch(r, rollbackWindowMinutes);
    const smokeChecksFile = r.string("smokeChecksFile", "a .yaml file of the repository, relative to the directory of Pulumi.yaml", "app/smoke-checks.yaml", smokeChecksPathProblem);
    let smokeChecks: readonly SmokeCheck[] = [];
    if (smokeChecksFile !== undefined && files !== undefined) {
        const read = readSmokeChecksFile(smokeChecksFile, files);
        for (const p of read.problems) r.problem(p.key, p.value, p.reason, p.allowed, p.fix);
        smokeChecks = read.checks;
    }

    if (r.problems.length > 0) throw new ConfigError(r.problems);
    for (const color of COLORS) {
        const c = colors[color];
        if (c) colors[color] = { ...c, sshPublicKey: colorKeys[color] ?? (sshPublicKey as string).trim() };
    }
    // Every value below was read without a problem, so none is undefined.
    return {
        location: location as string,
        liveColor: liveColor as Color,
        idleColor: idleColor(liveColor as Color),
        colors: colors as Record<Color, ColorSettings>,
        zones: zones as string[],
        adminUsername: adminUsername as string,
        sshPublicKey: (sshPublicKey as string).trim(),
        stagingAllowedCidrs: stagingAllowedCidrs as string[],
        sqlSku: sqlSku as string,
        protectDatabase: protectDatabase as boolean,
        ...(existingDatabase ? { existingDatabase } : {}),
        rollbackWindowMinutes: rollbackWindowMinutes as number,
        allowDeployIntoRollbackWindow: allowDeployIntoRollbackWindow as boolean,
        runContractMigrations: runContractMigrations as boolean,
        retryTag: retryTag ?? "",
        agentVmSize: agentVmSize as string,
        agentImage: parseImageUrn(agentImage as string) as ImageReference,
        watch: watch as WatchThresholds,
        ...(smokeChecksFile !== undefined ? { smokeChecksFile } : {}),
        smokeChecks,
    };
}
