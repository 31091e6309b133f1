/**
 * The release guard's decisions, as pure functions: which release step a change is, and whether it may happen.
 *
 * One implementation, used by
 * - the Pulumi program (components/releaseGuard.ts: a dynamic resource whose provider compares its previous state
 *   with the new one and refuses before anything changes),
 * - the local rehearsal (rehearsal/), and
 * - the release-step check on git commits (delivery/, `npm run release:check`).
 *
 * Nothing here touches Pulumi, the network, the clock or the file system: the caller passes `now` and what it knows
 * about the database. Every refusal names what is wrong and gives the safe sequence of steps.
 */
import { Color, COLORS, idleColor, isColor } from "./colors";
import { mayRunContract as runnerContractGate } from "../migrator/contractGate";
import { compareVersions, isVersion } from "./versions";
import type { FlipBackRecord } from "./watchContract";

/** What is deployed on one color. Two equal ColorStates mean "nothing to deploy on this color". */
export interface ColorState {
    /** The app version (semver) this color runs. */
    readonly version: string;
    /** The VM size of this color's VMs, e.g. `Standard_B1s`. */
    readonly vmSize: string;
    /** The VM image of this color, e.g. `Canonical:ubuntu-24_04-lts:server:latest`. */
    readonly image: string;
    /**
     * Every other deployment setting of this color that a release could change (instance count, artifact URL,
     * artifact checksum, ...), compared key by key. Values are strings so that a state survives JSON and YAML alike.
     */
    readonly settings?: Readonly<Record<string, string>>;
}

/** What the guard remembers between updates (the dynamic resource's state) and what a new update asks for. */
export interface ReleaseState {
    /** The color the production rule sends traffic to. */
    readonly liveColor: Color;
    readonly blue: ColorState;
    readonly green: ColorState;
    /** When `liveColor` last changed (ISO 8601). Absent until the first flip. Kept by the guard, never by config. */
    readonly lastFlipAt?: string;
    /** The color that was live until `lastFlipAt`: the instant rollback target. Kept by the guard. */
    readonly previousLiveColor?: Color;
    /**
     * True when the last flip was a rollback. The color rolled back from is then not a rollback target (it is the
     * broken one): a fix may be deployed onto it at once, and flipping to it again is a new flip, not a rollback.
     */
    readonly lastFlipWasRollback?: boolean;
    /** True when this update runs contract migrations (config `runContractMigrations`). */
    readonly runContractMigrations?: boolean;
    /**
     * Set by `recordStep` on a flip and kept until an update reads the production rule on the new live color: the
     * flip fields as they were before it (so a flip whose gate did not pass can be taken back in the record), i.e. the
     * flip is not confirmed yet. Kept by the guard.
     */
    readonly beforeFlip?: FlipRecord;
    /**
     * Only in the view `reconcile` returns: a recorded flip to this color did not take effect — its health gate did
     * not pass, so the load balancer never moved and `liveColor` (the color still serving) takes production traffic.
     * "pending gate".
     */
    readonly pendingFlipTo?: Color;
    /**
     * Every automatic flip-back by the release agent's watch that an update has recorded (the update that accepted it:
     * `liveColor` set to the color production was sent back to), oldest first, at most {@link AUTO_FLIP_BACKS_KEPT}.
     * Kept by the guard; the program exports it as the stack output `autoFlipBacks`.
     */
    readonly autoFlipBacks?: readonly FlipBackRecord[];
    /**
     * Only in the view `reconcile` returns: the release agent's watch sent production back from the recorded live
     * color to the color that serves now (the flip-back record it wrote into the load balancer's tag, for the recorded
     * flip), and no update has accepted it yet. Until one does, `liveColor` still naming the failed color is refused.
     */
    readonly autoFlipBack?: FlipBackRecord;
}

/** How many automatic flip-backs the guard's state keeps (the oldest go first). */
export const AUTO_FLIP_BACKS_KEPT = 20;

/** The flip fields of a state: when the last flip happened, from which color, and whether it was a rollback. */
export interface FlipRecord {
    readonly lastFlipAt?: string;
    readonly previousLiveColor?: Color;
    readonly lastFlipWasRollback?: boolean;
}

/**
 * Which release step a change is.
 * - `first-deploy`: nothing was live before.
 * - `no-change`: neither color nor the live color changes.
 * - `deploy-idle`: only the idle color's deployment changes (version, VM size, image or settings).
 * - `flip`: only `liveColor` changes.
 * - `rollback`: only `liveColor` changes, back to the color that was live until less than the rollback window ago.
 * - `contract`: only `runContractMigrations` is switched on.
 * - `other`: anything else (a mix of the above, or a change of the live color), usually refused.
 */
export type ReleaseStep = "first-deploy" | "no-change" | "deploy-idle" | "flip" | "rollback" | "contract" | "other";

/** A contract migration and the oldest app version that still works once it has run (its `requires-version`). */
export interface ContractMigration {
    readonly name: string;
    readonly requiresVersion: string;
}

/** What the migration runner's `status` says about the database, for the "is this version within the schema" check. */
export interface SchemaStatus {
    /** Contract migrations already applied: a version older than any of their `requires-version` no longer fits. */
    readonly appliedContract: readonly ContractMigration[];
    /** Expand migrations of the target version that are not applied yet: the schema is too old for it. */
    readonly pendingExpand?: readonly string[];
}

