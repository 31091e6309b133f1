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
}

/** The answer to one question ("may this flip happen?"): allowed when `reasons` is empty. */
export interface Decision {
    readonly allowed: boolean;
    /** Why not: each names what is wrong and gives the safe sequence. Empty when allowed. */
    readonly reasons: string[];
    /** Things the operator should see even though the step is allowed (an override in use, a rollback). */
    readonly notices: string[];
}

/** The whole verdict on one update. */
export interface Verdict extends Decision {
    readonly step: ReleaseStep;
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
                `Run them first: npm run db -- up --phase expand (the program runs them before the deploy of the idle color).`,
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
                    `(pulumi config set ${configKeyFor(color, "version")} ${m.requiresVersion} && pulumi up), ` +
                    `then run the contract (pulumi config set runContractMigrations true && pulumi up).`,
            );
        }
    }
    return { allowed: reasons.length === 0, reasons, notices: [] };
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
            `refusing to change ${live}, the live color (${describeChanges(liveChanges)}): its users would be hit by the change. ` +
                `Safe sequence: revert that change, then 1) deploy to the idle color ${idle} (pulumi config set ${keys.join(" / ")} && pulumi up), ` +
                `2) check it on the staging endpoint, 3) flip (pulumi config set liveColor ${idle} && pulumi up).` +
                (rollbackTarget(before, ctx.now, ctx.rollbackWindowMinutes) === idle
                    ? ` If the flip to ${live} failed (e.g. its health gate refused it), ${live} never took traffic: ` +
                      `put liveColor back first (pulumi config set liveColor ${idle} && pulumi up), then fix ${live} as the idle color.`
                    : ""),
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
        reasons.push(
            `refusing to flip ${from} → ${to} together with other changes (${what}): a flip must be the only change in its update, ` +
                `so the gate checks exactly what goes live and reverting it is a clean rollback. ` +
                `Safe sequence: 1) keep liveColor ${from} and apply the other changes (pulumi up; in git: their own commit), ` +
                `2) then flip alone (pulumi config set liveColor ${to} && pulumi up; in git: a commit that changes only liveColor).`,
        );
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
                `${from} becomes idle and is not a rollback target: deploy the fix onto it (pulumi config set ${configKeyFor(from, "version")} <fixed version> && pulumi up).`,
        );
    }
    return { allowed: reasons.length === 0, reasons, notices };
}

/**
 * The guard's verdict on one update from `before` (undefined on the first deploy: nothing is live yet) to `after`:
 * the release step, and every reason to refuse it. Used by the Pulumi program, the rehearsal and `release:check`.
 */
export function evaluateRelease(before: ReleaseState | undefined, after: ReleaseState, ctx: GuardContext): Verdict {
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
    } else {
        for (const d of [mayDeploy(before, after, ctx), mayFlip(before, after, ctx)]) {
            reasons.push(...d.reasons);
            notices.push(...d.notices);
        }
    }
    reasons.push(...pinnedToolsProblems(before, after, ctx.vmTools));
    if (after.runContractMigrations && ctx.contract && ctx.contract.length > 0) {
        const d = mayRunContract(ctx.contract, { blue: after.blue.version, green: after.green.version });
        reasons.push(...d.reasons);
    }
    return { allowed: reasons.length === 0, step, reasons, notices };
}

/**
 * The state the guard stores after an allowed update: `after`, with `lastFlipAt`, `previousLiveColor` and
 * `lastFlipWasRollback` carried over, or set to `now`, the old live color and whether it was a rollback when this
 * update flips.
 */
export function recordStep(
    before: ReleaseState | undefined,
    after: ReleaseState,
    ctx: Pick<GuardContext, "now" | "rollbackWindowMinutes">,
): ReleaseState {
    const base: ReleaseState = {
        liveColor: after.liveColor,
        blue: after.blue,
        green: after.green,
        ...(after.runContractMigrations !== undefined ? { runContractMigrations: after.runContractMigrations } : {}),
    };
    if (before && before.liveColor !== after.liveColor) {
        const wasRollback = rollbackTarget(before, ctx.now, ctx.rollbackWindowMinutes) === after.liveColor;
        return {
            ...base,
            lastFlipAt: ctx.now.toISOString(),
            previousLiveColor: before.liveColor,
            ...(wasRollback ? { lastFlipWasRollback: true } : {}),
        };
    }
    if (before?.lastFlipAt) {
        return {
            ...base,
            lastFlipAt: before.lastFlipAt,
            ...(before.previousLiveColor ? { previousLiveColor: before.previousLiveColor } : {}),
            ...(before.lastFlipWasRollback ? { lastFlipWasRollback: true } : {}),
        };
    }
    return base;
}

/** Formats a verdict for a terminal or an error: the step, then each refusal and notice on its own line. */
export function formatVerdict(verdict: Verdict): string {
    const lines = [`release step: ${verdict.step} — ${verdict.allowed ? "allowed" : "REFUSED"}`];
    for (const r of verdict.reasons) lines.push(`  ✗ ${r}`);
    for (const n of verdict.notices) lines.push(`  ! ${n}`);
    return lines.join("\n");
}
