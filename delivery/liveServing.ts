/**
 * What `npm run release:check -- --live` reads from the running stack, per stack: the color the load balancer's
 * production rule points at and the release agent's flip-back record in its tag (`bluegreen-flip-back`), as the
 * program reads them before its release guard decides (components/lib/servingColor.ts) — so the check refuses what
 * `pulumi up` would refuse after an automatic flip-back. Read-only, through the CLIs `npm run status` uses: `pulumi
 * stack export` for the resource group and the load balancer's name (status/status.ts `stackFacts`), `az network lb
 * show` for the load balancer. Both sign in as their own logins do; no credential of its own.
 */
import { execFileSync } from "child_process";
import { ServingRead, servingReadFailure, servingReadOf, LoadBalancerView } from "../release/readBack";
import { StackExport, stackFacts } from "../status/status";

/** Runs a CLI and returns its stdout; throws with its stderr (tests stand in for it). */
export type CliRunner = (command: string, args: string[]) => string;

/** What the check reads for one stack (the name in the stack file's name, `Pulumi.<stack>.yaml`). */
export type LiveServing = (stack: string) => ServingRead;

const runCli: CliRunner = (command, args) => {
    try {
        return execFileSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
        const err = e as { code?: string; stderr?: string; message: string };
        if (err.code === "ENOENT") throw new Error(`${command} is not installed or not on PATH (--live reads through it)`);
        throw new Error(`${command} ${args.slice(0, 3).join(" ")} failed: ${(err.stderr || err.message).trim()}`);
    }
};

/**
 * Reads each stack through `pulumi` and `az`. `org` prefixes the stack's name (`<org>/<stack>`, as Pulumi Cloud names
 * it). A stack never deployed (no load balancer in its state) is "nothing to read yet"; any other failure is
 * `unreadable`, which the guard turns into a refusal, as in `pulumi up`.
 */
export function cliLiveServing(cwd: string, org?: string, run: CliRunner = runCli): LiveServing {
    return (stack) => {
        const ref = org ? `${org}/${stack}` : stack;
        let exported: StackExport;
        try {
            exported = JSON.parse(run("pulumi", ["stack", "export", "--stack", ref, "--cwd", cwd])) as StackExport;
        } catch (e) {
            return { unreadable: `reading the state of stack ${ref} failed: ${(e as Error).message.split("\n")[0]}` };
        }
        let facts: ReturnType<typeof stackFacts>;
        try {
            facts = stackFacts(exported);
        } catch {
            return {}; // never deployed (or only partly): nothing serves yet
        }
        try {
            const lb = JSON.parse(run("az", ["network", "lb", "show", "--resource-group", facts.resourceGroup, "--name", facts.loadBalancer, "--output", "json"])) as LoadBalancerView;
            return servingReadOf(lb);
        } catch (e) {
            return servingReadFailure(facts.resourceGroup, facts.loadBalancer, e);
        }
    };
}