/** What the guard needs besides the two states. */
export interface GuardContext {
    /** The time of this update (for the rollback window). */
    readonly now: Date;
    /** How long the color that was live stays the instant rollback target after a flip (config `rollbackWindowMinutes`). */
    readonly rollbackWindowMinutes: number;
    /** Allow a deploy onto the rollback target inside the window (config `allowDeployIntoRollbackWindow`). @default false */
    readonly allowDeployIntoRollbackWindow?: boolean;
    /** The contract migrations this update would run when `runContractMigrations` is on. */
    readonly contract?: readonly ContractMigration[];
    /** The database's migration status, when known, for a flip's schema check. */
    readonly schema?: SchemaStatus;
    /**
     * The hash of the app-VM files in this checkout (components/lib/vmTools.ts). A color whose `settings.vmTools` differs
     * is pinned to older files the program cannot send: no other deployment change may happen on it.
     * @default undefined (not checked)
     */
    readonly vmTools?: string;
    /**
     * The color the load balancer's production rule really points at, read from Azure before this update (the
     * program reads it; components/servingColor.ts). When it differs from the recorded `liveColor`, the recorded flip
     * did not take effect (its gate did not pass): the guard judges from the color that really serves.
     * @default undefined (not known: the record is trusted)
     */
    readonly serving?: Color;
    /**
     * The flip-back record the release agent's watch wrote into the load balancer's tag (`bluegreen-flip-back`,
     * release/watchContract.ts), read with `serving`. When it is for the recorded flip, from the recorded live color to
     * the color that serves, the flip was undone automatically (`reconcile`). @default undefined (none)
     */
    readonly flipBack?: FlipBackRecord;
    /**
     * Why what the production rule points at could not be read (an error, as opposed to "nothing exists yet"). With a
     * recorded state every update is then refused: the guard cannot know whether production was moved.
     * @default undefined (read, or nothing to read yet)
     */
    readonly servingUnreadable?: string;
}

/** The answer to one question ("may this flip happen?"): allowed when `reasons` is empty. */
export interface Decision {
    readonly allowed: boolean;
    /** Why not: each names what is wrong and gives the safe sequence. Empty when allowed. */
    readonly reasons: string[];
    /** Things the operator should see even though the step is allowed (an override in use, a rollback). */
    readonly notices: string[];
}

/**
 * A first step that the guard allows: the release state to ask for (what the config should say) and, when the step
 * is to wait, the time from which it is allowed.
 */
export interface SafeStep {
    /** The commands that turn the refused config into this one, e.g. `pulumi config set liveColor blue && pulumi up`. */
    readonly command: string;
    readonly state: ReleaseState;
    /** The step is allowed from this time (ISO 8601); absent: now. */
    readonly at?: string;
}

/** The whole verdict on one update. */
export interface Verdict extends Decision {
    readonly step: ReleaseStep;
    /** When refused: the first step of the safe sequence, which the guard allows when it is followed. */
    readonly firstStep?: SafeStep;
    /** A recorded flip to this color did not take effect (its gate did not pass): "pending gate". */
    readonly pendingFlipTo?: Color;
    /** The release agent's watch flipped production back (the record read from the load balancer), not accepted before this update. */
    readonly autoFlipBack?: FlipBackRecord;
}

/** One field of a ColorState that differs between two states, for messages. */
export interface ColorChange {
    readonly field: string;
    readonly before: string | undefined;
    readonly after: string | undefined;
}

const MINUTE_MS = 60_000;

/** The config key that sets `field` of `color` (as in Pulumi.<stack>.yaml), for messages. */
export function configKeyFor(color: Color, field: string): string {
    const f = field.startsWith("settings.") ? field.slice("settings.".length) : field;
    return `${color}${f.charAt(0).toUpperCase()}${f.slice(1)}`;
}

/** Settings a state recorded by an older program may lack; their first appearance is not a change. */
const ADOPTED_SETTINGS = new Set(["vmTools", "sshKey", "adminUsername", "zones"]);

/**
 * Settings every color shares that Azure cannot change on an existing VM and that no per-color key overrides: a change
 * would replace both colors at once (an outage), so it is refused once VMs exist.
 */
const FIXED_SETTINGS: Readonly<Record<string, string>> = { "settings.adminUsername": "adminUsername", "settings.zones": "zones" };

/** Lists what differs between two states of one color: version, vmSize, image and each setting. */
export function colorChanges(before: ColorState, after: ColorState): ColorChange[] {
    const changes: ColorChange[] = [];
    for (const field of ["version", "vmSize", "image"] as const) {
        if (before[field] !== after[field]) changes.push({ field, before: before[field], after: after[field] });
    }
    const b = before.settings ?? {};
    const a = after.settings ?? {};
    for (const key of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
        // A state recorded before a setting was tracked (the VM tools, what a VM keeps from its creation) adopts it:
        // not a change of the color.
        if (ADOPTED_SETTINGS.has(key) && b[key] === undefined) continue;
        if (b[key] !== a[key]) changes.push({ field: `settings.${key}`, before: b[key], after: a[key] });
    }
    return changes;
}

function describeChanges(changes: readonly ColorChange[]): string {
    return changes.map((c) => `${c.field} ${c.before ?? "(unset)"} → ${c.after ?? "(unset)"}`).join(", ");
}

/**
 * Checks that a state is well-formed: `liveColor` is blue or green, each version is semver, each color has a VM size
 * and an image. Returns one message per problem, naming the key, the bad value and the fix.
 */
export function validateState(state: ReleaseState): string[] {
    const problems: string[] = [];
    if (!isColor(state.liveColor)) {
        problems.push(
            `liveColor is "${String(state.liveColor)}"; it must be "blue" or "green". ` +
                `Fix: pulumi config set liveColor blue`,
        );
    }
    for (const color of COLORS) {
        const c = state[color] as ColorState | undefined;
        if (!c) {
            problems.push(`the state has no ${color} color; both blue and green must be described.`);
            continue;
        }
        if (!isVersion(c.version)) {
            problems.push(
                `${configKeyFor(color, "version")} is "${String(c.version)}", which is not a semantic version ` +
                    `(MAJOR.MINOR.PATCH, e.g. 1.4.2). Fix: pulumi config set ${configKeyFor(color, "version")} 1.4.2`,
            );
        }
        for (const field of ["vmSize", "image"] as const) {
            if (typeof c[field] !== "string" || c[field] === "") {
                problems.push(`${color} has no ${field}; set it (config ${configKeyFor(color, field)} or the shared default).`);
            }
        }
    }
    return problems;
}

