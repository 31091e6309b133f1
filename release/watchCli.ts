/**
 * The post-flip watch's command line on the release agent (dist/release/watchCli.js in the tool bundle;
 * vm-scripts/agent-watch.sh starts `run` as the systemd unit bluegreen-watch.service). Node built-ins only.
 *
 *   node watchCli.js check   --spec <file> [--state-dir <dir>]   is the spec watchable? (agent-watch.sh, before it replaces a watch)
 *   node watchCli.js run     --spec <file> --state-dir <dir>     watch until pass, fail (→ one flip-back), stop, promote or `until`
 *   node watchCli.js stop    --state-dir <dir> [--flip <id>]     kill switch: the watch ends next interval, production stays as it is
 *   node watchCli.js promote --state-dir <dir> [--flip <id>]     end the watch early: the new color stays live
 *   node watchCli.js status  --state-dir <dir> [--flip <id>] [--json | --brief]   the state, verdicts and any flip-back record
 *
 * `--flip` defaults to the flip of `<state-dir>/spec.json` (the newest one agent-watch.sh started).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { flipBack } from "./flipBack";
import { ARM_RESOURCE, imdsToken } from "./imdsToken";
import type { FlipBackRecord, WatchSpec } from "./watchContract";
import { FlipBackResult, flipDir, isEnded, listWatchStates, readWatchState, requestControl, runWatch, watchSpecProblems, WatchState } from "./watch";

/** Turns a spec into the function that moves production back (the agent's ARM call with its managed identity). */
export type FlipBackFactory = (spec: WatchSpec, log: (line: string) => void) => (record: FlipBackRecord) => Promise<FlipBackResult>;

/**
 * The real flip-back: release/flipBack.ts against `spec.armEndpoint` for `spec.loadBalancerId`, with the given token
 * source — by default a token of the agent's managed identity for Azure Resource Manager from IMDS (`IMDS_URL`
 * overrides IMDS's address, as in vm-scripts/deploy-app.sh: the rehearsal's stand-in; `IDENTITY_CLIENT_ID` a
 * user-assigned identity). The rehearsal passes the stand-in's token (rehearsal/armFront.ts).
 */
export function armFlipBack(spec: WatchSpec, log: (line: string) => void, token: () => Promise<string> = imdsArmToken): (record: FlipBackRecord) => Promise<FlipBackResult> {
    return (record) =>
        flipBack({
            from: record.from,
            to: record.to,
            record,
            loadBalancerId: spec.loadBalancerId,
            armEndpoint: spec.armEndpoint,
            token,
            log: (line) => log(`flip-back: ${line}`),
        });
}

/** The managed identity's token for ARM, from IMDS. */
function imdsArmToken(): Promise<string> {
    return imdsToken(ARM_RESOURCE, {
        ...(process.env.IMDS_URL ? { endpoint: process.env.IMDS_URL } : {}),
        ...(process.env.IDENTITY_CLIENT_ID ? { clientId: process.env.IDENTITY_CLIENT_ID } : {}),
    });
}

export interface CliIo {
    readonly out: (line: string) => void;
    readonly err: (line: string) => void;
}

const USAGE = [
    "usage: node watchCli.js check   --spec <file> [--state-dir <dir>]",
    "       node watchCli.js run     --spec <file> --state-dir <dir>",
    "       node watchCli.js stop    --state-dir <dir> [--flip <id>]",
    "       node watchCli.js promote --state-dir <dir> [--flip <id>]",
    "       node watchCli.js status  --state-dir <dir> [--flip <id>] [--json | --brief]",
].join("\n");

/** `--name value` and `--flag` options. */
function options(args: readonly string[]): Record<string, string | true> {
    const o: Record<string, string | true> = {};
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith("--")) throw new Error(`unexpected argument ${JSON.stringify(a)}`);
        const next = args[i + 1];
        if (next !== undefined && !next.startsWith("--")) {
            o[a.slice(2)] = next;
            i++;
        } else o[a.slice(2)] = true;
    }
    return o;
}

function readSpec(file: string): WatchSpec {
    let spec: WatchSpec;
    try {
        spec = JSON.parse(fs.readFileSync(file, "utf8")) as WatchSpec;
    } catch (e) {
        throw new Error(`cannot read the spec ${file}: ${(e as Error).message}`);
    }
    const problems = watchSpecProblems(spec);
    if (problems.length > 0) throw new Error(`the spec ${file} cannot be watched: ${problems.join("; ")}`);
    return spec;
}

