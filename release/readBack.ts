/**
 * Decisions on what Azure answers when the program reads back what it asked for, as pure functions.
 *
 * - A run command (a migration run, the health gate) counts only once the program has read its result from Azure —
 *   the run command's instance view: state Succeeded, exit code 0, and, when it was (re)created in this update,
 *   started inside this update. A create call that returned is not enough: azure-native checkpoints a failed
 *   long-running PUT as created, and a later `pulumi up` with unchanged inputs sends nothing, so nothing runs again.
 * - A backend pool counts only once it lists exactly the addresses this release step puts there: IP-based pools can
 *   come out empty on creation while the update reports success (pulumi-azure-native#3601, Azure/bicep#11905).
 *
 * Each refusal names what was read, why it is not enough, and the fix (a changed input: `retryTag`).
 */

import type { Color } from "./colors";
import { FLIP_BACK_TAG, FlipBackRecord, parseFlipBackTag } from "./watchContract";

/** The part of a run command's instance view the decision reads (azure-native VirtualMachineRunCommandInstanceViewResponse). */
export interface RunCommandView {
    readonly executionState?: string;
    readonly exitCode?: number;
    readonly startTime?: string;
    readonly endTime?: string;
    readonly output?: string;
    readonly error?: string;
    readonly executionMessage?: string;
}

export interface RunCommandContext {
    /** What ran, for messages: "the health gate of green (1.1.0)". */
    readonly what: string;
    /** The run command's name on the agent. */
    readonly name: string;
    /** True when the name was handed out in this update (so it must have run in this update). */
    readonly ranInThisUpdate: boolean;
    /** When this update started (the program's start). */
    readonly updateStartedAt: Date;
    /** The command that retries it, e.g. `pulumi config set retryTag 2 && pulumi up`. */
    readonly retry: string;
    /**
     * Tolerated difference between this machine's clock and Azure's, in seconds.
     * @default 300
     */
    readonly clockSkewSeconds?: number;
}

export interface ReadBackVerdict {
    readonly passed: boolean;
    /** Why not: empty when passed. */
    readonly problems: string[];
}

/** The last `lines` non-empty lines of a text, for a message (run command outputs can be long). */
export function tail(text: string | undefined, lines = 8): string {
    if (!text) return "";
    return text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "").slice(-lines).join("\n");
}

/** Did this run command run and pass — as far as Azure says? */
export function runCommandVerdict(view: RunCommandView | undefined, ctx: RunCommandContext): ReadBackVerdict {
    const where = `${ctx.what} (run command ${ctx.name} on the release agent)`;
    const fix = `Fix the cause, then run it again with a new name: ${ctx.retry}`;
    if (!view) {
        return { passed: false, problems: [`${where}: Azure returned no instance view, so nothing proves it ran. ${fix}`] };
    }
    const problems: string[] = [];
    const state = view.executionState ?? "(none)";
    if (state !== "Succeeded" || view.exitCode !== 0) {
        const said = tail(view.error) || tail(view.output) || view.executionMessage || "";
        problems.push(
            `${where} did not pass: execution state ${state}, exit code ${view.exitCode ?? "(none)"}` +
                (said ? `; it said:\n${said}\n` : ". ") +
                (ctx.ranInThisUpdate ? "" : "This is the result of its earlier run: Azure does not run an unchanged run command again. ") +
                fix,
        );
    } else if (ctx.ranInThisUpdate) {
        const started = view.startTime ? Date.parse(view.startTime) : Number.NaN;
        const earliest = ctx.updateStartedAt.getTime() - (ctx.clockSkewSeconds ?? 300) * 1000;
        if (Number.isNaN(started)) {
            problems.push(`${where} reports success but no start time, so nothing proves it ran in this update. ${fix}`);
        } else if (started < earliest) {
            problems.push(
                `${where} reports success from ${view.startTime}, before this update started (${ctx.updateStartedAt.toISOString()}): ` +
                    `that is an earlier run, not this one. ${fix}`,
            );
        }
    }
    return { passed: problems.length === 0, problems };
}

/** One backend pool as read back from Azure. */
export interface PoolView {
    readonly name: string;
    /** The addresses Azure lists (undefined when Azure lists none). */
    readonly addresses?: readonly (string | undefined)[];
}