/** The time until which the color that was live before the last flip is the instant rollback target, if any. */
export function rollbackWindowEndsAt(state: ReleaseState, rollbackWindowMinutes: number): Date | undefined {
    if (!state.lastFlipAt) return undefined;
    const flippedAt = Date.parse(state.lastFlipAt);
    if (Number.isNaN(flippedAt)) return undefined;
    return new Date(flippedAt + rollbackWindowMinutes * MINUTE_MS);
}

/**
 * The color that is the instant rollback target at `now`: the color that was live until less than
 * `rollbackWindowMinutes` ago, or undefined when there was no flip or the window has passed.
 */
export function rollbackTarget(state: ReleaseState, now: Date, rollbackWindowMinutes: number): Color | undefined {
    const ends = rollbackWindowEndsAt(state, rollbackWindowMinutes);
    if (!ends || !state.previousLiveColor || state.lastFlipWasRollback || now.getTime() >= ends.getTime()) return undefined;
    return state.previousLiveColor;
}

/** Classifies the change from `before` (undefined on the first deploy) to `after` as one release step. */
export function classifyStep(
    before: ReleaseState | undefined,
    after: ReleaseState,
    ctx?: Pick<GuardContext, "now" | "rollbackWindowMinutes">,
): ReleaseStep {
    if (!before) return "first-deploy";
    const flipped = before.liveColor !== after.liveColor;
    const changed = COLORS.filter((c) => colorChanges(before[c], after[c]).length > 0);
    const contractSwitchedOn = !before.runContractMigrations && !!after.runContractMigrations;
    if (flipped) {
        if (changed.length > 0 || contractSwitchedOn) return "other";
        const target = ctx ? rollbackTarget(before, ctx.now, ctx.rollbackWindowMinutes) : undefined;
        return target === after.liveColor ? "rollback" : "flip";
    }
    const idle = idleColor(after.liveColor);
    if (changed.includes(after.liveColor)) return "other";
    if (changed.includes(idle)) return contractSwitchedOn ? "other" : "deploy-idle";
    if (contractSwitchedOn) return "contract";
    return "no-change";
}

/**
 * Checks a version against the database's schema: the version's own expand migrations must all be applied, and no
 * applied contract migration may require a newer version. Returns one message per problem.
 */
export function schemaProblems(version: string, schema: SchemaStatus): string[] {
    const problems: string[] = [];
    const pending = schema.pendingExpand ?? [];
    if (pending.length > 0) {
        problems.push(
            `version ${version} needs expand migrations that are not applied yet (${pending.join(", ")}). ` +
                `Run them first: deploy ${version} to the idle color (pulumi up runs its expand migrations on the release agent before it deploys the app; locally: npm run db -- up --phase expand).`,
        );
    }
    for (const m of schema.appliedContract) {
        if (isVersion(m.requiresVersion) && isVersion(version) && compareVersions(version, m.requiresVersion) < 0) {
            problems.push(
                `version ${version} is older than the schema: contract migration ${m.name} (applied) requires ` +
                    `${m.requiresVersion} or newer. Deploy ${m.requiresVersion} or newer to that color first.`,
            );
        }
    }
    return problems;
}

/**
 * May these contract migrations run while these versions can take traffic? Every color that can take traffic
 * (the live one and the idle one, which is one flip away) must run at least each migration's `requires-version`.
 * Each (migration, color) pair is judged by the runner's own contract gate (migrator/contractGate.ts), so the
 * program, the rehearsal and `npm run db -- up --phase contract` cannot disagree.
 */
export function mayRunContract(
    contract: readonly ContractMigration[],
    running: Readonly<Partial<Record<Color, string>>>,
): Decision {
    const reasons: string[] = [];
    for (const m of contract) {
        if (!isVersion(m.requiresVersion)) {
            reasons.push(`contract migration ${m.name}: ${runnerContractGate(m.requiresVersion, []).reason ?? "bad requires-version"}`);
            continue;
        }
        for (const color of COLORS) {
            const v = running[color];
            if (v === undefined) continue;
            if (runnerContractGate(m.requiresVersion, [v]).allowed) continue;
            reasons.push(
                `contract migration ${m.name} requires ${m.requiresVersion} or newer, but ${color} runs ${v} and can take traffic. ` +
                    `Safe sequence: wait until the rollback window has passed, deploy ${m.requiresVersion} or newer to ${color} ` +
                    `(${deployCommand(color, m.requiresVersion)}), ` +
                    `then run the contract (pulumi config set runContractMigrations true && pulumi up).`,
            );
        }
    }
    return { allowed: reasons.length === 0, reasons, notices: [] };
}

/**
 * The recorded state as it really is, given the color the production rule points at (read from Azure before this
 * update) and the flip-back record in the load balancer's tag, if any. When the rule points at the recorded
 * `liveColor` (or is unknown), the record stands (a confirmed flip drops its `beforeFlip`). When it points at the
 * other color:
 * - with a flip-back record for the recorded flip (`isFlipBackOf`), the release agent's watch sent production back
 *   automatically: the color that serves is the live one, the flip is recorded like a rollback at the record's time
 *   (the failed color is not a rollback target), and `autoFlipBack` holds the record until an update accepts it;
 * - otherwise the recorded flip did not take effect — its health gate did not pass, so the load balancer never moved
 *   (or it was moved back by hand): the color that serves is the live one, the flip fields are those from before
 *   that flip, and `pendingFlipTo` names the color the flip asked for ("pending gate").
 */
