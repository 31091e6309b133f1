import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import { appInboundRules } from "./lib/nsgRules";
import { APP_SUBNET_CIDR, VNET_CIDR } from "./lib/ipLayout";
import { childOptions } from "./lib/childOptions";

export interface NetworkArgs {
    /** Resource group every network resource goes into. */
    readonly resourceGroupName: pulumi.Input<string>;
    /** Azure region. */
    readonly location: pulumi.Input<string>;
    /**
     * IPv4 CIDR blocks allowed to reach the staging backend port (the idle color).
     * @default [] (no staging rule: the staging endpoint is closed to everything outside the VNet)
     */
    readonly stagingAllowedCidrs?: readonly string[];
}

/**
 * The virtual network of both colors and the release agent: one app subnet (service endpoints for SQL, Storage and
 * Key Vault), its NSG,
 * and a NAT gateway with a static public IP for outbound traffic. No VM gets a public IP.
 */
export class Network extends pulumi.ComponentResource {
    public readonly virtualNetworkId: pulumi.Output<string>;
    public readonly virtualNetworkName: pulumi.Output<string>;
    public readonly appSubnetId: pulumi.Output<string>;
    /** The app subnet's address block (plain: the IP plan is computed from it). */
    public readonly appSubnetCidr: string = APP_SUBNET_CIDR;
    /** The static public IP all outbound traffic of the VMs leaves from (for allow-lists elsewhere). */
    public readonly egressIp: pulumi.Output<string | undefined>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:network:Network", name, {}, opts);
        const childOpts = childOptions(this, opts);
        const common = { resourceGroupName: args.resourceGroupName, location: args.location };

        const nsg = new network.NetworkSecurityGroup(`${name}-app-nsg`, {
            ...common,
            securityRules: appInboundRules(APP_SUBNET_CIDR, args.stagingAllowedCidrs ?? []).map((rule) => ({
                ...rule,
                sourceAddressPrefixes: rule.sourceAddressPrefixes ? [...rule.sourceAddressPrefixes] : undefined,
                destinationPortRanges: rule.destinationPortRanges ? [...rule.destinationPortRanges] : undefined,
            })),
        }, childOpts);

        const egressIp = new network.PublicIPAddress(`${name}-egress-ip`, {
            ...common,
            sku: { name: "Standard", tier: "Regional" },
            publicIPAllocationMethod: "Static",
            publicIPAddressVersion: "IPv4",
        }, childOpts);

        const nat = new network.NatGateway(`${name}-nat`, {
            ...common,
            sku: { name: "Standard" },
            idleTimeoutInMinutes: 4,
            publicIpAddresses: [{ id: egressIp.id }],
        }, childOpts);

        const vnet = new network.VirtualNetwork(`${name}-vnet`, {
            ...common,
            addressSpace: { addressPrefixes: [VNET_CIDR] },
        }, childOpts);

        const subnet = new network.Subnet(`${name}-app-subnet`, {
            resourceGroupName: args.resourceGroupName,
            virtualNetworkName: vnet.name,
            addressPrefix: APP_SUBNET_CIDR,
            networkSecurityGroup: { id: nsg.id },
            natGateway: { id: nat.id },
            // Private by default: no implicit outbound; egress goes through the NAT gateway only.
            defaultOutboundAccess: false,
            // Key Vault too: the vault admits only this subnet (components/secretVault.ts).
            serviceEndpoints: [{ service: "Microsoft.Sql" }, { service: "Microsoft.Storage" }, { service: "Microsoft.KeyVault" }],
        }, childOpts);

        this.virtualNetworkId = vnet.id;
        this.virtualNetworkName = vnet.name;
        this.appSubnetId = subnet.id;
        this.egressIp = egressIp.ipAddress;
        this.registerOutputs({
            virtualNetworkId: this.virtualNetworkId,
            appSubnetId: this.appSubnetId,
            egressIp: this.egressIp,
        });
    }
}
