/**
 * What is really live on a stack, as pure functions over what Pulumi's state and Azure answer (`npm run status`).
 *
 * - The release guard's record comes from the stack's state (`pulumi stack export`: the guard resource's `state`,
 *   written even by an update that failed later, e.g. at the gate) — not from stack outputs, which a failed update
 *   does not change.
 * - The color the production rule points at comes from the load balancer as Azure answers (its `production` rule's
 *   pool), never from config.
 * - The release each VM runs comes from the product's proof, for any app: the `deploy-app: release-proof {json}` line
 *   vm-scripts/deploy-app.sh ends every successful run with (color, version, SHA-256, release, pid), as Azure keeps it
 *   in the VM's deploy-app extension instance view — the same proof (`releaseProofOf`) the program checks before the
 *   load balancer moves. No app endpoint is needed for it.
 * - Optionally, that something still answers: the app's `/health` on each VM's private IP, asked from inside the VNet
 *   by the release agent (an `az vm run-command invoke` whose output is parsed here).
 * The recorded state is reconciled with what serves, and with the release agent's flip-back record in the load
 * balancer's tag (`bluegreen-flip-back`), by the guard's own `reconcile`, so `status` and the next `pulumi up` cannot
 * disagree on whether a flip is pending or was flipped back automatically. Flip-backs an update has accepted come from
 * the guard's record (`autoFlipBacks`).
 */
import { Color, COLORS, idleColor } from "../release/colors";
import { deployCommand, describeFlipBack, reconcile, ReleaseState, rollbackTarget, rollbackWindowEndsAt } from "../release/guard";
import { FLIP_BACK_TAG, FlipBackRecord, parseFlipBackTag } from "../release/watchContract";
import { ExtensionView, LoadBalancerView, productionColorOf, ReleaseProof, releaseProofOf, releaseProofProblems } from "../release/readBack";

/** Where `status` reads from: the stack's state and Azure. Tests stand in for it; status/azureCli.ts is the real one. */
export interface StatusSources {
    /** The stack's state, as `pulumi stack export` prints it. */
    stackExport(): Promise<StackExport>;
    /** The stack's load balancer, as Azure answers (`az network lb show`). */
    loadBalancer(resourceGroup: string, name: string): Promise<LoadBalancerView | undefined>;
    /**
     * A VM's deploy-app extension with its instance view (`az vm extension show --instance-view`), or undefined when
     * the VM has none.
     */
    deployExtension(resourceGroup: string, vmName: string): Promise<{ readonly instanceView?: ExtensionView } | undefined>;
    /**
     * Asks every host for the app's health path from inside the VNet (on the release agent) and returns the raw
     * output: one line per host, `<ip> <HTTP status>` (`000` when it did not answer).
     */
    askHealth(resourceGroup: string, agentVm: string, hosts: readonly string[], port: number, path: string): Promise<string>;
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
    /** Each color's VMs: the Azure name and the private IP, in VM order. */
    readonly vms: Readonly<Record<Color, readonly VmRef[]>>;
}

/** One app VM as the stack's state knows it. */
export interface VmRef {
    readonly name: string;
    readonly ip: string;
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
    // A color's VMs: tagged with the color, logical name `<color set>-vm-<index>`; the index is the place in vmPrivateIps.
    const vms = (c: Color): VmRef[] =>
        resources
            .filter((r) => r.type === "azure-native:compute:VirtualMachine" && (r.outputs?.tags as Record<string, string> | undefined)?.color === c)
            .map((r) => ({ index: Number(/-vm-(\d+)$/.exec(lastName(r.urn))?.[1] ?? Number.NaN), name: String(r.outputs?.name) }))
            .filter((v) => Number.isInteger(v.index) && (ips[c] ?? [])[v.index] !== undefined)
            .sort((a, b) => a.index - b.index)
            .map((v) => ({ name: v.name, ip: (ips[c] ?? [])[v.index] }));
    return {
        recorded: guard.state as ReleaseState,
        rollbackWindowMinutes: Number(guard.rollbackWindowMinutes ?? 60),
        resourceGroup: String(rg.name),
        loadBalancer: String(lb.name),
        agentVm: String(agent.name),
        vms: { blue: vms("blue"), green: vms("green") },
    };
}

/** One VM: the release its deployment proved, and (when asked) what its health path answers. */
export interface VmStatus {
    readonly name: string;
    readonly ip: string;
    /** The product's proof from the VM's deploy-app extension instance view; absent when there is none. */
    readonly proof?: ReleaseProof;
    /** Why the instance view could not be read (the VM or its extension is missing). */
    readonly unreadable?: string;
    /** The HTTP status of `/health` asked from the release agent ("000" no answer); absent when not asked. */
    readonly health?: string;
}

