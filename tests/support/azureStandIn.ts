/**
 * A stand-in for what Azure does with the requests the program's resources make, for tests that run the program
 * several times in a row with state carried from one update to the next (tests/support/pulumiProgram.ts
 * `runProgram(values, { previous, azure })`). It models the facts the release agent depends on (see
 * ../shared/FIELD-NOTES.md, "facts behind the second round"):
 *   - the engine sends a PUT only when a resource's inputs changed (or it is new): an unchanged run command is not sent;
 *   - a PUT of a run command executes it, unless its name is one that was deleted on that VM before: the Linux handler
 *     then says "already processed, will not run again" (recorded as a violation, and it does not run);
 *   - a run whose script fails fails the create (treatFailureAsDeploymentFailure), and the run command stays in
 *     state as created (azure-native checkpoints a failed long-running PUT);
 *   - a run command's instance view answers what its one execution did;
 *   - a load balancer's IP-based pools can come out empty on creation (pulumi-azure-native#3601);
 *   - the release agent's automatic flip-back moves the production rule and writes its record into the load balancer's
 *     tag `bluegreen-flip-back` in one PUT; a later PUT by the program replaces the rule and the tags with its own.
 */

/** One execution the stand-in ran. */
export interface Execution {
    readonly update: number;
    readonly vm: string;
    readonly name: string;
    /** The execution key the run command carries (its `execution` tag). */
    readonly key: string;
    readonly passed: boolean;
}

/** What decides whether an execution passes (default: every run passes). */
export type Outcome = (run: { key: string; name: string; vm: string; script: string }) => boolean;

interface StoredRunCommand {
    script: string;
    view: { executionState: string; exitCode: number; startTime: string; endTime: string; output?: string; error?: string };
}

export class AzureStandIn {
    /** Which update (0-based) is running; the harness sets it. */
    public update = 0;
    public now: () => Date = () => new Date();
    /** Decides each execution's result. */
    public outcome: Outcome = () => true;
    /** When true, a load balancer's pools come out empty on its creation (pulumi-azure-native#3601). */
    public dropPoolsOnCreate = false;

    public readonly executions: Execution[] = [];
    /** Run-command names created again on a VM after being deleted there (the handler would never run them). */
    public readonly violations: string[] = [];
    /** PUTs of the load balancer, with the pools and the tags they carried. */
    public readonly loadBalancerPuts: { update: number; productionPool: string; gate: string }[] = [];

    private readonly runCommands = new Map<string, Map<string, StoredRunCommand>>();
    private readonly everCreated = new Map<string, Set<string>>();
    private pools = new Map<string, string[]>();
    /** Tags written on a scope (TagAtScope), by scope id. */
    public readonly scopeTags = new Map<string, Record<string, string>>();
    /**
     * When set, the load balancer is read back as pointing production at this pool (a change outside the stack: by
     * hand, or the release agent's flip-back); the program's next PUT of the load balancer replaces it.
     */
    public productionOverride?: string;
    /** Tags written on the load balancer outside the stack (the agent's `bluegreen-flip-back`); the program's next PUT replaces them. */
    public loadBalancerExtraTags: Record<string, string> = {};
    /** When set, reading the load balancer fails with this message (an Azure error: no access, throttled, …). */
    public loadBalancerReadError?: string;
    /** Key Vault secrets the user has NOT put into the vault (the app's own, read through ARM before they are granted). */
    public readonly missingSecrets = new Set<string>();
    /** Each VM's deploy-app extension: the status message its last run left (deploy-app.sh's output tail). */
    private extensions = new Map<string, string>();

    /** Key Vault's answer to a read of a secret through ARM: its resource id, or 404 when the user has not put it there. */
    public vaultSecret(vaultName: string, secretName: string): Record<string, unknown> {
        if (this.missingSecrets.has(secretName)) throw new Error(`(SecretNotFound) Secret ${secretName} not found in vault ${vaultName}. Status: 404`);
        return { id: `/subscriptions/sub/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/${vaultName}/secrets/${secretName}`, name: secretName };
    }

