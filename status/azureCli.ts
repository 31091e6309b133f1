/**
 * The real sources of `npm run status`: the Pulumi CLI for the stack's state, the Azure CLI for Azure. The Azure CLI
 * signs in the way `az login` (or a service principal / managed identity / OIDC login in CI) did, so `status` needs
 * no credential of its own — the choice over REST with a token from `az account get-access-token`, which would need
 * the same login and more code. Nothing here changes anything: `az network lb show` and `az vm extension show` read,
 * and `az vm run-command invoke` on the release agent only runs `curl` against each VM's health path.
 */
import { execFile } from "child_process";
import { promisify } from "util";
import type { ExtensionView, LoadBalancerView } from "../release/readBack";
import type { StackExport, StatusSources } from "./status";

const run = promisify(execFile);

async function json<T>(command: string, args: string[]): Promise<T> {
    try {
        const { stdout } = await run(command, args, { maxBuffer: 64 * 1024 * 1024 });
        return JSON.parse(stdout) as T;
    } catch (e) {
        const err = e as { code?: string; stderr?: string; message: string };
        if (err.code === "ENOENT") throw new Error(`${command} is not installed or not on PATH (status reads through it)`);
        throw new Error(`${command} ${args.slice(0, 3).join(" ")} failed: ${(err.stderr || err.message).trim()}`);
    }
}

/** The script the agent runs: one line per host, `<ip> <HTTP status of GET path>` (`000` when it does not answer in 5 s). */
export function healthProbeScript(hosts: readonly string[], port: number, path: string): string {
    return hosts.map((h) => `printf '%s %s\\n' ${h} "$(curl -s -o /dev/null -w '%{http_code}' -m 5 http://${h}:${port}${path})"`).join("\n");
}

/** `StatusSources` through `pulumi` and `az` for one stack (`--stack` as Pulumi names it). */
export function cliSources(stack: string, cwd: string): StatusSources {
    return {
        stackExport: () => json<StackExport>("pulumi", ["stack", "export", "--stack", stack, "--cwd", cwd]),
        loadBalancer: (resourceGroup, name) => json<LoadBalancerView>("az", ["network", "lb", "show", "--resource-group", resourceGroup, "--name", name, "--output", "json"]),
        // The extension resource with `instanceView` ({ name, statuses[], substatuses[] }): the Custom Script
        // extension keeps the tail of deploy-app.sh's stdout in a status message, where the release proof is.
        deployExtension: (resourceGroup, vmName) => json<{ instanceView?: ExtensionView }>("az", [
            "vm", "extension", "show", "--resource-group", resourceGroup, "--vm-name", vmName, "--name", "deploy-app", "--instance-view", "--output", "json",
        ]),
        askHealth: async (resourceGroup, agentVm, hosts, port, path) => {
            const answer = await json<{ value?: { message?: string }[] }>("az", [
                "vm", "run-command", "invoke", "--resource-group", resourceGroup, "--name", agentVm,
                "--command-id", "RunShellScript", "--scripts", healthProbeScript(hosts, port, path), "--output", "json",
            ]);
            // RunShellScript's message: "Enable succeeded: \n[stdout]\n...\n[stderr]\n..."
            const message = answer.value?.[0]?.message ?? "";
            const stdout = /\[stdout\]\n([\s\S]*?)(\n\[stderr\]|$)/.exec(message);
            return stdout ? stdout[1] : message;
        },
    };
}
