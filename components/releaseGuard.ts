/**
 * The release guard as a Pulumi dynamic resource.
 *
 * Its state holds the live color, what each color runs (version, VM size, image, other deployment settings) and the
 * time of the last flip. On every update its provider compares that state (the "olds") with what the program now
 * asks for (the "news") through release/guard.ts's `evaluateRelease`, and throws with the verdict's reasons when the
 * step is not safe — in `diff`, so `pulumi preview` already fails, and again in `update`/`create`, before its state
 * changes. Every resource a release step changes depends on this resource (`dependsOn`), so nothing changes before
 * the guard has said yes.
 *
 * How the provider runs: Pulumi serializes `releaseGuardProvider` by closure capture and runs it in its dynamic
 * provider host (`pulumi-resource-pulumi-nodejs`), a plain Node process without ts-node. The serialized provider is
 * a thin shim: it captures two strings (the absolute path of components/releaseGuardProvider and of the project)
 * and the loader of components/lib/providerModule.ts, and, inside each method, `require()`s the implementation by that path — registering the project's own ts-node
 * first when the implementation is TypeScript (every TypeScript Pulumi project has ts-node: the language host uses
 * it too). Capturing the guard by value instead would drag `semver`'s internals into the closure, which the
 * serializer cannot always resolve. tests/release/releaseGuardHost.int.test.ts serializes the provider and runs it
 * in a separate plain `node` process, as the host does. The path is computed on every `pulumi up`, so a new checkout
 * directory is fine; a changed serialized text is an update of the provider, never a replacement of the resource.
 *
 * Nothing secret belongs in the guard's inputs (they are kept in plain state): `check` refuses a setting that looks
 * like a SAS URL, and colorStateOf records a URL with a query string only as its hash.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { ColorSettings } from "../config/validate";
import { loadMigrationDir } from "../migrator/migrationFile";
import { Color } from "../release/colors";
import * as guard from "../release/guard";
import type { ExecutionRequest } from "../release/executions";
import type { FlipBackRecord } from "../release/watchContract";
import type { ReleaseGuardInputs, ReleaseGuardOutputs } from "./releaseGuardProvider";
import { requireProviderModule } from "./lib/providerModule";

export type { ReleaseGuardInputs, ReleaseGuardOutputs } from "./releaseGuardProvider";

/** The VM settings every color shares (config `adminUsername`, `zones`). */
export interface SharedVmSettings {
    readonly adminUsername: string;
    readonly zones: readonly string[];
}