export function reconcile(recorded: ReleaseState, serving: Color | undefined, flipBack?: FlipBackRecord): ReleaseState {
    if (serving === undefined) return recorded;
    const { beforeFlip, pendingFlipTo: _pending, autoFlipBack: _auto, lastFlipAt, previousLiveColor, lastFlipWasRollback, ...rest } = recorded;
    if (serving === recorded.liveColor) {
        return { ...rest, ...flipFields({ lastFlipAt, previousLiveColor, lastFlipWasRollback }) };
    }
    if (flipBack && isFlipBackOf(flipBack, recorded, serving)) {
        return {
            ...rest,
            liveColor: serving,
            ...flipFields({ lastFlipAt: flipBack.at, previousLiveColor: recorded.liveColor, lastFlipWasRollback: true }),
            autoFlipBack: flipBack,
        };
    }
    const flip: FlipRecord = beforeFlip && previousLiveColor === serving
        ? beforeFlip
        // Moved outside this stack's updates: the color it left is not a rollback target.
        : { lastFlipAt, previousLiveColor: recorded.liveColor, lastFlipWasRollback: true };
    return { ...rest, liveColor: serving, ...flipFields(flip), pendingFlipTo: recorded.liveColor };
}

/**
 * Is `record` the automatic flip-back of the flip `recorded` holds, given what serves? From the recorded live color to
 * the color serving now, and for that flip: its id is the recorded `lastFlipAt`, or it happened after it (a replay
 * of git history, `release:check`, knows the flip's commit time, not the guard's). An older record (a flip-back of an
 * earlier flip, still in the tag) is not: a later flip whose gate did not pass stays "pending gate".
 */
export function isFlipBackOf(record: FlipBackRecord, recorded: ReleaseState, serving: Color): boolean {
    if (record.from !== recorded.liveColor || record.to !== serving || !recorded.lastFlipAt) return false;
    if (record.flipId === recorded.lastFlipAt) return true;
    const at = Date.parse(record.at);
    const flipped = Date.parse(recorded.lastFlipAt);
    return !Number.isNaN(at) && !Number.isNaN(flipped) && at >= flipped;
}

/** One automatic flip-back for messages: when, from, to, why. */
export function describeFlipBack(r: FlipBackRecord): string {
    return `at ${r.at} the release agent's watch sent production back from ${r.from} to ${r.to} (flip of ${r.flipId}): ${r.reason || "(no reason recorded)"}`;
}

/** Why an update that keeps `liveColor` on the color an automatic flip-back left is refused, and the fix. */
function flipBackRefusal(r: FlipBackRecord, after: ReleaseState): string {
    return (
        `production was flipped back automatically: ${describeFlipBack(r)}. liveColor still says ${after.liveColor}, so this update would send ` +
        `production to ${r.from} again, the color that failed its watch. Accept the flip-back first: pulumi config set liveColor ${r.to} && pulumi up ` +
        `(in git: revert the flip commit to ${r.from}). ${r.from} is then idle and not a rollback target: deploy the fix onto it at once ` +
        `(${deployCommand(r.from, "<fixed version>")}), check it on the staging endpoint, then flip to ${r.from} again with a new flip ` +
        `(pulumi config set liveColor ${r.from} && pulumi up; in git: a new commit): a fresh gate runs, and a new watch.`
    );
}

/** Why every update is refused when what serves could not be read while the guard has a record, and the fix. */
function unreadableRefusal(why: string): string {
    return (
        `cannot read what the load balancer's production rule points at: ${why}. The release agent's watch may have flipped production back ` +
        `since the last update, and this update could undo that; the guard does not trust its record without the read. Fix what stops the read ` +
        `(the identity running pulumi up needs read access to the resource group and its load balancer; a transient Azure error: try again), ` +
        `then run pulumi up again.`
    );
}

/** The defined flip fields of `f` (so states compare equal whether a field is absent or undefined). */
function flipFields(f: FlipRecord): FlipRecord {
    if (!f.lastFlipAt) return {};
    return {
        lastFlipAt: f.lastFlipAt,
        ...(f.previousLiveColor ? { previousLiveColor: f.previousLiveColor } : {}),
        ...(f.lastFlipWasRollback ? { lastFlipWasRollback: true } : {}),
    };
}

/** The shell expression that reads the checksum `npm run app:pack -- <version>` wrote, for config commands. */
export function checksumOf(version: string): string {
    return `$(cut -d' ' -f1 dist/app-${version}.tgz.sha256)`;
}

/** The colors whose version changes while their artifact checksum (`settings.artifactSha256`) stays. */
export function staleChecksumColors(before: ReleaseState, after: ReleaseState): Color[] {
    return COLORS.filter((c) => {
        const sha = before[c].settings?.artifactSha256;
        return before[c].version !== after[c].version && sha !== undefined && sha === after[c].settings?.artifactSha256;
    });
}

/** The update that deploys `version` to `color`: its version and its artifact's checksum together (npm run app:pack wrote it). */
export function deployCommand(color: Color, version: string): string {
    return `pulumi config set ${configKeyFor(color, "version")} ${version} && pulumi config set ${configKeyFor(color, "settings.artifactSha256")} "${checksumOf(version)}" && pulumi up`;
}

/**
 * Colors whose version changes while their artifact checksum stays: the VMs would refuse the new artifact (its
 * SHA-256 differs) after the update started. One message per color, with the command that sets the new checksum.
 */
export function staleChecksumProblems(before: ReleaseState, after: ReleaseState): string[] {
    return staleChecksumColors(before, after).map((c) => {
        const version = after[c].version;
        return (
            `${configKeyFor(c, "version")} ${before[c].version} → ${version} but ${configKeyFor(c, "settings.artifactSha256")} is still the checksum of ` +
            `${before[c].version}'s artifact: every VM would refuse app-${version}.tgz after the update started. Set both in the same update: ` +
            `npm run app:pack -- ${version}, then pulumi config set ${configKeyFor(c, "version")} ${version} && ` +
            `pulumi config set ${configKeyFor(c, "settings.artifactSha256")} "${checksumOf(version)}" && pulumi up`
        );
    });
}

