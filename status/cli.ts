/**
 * `npm run status -- --stack <name> [--no-health] [--no-vms] [--json]`: what is really live on a stack — the color the production
 * rule points at (read from Azure), the release each VM proved (its deploy-app extension's release proof, for any app)
 * and whether it answers `/health` (asked from the release agent inside the VNet),
 * whether a flip is pending (its gate did not pass), was flipped back automatically by the release agent's watch (the
 * record in the load balancer's tag) or was moved outside `pulumi up`, the rollback window left, and the next safe step. Read-only. See docs/status.md.
 */
import { parseArgs } from "util";
import { HEALTH_PATH, PORTS } from "../components/lib/ports";
import { cliSources } from "./azureCli";
import { formatStatus, stackStatus, StatusSources } from "./status";

export const USAGE = `Usage: npm run status -- --stack <name> [--no-health] [--no-vms] [--json]

What is really live on a stack, read from Azure (read-only):
  the color the load balancer's production rule points at; per VM, the release its deployment proved
  (version, artifact SHA-256, process id: the release proof in its deploy-app extension's instance view,
  for any app) and whether it answers /health (asked from the release agent inside the VNet:
  az vm run-command invoke, ~30-60 s); whether a flip is pending (its health gate did not pass) or was
  flipped back automatically by the release agent's watch (when, from, to, why: the load balancer's tag
  bluegreen-flip-back), the rollback window left, and the next safe step.

Options:
  --stack <name>  the Pulumi stack (e.g. dev)
  --no-health     skip /health (no run command on the agent; seconds instead of a minute)
  --no-vms        skip the VMs altogether (no proofs, no /health)
  --json          print the status as JSON
  --help          this text

Needs: pulumi (logged in to the stack's backend) and az (az login) on PATH.
Exit codes: 0 nothing wrong found, 1 a problem found (a VM proving another release or none, a VM not
answering /health, a pending flip, an automatic flip-back not accepted yet), 2 bad usage or an unreadable
source.`;

/** The command line, with its sources injectable (tests stand in for Azure). */
export async function main(argv: string[], out: (s: string) => void, sources?: (stack: string) => StatusSources, now = new Date()): Promise<number> {
    let values: { stack?: string; "no-health"?: boolean; "no-vms"?: boolean; json?: boolean; help?: boolean };
    try {
        values = parseArgs({ args: argv, options: { stack: { type: "string" }, "no-health": { type: "boolean" }, "no-vms": { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } }).values;
    } catch (e) {
        out(`status: ${(e as Error).message}\n\n${USAGE}`);
        return 2;
    }
    if (values.help) {
        out(USAGE);
        return 0;
    }
    if (!values.stack) {
        out(`status: --stack <name> is required, e.g. npm run status -- --stack dev\n\n${USAGE}`);
        return 2;
    }
    try {
        const status = await stackStatus((sources ?? ((s) => cliSources(s, process.cwd())))(values.stack), now, {
            readVms: !values["no-vms"],
            askHealth: !values["no-health"],
            port: PORTS.productionBackend,
            healthPath: HEALTH_PATH,
        });
        out(values.json ? JSON.stringify(status, null, 2) : formatStatus(values.stack, status));
        return status.problems.length > 0 || status.pendingFlipTo || status.movedOutside || status.autoFlipBack ? 1 : 0;
    } catch (e) {
        out(`status: ${(e as Error).message}`);
        return 2;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2), (s) => process.stdout.write(s + "\n")).then((code) => {
        process.exitCode = code;
    });
}