/** An OpenSSH public key's fingerprint as `ssh-keygen -l` prints it (`SHA256:<base64, no padding>`). */
export function sshKeyFingerprint(publicKey: string): string {
    const blob = publicKey.trim().split(/\s+/)[1] ?? "";
    return `SHA256:${createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}

/**
 * What the guard compares for one color, from its validated settings: version, VM size, image (as its URN) and the
 * other settings whose change re-deploys the color (instance count, the artifact's pinned SHA-256, the user's own
 * artifact URL, the retry tag), and what a VM keeps from its creation (the SSH key's fingerprint; with `vms`, the
 * administrator and the zones). An
 * artifact URL with a query string (it may carry a SAS signature) is recorded as the SHA-256 of the URL, never in
 * plain text.
 */
export function colorStateOf(settings: ColorSettings, vmTools?: string, vms?: SharedVmSettings): guard.ColorState {
    const extra: Record<string, string> = { instanceCount: String(settings.instanceCount) };
    // What Azure cannot change on an existing VM: its SSH key (as ssh-keygen -l prints it), administrator and zones.
    if (settings.sshPublicKey) extra.sshKey = sshKeyFingerprint(settings.sshPublicKey);
    if (vms) {
        extra.adminUsername = vms.adminUsername;
        extra.zones = vms.zones.join(",");
    }
    // The app-VM files the color runs: its pin, else this checkout's (components/lib/vmTools.ts).
    const tools = settings.vmTools ?? vmTools;
    if (tools) extra.vmTools = tools;
    const sha256 = settings.artifactSha256 ?? settings.artifact?.sha256;
    if (sha256) extra.artifactSha256 = sha256;
    if (settings.artifact) {
        const url = settings.artifact.url;
        extra.artifactUrl = url.includes("?") ? `sha256:${createHash("sha256").update(url).digest("hex")}` : url;
    }
    if (settings.forceUpdateTag) extra.forceUpdateTag = settings.forceUpdateTag;
    // The app's own settings and secrets change the color's deployment (its env file): the guard refuses them on the
    // live color like a version. Secrets are recorded by their Key Vault names only (never a value).
    if (settings.appSettings && Object.keys(settings.appSettings).length > 0) extra.appSettings = sortedEntries(settings.appSettings);
    if (settings.appSecrets && Object.keys(settings.appSecrets).length > 0) extra.appSecrets = sortedEntries(settings.appSecrets);
    const { publisher, offer, sku, version } = settings.image;
    return { version: settings.version, vmSize: settings.vmSize, image: `${publisher}:${offer}:${sku}:${version}`, settings: extra };
}

/** `A=1,B=2`: a map as one guard setting, in name order. */
function sortedEntries(map: Readonly<Record<string, string>>): string {
    return Object.keys(map).sort().map((k) => `${k}=${map[k]}`).join(",");
}

/**
 * The contract migrations in `dir` (the repository's `migrations/`, which the artifacts carry) with their
 * `requires-version`, for the guard's contract check. A missing directory means none.
 */
export function contractMigrationsIn(dir: string): guard.ContractMigration[] {
    if (!fs.existsSync(dir)) return [];
    return loadMigrationDir(dir)
        .filter((m) => m.phase === "contract")
        .map((m) => ({ name: m.name, requiresVersion: m.requiresVersion ?? "" }));
}

/** The provider implementation's absolute path (without extension), computed when the program loads. */
const IMPLEMENTATION = path.join(__dirname, "releaseGuardProvider");
/** The project root, where ts-node is resolved from. */
const PROJECT_ROOT = path.join(__dirname, "..");

/** Loads components/releaseGuardProvider in the dynamic provider host (components/lib/providerModule.ts). */
function loadImplementation(): typeof import("./releaseGuardProvider") {
    return requireProviderModule<typeof import("./releaseGuardProvider")>(IMPLEMENTATION, PROJECT_ROOT);
}

/**
 * The provider Pulumi serializes: each method loads the implementation and delegates to it.
 * Exported so tests call its methods directly with olds and news (dynamic providers never run under mocks).
 */
export const releaseGuardProvider: pulumi.dynamic.ResourceProvider<ReleaseGuardInputs, ReleaseGuardOutputs> = {
    async check(olds: ReleaseGuardInputs, news: ReleaseGuardInputs) {
        return loadImplementation().checkInputs(news, olds);
    },
    async diff(_id: string, olds: ReleaseGuardOutputs, news: ReleaseGuardInputs) {
        return loadImplementation().diffInputs(olds, news, new Date());
    },
    async create(inputs: ReleaseGuardInputs) {
        return { id: "release-guard", outs: loadImplementation().decideAndRecord(undefined, inputs, new Date()) };
    },
    async update(_id: string, olds: ReleaseGuardOutputs, news: ReleaseGuardInputs) {
        return { outs: loadImplementation().decideAndRecord(olds, news, new Date()) };
    },
};

/** Arguments of the release guard: what the program asks for in this update. */
export interface ReleaseGuardArgs {
    /** The color the production rule sends traffic to (config `liveColor`). */
    readonly liveColor: pulumi.Input<Color>;
    /** What blue runs: version, VM size, image and any other deployment setting (compared key by key). */
    readonly blue: pulumi.Input<guard.ColorState>;
    /** What green runs. */
    readonly green: pulumi.Input<guard.ColorState>;
    /** How long the color that was live stays the instant rollback target after a flip. @default 60 */
    readonly rollbackWindowMinutes?: pulumi.Input<number>;
    /** Allow a deploy onto the rollback target inside the window (the output says so). @default false */
    readonly allowDeployIntoRollbackWindow?: pulumi.Input<boolean>;
    /** Whether this update runs contract migrations. @default false */
    readonly runContractMigrations?: pulumi.Input<boolean>;
    /** The contract migrations the artifact carries, with their `requires-version`. @default [] */
    readonly contractMigrations?: pulumi.Input<guard.ContractMigration[]>;
    /**
     * What the release agent runs in this update: one key and digest per execution (components/releaseAgentRun.ts).
     * The guard names each execution (see release/executions.ts) and exports the names.
     * @default []
     */
    readonly executions?: pulumi.Input<ExecutionRequest[]>;
    /**
     * The hash of this checkout's app-VM files: a color pinned to another may take no other deployment change.
     * @default undefined (not checked)
     */
    readonly vmTools?: pulumi.Input<string>;
    /**
     * Where the database comes from (`created` or `existing:<id>`, release/databaseSource.ts): a change is refused.
     * @default undefined (not checked)
     */
    readonly database?: pulumi.Input<string>;
    /**
     * The color the production rule really points at, read from Azure before this update (components/lib/servingColor.ts).
     * @default undefined (not known: the guard trusts its record)
     */
    readonly serving?: pulumi.Input<Color | undefined>;
    /**
     * The release agent's flip-back record, read from the load balancer's tag with `serving` (release/watchContract.ts).
     * @default undefined (none)
     */
    readonly flipBack?: pulumi.Input<FlipBackRecord | undefined>;
    /**
     * Why `serving` could not be read (an error, not "nothing exists yet"): with a record, every update is refused.
     * @default undefined (read, or nothing to read yet)
     */
    readonly servingUnreadable?: pulumi.Input<string | undefined>;
}

/**
 * The release guard. Make every resource a release step changes depend on it (`dependsOn: [guard]`): the guard's
 * update runs first, and when it refuses, `pulumi up` stops before anything else changes.
 */
export class ReleaseGuard extends pulumi.dynamic.Resource {
    /** The release state recorded by the last update (live color, versions, time of the last flip). */
    declare public readonly state: pulumi.Output<guard.ReleaseState>;
    /** Which release step the last update was (first-deploy, deploy-idle, flip, rollback, contract, ...). */
    declare public readonly step: pulumi.Output<guard.ReleaseStep>;
    /** What the operator should know about the last update (printed as warnings and exported by the program). */
    declare public readonly notices: pulumi.Output<string[]>;
    /** The run-command name of each execution the agent runs (`key → name`): a name is never used twice on the agent. */
    declare public readonly executionNames: pulumi.Output<Record<string, string>>;
    /** The executions whose name is new in this update: they must have run in this update. */
    declare public readonly newExecutions: pulumi.Output<string[]>;

    constructor(name: string, args: ReleaseGuardArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            releaseGuardProvider,
            name,
            {
                liveColor: args.liveColor,
                blue: args.blue,
                green: args.green,
                rollbackWindowMinutes: args.rollbackWindowMinutes ?? 60,
                allowDeployIntoRollbackWindow: args.allowDeployIntoRollbackWindow ?? false,
                runContractMigrations: args.runContractMigrations ?? false,
                contractMigrations: args.contractMigrations ?? [],
                executions: args.executions ?? [],
                vmTools: args.vmTools,
                database: args.database,
                serving: args.serving,
                flipBack: args.flipBack,
                servingUnreadable: args.servingUnreadable,
                ledger: undefined,
                executionNames: undefined,
                newExecutions: undefined,
                state: undefined,
                step: undefined,
                notices: undefined,
            },
            opts,
            "bluegreen",
            "ReleaseGuard",
        );
        this.notices.apply((notices) => {
            for (const n of notices ?? []) pulumi.log.warn(n, this);
        });
    }
}