/**
 * May this update deploy? Refuses any change to the color that stays live, and a change to the instant rollback
 * target while the rollback window is open (unless `allowDeployIntoRollbackWindow`, which then adds a notice).
 * Flips are judged by `mayFlip`; here only updates that keep `liveColor` are judged.
 */
export function mayDeploy(before: ReleaseState, after: ReleaseState, ctx: GuardContext): Decision {
    const reasons: string[] = [];
    const notices: string[] = [];
    if (before.liveColor !== after.liveColor) return { allowed: true, reasons, notices };
    const live = after.liveColor;
    const idle = idleColor(live);
    const liveChanges = colorChanges(before[live], after[live]);
    if (liveChanges.length > 0) {
        const keys = liveChanges.map((c) => `${configKeyFor(idle, c.field)} ${c.after ?? "(unset)"}`);
        reasons.push(
            `refusing to change ${live}, the live color (${describeChanges(liveChanges)}): ${live} serves production and its users would be hit by the change. ` +
                `Safe sequence: 1) deploy the change to the idle color ${idle} instead (${keys.map((k) => `pulumi config set ${k}`).join(" && ")} && pulumi up), ` +
                `2) check it on the staging endpoint, 3) flip (pulumi config set liveColor ${idle} && pulumi up).`,
        );
    }
    for (const fixed of liveChanges.filter((c) => FIXED_SETTINGS[c.field])) {
        const key = FIXED_SETTINGS[fixed.field];
        const putBack = key === "zones"
            ? `set zones back to [${(fixed.before ?? "").split(",").filter((z) => z !== "").map((z) => `"${z}"`).join(", ")}] (pulumi config set --path 'zones[0]' <zone>, one index at a time; pulumi config rm zones for none)`
            : `pulumi config set ${key} ${fixed.before ?? "<its value>"}`;
        reasons.push(
            `${key} cannot change once the VMs exist (${fixed.before || "(none)"} → ${fixed.after || "(none)"}): Azure refuses it on an existing VM, and ` +
                `new VMs for both colors at once would be an outage. Put it back: ${putBack}. A new ${key} needs new VMs: a new stack.`,
        );
    }
    const keyChange = liveChanges.find((c) => c.field === "settings.sshKey");
    if (keyChange) {
        reasons.push(
            `the SSH key of ${live}, the live color, would change (${keyChange.before ?? "(unset)"} → ${keyChange.after ?? "(unset)"}): Azure cannot change ` +
                `the key of an existing VM, so the program replaces that color's VMs, which must not happen to the live color. Rotate with no downtime: ` +
                `keep ${live}'s key (pulumi config set ${live}SshPublicKey "<the current key>"), 1) pulumi config set ${idle}SshPublicKey "<the new key>" && pulumi up ` +
                `(replaces ${idle}'s VMs), 2) flip (pulumi config set liveColor ${idle} && pulumi up), 3) after the rollback window ` +
                `pulumi config set ${live}SshPublicKey "<the new key>" && pulumi up, 4) pulumi config set sshPublicKey "<the new key>", ` +
                `pulumi config rm blueSshPublicKey, pulumi config rm greenSshPublicKey && pulumi up (replaces the release agent only). ` +
                `docs/infrastructure.md, "Rotating the SSH key".`,
        );
    }
    const toolsChange = liveChanges.find((c) => c.field === "settings.vmTools");
    if (toolsChange) {
        reasons.push(
            `the VM-side files of this checkout (vm-scripts/: hash ${toolsChange.after ?? "(unset)"}) differ from what ${live} runs (${toolsChange.before ?? "(unset)"}). ` +
                `They reach a color only through a release step: pin the live color to what it runs ` +
                `(pulumi config set ${configKeyFor(live, "settings.vmTools")} ${toolsChange.before ?? "<its hash>"}), deploy them to ${idle} ` +
                `(pulumi config rm ${configKeyFor(idle, "settings.vmTools")} && pulumi up), check it, flip, then unpin ${live} the same way after the rollback window.`,
        );
    }
    const idleChanges = colorChanges(before[idle], after[idle]);
    const target = rollbackTarget(before, ctx.now, ctx.rollbackWindowMinutes);
    if (idleChanges.length > 0 && target === idle) {
        const ends = rollbackWindowEndsAt(before, ctx.rollbackWindowMinutes) as Date;
        const minutesAgo = Math.floor((ctx.now.getTime() - Date.parse(before.lastFlipAt as string)) / MINUTE_MS);
        const what = `${idle} was live until ${minutesAgo} min ago (${before.lastFlipAt}) and is the instant rollback target until ${ends.toISOString()} (rollbackWindowMinutes = ${ctx.rollbackWindowMinutes})`;
        if (ctx.allowDeployIntoRollbackWindow) {
            notices.push(
                `allowDeployIntoRollbackWindow is set: deploying onto ${idle} (${describeChanges(idleChanges)}) although ${what}. ` +
                    `Until this deploy is done there is no instant rollback. Unset it afterwards: pulumi config rm allowDeployIntoRollbackWindow`,
            );
        } else {
            reasons.push(
                `refusing to deploy onto ${idle} (${describeChanges(idleChanges)}): ${what}. ` +
                    `Safe sequence: wait until ${ends.toISOString()} and run pulumi up again; or roll back first ` +
                    `(pulumi config set liveColor ${idle} && pulumi up); or, giving up the instant rollback, ` +
                    `pulumi config set allowDeployIntoRollbackWindow true && pulumi up.`,
            );
        }
    }
    return { allowed: reasons.length === 0, reasons, notices };
}

