import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import { Color, COLORS, rulePools } from "../release/colors";
import { poolProblems, productionColorOf } from "../release/readBack";
import { HEALTH_PATH, PORTS } from "./lib/ports";
import { childOptions } from "./lib/childOptions";

export interface LoadBalancerArgs {
    /** Resource group of the load balancer and its public IP. */
    readonly resourceGroupName: pulumi.Input<string>;
    /** Azure region. */
    readonly location: pulumi.Input<string>;
    /** The color that takes production traffic; the other one gets the staging rule. */
    readonly liveColor: Color;
    /** Static private IPs of each color's VMs (from the pure IP plan, not from NICs). */
    readonly poolAddresses: Readonly<Record<Color, readonly string[]>>;
    /** The VNet the pool addresses live in (IP-based pools need it). */
    readonly virtualNetworkId: pulumi.Input<string>;
    /**
     * Zones of the frontend public IP: zone-redundant when the region has zones.
     * @default [] (no zones)
     */
    readonly zones?: readonly string[];
    /**
     * Minutes an idle TCP flow is kept; after a flip, established flows stay on the old color until they
     * close or idle out (the app closes keep-alive connections after a maximum age).
     * @default 4
     */
    readonly idleTimeoutInMinutes?: number;
    /**
     * The name of the health-gate run that passed for the live color, read back from Azure (components/healthGate.ts
     * `verified`). It is written as the tag `bluegreen-gate`, so the load balancer is sent only once it resolves: when
     * the gate did not pass, it rejects and the load balancer is not changed. It also records in Azure which gate run
     * approved the current production rule, and a new gate run (a retry) sends the whole load balancer again.
     */
    readonly gateRun: pulumi.Input<string>;
    /** The command that re-sends the load balancer (a changed input), for the pool check's message. */
    readonly retry: string;
}

/**
 * The Standard public load balancer in front of both colors. The flip happens HERE: the production rule
 * (:80 → :8080) points at the pool `rulePools(liveColor).production`, the staging rule (:8080 → :8081) at
 * the idle pool. Changing liveColor re-PUTs this one resource in place; nothing else changes.
 *
 * Why the pools are IP-based (addresses + VNet id) instead of NIC-based: a NIC-based pool is set on the
 * NIC's ip configuration, so NICs (and the VMs) would depend on the load balancer. The health gate must
 * sit between the VMs and the load balancer update (VMs → gate → LB): with NIC-based pools that is a
 * dependency cycle. With IP-based pools the NICs never reference the LB, the addresses come from the pure
 * IP plan, and the caller can make the LB depend on the gate with `dependsOn`.
 */
export class LoadBalancer extends pulumi.ComponentResource {
    public readonly publicIp: pulumi.Output<string | undefined>;
    /** ARM id of the frontend's public IP (the flip-back's identity needs join on it: components/flipBackAccess.ts). */
    public readonly publicIpId: pulumi.Output<string>;
    public readonly productionUrl: pulumi.Output<string>;
    public readonly stagingUrl: pulumi.Output<string>;
    public readonly loadBalancerId: pulumi.Output<string>;
    /** The load balancer's Azure name (auto-named). */
    public readonly loadBalancerName: pulumi.Output<string>;
    /**
     * The color the production rule points at as Azure answers after this update (not the config's `liveColor`);
     * during a preview, the color this update asks for.
     */
    public readonly productionColor: pulumi.Output<Color | undefined>;
    /**
     * The pools' addresses as Azure lists them after this update, by pool; rejects (failing the update) unless each
     * lists exactly the addresses this step puts there. Not read during a preview (nothing was sent yet).
     */
    public readonly poolsReadBack: pulumi.Output<Record<string, string[]>>;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:loadBalancer:LoadBalancer", name, {}, opts);
        const childOpts = childOptions(this, opts);
        const zones = args.zones ?? [];
        const pools = rulePools(args.liveColor);

        const ip = new network.PublicIPAddress(`${name}-ip`, {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            sku: { name: "Standard", tier: "Regional" },
            publicIPAllocationMethod: "Static",
            publicIPAddressVersion: "IPv4",
            zones: zones.length > 0 ? [...zones] : undefined,
        }, childOpts);

