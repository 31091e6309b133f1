/**
 * What is really live on a stack, as pure functions over what Pulumi's state and Azure answer (`npm run status`).
 *
 * - The release guard's record comes from the stack's state (`pulumi stack export`: the guard resource's `state`,
 *   written even by an update that failed later, e.g. at the gate) — not from stack outputs, which a failed update
 *   does not change.
 * - The color the production rule points at comes from the load balancer as Azure answers (its `production` rule's
 *   pool), never from config.
 * - The version each VM answers comes from the VM itself: `/version` on its private IP, asked from inside the VNet by
 *   the release agent (an `az vm run-command invoke` whose output is parsed here).
 * The recorded state is reconciled with what serves by the guard's own `reconcile`, so `status` and the next
 * `pulumi up` cannot disagree on whether a flip is pending.
 */
import { Color, COLORS, idleColor } from "../release/colors";
import { deployCommand, reconcile, ReleaseState, rollbackTarget, rollbackWindowEndsAt } from "../release/guard";
import { LoadBalancerView, productionColorOf } from "../release/readBack";

/** Where `status` reads from: the stack's state and Azure. Tests stand in for it; status/azureCli.ts is the real one. */
export interface StatusSources {
    /** The stack's state, as `pulumi stack export` prints it. */
    stackExport(): Promise<StackExport>;
    /** The stack's load balancer, as Azure answers (`az network lb show`). */
    loadBalancer(resourceGroup: string, name: string): Promise<LoadBalancerView | undefined>;
    /**
     * Asks every host for `/version` from inside the VNet (on the release agent) and returns the raw output: one line
     * per host, `<ip> <body>` (an empty body when it did not answer).
     */
    askVersions(resourceGroup: string, agentVm: string, hosts: readonly string[], port: number): Promise<string>;
}

/** The parts of `pulumi stack export` that `status` reads. */
export interface StackExport {
    readonly deployment?: {
        readonly resources?: readonly { readonly urn: string; readonly type: string; readonly outputs?: Record<string, unknown> }[];
    };
}

/** What `status` found in the stack's state. */
export interface StackFacts {
    readonly recorded: ReleaseState;
    readonly rollbackWindowMinutes: number;
    readonly resourceGroup: string;
    readonly loadBalancer: string;
    readonly agentVm: string;
    readonly vmIps: Readonly<Record<Color, readonly string[]>>;
}

function lastName(urn: string): string {
    return urn.split("::").pop() ?? "";
}

/**
 * The guard's record, the resource group, the load balancer, the agent VM and each color's VM addresses from the
 * stack's state; throws naming what is missing (e.g. a stack never deployed).
 */
export function stackFacts(exported: StackExport): StackFacts {
    const resources = exported.deployment?.resources ?? [];
    const find = (pred: (r: (typeof resources)[number]) => boolean, what: string) => {
        const r = resources.find(pred);
        if (!r?.outputs) throw new Error(`the stack's state has no ${what}: has this stack been deployed (pulumi up)?`);
        return r.outputs;
    };
    const guard = find((r) => lastName(r.urn) === "release-guard", "release guard");
    const rg = find((r) => r.type === "azure-native:resources:ResourceGroup", "resource group");
    const lb = find((r) => r.type === "azure-native:network:LoadBalancer", "load balancer");
    const agent = find((r) => r.type === "azure-native:compute:VirtualMachine" && lastName(r.urn).startsWith("agent"), "release agent VM");
    const stack = find((r) => r.type === "pulumi:pulumi:Stack", "stack outputs");
    const ips = (stack.vmPrivateIps ?? {}) as Partial<Record<Color, string[]>>;
    return {
        recorded: guard.state as ReleaseState,
        rollbackWindowMinutes: Number(guard.rollbackWindowMinutes ?? 60),
        resourceGroup: String(rg.name),
        loadBalancer: String(lb.name),
        agentVm: String(agent.name),
        vmIps: { blue: ips.blue ?? [], green: ips.green ?? [] },
    };
}

/** One VM's answer to `/version`. */
export interface VmAnswer {
    readonly ip: string;
    readonly version?: string;
    readonly color?: string;
    /** Why there is no version (no answer, not JSON). */
    readonly problem?: string;
}