/**
 * Deployment changes a color pinned to VM tools other than this checkout's cannot take: the program sends a color
 * only this checkout's files, so it leaves a pinned color's deployment as it is, and a version (or any other
 * deployment setting) changed on it would silently not be deployed. Returns one reason per such color.
 */
export function pinnedToolsProblems(before: ReleaseState | undefined, after: ReleaseState, vmTools: string | undefined): string[] {
    if (!vmTools) return [];
    const problems: string[] = [];
    for (const color of COLORS) {
        const pinned = after[color].settings?.vmTools;
        if (pinned === undefined || pinned === vmTools) continue;
        const changes = before ? colorChanges(before[color], after[color]).filter((c) => !["settings.vmTools", "vmSize", "image", "settings.instanceCount", "settings.sshKey"].includes(c.field)) : [];
        if (changes.length === 0) continue;
        problems.push(
            `${color} is pinned to VM tools ${pinned} (${configKeyFor(color, "settings.vmTools")}), but this checkout has ${vmTools}: the program can only send ${vmTools}, ` +
                `so it would not deploy ${describeChanges(changes)}. Deploy the new tools with it: pulumi config rm ${configKeyFor(color, "settings.vmTools")} ` +
                `(in the same update) — on the idle color only.`,
        );
    }
    return problems;
}

/** What a pending flip means, for messages: which flip did not take effect, and which color serves. */
function pendingFlipText(state: ReleaseState): string {
    return (
        `The flip to ${state.pendingFlipTo} recorded by an earlier update did not take effect ("pending gate"): its health gate did not pass ` +
        `(or the production rule was moved back), so the load balancer still sends production to ${state.liveColor}, which stays the live color; ` +
        `${state.pendingFlipTo} is the idle one.`
    );
}

/**
 * May this update flip `liveColor`? A flip must be the only change in its update (so the gate checks exactly what
 * goes live, and a revert is a clean rollback), and the new live color's version must fit the database's schema.
 * Updates that keep `liveColor` are allowed here (judged by `mayDeploy`).
 */
export function mayFlip(before: ReleaseState, after: ReleaseState, ctx: GuardContext): Decision {
    const reasons: string[] = [];
    const notices: string[] = [];
    if (before.liveColor === after.liveColor) return { allowed: true, reasons, notices };
    const from = before.liveColor;
    const to = after.liveColor;
    const others = COLORS.flatMap((c) => colorChanges(before[c], after[c]).map((ch) => ({ color: c, ...ch })));
    const contractSwitchedOn = !before.runContractMigrations && !!after.runContractMigrations;
    if (others.length > 0 || contractSwitchedOn) {
        const what = [
            ...others.map((o) => `${o.color} ${o.field} ${o.before ?? "(unset)"} → ${o.after ?? "(unset)"}`),
            ...(contractSwitchedOn ? ["runContractMigrations false → true"] : []),
        ].join(", ");
        if (before.pendingFlipTo === to) {
            reasons.push(
                `refusing to flip ${from} → ${to} together with other changes (${what}). ${pendingFlipText(before)} ` +
                    `Safe sequence: 1) put liveColor back to ${from} (pulumi config set liveColor ${from} && pulumi up; in git: revert the flip commit), ` +
                    `2) deploy the fix to the idle color ${to} and check it on the staging endpoint, 3) flip again, alone (pulumi config set liveColor ${to} && pulumi up).`,
            );
        } else {
            reasons.push(
                `refusing to flip ${from} → ${to} together with other changes (${what}): a flip must be the only change in its update, ` +
                    `so the gate checks exactly what goes live and reverting it is a clean rollback. ` +
                    `Safe sequence: 1) keep liveColor ${from} and apply the other changes (pulumi up; in git: their own commit), ` +
                    `2) then flip alone (pulumi config set liveColor ${to} && pulumi up; in git: a commit that changes only liveColor).`,
            );
        }
    }
    if (ctx.schema) {
        for (const p of schemaProblems(after[to].version, ctx.schema)) {
            reasons.push(`refusing to flip to ${to}: ${p} Until then keep liveColor ${from}.`);
        }
    }
    const target = rollbackTarget(before, ctx.now, ctx.rollbackWindowMinutes);
    if (reasons.length === 0 && target === to) {
        notices.push(
            `rollback: ${to} was live until ${before.lastFlipAt}; it takes production traffic again. ` +
                `${from} becomes idle and is not a rollback target: deploy the fix onto it (${deployCommand(from, "<fixed version>")}).`,
        );
    }
    return { allowed: reasons.length === 0, reasons, notices };
}

