import { PORTS } from "./ports";

/** One inbound NSG rule as plain data (the shape of azure-native's SecurityRuleArgs fields we use). */
export interface InboundRule {
    readonly name: string;
    readonly priority: number;
    readonly access: "Allow" | "Deny";
    readonly direction: "Inbound";
    readonly protocol: "Tcp" | "*";
    readonly sourceAddressPrefix?: string;
    readonly sourceAddressPrefixes?: readonly string[];
    readonly sourcePortRange: "*";
    readonly destinationAddressPrefix: string;
    readonly destinationPortRange?: string;
    readonly destinationPortRanges?: readonly string[];
    readonly description: string;
}

const base = { direction: "Inbound", sourcePortRange: "*", protocol: "Tcp" } as const;

/**
 * The inbound rules of the app subnet's NSG:
 * production backend port from the Internet and the load balancer's probe; staging backend port only from
 * `stagingAllowedCidrs` (no rule at all when the list is empty); app ports and SSH from inside the VNet
 * (health gate, migrations, Bastion); everything else denied — the deny rule also overrides Azure's
 * default AllowVnetInBound / AllowAzureLoadBalancerInBound, so nothing is open by accident.
 */
export function appInboundRules(subnetCidr: string, stagingAllowedCidrs: readonly string[]): InboundRule[] {
    const production = String(PORTS.productionBackend);
    const staging = String(PORTS.stagingBackend);
    const rules: InboundRule[] = [
        { ...base, name: "allow-production-from-internet", priority: 100, access: "Allow", sourceAddressPrefix: "Internet", destinationAddressPrefix: subnetCidr, destinationPortRange: production, description: "Production traffic through the load balancer (client IPs are preserved)." },
        { ...base, name: "allow-probe-from-load-balancer", priority: 110, access: "Allow", sourceAddressPrefix: "AzureLoadBalancer", destinationAddressPrefix: subnetCidr, destinationPortRange: production, description: "The load balancer's /health probe." },
    ];
    if (stagingAllowedCidrs.length > 0) {
        rules.push({ ...base, name: "allow-staging-from-allowed-cidrs", priority: 120, access: "Allow", sourceAddressPrefixes: [...stagingAllowedCidrs], destinationAddressPrefix: subnetCidr, destinationPortRange: staging, description: "Staging endpoint (idle color) from stagingAllowedCidrs only." });
    }
    rules.push(
        { ...base, name: "allow-app-and-ssh-from-vnet", priority: 200, access: "Allow", sourceAddressPrefix: "VirtualNetwork", destinationAddressPrefix: subnetCidr, destinationPortRanges: [production, staging, String(PORTS.metrics), "22"], description: "Health gate, the local proxies' metrics, migrations and operator access (Bastion) from inside the VNet." },
        { ...base, protocol: "*", name: "deny-all-other-inbound", priority: 4096, access: "Deny", sourceAddressPrefix: "*", destinationAddressPrefix: "*", destinationPortRange: "*", description: "Everything else, including the staging port from anywhere not listed." },
    );
    return rules;
}