/** Parses the agent's output (`<ip> <body>` per line) for the hosts asked. A host missing from the output did not answer. */
export function parseVersionAnswers(output: string, hosts: readonly string[]): VmAnswer[] {
    const lines = new Map<string, string>();
    for (const line of output.split("\n")) {
        const m = /^(\d+\.\d+\.\d+\.\d+)\s?(.*)$/.exec(line.trim());
        if (m) lines.set(m[1], m[2]);
    }
    return hosts.map((ip) => {
        const body = lines.get(ip);
        if (!body) return { ip, problem: "no answer" };
        try {
            const parsed = JSON.parse(body) as { version?: unknown; color?: unknown };
            return { ip, ...(typeof parsed.version === "string" ? { version: parsed.version } : { problem: "no version in the answer" }), ...(typeof parsed.color === "string" ? { color: parsed.color } : {}) };
        } catch {
            return { ip, problem: `not JSON: ${body.slice(0, 80)}` };
        }
    });
}

/** The whole status of a stack. */
export interface StackStatus {
    /** The color the production rule points at (Azure), or undefined when it points at neither pool. */
    readonly serving?: Color;
    /** The color the guard recorded as live (the last `pulumi up` that passed the guard). */
    readonly recordedLive: Color;
    /** A recorded flip to this color did not take effect (its gate did not pass): "pending gate". */
    readonly pendingFlipTo?: Color;
    /** The production rule points elsewhere than the record with no pending flip: moved outside `pulumi up` (or undone automatically). */
    readonly movedOutside: boolean;
    /** What each color is recorded to run, and what its VMs answer. */
    readonly colors: Readonly<Record<Color, { readonly recordedVersion: string; readonly answers: readonly VmAnswer[] }>>;
    /** The instant rollback target and until when, if the window is open. */
    readonly rollback?: { readonly to: Color; readonly until: string; readonly minutesLeft: number };
    /** Problems found (a VM answering another version, no answer). */
    readonly problems: readonly string[];
    /** The next safe step, as commands. */
    readonly next: string;
}

/** Judges what the stack's state and Azure say, at `now`. */
export function judgeStatus(facts: StackFacts, lb: LoadBalancerView | undefined, answers: Readonly<Record<Color, readonly VmAnswer[]>>, now: Date): StackStatus {
    const serving = productionColorOf(lb);
    const seen = reconcile(facts.recorded, serving);
    const live = seen.liveColor;
    const idle = idleColor(live);
    // The load balancer's `bluegreen-live` tag is what the last PUT by `pulumi up` set: the rule pointing elsewhere
    // than that tag was moved outside `pulumi up`; the tag itself not matching the record is a flip that never got sent.
    const sentLive = lb?.tags?.["bluegreen-live"];
    const movedOutside = serving !== undefined && serving !== facts.recorded.liveColor && (sentLive !== undefined ? sentLive !== serving : !facts.recorded.beforeFlip);
    const pendingFlipTo = seen.pendingFlipTo && !movedOutside ? seen.pendingFlipTo : undefined;
    const target = rollbackTarget(seen, now, facts.rollbackWindowMinutes);
    const ends = rollbackWindowEndsAt(seen, facts.rollbackWindowMinutes);
    const rollback = target && ends ? { to: target, until: ends.toISOString(), minutesLeft: Math.ceil((ends.getTime() - now.getTime()) / 60_000) } : undefined;
    const problems: string[] = [];
    if (serving === undefined) problems.push("the load balancer's production rule points at neither the blue nor the green pool (or the load balancer could not be read)");
    for (const c of COLORS) {
        for (const a of answers[c]) {
            if (a.problem) problems.push(`${c} VM ${a.ip}: ${a.problem}`);
            else if (a.version !== seen[c].version) problems.push(`${c} VM ${a.ip} answers version ${a.version}, but ${c} is recorded at ${seen[c].version}`);
            else if (a.color !== undefined && a.color !== c) problems.push(`${c} VM ${a.ip} answers color ${a.color}`);
        }
    }
    let next: string;
    if (pendingFlipTo) {
        next =
            `the flip to ${pendingFlipTo} is pending (its gate did not pass; ${live} still serves). 1) put liveColor back: ` +
            `pulumi config set liveColor ${live} && pulumi up (in git: revert the flip commit); 2) deploy the fix to ${pendingFlipTo}: ` +
            `${deployCommand(pendingFlipTo, "<fixed version>")}, ` +
            `and check it on the staging endpoint; 3) flip again: pulumi config set liveColor ${pendingFlipTo} && pulumi up`;
    } else if (movedOutside) {
        next = `the production rule points at ${serving}, but the last update recorded ${facts.recorded.liveColor}: it was moved outside pulumi up (or undone automatically). ` +
            `Make the config say what serves: pulumi config set liveColor ${serving} && pulumi up`;
    } else if (problems.some((p) => p.startsWith(`${live} `))) {
        next = `the live color ${live} does not answer as recorded: if a flip just happened and it is broken, roll back` +
            (rollback ? ` (pulumi config set liveColor ${rollback.to} && pulumi up, possible until ${rollback.until})` : "") +
            `; else run the deployment again: pulumi config set retryTag <a new value> && pulumi up`;
    } else if (rollback && rollback.to === idle) {
        next = `${live} is live; ${idle} stays the instant rollback target for ${rollback.minutesLeft} min (pulumi config set liveColor ${idle} && pulumi up). ` +
            `Deploy the next release to ${idle} after ${rollback.until}.`;
    } else {
        next = `deploy the next release to the idle color ${idle}: npm run app:pack -- <version>, then ${deployCommand(idle, "<version>")}`;
    }
    return {
        ...(serving ? { serving } : {}),
        recordedLive: facts.recorded.liveColor,
        ...(pendingFlipTo ? { pendingFlipTo } : {}),
        movedOutside,
        colors: {
            blue: { recordedVersion: seen.blue.version, answers: answers.blue },
            green: { recordedVersion: seen.green.version, answers: answers.green },
        },
        ...(rollback ? { rollback } : {}),
        problems,
        next,
    };
}