/** The verdict on `before` (already reconciled with what serves) → `after`, without the first step. */
function judge(before: ReleaseState | undefined, after: ReleaseState, ctx: GuardContext): Verdict {
    const invalid = validateState(after);
    if (invalid.length > 0) {
        return { allowed: false, step: "other", reasons: invalid, notices: [] };
    }
    const step = classifyStep(before, after, ctx);
    const reasons: string[] = [];
    const notices: string[] = [];
    if (!before) {
        notices.push(
            `first deploy: nothing is live yet; ${after.liveColor} goes live at ${after[after.liveColor].version} once its health gate passes.`,
        );
        if (ctx.schema) {
            for (const p of schemaProblems(after[after.liveColor].version, ctx.schema)) reasons.push(`refusing the first deploy: ${p}`);
        }
    } else if (before.autoFlipBack && after.liveColor !== before.liveColor) {
        // Whatever else it asks for: sending production back to the color that failed its watch is no flip to judge.
        reasons.push(flipBackRefusal(before.autoFlipBack, after));
    } else {
        for (const d of [mayDeploy(before, after, ctx), mayFlip(before, after, ctx)]) {
            reasons.push(...d.reasons);
            notices.push(...d.notices);
        }
        reasons.push(...staleChecksumProblems(before, after));
        if (before.autoFlipBack && reasons.length === 0) {
            const r = before.autoFlipBack;
            notices.push(
                `automatic flip-back accepted: ${describeFlipBack(r)}. Recorded like a rollback (stack output autoFlipBacks). ${r.from} is idle and ` +
                    `not a rollback target: deploy the fix onto it (${deployCommand(r.from, "<fixed version>")}), then flip to it again with a new flip.`,
            );
        }
        if (before.pendingFlipTo && reasons.length === 0) {
            notices.push(
                after.liveColor === before.liveColor
                    ? `${pendingFlipText(before)} Recorded as not happened.`
                    : `${pendingFlipText(before)} Flipping to ${after.liveColor} again: its gate runs again under a new name only if something it checks changed ` +
                      `(else: pulumi config set retryTag <a new value> && pulumi up).`,
            );
        }
    }
    reasons.push(...pinnedToolsProblems(before, after, ctx.vmTools));
    if (after.runContractMigrations && ctx.contract && ctx.contract.length > 0) {
        const d = mayRunContract(ctx.contract, { blue: after.blue.version, green: after.green.version });
        reasons.push(...d.reasons);
    }
    // Accepting an automatic flip-back (nothing else changes) is the rollback the watch did, recorded now.
    const recordedStep: ReleaseStep = before?.autoFlipBack && step === "no-change" ? "rollback" : step;
    return {
        allowed: reasons.length === 0,
        step: recordedStep,
        reasons,
        notices,
        ...(before?.pendingFlipTo ? { pendingFlipTo: before.pendingFlipTo } : {}),
        ...(before?.autoFlipBack ? { autoFlipBack: before.autoFlipBack } : {}),
    };
}

/** `state` with one setting of one color set (or removed when `value` is undefined). */
function withSetting(state: ColorState, key: string, value: string | undefined): ColorState {
    const settings = { ...(state.settings ?? {}) };
    if (value === undefined) delete settings[key];
    else settings[key] = value;
    return { ...state, settings };
}

/** `target` with the changes from `from` to `to` applied (what moves a change of one color onto the other). */
function applyChanges(target: ColorState, from: ColorState, to: ColorState): ColorState {
    let result: ColorState = target;
    for (const c of colorChanges(from, to)) {
        if (c.field.startsWith("settings.")) result = withSetting(result, c.field.slice("settings.".length), c.after);
        else result = { ...result, [c.field]: c.after };
    }
    return result;
}

/**
 * One move from a refused request toward an allowed one, in the order the refusals' safe sequences give: split a
 * flip from other changes (keeping the color that serves), move a change of the live color onto the idle one, set
 * the checksum of a new version, unpin VM tools of the idle color, leave the contract for later, wait out the
 * rollback window. Undefined when none applies.
 */
function towardSafety(before: ReleaseState, s: ReleaseState, ctx: GuardContext): { state: ReleaseState; at?: Date } | undefined {
    const flipped = before.liveColor !== s.liveColor;
    const changed = COLORS.filter((c) => colorChanges(before[c], s[c]).length > 0);
    const contractOn = !before.runContractMigrations && !!s.runContractMigrations;
    if (flipped && before.autoFlipBack) return { state: { ...s, liveColor: before.liveColor } };
    if (flipped && (changed.length > 0 || contractOn)) return { state: { ...s, liveColor: before.liveColor } };
    if (flipped && ctx.schema && schemaProblems(s[s.liveColor].version, ctx.schema).length > 0) {
        return { state: { ...s, liveColor: before.liveColor } };
    }
    const live = s.liveColor;
    const idle = idleColor(live);
    if (!flipped && changed.includes(live)) {
        return { state: { ...s, [live]: before[live], [idle]: applyChanges(s[idle], before[live], s[live]) } };
    }
    for (const c of staleChecksumColors(before, s)) {
        return { state: { ...s, [c]: withSetting(s[c], "artifactSha256", checksumOf(s[c].version)) } };
    }
    if (ctx.vmTools) {
        for (const c of COLORS) {
            if (pinnedToolsProblems(before, s, ctx.vmTools).some((p) => p.startsWith(`${c} `))) {
                return { state: { ...s, [c]: c === idle ? withSetting(s[c], "vmTools", undefined) : before[c] } };
            }
        }
    }
    if (s.runContractMigrations && ctx.contract && ctx.contract.length > 0 &&
        !mayRunContract(ctx.contract, { blue: s.blue.version, green: s.green.version }).allowed) {
        return { state: { ...s, runContractMigrations: false } };
    }
    const target = rollbackTarget(before, ctx.now, ctx.rollbackWindowMinutes);
    if (!flipped && changed.includes(idle) && target === idle && !ctx.allowDeployIntoRollbackWindow) {
        return { state: s, at: rollbackWindowEndsAt(before, ctx.rollbackWindowMinutes) };
    }
    return undefined;
}

function shellValue(v: string): string {
    return v.startsWith("$(") ? `"${v}"` : /^[A-Za-z0-9._:/+=@-]+$/.test(v) ? v : `'${v}'`;
}

/** The config commands that turn the release state `from` into `to` (liveColor, each color's keys, the contract switch). */
export function configCommands(from: ReleaseState, to: ReleaseState): string[] {
    const commands: string[] = [];
    if (from.liveColor !== to.liveColor) commands.push(`pulumi config set liveColor ${to.liveColor}`);
    for (const c of COLORS) {
        for (const ch of colorChanges(from[c], to[c])) {
            const key = configKeyFor(c, ch.field);
            commands.push(ch.after === undefined ? `pulumi config rm ${key}` : `pulumi config set ${key} ${shellValue(ch.after)}`);
        }
    }
    if (!!from.runContractMigrations !== !!to.runContractMigrations) {
        commands.push(`pulumi config set runContractMigrations ${!!to.runContractMigrations}`);
    }
    return commands;
}