/**
 * Do the pools list exactly the addresses this step puts there? One problem per pool that does not, naming the pool,
 * what is missing or extra, and the fix (a changed input re-sends the whole load balancer: a refresh would not).
 */
export function poolProblems(read: readonly PoolView[], expected: Readonly<Record<string, readonly string[]>>, retry: string): string[] {
    const problems: string[] = [];
    for (const [name, want] of Object.entries(expected)) {
        const pool = read.find((p) => p.name === name);
        const have = (pool?.addresses ?? []).filter((a): a is string => typeof a === "string" && a !== "");
        const missing = want.filter((a) => !have.includes(a));
        const extra = have.filter((a) => !want.includes(a));
        if (!pool || missing.length > 0 || extra.length > 0) {
            problems.push(
                `backend pool ${name} ${!pool ? "was not found on the load balancer" : `lists [${have.join(", ")}]`} but this step puts [${want.join(", ")}] there` +
                    (missing.length > 0 ? ` (missing: ${missing.join(", ")})` : "") +
                    (extra.length > 0 ? ` (not expected: ${extra.join(", ")})` : "") +
                    `. Azure can leave IP-based pools empty on creation (pulumi-azure-native#3601); \`pulumi up --refresh\` does not send them again. ` +
                    `Send the load balancer again with a changed input: ${retry}`,
            );
        }
    }
    return problems;
}

/** The retry command the messages suggest: a retryTag one higher than the current (or 1). */
export function retryCommand(currentRetryTag: string): string {
    const n = /^\d+$/.test(currentRetryTag) ? Number(currentRetryTag) + 1 : 1;
    return `pulumi config set retryTag ${n} && pulumi up`;
}

/** The part of a load balancer as read back from Azure that says where production goes (azure-native getLoadBalancer). */
export interface LoadBalancerView {
    readonly loadBalancingRules?: readonly { readonly name?: string; readonly backendAddressPool?: { readonly id?: string } }[];
    readonly tags?: Readonly<Record<string, string>>;
}

/** The resource-group tag that names the stack's load balancer, so the next update can read it before its guard decides. */
export const LOAD_BALANCER_LOCATOR_TAG = "bluegreen-load-balancer";

/**
 * What the program reads from Azure before the release guard decides (components/lib/servingColor.ts): the color the
 * production rule points at and the release agent's flip-back record in the load balancer's tag — or why it could
 * not be read. "Nothing to read yet" (no load balancer named in the resource group's tag: the first deploy) is
 * neither: every field is absent, and the guard trusts its record.
 */
export interface ServingRead {
    /** The color the production rule points at; absent when nothing exists yet, or it points at neither pool. */
    readonly color?: Color;
    /** The automatic flip-back the release agent recorded in the tag `bluegreen-flip-back`, when well-formed. */
    readonly flipBack?: FlipBackRecord;
    /** Why the read failed (an error from Azure): the guard then refuses every update while it has a record. */
    readonly unreadable?: string;
}

/** What a load balancer read back says: where production goes, and the agent's flip-back record if any. */
export function servingReadOf(lb: LoadBalancerView): ServingRead {
    const color = productionColorOf(lb);
    const flipBack = parseFlipBackTag(lb.tags?.[FLIP_BACK_TAG]);
    return { ...(color ? { color } : {}), ...(flipBack ? { flipBack } : {}) };
}

/** A failed read, for the guard's refusal: which read, what Azure said (first line), and how to look yourself. */
export function servingReadFailure(resourceGroup: string, loadBalancer: string | undefined, error: unknown): ServingRead {
    const said = (error instanceof Error ? error.message : String(error)).split("\n")[0].trim() || "(no message)";
    const what = loadBalancer === undefined
        ? `reading resource group ${resourceGroup} (its tag ${LOAD_BALANCER_LOCATOR_TAG} names the load balancer) failed: ${said}`
        : `reading load balancer ${loadBalancer} in resource group ${resourceGroup} failed: ${said}; look yourself: az network lb show --resource-group ${resourceGroup} --name ${loadBalancer}` +
          (/not ?found|\b404\b/i.test(said)
              ? ` (if it was deleted outside Pulumi: pulumi refresh, then az group update --name ${resourceGroup} --remove tags.${LOAD_BALANCER_LOCATOR_TAG}, and pulumi up creates it again)`
              : "");
    return { unreadable: what };
}

