/**
 * The inputs every Linux VM of this program shares (the colors' VMs and the release agent): a NIC with one static
 * private IP and no public IP, a VM with SSH-key-only login, a system-assigned identity, a Standard SSD OS disk deleted
 * with it, the NIC attached with `deleteOption: Detach` (the NIC, its IP and its pool entry outlive a replaced VM), boot
 * diagnostics, and the identity's read access to the artifact container. Pure builders: the components create the
 * resources (and keep their names).
 */
import * as pulumi from "@pulumi/pulumi";
import type * as authorization from "@pulumi/azure-native/authorization";
import type * as compute from "@pulumi/azure-native/compute";
import type * as network from "@pulumi/azure-native/network";
import type { ImageReference } from "../../config/validate";
import { roleDefinitionId, STORAGE_BLOB_DATA_READER_ROLE } from "./artifacts";

interface Placement {
    readonly resourceGroupName: pulumi.Input<string>;
    readonly location: pulumi.Input<string>;
}

/** A NIC in `subnetId` with the static private IP `privateIp`. */
export function staticNicArgs(p: Placement & { subnetId: pulumi.Input<string>; privateIp: string; tags: Record<string, string> }): network.NetworkInterfaceArgs {
    return {
        resourceGroupName: p.resourceGroupName,
        location: p.location,
        ipConfigurations: [{
            name: "primary",
            primary: true,
            subnet: { id: p.subnetId },
            privateIPAllocationMethod: "Static",
            privateIPAddress: p.privateIp,
            privateIPAddressVersion: "IPv4",
        }],
        tags: p.tags,
    };
}

export interface LinuxVmSpec extends Placement {
    readonly computerName: string;
    readonly vmSize: string;
    readonly image: ImageReference;
    /** Availability zone, or undefined for none. */
    readonly zone?: string;
    readonly adminUsername: string;
    readonly sshPublicKey: string;
    /** cloud-init, base64. */
    readonly customData: string;
    readonly nicId: pulumi.Input<string>;
    readonly tags: Record<string, string>;
}

/** A Linux VM with SSH-key-only login and a system-assigned identity, on `nicId`. */
export function linuxVmArgs(s: LinuxVmSpec): compute.VirtualMachineArgs {
    return {
        resourceGroupName: s.resourceGroupName,
        location: s.location,
        zones: s.zone ? [s.zone] : undefined,
        hardwareProfile: { vmSize: s.vmSize },
        identity: { type: "SystemAssigned" },
        storageProfile: {
            imageReference: { ...s.image },
            osDisk: { createOption: "FromImage", deleteOption: "Delete", managedDisk: { storageAccountType: "StandardSSD_LRS" } },
        },
        osProfile: {
            computerName: s.computerName,
            adminUsername: s.adminUsername,
            customData: s.customData,
            linuxConfiguration: {
                disablePasswordAuthentication: true,
                provisionVMAgent: true,
                ssh: { publicKeys: [{ path: `/home/${s.adminUsername}/.ssh/authorized_keys`, keyData: s.sshPublicKey }] },
            },
        },
        // "Detach": the NIC (and its static IP, the pool entry) is Pulumi's own resource and outlives the VM.
        networkProfile: { networkInterfaces: [{ id: s.nicId, primary: true, deleteOption: "Detach" }] },
        diagnosticsProfile: { bootDiagnostics: { enabled: true } },
        tags: s.tags,
    };
}

/** The object id of a VM's system-assigned identity. */
export function principalIdOf(vm: compute.VirtualMachine): pulumi.Output<string> {
    return vm.identity.apply((identity) => identity?.principalId ?? "");
}

/** Storage Blob Data Reader on the artifact container for `principalId`. */
export function artifactReaderArgs(containerId: pulumi.Input<string>, principalId: pulumi.Input<string>): authorization.RoleAssignmentArgs {
    return {
        scope: containerId,
        roleDefinitionId: pulumi.output(containerId).apply((id) => roleDefinitionId(id, STORAGE_BLOB_DATA_READER_ROLE)),
        principalId,
        principalType: "ServicePrincipal",
    };
}
