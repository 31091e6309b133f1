import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as compute from "@pulumi/azure-native/compute";
import * as network from "@pulumi/azure-native/network";
import { ImageReference } from "../config/validate";
import { agentPrivateIp } from "./lib/ipLayout";
import { artifactReaderArgs, linuxVmArgs, principalIdOf, staticNicArgs } from "./lib/linuxVm";
import { readVmScript } from "./lib/vmScripts";
import { childOptions } from "./lib/childOptions";

export interface ReleaseAgentArgs {
    /** Resource group of the agent's VM and NIC. */
    readonly resourceGroupName: pulumi.Input<string>;
    /** Azure region. */
    readonly location: pulumi.Input<string>;
    /** The subnet the agent joins (the app subnet: it reaches every VM's backend port and the database from there). */
    readonly subnetId: pulumi.Input<string>;
    /** The subnet's CIDR (plain): the agent's static IP (`.5`) is computed from it. */
    readonly subnetCidr: string;
    /**
     * Azure VM size of the agent. It runs a migration or a gate at a time: the smallest size does.
     * @default "Standard_B1s"
     */
    readonly vmSize?: string;
    /** Marketplace image of the agent's OS disk (a new image replaces the agent VM; releases wait meanwhile). */
    readonly image: ImageReference;
    /** Linux administrator user (SSH key login only; the agent has no public IP). */
    readonly adminUsername: string;
    /** OpenSSH public key of the administrator. */
    readonly sshPublicKey: string;
    /** ARM id of the artifact container: the agent reads artifacts (the migrations and the runner they carry). */
    readonly artifactContainerId: pulumi.Input<string>;
    /**
     * Availability zone of the agent VM.
     * @default undefined (no zone)
     */
    readonly zone?: string;
    /**
     * cloud-init user data of the agent.
     * @default the text of vm-scripts/provision/agent-cloud-init.yaml
     */
    readonly cloudInit?: string;
}

/**
 * The release agent: one small VM in the virtual network that runs **no app code**. The product's actions run on it
 * as Azure run commands sent by `pulumi up` — the schema migrations of each color (components/migrationRun.ts) and
 * the health gate (components/healthGate.ts), which checks every VM of the target color from inside the VNet. Its
 * own managed identity is the only one that may read the database administrator's credential in Key Vault
 * (components/secretVault.ts), so no app VM, and no app, can ever ask for it.
 *
 * It is not on the serving path: the load balancer sends users to the colors' VMs only. When the agent is down,
 * users are served and releases wait (a run command to it fails, and the load balancer does not move). Patching:
 * Debian security updates install automatically (vm-scripts/provision/agent-cloud-init.yaml); a new image (config
 * `agentImage`) replaces the VM, which is safe at any time between releases.
 */
export class ReleaseAgent extends pulumi.ComponentResource {
    /** Azure name of the agent VM (for run commands). */
    public readonly vmName: pulumi.Output<string>;
    public readonly vmId: pulumi.Output<string>;
    /** Static private IP of the agent (`.5` of the subnet). */
    public readonly privateIp: string;
    /** Object id of the agent's system-assigned identity (for role assignments). */
    public readonly principalId: pulumi.Output<string>;
    /** The agent identity's read access to the artifact container: run commands that download wait for it. */
    public readonly artifactAccess: authorization.RoleAssignment;

    constructor(name: string, args: ReleaseAgentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:releaseAgent:ReleaseAgent", name, {}, opts);
        const childOpts = childOptions(this, opts);
        const common = { resourceGroupName: args.resourceGroupName, location: args.location };
        this.privateIp = agentPrivateIp(args.subnetCidr);

        const tags = { role: "release-agent" };
        const nic = new network.NetworkInterface(`${name}-nic`, staticNicArgs({ ...common, subnetId: args.subnetId, privateIp: this.privateIp, tags }), childOpts);

        const vm = new compute.VirtualMachine(`${name}-vm`, linuxVmArgs({
            ...common,
            computerName: `${name}-vm`,
            vmSize: args.vmSize ?? "Standard_B1s",
            image: args.image,
            zone: args.zone,
            adminUsername: args.adminUsername,
            sshPublicKey: args.sshPublicKey,
            customData: Buffer.from(args.cloudInit ?? readVmScript("provision/agent-cloud-init.yaml"), "utf8").toString("base64"),
            nicId: nic.id,
            tags,
        }), {
            ...childOpts,
            // Azure refuses an image, SSH key or customData change in place (pulumi-azure-native#1117, #577): a new one
            // replaces the agent, which takes over the same NIC (delete first). Its run commands and role assignments are
            // replaced with it.
            replaceOnChanges: ["storageProfile.imageReference", "osProfile.linuxConfiguration.ssh.publicKeys", "osProfile.customData"],
            deleteBeforeReplace: true,
        });

        this.vmName = vm.name;
        this.vmId = vm.id;
        this.principalId = principalIdOf(vm);
        this.artifactAccess = new authorization.RoleAssignment(`${name}-artifact-reader`, artifactReaderArgs(args.artifactContainerId, this.principalId),
            { ...childOpts, replaceOnChanges: ["principalId"] });

        this.registerOutputs({ vmName: this.vmName, privateIp: this.privateIp, principalId: this.principalId });
    }
}