/**
 * The color the production rule really points at: the last segment of its backend pool's id (`…/backendAddressPools/green`),
 * or undefined when there is no production rule or it points at no color's pool.
 */
export function productionColorOf(lb: LoadBalancerView | undefined): "blue" | "green" | undefined {
    const rule = lb?.loadBalancingRules?.find((r) => r.name === "production");
    const pool = rule?.backendAddressPool?.id?.split("/").pop();
    return pool === "blue" || pool === "green" ? pool : undefined;
}

/** One status of a VM extension's instance view (azure-native InstanceViewStatusResponse). */
export interface ExtensionStatusView {
    readonly code?: string;
    readonly level?: string;
    readonly displayStatus?: string;
    readonly message?: string;
}

/** The part of a VM extension's instance view the proof is read from (the Custom Script extension's status). */
export interface ExtensionView {
    readonly statuses?: readonly ExtensionStatusView[];
    readonly substatuses?: readonly ExtensionStatusView[];
}

/** What deploy-app.sh proved on a VM: the release its unit's process runs, from the manifest it installed. */
export interface ReleaseProof {
    readonly color: string;
    readonly version: string;
    readonly sha256: string;
    readonly release: string;
    readonly pid: number;
}

/** The line deploy-app.sh ends every successful run with (Azure keeps the tail of its output in the status). */
export const RELEASE_PROOF_PREFIX = "deploy-app: release-proof ";

/** The last release proof in an extension's status messages, or undefined when there is none. */
export function releaseProofOf(view: ExtensionView | undefined): ReleaseProof | undefined {
    const messages = [...(view?.statuses ?? []), ...(view?.substatuses ?? [])].map((s) => s.message ?? "");
    let found: ReleaseProof | undefined;
    for (const line of messages.join("\n").split("\n")) {
        const at = line.indexOf(RELEASE_PROOF_PREFIX);
        if (at === -1) continue;
        try {
            const p = JSON.parse(line.slice(at + RELEASE_PROOF_PREFIX.length)) as Partial<ReleaseProof>;
            if (typeof p.color === "string" && typeof p.version === "string" && typeof p.sha256 === "string" && typeof p.pid === "number") {
                found = { color: p.color, version: p.version, sha256: p.sha256, release: String(p.release ?? ""), pid: p.pid };
            }
        } catch {
            // a truncated line proves nothing
        }
    }
    return found;
}

/**
 * Does every VM of a color run the release the deployment asked for — as the product proved it on the VM (the
 * manifest of that version installed from that SHA-256, the service's process started from its directory) and as
 * Azure reports the deployment's last run? One problem per VM that does not, naming what it proved and the fix.
 * An app's own endpoints play no part: this is what the gate relies on besides `/health`.
 */
export function releaseProofProblems(
    vms: readonly { readonly name: string; readonly view?: ExtensionView }[],
    expected: { readonly color: string; readonly version: string; readonly sha256: string },
    retry: string,
): string[] {
    const problems: string[] = [];
    for (const vm of vms) {
        const proof = releaseProofOf(vm.view);
        if (!proof) {
            problems.push(
                `${vm.name}: its deployment's last run (extension deploy-app, as Azure reports it) proves no release: it failed, did not finish, ` +
                    `or ran deploy-app.sh from before release proofs. Look at az vm extension show --vm-name ${vm.name} -n deploy-app --instance-view; ` +
                    `fix the cause, then run the deployment again: ${retry}`,
            );
            continue;
        }
        const same = proof.color === expected.color && proof.version === expected.version && proof.sha256.toLowerCase() === expected.sha256.toLowerCase() && proof.pid > 0;
        if (!same) {
            problems.push(
                `${vm.name}: proved ${proof.color} ${proof.version} (SHA-256 ${proof.sha256.slice(0, 12)}…, process ${proof.pid}), ` +
                    `but ${expected.color} must run ${expected.version} (SHA-256 ${expected.sha256.slice(0, 12)}…). Run the deployment again: ${retry}`,
            );
        }
    }
    return problems;
}
