/**
 * The post-flip watch, started by `pulumi up` on the release agent (issue 16; docs/post-flip-watch.md): after the load
 * balancer moved, a run command runs vm-scripts/agent-watch.sh on the agent, which starts the watch
 * (release/watchCli.ts from the tool bundle) as a systemd unit and returns within seconds. The watch then runs on the
 * agent by itself: it keeps going when the machine that ran `pulumi up` goes away, and on `fail` moves production back
 * to the rollback target with the agent's own identity.
 *
 * What the run does is decided by release/watchPlan.ts `watchAction` from the release guard's recorded flip fields
 * (its `state` output): a flip with a rollback target starts a watch of it (WATCH_SPEC: the flip's `lastFlipAt` as its
 * id, both colors' VMs, the thresholds, `until` = the flip + watchMinutes, the load balancer's id); a rollback stops a
 * running watch; the first deploy and every update before the first flip do nothing.
 *
 * When it runs: the guard names the run from a digest of its plain settings, the live color among them
 * (release/executions.ts): every flip and every rollback is a new run-command name, never one used before on the
 * agent; a deploy to the idle color keeps the name, so nothing runs again (the watch already runs on the agent).
 */
import * as pulumi from "@pulumi/pulumi";
import { Color } from "../release/colors";
import type { ExecutionRequest } from "../release/executions";
import type { ReleaseState } from "../release/guard";
import type { WatchSpec } from "../release/watchContract";
import { WatchAction, watchAction, WatchPlanSettings } from "../release/watchPlan";
import { AgentRunContext, agentScript, executionDigest, runOnAgent } from "./lib/agentRun";
import { childOptions } from "./lib/childOptions";
import { readVmScript } from "./lib/vmScripts";

/** The execution key of the watch's run on the agent. */
export const WATCH_KEY = "watch";

/** Seconds Azure lets agent-watch.sh run: fetching the tool bundle, then starting a unit. */
export const WATCH_RUN_TIMEOUT_SECONDS = 900;

/** What the watch run depends on (plain, known when the program starts): what names its execution. */
export interface PostFlipWatchSettings {
    /** The live color after this update (a flip or a rollback changes it: a new run). */
    readonly liveColor: Color;
    /** Its version (deploy-app.sh checks it when it fetches the tool bundle). */
    readonly version: string;
    /** Each color's VMs, the health path, the thresholds. */
    readonly plan: WatchPlanSettings;
    /** SHA-256 of the tool bundle holding dist/release/watchCli.js. */
    readonly toolsSha256: string;
}

/** The product's scripts the watch run writes on the agent. */
export interface WatchScripts {
    readonly agentWatch: string;
    readonly deployApp: string;
}

/** The committed vm-scripts the watch run uses. */
export function watchScripts(): WatchScripts {
    return { agentWatch: readVmScript("agent-watch.sh"), deployApp: readVmScript("deploy-app.sh") };
}

/** The watch run as the guard names it: a change of any setting, script or the retry tag is a new execution. */
export function postFlipWatchExecution(settings: PostFlipWatchSettings, scripts: WatchScripts, retryTag: string): ExecutionRequest {
    return { key: WATCH_KEY, digest: executionDigest({ kind: "post-flip-watch", settings, scripts, retryTag }) };
}

/** The run command's script: agent-watch.sh with WATCH_ACTION (watch | stop | none) and, to watch, WATCH_SPEC. */
export function postFlipWatchScript(action: WatchAction, settings: PostFlipWatchSettings, toolsUrl: string, scripts: WatchScripts): string {
    return agentScript({
        generatedBy: "components/postFlipWatch.ts",
        key: WATCH_KEY,
        env: [
            ["WATCH_ACTION", action.action],
            ["WATCH_WHY", action.why],
            ...(action.action === "watch" ? [["WATCH_SPEC", JSON.stringify(action.spec)] as const] : []),
            ["APP_COLOR", settings.liveColor],
            ["APP_VERSION", settings.version],
            ["TOOLS_URL", toolsUrl],
            ["TOOLS_SHA256", settings.toolsSha256],
        ],
        files: { "agent-watch.sh": scripts.agentWatch, "deploy-app.sh": scripts.deployApp },
        run: "agent-watch.sh",
    });
}

export interface PostFlipWatchArgs {
    /** What the run depends on (the same settings named its execution). */
    readonly settings: PostFlipWatchSettings;
    /** The release guard's recorded state after this update (its `state` output): the flip to watch, if any. */
    readonly guardState: pulumi.Input<ReleaseState>;
    /** The load balancer whose production rule the watch may send back (and nothing else). */
    readonly loadBalancerId: pulumi.Input<string>;
    /** URL of the tool bundle. */
    readonly toolsUrl: pulumi.Input<string>;
    /** The agent, the guard's names and this update's start. */
    readonly agent: AgentRunContext;
    /**
     * Texts of the scripts the run writes on the agent.
     * @default the committed vm-scripts ({@link watchScripts})
     */
    readonly scripts?: WatchScripts;
}

/**
 * Starts (or stops) the post-flip watch on the release agent as `<name>-run`. Make it depend on the load balancer: the
 * watch starts after production moved.
 */
export class PostFlipWatch extends pulumi.ComponentResource {
    /** What the run does in this update: `watch`, `stop` or `none`. */
    public readonly action: pulumi.Output<WatchAction["action"]>;
    /** Why (for people: the flip watched and until when, or why nothing is). */
    public readonly why: pulumi.Output<string>;
    /** The spec handed to the agent when it starts a watch. */
    public readonly spec: pulumi.Output<WatchSpec | undefined>;
    /** The run's name once Azure says agent-watch.sh passed; rejects otherwise. */
    public readonly verified: pulumi.Output<string>;

    constructor(name: string, args: PostFlipWatchArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:postFlipWatch:PostFlipWatch", name, {}, opts);
        const scripts = args.scripts ?? watchScripts();
        const decided = pulumi.all([args.guardState, args.loadBalancerId]).apply(([state, lbId]) => watchAction(state, args.settings.plan, lbId));
        this.action = decided.apply((d) => d.action);
        this.why = decided.apply((d) => d.why);
        this.spec = decided.apply((d) => (d.action === "watch" ? d.spec : undefined));
        const script = pulumi.all([decided, args.toolsUrl]).apply(([d, toolsUrl]) => postFlipWatchScript(d, args.settings, toolsUrl, scripts));
        const run = runOnAgent(`${name}-run`, {
            key: WATCH_KEY,
            what: `the post-flip watch's start on the release agent (${args.settings.liveColor})`,
            script,
            timeoutInSeconds: WATCH_RUN_TIMEOUT_SECONDS,
            tags: { color: args.settings.liveColor },
        }, args.agent, childOptions(this, opts));
        this.verified = run.verified;
        this.registerOutputs({ action: this.action, why: this.why });
    }
}