/** The flip a control or status command is about: `--flip`, else the newest spec's. */
function flipOf(o: Record<string, string | true>, stateDir: string): string {
    if (typeof o.flip === "string") return o.flip;
    const file = path.join(stateDir, "spec.json");
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, "utf8")) as WatchSpec).flipId;
    const states = listWatchStates(stateDir);
    if (states.length > 0) return states[states.length - 1].flipId;
    throw new Error(`no watch in ${stateDir} (no spec.json, no flips/): nothing started one (docs/post-flip-watch.md)`);
}

/** A few lines for people: the state, the last verdict, the end, the flip-back. */
export function describeState(s: WatchState): string[] {
    const verdicts = s.events.filter((e) => e.type === "verdict");
    const lines = [
        `flip ${s.flipId}: ${s.spec.from} → ${s.spec.to}, watched until ${s.spec.until}: ${s.status}`,
        `${s.intervals} interval(s) of ${s.spec.thresholds.watchIntervalSeconds} s judged; verdicts: ${verdicts.map((e) => e.verdict).join(" ") || "none yet"}`,
        ...(s.last ? [`last analysis: ${s.last.verdict}: ${s.last.reasons.join("; ")}`] : []),
        ...(s.ended ? [`ended ${s.ended.at}: ${s.ended.outcome}: ${s.ended.reasons.join("; ")}`] : []),
        ...(s.flipBack ? [`flip-back: ${s.flipBack.outcome}${s.flipBack.problems.length ? `: ${s.flipBack.problems.join("; ")}` : ""}`] : []),
    ];
    return lines;
}

/** The command line. Resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo, flipBackFor: FlipBackFactory = armFlipBack): Promise<number> {
    const [command, ...rest] = argv;
    try {
        const o = options(rest);
        const stateDir = typeof o["state-dir"] === "string" ? o["state-dir"] : undefined;
        if (command === "check" && typeof o.spec === "string") {
            const spec = readSpec(o.spec);
            const ended = stateDir ? readWatchState(stateDir, spec.flipId) : undefined;
            io.out(`watch spec ok: flip ${spec.flipId}, ${spec.to} (${spec.targets.map((t) => t.name).join(", ")}) watched until ${spec.until}; on fail back to ${spec.from}` +
                (ended && isEnded(ended.status) ? ` (this flip's watch already ended: ${ended.status}; it is not watched again)` : ""));
            return 0;
        }
        if (command === "run" && typeof o.spec === "string" && stateDir) {
            const spec = readSpec(o.spec);
            const result = await runWatch(spec, { stateDir, flipBack: flipBackFor(spec, io.out), log: io.out });
            io.out(`watch ${spec.flipId}: ${result.outcome}${result.alreadyEnded ? " (ended before)" : ""}`);
            return 0;
        }
        if ((command === "stop" || command === "promote") && stateDir) {
            const flipId = flipOf(o, stateDir);
            const state = readWatchState(stateDir, flipId);
            if (state && isEnded(state.status)) {
                io.out(`the watch of flip ${flipId} already ended (${state.status}); nothing to ${command}`);
                return 0;
            }
            const file = requestControl(stateDir, flipId, command);
            io.out(`${command} requested for the watch of flip ${flipId} (${file}); it ends within one interval`);
            return 0;
        }
        if (command === "status" && stateDir) {
            const flipId = flipOf(o, stateDir);
            const state = readWatchState(stateDir, flipId);
            if (!state) {
                io.out(`flip ${flipId}: no watch state yet in ${flipDir(stateDir, flipId)}`);
                return 0;
            }
            if (o.json === true) {
                const recordFile = path.join(flipDir(stateDir, flipId), "flip-back.json");
                io.out(JSON.stringify({ state, flipBack: fs.existsSync(recordFile) ? JSON.parse(fs.readFileSync(recordFile, "utf8")) : undefined }, null, 2));
            } else if (o.brief === true) {
                io.out(`flip ${flipId}: ${state.spec.to} ${state.status} until ${state.spec.until}`);
            } else {
                for (const line of describeState(state)) io.out(line);
            }
            return 0;
        }
    } catch (e) {
        io.err(`watch: ${(e as Error).message}`);
        return 1;
    }
    io.err(USAGE);
    return 2;
}

if (require.main === module) {
    void main(process.argv.slice(2), { out: (s) => console.log(s), err: (s) => console.error(s) }).then((code) => {
        process.exitCode = code;
    });
}