        const frontend = { id: "$self/frontendIPConfigurations/public" };
        const probe = { id: "$self/probes/http-health" };
        const ruleCommon = {
            protocol: "Tcp",
            frontendIPConfiguration: frontend,
            probe,
            disableOutboundSnat: true, // the NAT gateway provides egress
            enableTcpReset: true,
            enableFloatingIP: false,
            idleTimeoutInMinutes: args.idleTimeoutInMinutes ?? 4,
            loadDistribution: "Default",
        };

        const lb = new network.LoadBalancer(`${name}-lb`, {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            sku: { name: "Standard", tier: "Regional" },
            frontendIPConfigurations: [{ name: "public", publicIPAddress: { id: ip.id } }],
            backendAddressPools: COLORS.map((color) => ({
                name: color,
                loadBalancerBackendAddresses: args.poolAddresses[color].map((address, index) => ({
                    name: `${color}-vm-${index}`,
                    ipAddress: address,
                    virtualNetwork: { id: args.virtualNetworkId },
                })),
            })),
            probes: [{
                name: "http-health",
                protocol: "Http",
                port: PORTS.productionBackend,
                requestPath: HEALTH_PATH,
                intervalInSeconds: 5,
                probeThreshold: 2,
            }],
            loadBalancingRules: [
                {
                    ...ruleCommon,
                    name: "production",
                    frontendPort: PORTS.productionFrontend,
                    backendPort: PORTS.productionBackend,
                    backendAddressPool: { id: `$self/backendAddressPools/${pools.production}` },
                },
                {
                    ...ruleCommon,
                    name: "staging",
                    frontendPort: PORTS.stagingFrontend,
                    backendPort: PORTS.stagingBackend,
                    backendAddressPool: { id: `$self/backendAddressPools/${pools.staging}` },
                },
            ],
            tags: { "bluegreen-gate": args.gateRun, "bluegreen-live": args.liveColor },
        }, childOpts);

        this.loadBalancerId = lb.id;
        this.loadBalancerName = lb.name;
        // Read the pools back (IP-based pools can come out empty on creation, pulumi-azure-native#3601).
        const expected = Object.fromEntries(COLORS.map((color) => [color, [...args.poolAddresses[color]]]));
        if (pulumi.runtime.isDryRun()) {
            this.poolsReadBack = pulumi.output(expected);
            this.productionColor = pulumi.output<Color | undefined>(args.liveColor);
        } else {
            this.productionColor = network.getLoadBalancerOutput(
                { resourceGroupName: args.resourceGroupName, loadBalancerName: lb.name },
                { dependsOn: [lb], parent: this },
            ).apply((read) => productionColorOf(read));
            const read = COLORS.map((color) => network.getLoadBalancerBackendAddressPoolOutput({
                resourceGroupName: args.resourceGroupName,
                loadBalancerName: lb.name,
                backendAddressPoolName: color,
            }, { dependsOn: [lb], parent: this }).apply((pool) => ({
                name: color,
                addresses: (pool.loadBalancerBackendAddresses ?? []).map((a) => a.ipAddress),
            })));
            this.poolsReadBack = pulumi.all(read).apply((pools) => {
                const problems = poolProblems(pools, expected, args.retry);
                if (problems.length > 0) throw new Error(`The load balancer's pools are not what this update sent:\n${problems.join("\n")}`);
                return Object.fromEntries(pools.map((p) => [p.name, (p.addresses ?? []).filter((a): a is string => !!a)]));
            });
        }
        this.publicIp = ip.ipAddress;
        this.publicIpId = ip.id;
        this.productionUrl = pulumi.interpolate`http://${ip.ipAddress}/`;
        this.stagingUrl = pulumi.interpolate`http://${ip.ipAddress}:${PORTS.stagingFrontend}/`;
        this.registerOutputs({ publicIp: this.publicIp, productionUrl: this.productionUrl, stagingUrl: this.stagingUrl });
    }
}
