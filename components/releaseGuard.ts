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
 * How the provider runs: Pulumi serializes `releaseGuardProvider` by closure capture and runs it in the dynamic
 * provider host (`pulumi-resource-pulumi-nodejs`), a plain Node process without ts-node. The provider's methods use
 * `release/guard.ts` through a module-level import, which the serializer captures **by value** (local modules are
 * always inlined; `semver` from node_modules becomes `require("semver")`, resolved from the project's node_modules).
 * So the serialized provider carries the compiled guard with it and needs no TypeScript at run time
 * (tests/release/releaseGuardProvider.test.ts serializes it and runs the text). A change to the guard's code changes
 * the serialized text, which Pulumi treats as an update of the provider, not a replacement of the resource.
 *
 * Nothing secret belongs in the guard's inputs (they are kept in plain state): `check` refuses a setting that looks
 * like a SAS URL. Pass an artifact's SHA-256 rather than its signed URL.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import { isDeepStrictEqual } from "util";
import type { ColorSettings } from "../config/validate";
import { loadMigrationDir } from "../migrator/migrationFile";
import { Color } from "../release/colors";
import * as guard from "../release/guard";

/** What the program asks for, as the dynamic resource's inputs (plain JSON, no secrets). */
export interface ReleaseGuardInputs {
    readonly liveColor: Color;
    readonly blue: guard.ColorState;
    readonly green: guard.ColorState;
    readonly runContractMigrations: boolean;
    readonly rollbackWindowMinutes: number;
    readonly allowDeployIntoRollbackWindow: boolean;
    readonly contractMigrations: guard.ContractMigration[];
}

/** The dynamic resource's state: its inputs, plus what the guard recorded and decided. */
export interface ReleaseGuardOutputs extends ReleaseGuardInputs {
    /** The release state after this update, with the time of the last flip. What the next update is compared with. */
    readonly state: guard.ReleaseState;
    /** Which release step the last update was. */
    readonly step: guard.ReleaseStep;
    /** What the operator should know about the last update (the override in use, a rollback, the first deploy). */
    readonly notices: string[];
}

/**
 * What the guard compares for one color, from its validated settings: version, VM size, image (as its URN) and the
 * other settings whose change re-deploys the color (instance count, the user's own artifact, the retry tag). An
 * artifact URL with a query string (it may carry a SAS signature) is recorded as the SHA-256 of the URL, never in
 * plain text.
 */
export function colorStateOf(settings: ColorSettings): guard.ColorState {
    const extra: Record<string, string> = { instanceCount: String(settings.instanceCount) };
    if (settings.artifact) {
        const url = settings.artifact.url;
        extra.artifactUrl = url.includes("?") ? `sha256:${createHash("sha256").update(url).digest("hex")}` : url;
        extra.artifactSha256 = settings.artifact.sha256;
    }
    if (settings.forceUpdateTag) extra.forceUpdateTag = settings.forceUpdateTag;
    const { publisher, offer, sku, version } = settings.image;
    return { version: settings.version, vmSize: settings.vmSize, image: `${publisher}:${offer}:${sku}:${version}`, settings: extra };
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

/** The value Pulumi passes for a property that is not known yet during a preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The release state the inputs ask for. */
export function desiredState(inputs: ReleaseGuardInputs): guard.ReleaseState {
    return {
        liveColor: inputs.liveColor,
        blue: inputs.blue,
        green: inputs.green,
        runContractMigrations: !!inputs.runContractMigrations,
    };
}

/** The release state recorded by the previous update (older states without `state` fall back to their inputs). */
export function recordedState(olds: Partial<ReleaseGuardOutputs>): guard.ReleaseState | undefined {
    if (olds.state) return olds.state;
    if (olds.liveColor && olds.blue && olds.green) return desiredState(olds as ReleaseGuardInputs);
    return undefined;
}

/** The guard's verdict on going from the recorded state (none on the first deploy) to what `news` asks for, at `now`. */
export function judge(olds: Partial<ReleaseGuardOutputs> | undefined, news: ReleaseGuardInputs, now: Date): guard.Verdict {
    return guard.evaluateRelease(olds ? recordedState(olds) : undefined, desiredState(news), {
        now,
        rollbackWindowMinutes: news.rollbackWindowMinutes,
        allowDeployIntoRollbackWindow: news.allowDeployIntoRollbackWindow,
        contract: news.contractMigrations,
    });
}

/** Throws the verdict's reasons as one error, so `pulumi up` fails with the safe sequence in its message. */
function refuseUnlessAllowed(verdict: guard.Verdict): void {
    if (!verdict.allowed) {
        throw new Error(`The release guard refused this update.\n${guard.formatVerdict(verdict)}`);
    }
}

/** Runs the guard and returns the state to store, or throws. Shared by create (no olds) and update. */
function decideAndRecord(olds: Partial<ReleaseGuardOutputs> | undefined, news: ReleaseGuardInputs, now: Date): ReleaseGuardOutputs {
    const verdict = judge(olds, news, now);
    refuseUnlessAllowed(verdict);
    const state = guard.recordStep(olds ? recordedState(olds) : undefined, desiredState(news), {
        now,
        rollbackWindowMinutes: news.rollbackWindowMinutes,
    });
    return { ...news, state, step: verdict.step, notices: verdict.notices };
}

/** The fields of the inputs that, when they change, make an update (everything but Pulumi's own `__provider`). */
function inputsOf(v: Partial<ReleaseGuardInputs>): Partial<ReleaseGuardInputs> {
    const { liveColor, blue, green, runContractMigrations, rollbackWindowMinutes, allowDeployIntoRollbackWindow, contractMigrations } = v;
    return { liveColor, blue, green, runContractMigrations, rollbackWindowMinutes, allowDeployIntoRollbackWindow, contractMigrations };
}

/**
 * The provider: check validates the shape of the inputs, diff and update/create refuse unsafe steps.
 * Exported so tests call its methods directly with olds and news (dynamic providers never run under mocks).
 */
export const releaseGuardProvider: pulumi.dynamic.ResourceProvider<ReleaseGuardInputs, ReleaseGuardOutputs> = {
    async check(_olds: ReleaseGuardInputs, news: ReleaseGuardInputs): Promise<pulumi.dynamic.CheckResult<ReleaseGuardInputs>> {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (JSON.stringify(news).includes(UNKNOWN)) return { inputs: news };
        for (const p of guard.validateState(desiredState(news))) failures.push({ property: "state", reason: p });
        if (typeof news.rollbackWindowMinutes !== "number" || !(news.rollbackWindowMinutes >= 0)) {
            failures.push({
                property: "rollbackWindowMinutes",
                reason: `rollbackWindowMinutes is ${String(news.rollbackWindowMinutes)}; it must be a number of minutes ≥ 0. Fix: pulumi config set rollbackWindowMinutes 60`,
            });
        }
        for (const color of ["blue", "green"] as const) {
            for (const [key, value] of Object.entries(news[color]?.settings ?? {})) {
                if (/[?&]sig=/i.test(String(value))) {
                    failures.push({
                        property: `${color}.settings.${key}`,
                        reason: `${color} setting ${key} looks like a signed (SAS) URL; the release guard keeps its inputs in plain state. Pass the artifact's SHA-256 instead.`,
                    });
                }
            }
        }
        return failures.length > 0 ? { failures } : { inputs: news };
    },

    async diff(_id: string, olds: ReleaseGuardOutputs, news: ReleaseGuardInputs): Promise<pulumi.dynamic.DiffResult> {
        // During a preview an input may not be known yet: the decision then waits for the update.
        if (JSON.stringify(news).includes(UNKNOWN)) return { changes: true };
        refuseUnlessAllowed(judge(olds, news, new Date()));
        return { changes: !isDeepStrictEqual(inputsOf(olds), inputsOf(news)) };
    },

    async create(inputs: ReleaseGuardInputs): Promise<pulumi.dynamic.CreateResult<ReleaseGuardOutputs>> {
        return { id: "release-guard", outs: decideAndRecord(undefined, inputs, new Date()) };
    },

    async update(_id: string, olds: ReleaseGuardOutputs, news: ReleaseGuardInputs): Promise<pulumi.dynamic.UpdateResult<ReleaseGuardOutputs>> {
        return { outs: decideAndRecord(olds, news, new Date()) };
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