/** Parses the agent's output (`<ip> <HTTP status>` per line) for the hosts asked. A host missing from the output did not answer. */
export function parseHealthAnswers(output: string, hosts: readonly string[]): Record<string, string> {
    const lines = new Map<string, string>();
    for (const line of output.split("\n")) {
        const m = /^(\d+\.\d+\.\d+\.\d+)\s+(\d{3})\s*$/.exec(line.trim());
        if (m) lines.set(m[1], m[2]);
    }
    return Object.fromEntries(hosts.map((ip) => [ip, lines.get(ip) ?? "000"]));
}

/** The command that re-runs the deployment on every VM of a color without changing the version. */
export function redeployCommand(color: Color): string {
    return `pulumi config set ${color}ForceUpdateTag "$(date +%s)" && pulumi up`;
}

/**
 * Problems with one color's VMs: each VM's proof against what the stack records for the color (its version and
 * artifact SHA-256: the config of the last update; `releaseProofProblems`, as the program checks before the load
 * balancer moves), and a health path that does not answer 200.
 */
export function vmProblems(color: Color, vms: readonly VmStatus[], recorded: { readonly version: string; readonly sha256?: string }, resourceGroup: string): string[] {
    const problems: string[] = [];
    for (const vm of vms) {
        const who = `${color} VM ${vm.name} (${vm.ip})`;
        if (vm.unreadable) {
            problems.push(`${who}: its deploy-app extension could not be read (${vm.unreadable}): nothing proves which release it runs. ` +
                `Look at az vm extension show --resource-group ${resourceGroup} --vm-name ${vm.name} --name deploy-app --instance-view; then run the deployment again: ${redeployCommand(color)}`);
        } else {
            // A record from before checksums were kept compares the version and color only.
            const sha256 = recorded.sha256 ?? vm.proof?.sha256 ?? "";
            const found = releaseProofProblems([{ name: vm.name, view: vm.proof ? proofView(vm.proof) : undefined }], { color, version: recorded.version, sha256 }, redeployCommand(color));
            problems.push(...found.map((p) => `${who}${p.slice(vm.name.length)}`)); // each starts with the VM's name
        }
        if (vm.health !== undefined && vm.health !== "200") {
            problems.push(`${who}: /health answers ${vm.health === "000" ? "nothing (no answer in 5 s)" : `HTTP ${vm.health}`} from the release agent: ` +
                `the process the deployment proved is not serving. Look at its journal: az vm run-command invoke -g ${resourceGroup} -n ${vm.name} --command-id RunShellScript --scripts "journalctl -t bluegreen-app -n 100"; run the deployment again: ${redeployCommand(color)}`);
        }
    }
    return problems;
}

/** An instance view holding just this proof (to hand a read proof to `releaseProofProblems`). */
function proofView(proof: ReleaseProof): ExtensionView {
    return { statuses: [{ message: `deploy-app: release-proof ${JSON.stringify(proof)}` }] };
}

/** The whole status of a stack. */
export interface StackStatus {
    /** The color the production rule points at (Azure), or undefined when it points at neither pool. */
    readonly serving?: Color;
    /** The color the guard recorded as live (the last `pulumi up` that passed the guard). */
    readonly recordedLive: Color;
    /** A recorded flip to this color did not take effect (its gate did not pass): "pending gate". */
    readonly pendingFlipTo?: Color;
    /** The production rule points elsewhere than the record with no pending flip and no flip-back record for it: moved outside `pulumi up`. */
    readonly movedOutside: boolean;
    /**
     * The release agent's watch sent production back from the recorded live color (the load balancer's tag
     * `bluegreen-flip-back`, for the recorded flip) and no update has accepted it yet: every `pulumi up` is refused until
     * liveColor names the color production went back to.
     */
    readonly autoFlipBack?: FlipBackRecord;
    /** Automatic flip-backs updates have accepted (the guard's record, stack output `autoFlipBacks`), oldest first. */
    readonly autoFlipBacks: readonly FlipBackRecord[];
    /** What each color is recorded to run, and what its VMs prove (and answer on /health, when asked). */
    readonly colors: Readonly<Record<Color, { readonly recordedVersion: string; readonly recordedSha256?: string; readonly vms: readonly VmStatus[] }>>;
    /** The instant rollback target and until when, if the window is open. */
    readonly rollback?: { readonly to: Color; readonly until: string; readonly minutesLeft: number };
    /** Problems found (a VM proving another release or none, a health path not answering 200). */
    readonly problems: readonly string[];
    /** The next safe step, as commands. */
    readonly next: string;
}