/**
 * The first step of the safe sequence for a refused request: the nearest state the guard allows, found by applying
 * `towardSafety` moves (each takes away one refused part of the request); when none leads there, the recorded state
 * as it is (nothing changes). Undefined only when not even that is allowed.
 */
export function firstSafeStep(before: ReleaseState, after: ReleaseState, ctx: GuardContext): SafeStep | undefined {
    let state = after;
    let at = ctx.now;
    for (let i = 0; i < 12; i++) {
        const c = { ...ctx, now: at };
        if (judge(before, state, c).allowed) return safeStep(after, state, at, ctx.now);
        const next = towardSafety(before, state, c);
        if (!next) break;
        state = next.state;
        if (next.at) at = next.at;
    }
    const { lastFlipAt: _a, previousLiveColor: _b, lastFlipWasRollback: _c, beforeFlip: _d, pendingFlipTo: _e, autoFlipBack: _f, autoFlipBacks: _g, ...asRecorded } = before;
    const unchanged: ReleaseState = { ...asRecorded, runContractMigrations: false };
    return judge(before, unchanged, ctx).allowed ? safeStep(after, unchanged, ctx.now, ctx.now) : undefined;
}

function safeStep(from: ReleaseState, to: ReleaseState, at: Date, now: Date): SafeStep {
    const commands = [...configCommands(from, to), "pulumi up"].join(" && ");
    const later = at.getTime() > now.getTime();
    return {
        command: later ? `wait until ${at.toISOString()}, then ${commands}` : commands,
        state: to,
        ...(later ? { at: at.toISOString() } : {}),
    };
}

/**
 * The guard's verdict on one update from `before` (undefined on the first deploy: nothing is live yet) to `after`:
 * the release step, every reason to refuse it and, when refused, the first step of the safe sequence (which the
 * guard allows). `before` is first reconciled with `ctx.serving` (what the production rule really points at) and
 * `ctx.flipBack`: a flip whose gate did not pass is "pending gate", a flip the release agent's watch undid is an
 * automatic flip-back (every update that keeps `liveColor` on the failed color is refused until one accepts it), and
 * the color still serving is never called idle. With a record and `ctx.servingUnreadable`, every update is refused.
 * Used by the Pulumi program, the rehearsal and `release:check`.
 */
export function evaluateRelease(recorded: ReleaseState | undefined, after: ReleaseState, ctx: GuardContext): Verdict {
    if (recorded && ctx.servingUnreadable !== undefined && validateState(after).length === 0) {
        return { allowed: false, step: classifyStep(recorded, after, ctx), reasons: [unreadableRefusal(ctx.servingUnreadable)], notices: [] };
    }
    const before = recorded ? reconcile(recorded, ctx.serving, ctx.flipBack) : undefined;
    const verdict = judge(before, after, ctx);
    if (verdict.allowed || !before || validateState(after).length > 0) return verdict;
    const firstStep = firstSafeStep(before, after, ctx);
    return firstStep ? { ...verdict, firstStep } : verdict;
}

/**
 * The state the guard stores after an allowed update: `after`, with the flip fields carried over, or — when this
 * update flips — set to `now`, the old live color and whether it was a rollback, with the fields from before the flip
 * kept in `beforeFlip` until an update reads the production rule on the new color (`ctx.serving`). `before` is first
 * reconciled with `ctx.serving` and `ctx.flipBack`, so a flip that did not take effect is recorded as not happened,
 * and an automatic flip-back as a rollback at its time, appended to `autoFlipBacks`.
 */
export function recordStep(
    recorded: ReleaseState | undefined,
    after: ReleaseState,
    ctx: Pick<GuardContext, "now" | "rollbackWindowMinutes" | "serving" | "flipBack">,
): ReleaseState {
    const before = recorded ? reconcile(recorded, ctx.serving, ctx.flipBack) : undefined;
    // An automatic flip-back is recorded by the update that accepts it (the first one the guard allows after it).
    const autoFlipBacks = [...(before?.autoFlipBacks ?? []), ...(before?.autoFlipBack ? [before.autoFlipBack] : [])].slice(-AUTO_FLIP_BACKS_KEPT);
    const base: ReleaseState = {
        liveColor: after.liveColor,
        blue: after.blue,
        green: after.green,
        ...(after.runContractMigrations !== undefined ? { runContractMigrations: after.runContractMigrations } : {}),
        ...(autoFlipBacks.length > 0 ? { autoFlipBacks } : {}),
    };
    if (before && before.liveColor !== after.liveColor) {
        const wasRollback = rollbackTarget(before, ctx.now, ctx.rollbackWindowMinutes) === after.liveColor;
        const beforeFlip = flipFields(before);
        return {
            ...base,
            lastFlipAt: ctx.now.toISOString(),
            previousLiveColor: before.liveColor,
            ...(wasRollback ? { lastFlipWasRollback: true } : {}),
            beforeFlip,
        };
    }
    if (!before) return base;
    return { ...base, ...flipFields(before), ...(before.beforeFlip ? { beforeFlip: before.beforeFlip } : {}) };
}

/** Formats a verdict for a terminal or an error: the step, then each refusal and notice on its own line. */
export function formatVerdict(verdict: Verdict): string {
    const lines = [`release step: ${verdict.step} — ${verdict.allowed ? "allowed" : "REFUSED"}`];
    for (const r of verdict.reasons) lines.push(`  ✗ ${r}`);
    for (const n of verdict.notices) lines.push(`  ! ${n}`);
    if (verdict.firstStep) lines.push(`  → first step (the guard allows it): ${verdict.firstStep.command}`);
    return lines.join("\n");
}
