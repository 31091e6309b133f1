import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/azure-native/compute";
import * as network from "@pulumi/azure-native/network";
import * as authorization from "@pulumi/azure-native/authorization";
import { Color } from "../release/colors";
import { ImageReference } from "../config/validate";
import { vmPrivateIp, zoneFor } from "./lib/ipLayout";
import { artifactReaderArgs, linuxVmArgs, principalIdOf, staticNicArgs } from "./lib/linuxVm";
import { readVmScript } from "./lib/vmScripts";
import { childOptions } from "./lib/childOptions";

export interface ColorSetArgs {
    /** The color these VMs belong to; every child's name starts with it. */
    readonly color: Color;
    /** Resource group of the VMs and NICs. */
    readonly resourceGroupName: pulumi.Input<string>;
    /** Azure region. */
    readonly location: pulumi.Input<string>;
    /** The app subnet the NICs join. */
    readonly subnetId: pulumi.Input<string>;
    /** The app subnet's CIDR (plain): static private IPs are computed from it. */
    readonly subnetCidr: string;
    /** Number of VMs (1 to 30). */
    readonly instanceCount: number;
    /** Azure VM size, e.g. `Standard_B2s`. */
    readonly vmSize: string;
    /** Marketplace image of the OS disk. */
    readonly image: ImageReference;
    /**
     * Availability zones, assigned round-robin (`vm-0` → zones[0], `vm-1` → zones[1], …).
     * @default [] (no zones)
     */
    readonly zones?: readonly string[];
    /** Linux administrator user (SSH key login only). */
    readonly adminUsername: string;
    /** OpenSSH public key of the administrator (a new one replaces the VMs: Azure cannot change it in place). */
    readonly sshPublicKey: string;
    /** ARM id of the artifact container: each VM's identity gets Storage Blob Data Reader on it. */
    readonly artifactContainerId: pulumi.Input<string>;
    /**
     * cloud-init user data, identical for every VM and every release (never per-release values:
     * Azure refuses a change of customData on an existing VM).
     * @default the text of vm-scripts/provision/cloud-init.yaml
     */
    readonly cloudInit?: string;
    /**
     * Keep the VMs' provisioning as it is: the color is pinned to older VM tools (components/lib/vmTools.ts), so a new
     * cloud-init in this checkout is not sent (and a replaced VM keeps the old one). Otherwise a new cloud-init replaces
     * the color's VMs (Azure refuses a customData change in place) — the guard allows that on the idle color only.
     * @default false
     */
    readonly keepProvisioning?: boolean;
}

/** The VM inputs whose change replaces a color's VMs (besides customData, unless the color keeps its provisioning). */
export const VM_REPLACED_ON = ["storageProfile.imageReference", "osProfile.linuxConfiguration.ssh.publicKeys"] as const;

/** One VM of a color, as other components need it. */
export interface ColorVm {
    /** Logical name, e.g. `blue-vm-0`. */
    readonly name: string;
    /** Azure VM name (for extensions and run commands). */
    readonly vmName: pulumi.Output<string>;
    readonly vmId: pulumi.Output<string>;
    /** Static private IP (known at plan time). */
    readonly privateIp: string;
    /**
     * Object id of the VM's system-assigned identity (it reads the app's secret in Key Vault).
     * @default undefined (hand-built VMs in tests)
     */
    readonly principalId?: pulumi.Output<string>;
    /**
     * The VM identity's read access to the artifact container (its role assignment). Anything that downloads the
     * artifact on this VM must wait for it, or a first deploy races the grant and gets 403.
     * @default undefined (no access to wait for)
     */
    readonly artifactAccess?: pulumi.Resource;
}

/**
 * The VMs of ONE color: NICs with static private IPs (no public IP, no reference to the load balancer:
 * the LB's pools are IP-based), VMs with SSH-key-only login, a system-assigned identity that may read
 * the artifact container, zones round-robin, and a static cloud-init. Deploying the app is NOT done here
 * (see AppDeployment), so a release never touches these resources.
 */
export class ColorSet extends pulumi.ComponentResource {
    public readonly color: Color;
    public readonly vms: readonly ColorVm[];
    /** Static private IPs of the VMs, in VM order. */
    public readonly privateIps: readonly string[];

    constructor(name: string, args: ColorSetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:colorSet:ColorSet", name, {}, opts);
        const childOpts = childOptions(this, opts);
        this.color = args.color;
        const customData = Buffer.from(args.cloudInit ?? readVmScript("provision/cloud-init.yaml"), "utf8").toString("base64");
        const common = { resourceGroupName: args.resourceGroupName, location: args.location };

        const vms: ColorVm[] = [];
        for (let index = 0; index < args.instanceCount; index++) {
            const vmLogicalName = `${name}-vm-${index}`;
            const privateIp = vmPrivateIp(args.subnetCidr, args.color, index);
            const zone = zoneFor(args.zones ?? [], index);

            const tags = { color: args.color };
            const nic = new network.NetworkInterface(`${vmLogicalName}-nic`, staticNicArgs({ ...common, subnetId: args.subnetId, privateIp, tags }), childOpts);

            const vm = new compute.VirtualMachine(vmLogicalName, linuxVmArgs({
                ...common,
                computerName: vmLogicalName,
                vmSize: args.vmSize,
                image: args.image,
                zone,
                adminUsername: args.adminUsername,
                sshPublicKey: args.sshPublicKey,
                customData,
                nicId: nic.id,
                tags,
            }), {
                ...childOpts,
                // Azure refuses to change the image, the SSH key or the customData of an existing VM (PropertyChangeNotAllowed,
                // pulumi-azure-native#1117, #577) although azure-native plans them as updates: a new one (of the idle color;
                // the guard refuses it on the live one) replaces the VM. Delete first, because the new VM takes over the same
                // NIC; the engine then also replaces what sits on the old VM (its extension, run commands and role assignment).
                replaceOnChanges: [...VM_REPLACED_ON, ...(args.keepProvisioning ? [] : ["osProfile.customData"])],
                deleteBeforeReplace: true,
                ...(args.keepProvisioning ? { ignoreChanges: ["osProfile.customData"] } : {}),
            });

            const principalId = principalIdOf(vm);
            const artifactAccess = new authorization.RoleAssignment(`${vmLogicalName}-artifact-reader`, artifactReaderArgs(args.artifactContainerId, principalId),
                { ...childOpts, replaceOnChanges: ["principalId"] }); // Azure never updates a role assignment's principal: a new VM identity needs a new one

            vms.push({ name: vmLogicalName, vmName: vm.name, vmId: vm.id, privateIp, principalId, artifactAccess });
        }
        this.vms = vms;
        this.privateIps = vms.map((vm) => vm.privateIp);
        this.registerOutputs({ privateIps: this.privateIps, vmNames: vms.map((vm) => vm.vmName) });
    }
}