    /** An independent copy (for several next updates tried from the same state). */
    public clone(): AzureStandIn {
        const copy = new AzureStandIn();
        copy.update = this.update;
        copy.outcome = this.outcome;
        copy.dropPoolsOnCreate = this.dropPoolsOnCreate;
        copy.executions.push(...this.executions);
        copy.violations.push(...this.violations);
        copy.loadBalancerPuts.push(...this.loadBalancerPuts);
        for (const [vm, commands] of this.runCommands) copy.runCommands.set(vm, new Map([...commands].map(([n, c]) => [n, { script: c.script, view: { ...c.view } }])));
        for (const [vm, names] of this.everCreated) copy.everCreated.set(vm, new Set(names));
        copy.pools = new Map([...this.pools].map(([n, a]) => [n, [...a]]));
        for (const [scope, tags] of this.scopeTags) copy.scopeTags.set(scope, { ...tags });
        copy.productionOverride = this.productionOverride;
        copy.loadBalancerExtraTags = { ...this.loadBalancerExtraTags };
        copy.loadBalancerReadError = this.loadBalancerReadError;
        for (const name of this.missingSecrets) copy.missingSecrets.add(name);
        copy.extensions = new Map(this.extensions);
        return copy;
    }

    private vm(vmName: string): Map<string, StoredRunCommand> {
        if (!this.runCommands.has(vmName)) this.runCommands.set(vmName, new Map());
        return this.runCommands.get(vmName) as Map<string, StoredRunCommand>;
    }

    /** A PUT of a run command (the engine decided its inputs changed): executes it, or throws like a failed create. */
    public putRunCommand(inputs: Record<string, unknown>): void {
        const vmName = String(inputs.vmName);
        const name = String(inputs.runCommandName);
        const script = String((inputs.source as { script?: string } | undefined)?.script ?? "");
        const key = String((inputs.tags as Record<string, string> | undefined)?.execution ?? "");
        const commands = this.vm(vmName);
        const ever = this.everCreated.get(vmName) ?? new Set<string>();
        this.everCreated.set(vmName, ever);
        const existing = commands.get(name);
        if (existing && existing.script === script) return; // Azure does not run an unchanged command again
        if (!existing && ever.has(name)) {
            this.violations.push(`update ${this.update}: ${name} created again on ${vmName} after it was deleted there; the handler will not run it`);
            commands.set(name, { script, view: { executionState: "Pending", exitCode: -1, startTime: "", endTime: "" } });
            return;
        }
        ever.add(name);
        const passed = this.outcome({ key, name, vm: vmName, script });
        const at = this.now().toISOString();
        commands.set(name, {
            script,
            view: passed
                ? { executionState: "Succeeded", exitCode: 0, startTime: at, endTime: at, output: `${key}: ok` }
                : { executionState: "Failed", exitCode: 1, startTime: at, endTime: at, error: `${key}: FAILED (scripted by the test)` },
        });
        this.executions.push({ update: this.update, vm: vmName, name, key, passed });
        if (!passed) throw new Error(`run command ${name} on ${vmName} failed (exit code 1)`);
    }

    public deleteRunCommand(inputs: Record<string, unknown>): void {
        this.vm(String(inputs.vmName)).delete(String(inputs.runCommandName));
    }

    /**
     * A PUT of a VM extension (the deployment): Azure runs deploy-app.sh, which ends with its release proof for the
     * color, version and SHA-256 the wrapper script exports.
     */
    public putExtension(inputs: Record<string, unknown>): void {
        const protectedSettings = inputs.protectedSettings as Record<string, unknown> | { value?: { script?: string } } | undefined;
        const settings = (protectedSettings && "value" in protectedSettings ? protectedSettings.value : protectedSettings) as { script?: string } | undefined;
        const wrapper = Buffer.from(String(settings?.script ?? ""), "base64").toString("utf8");
        const exported = (name: string) => /^export [A-Z_]+=/m.test(wrapper) ? (new RegExp(`^export ${name}='([^']*)'$`, "m").exec(wrapper)?.[1] ?? "") : "";
        const proof = { color: exported("APP_COLOR"), version: exported("APP_VERSION"), sha256: exported("ARTIFACT_SHA256"), release: `releases/${exported("APP_VERSION")}`, pid: 4242 };
        this.extensions.set(String(inputs.vmName), `Enable succeeded: \n[stdout]\ndeploy-app: ${proof.color} runs ${proof.version}\ndeploy-app: release-proof ${JSON.stringify(proof)}\n\n[stderr]\n`);
    }