/** Judges what the stack's state and Azure say, at `now`. */
export function judgeStatus(facts: StackFacts, lb: LoadBalancerView | undefined, vms: Readonly<Record<Color, readonly VmStatus[]>>, now: Date): StackStatus {
    const serving = productionColorOf(lb);
    const seen = reconcile(facts.recorded, serving, parseFlipBackTag(lb?.tags?.[FLIP_BACK_TAG]));
    const autoFlipBack = seen.autoFlipBack;
    const live = seen.liveColor;
    const idle = idleColor(live);
    // The load balancer's `bluegreen-live` tag is what the last PUT by `pulumi up` set: the rule pointing elsewhere
    // than that tag was moved outside `pulumi up`; the tag itself not matching the record is a flip that never got sent.
    const sentLive = lb?.tags?.["bluegreen-live"];
    const movedOutside = !autoFlipBack && serving !== undefined && serving !== facts.recorded.liveColor && (sentLive !== undefined ? sentLive !== serving : !facts.recorded.beforeFlip);
    const pendingFlipTo = seen.pendingFlipTo && !movedOutside ? seen.pendingFlipTo : undefined;
    const target = rollbackTarget(seen, now, facts.rollbackWindowMinutes);
    const ends = rollbackWindowEndsAt(seen, facts.rollbackWindowMinutes);
    const rollback = target && ends ? { to: target, until: ends.toISOString(), minutesLeft: Math.ceil((ends.getTime() - now.getTime()) / 60_000) } : undefined;
    const problems: string[] = [];
    if (serving === undefined) problems.push("the load balancer's production rule points at neither the blue nor the green pool (or the load balancer could not be read)");
    for (const c of COLORS) problems.push(...vmProblems(c, vms[c], { version: seen[c].version, sha256: seen[c].settings?.artifactSha256 }, facts.resourceGroup));
    let next: string;
    if (autoFlipBack) {
        next =
            `production was flipped back automatically (${describeFlipBack(autoFlipBack)}); every pulumi up is refused while liveColor says ${autoFlipBack.from}. ` +
            `1) accept it: pulumi config set liveColor ${autoFlipBack.to} && pulumi up (in git: revert the flip commit to ${autoFlipBack.from}); ` +
            `2) deploy the fix onto ${autoFlipBack.from} (not a rollback target, allowed at once): ${deployCommand(autoFlipBack.from, "<fixed version>")}, ` +
            `and check it on the staging endpoint; 3) flip to ${autoFlipBack.from} again with a new flip: pulumi config set liveColor ${autoFlipBack.from} && pulumi up`;
    } else if (pendingFlipTo) {
        next =
            `the flip to ${pendingFlipTo} is pending (its gate did not pass; ${live} still serves). 1) put liveColor back: ` +
            `pulumi config set liveColor ${live} && pulumi up (in git: revert the flip commit); 2) deploy the fix to ${pendingFlipTo}: ` +
            `${deployCommand(pendingFlipTo, "<fixed version>")}, ` +
            `and check it on the staging endpoint; 3) flip again: pulumi config set liveColor ${pendingFlipTo} && pulumi up`;
    } else if (movedOutside) {
        next = `the production rule points at ${serving}, but the last update recorded ${facts.recorded.liveColor}: it was moved outside pulumi up (or undone automatically). ` +
            `Make the config say what serves: pulumi config set liveColor ${serving} && pulumi up`;
    } else if (problems.some((p) => p.startsWith(`${live} `))) {
        next = `the live color ${live} does not run or serve the release recorded for it: if a flip just happened and it is broken, roll back` +
            (rollback ? ` (pulumi config set liveColor ${rollback.to} && pulumi up, possible until ${rollback.until})` : "") +
            `; else run the deployment again: ${redeployCommand(live)}`;
    } else if (problems.some((p) => p.startsWith(`${idle} `))) {
        next = `the idle color ${idle} does not run or serve the release recorded for it: do not flip to it. Run its deployment again: ${redeployCommand(idle)} ` +
            `(or deploy a fixed release: ${deployCommand(idle, "<version>")}), then npm run status again`;
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
        ...(autoFlipBack ? { autoFlipBack } : {}),
        autoFlipBacks: facts.recorded.autoFlipBacks ?? [],
        colors: {
            blue: { recordedVersion: seen.blue.version, ...shaOf(seen.blue.settings), vms: vms.blue },
            green: { recordedVersion: seen.green.version, ...shaOf(seen.green.settings), vms: vms.green },
        },
        ...(rollback ? { rollback } : {}),
        problems,
        next,
    };
}