/** The status for a terminal. */
export function formatStatus(stack: string, s: StackStatus): string {
    const lines = [`stack ${stack}`];
    lines.push(`  production rule → ${s.serving ?? "(neither pool)"}   (read from Azure; the last update recorded ${s.recordedLive})`);
    if (s.pendingFlipTo) lines.push(`  flip to ${s.pendingFlipTo}: PENDING GATE — it did not take effect; ${s.serving} still serves`);
    if (s.movedOutside) lines.push(`  the production rule was moved outside pulumi up (or undone automatically)`);
    for (const c of COLORS) {
        const answers = s.colors[c].answers.map((a) => `${a.ip} ${a.version ?? `(${a.problem})`}`).join(", ") || "(not asked)";
        lines.push(`  ${c}${s.serving === c ? " (live)" : ""}: recorded ${s.colors[c].recordedVersion}; VMs answer: ${answers}`);
    }
    lines.push(s.rollback ? `  rollback window: ${s.rollback.minutesLeft} min left (to ${s.rollback.to}, until ${s.rollback.until})` : "  rollback window: closed");
    for (const p of s.problems) lines.push(`  ✗ ${p}`);
    lines.push(`  next safe step: ${s.next}`);
    return lines.join("\n");
}

/** Reads everything and judges it. `askVms` false skips the VMs (no run command on the agent). */
export async function stackStatus(sources: StatusSources, now: Date, opts: { askVms: boolean; port: number }): Promise<StackStatus> {
    const facts = stackFacts(await sources.stackExport());
    const lb = await sources.loadBalancer(facts.resourceGroup, facts.loadBalancer);
    const hosts = [...facts.vmIps.blue, ...facts.vmIps.green];
    const output = opts.askVms && hosts.length > 0 ? await sources.askVersions(facts.resourceGroup, facts.agentVm, hosts, opts.port) : "";
    const answers = {
        blue: opts.askVms ? parseVersionAnswers(output, facts.vmIps.blue) : [],
        green: opts.askVms ? parseVersionAnswers(output, facts.vmIps.green) : [],
    };
    return judgeStatus(facts, lb, answers, now);
}