    /** A VM extension with its instance view, as `getVirtualMachineExtension` (expand instanceView) answers. */
    public extension(vmName: string, name: string): Record<string, unknown> {
        const message = this.extensions.get(vmName);
        if (message === undefined) throw new Error(`ResourceNotFound: extension ${name} does not exist on ${vmName}`);
        return { name, instanceView: { name, statuses: [{ code: "ProvisioningState/succeeded", level: "Info", displayStatus: "Provisioning succeeded", message }] } };
    }

    /** The run command's instance view, as `getVirtualMachineRunCommandByVirtualMachine` answers. */
    public instanceView(vmName: string, name: string): Record<string, unknown> {
        const found = this.vm(vmName).get(name);
        if (!found) throw new Error(`ResourceNotFound: run command ${name} does not exist on ${vmName}`);
        return { name, instanceView: found.view };
    }

    /** A PUT of the load balancer. */
    public putLoadBalancer(inputs: Record<string, unknown>, created: boolean): void {
        const pools = (inputs.backendAddressPools as { name: string; loadBalancerBackendAddresses?: { ipAddress?: string }[] }[] | undefined) ?? [];
        this.pools = new Map(pools.map((p) => [p.name, this.dropPoolsOnCreate && created ? [] : (p.loadBalancerBackendAddresses ?? []).map((a) => String(a.ipAddress))]));
        const rules = (inputs.loadBalancingRules as { name: string; backendAddressPool?: { id?: string } }[] | undefined) ?? [];
        const production = rules.find((r) => r.name === "production")?.backendAddressPool?.id ?? "";
        // Azure keeps what the PUT's body says: the rule and the tags are the program's again.
        this.productionOverride = undefined;
        this.loadBalancerExtraTags = {};
        this.loadBalancerPuts.push({
            update: this.update,
            productionPool: production.split("/").pop() ?? "",
            gate: String((inputs.tags as Record<string, string> | undefined)?.["bluegreen-gate"] ?? ""),
        });
    }

    /** A backend pool, as `getLoadBalancerBackendAddressPool` answers. */
    public pool(name: string): Record<string, unknown> {
        return { name, loadBalancerBackendAddresses: (this.pools.get(name) ?? []).map((ipAddress) => ({ ipAddress })) };
    }

    /** A PUT of tags at a scope (Azure replaces the scope's tags). */
    public putTags(inputs: Record<string, unknown>): void {
        const tags = (inputs.properties as { tags?: Record<string, string> } | undefined)?.tags ?? {};
        this.scopeTags.set(String(inputs.scope), { ...tags });
    }

    /** A resource group, as `getResourceGroup` answers (its tags are those written at its scope). */
    public resourceGroup(name: string): Record<string, unknown> {
        const scope = [...this.scopeTags.keys()].find((s) => s.endsWith(`/${name}`) || s.includes(`/resourceGroups/${name}`));
        return { name, tags: scope ? this.scopeTags.get(scope) : undefined };
    }

    /**
     * The release agent's automatic flip-back: one PUT of the load balancer (GET, change, PUT) that points the production
     * rule at `tagValue`'s `to` pool and writes the record into the tag `bluegreen-flip-back`, the other tags kept.
     */
    public agentFlipBack(to: string, tagValue: string): void {
        this.productionOverride = to;
        this.loadBalancerExtraTags = { ...this.loadBalancerExtraTags, "bluegreen-flip-back": tagValue };
    }

    /** The load balancer, as `getLoadBalancer` answers: its production rule's pool and its tags, as last sent (or moved since). */
    public loadBalancer(name: string): Record<string, unknown> {
        // The engine hands an invoke's failure to the SDK in the gRPC error's `details` (runtime/invoke.js).
        if (this.loadBalancerReadError !== undefined) throw Object.assign(new Error(this.loadBalancerReadError), { details: this.loadBalancerReadError });
        const production = this.productionOverride ?? this.productionPool;
        if (production === undefined) throw new Error(`ResourceNotFound: load balancer ${name}`);
        const last = this.loadBalancerPuts[this.loadBalancerPuts.length - 1];
        return {
            name,
            loadBalancingRules: [{ name: "production", backendAddressPool: { id: `/lb/${name}/backendAddressPools/${production}` } }],
            tags: { "bluegreen-gate": last.gate, "bluegreen-live": last.productionPool, ...this.loadBalancerExtraTags },
        };
    }

    /** The pool the production rule points at now (from the last PUT), or undefined before the first. */
    public get productionPool(): string | undefined {
        return this.loadBalancerPuts[this.loadBalancerPuts.length - 1]?.productionPool;
    }
}