function shaOf(settings: Readonly<Record<string, string>> | undefined): { recordedSha256?: string } {
    return settings?.artifactSha256 ? { recordedSha256: settings.artifactSha256 } : {};
}

/** One VM for a terminal: `vm-0 10.20.1.10 proves 1.0.0 (sha256 3f2a9c01b7de…, pid 4242), /health 200`. */
function formatVm(vm: VmStatus): string {
    const proved = vm.proof
        ? `proves ${vm.proof.color === "" ? "" : `${vm.proof.color} `}${vm.proof.version} (sha256 ${vm.proof.sha256.slice(0, 12)}…, pid ${vm.proof.pid})`
        : vm.unreadable ? "(deploy-app extension unreadable)" : "(no release proof)";
    return `${vm.name} ${vm.ip} ${proved}${vm.health !== undefined ? `, /health ${vm.health === "000" ? "no answer" : vm.health}` : ""}`;
}

/** The status for a terminal. */
export function formatStatus(stack: string, s: StackStatus): string {
    const lines = [`stack ${stack}`];
    lines.push(`  production rule → ${s.serving ?? "(neither pool)"}   (read from Azure; the last update recorded ${s.recordedLive})`);
    if (s.pendingFlipTo) lines.push(`  flip to ${s.pendingFlipTo}: PENDING GATE — it did not take effect; ${s.serving} still serves`);
    if (s.movedOutside) lines.push(`  the production rule was moved outside pulumi up (or undone automatically)`);
    if (s.autoFlipBack) lines.push(`  AUTOMATIC FLIP-BACK, not accepted yet: ${describeFlipBack(s.autoFlipBack)}`);
    const accepted = s.autoFlipBacks[s.autoFlipBacks.length - 1];
    if (accepted) lines.push(`  last accepted automatic flip-back (${s.autoFlipBacks.length} recorded, stack output autoFlipBacks): ${describeFlipBack(accepted)}`);
    for (const c of COLORS) {
        const sha = s.colors[c].recordedSha256 ? ` (sha256 ${s.colors[c].recordedSha256?.slice(0, 12)}…)` : "";
        lines.push(`  ${c}${s.serving === c ? " (live)" : ""}: recorded ${s.colors[c].recordedVersion}${sha}`);
        for (const vm of s.colors[c].vms) lines.push(`    ${formatVm(vm)}`);
        if (s.colors[c].vms.length === 0) lines.push("    (VMs not read)");
    }
    lines.push(s.rollback ? `  rollback window: ${s.rollback.minutesLeft} min left (to ${s.rollback.to}, until ${s.rollback.until})` : "  rollback window: closed");
    for (const p of s.problems) lines.push(`  ✗ ${p}`);
    lines.push(`  next safe step: ${s.next}`);
    return lines.join("\n");
}

/**
 * Reads everything and judges it. `readVms` false skips the VMs altogether; `askHealth` false skips the run command
 * on the release agent (the proofs are still read: seconds, not a minute).
 */
export async function stackStatus(sources: StatusSources, now: Date, opts: { readVms: boolean; askHealth: boolean; port: number; healthPath: string }): Promise<StackStatus> {
    const facts = stackFacts(await sources.stackExport());
    const lb = await sources.loadBalancer(facts.resourceGroup, facts.loadBalancer);
    const all = [...facts.vms.blue, ...facts.vms.green];
    const health = opts.readVms && opts.askHealth && all.length > 0
        ? parseHealthAnswers(await sources.askHealth(facts.resourceGroup, facts.agentVm, all.map((v) => v.ip), opts.port, opts.healthPath), all.map((v) => v.ip))
        : undefined;
    const read = async (vm: VmRef): Promise<VmStatus> => {
        const h = health ? { health: health[vm.ip] } : {};
        try {
            const ext = await sources.deployExtension(facts.resourceGroup, vm.name);
            if (!ext) return { ...vm, unreadable: "no deploy-app extension on the VM", ...h };
            const proof = releaseProofOf(ext.instanceView);
            return { ...vm, ...(proof ? { proof } : {}), ...h };
        } catch (e) {
            return { ...vm, unreadable: (e as Error).message.split("\n")[0], ...h };
        }
    };
    const vms = {
        blue: opts.readVms ? await Promise.all(facts.vms.blue.map(read)) : [],
        green: opts.readVms ? await Promise.all(facts.vms.green.map(read)) : [],
    };
    return judgeStatus(facts, lb, vms, now);
}
