import { appInboundRules } from "../../../components/lib/nsgRules";
import { PORTS } from "../../../components/lib/ports";

const SUBNET = "10.20.1.0/24";

describe("appInboundRules", () => {
    const rules = appInboundRules(SUBNET, ["198.51.100.0/24", "203.0.113.0/24"]);
    const byName = (name: string) => rules.find((r) => r.name === name);

    it("opens the production backend port to the Internet and to the load balancer's probe", () => {
        expect(byName("allow-production-from-internet")).toMatchObject({ access: "Allow", sourceAddressPrefix: "Internet", destinationPortRange: String(PORTS.productionBackend) });
        expect(byName("allow-probe-from-load-balancer")).toMatchObject({ access: "Allow", sourceAddressPrefix: "AzureLoadBalancer", destinationPortRange: String(PORTS.productionBackend) });
    });

    it("opens the staging backend port only to the configured CIDRs", () => {
        const staging = rules.filter((r) => r.access === "Allow" && (r.destinationPortRange === String(PORTS.stagingBackend) || r.destinationPortRanges?.includes(String(PORTS.stagingBackend))));
        expect(staging.map((r) => r.sourceAddressPrefixes ?? [r.sourceAddressPrefix])).toEqual([["198.51.100.0/24", "203.0.113.0/24"], ["VirtualNetwork"]]);
    });

    it("declares no staging rule at all when no CIDR is configured (staging reachable from the VNet only)", () => {
        const closed = appInboundRules(SUBNET, []);
        expect(closed.some((r) => r.name === "allow-staging-from-allowed-cidrs")).toBe(false);
        expect(closed.some((r) => r.sourceAddressPrefix === "Internet" && r.destinationPortRange === String(PORTS.stagingBackend))).toBe(false);
    });

    it("ends with a deny-all that outranks Azure's default allow rules, and gives every rule a unique priority", () => {
        const last = rules[rules.length - 1];
        expect(last).toMatchObject({ access: "Deny", priority: 4096, sourceAddressPrefix: "*", destinationPortRange: "*", protocol: "*" });
        expect(new Set(rules.map((r) => r.priority)).size).toBe(rules.length);
        expect(rules.every((r) => r.priority >= 100 && r.priority <= 4096 && r.direction === "Inbound")).toBe(true);
    });

    it("opens the local proxies' metrics port to the VNet only (the release agent scrapes it)", () => {
        const metrics = rules.filter((r) => r.access === "Allow" && (r.destinationPortRange === String(PORTS.metrics) || r.destinationPortRanges?.includes(String(PORTS.metrics))));
        expect(metrics.map((r) => r.sourceAddressPrefix)).toEqual(["VirtualNetwork"]);
    });

    it("never opens SSH to the Internet", () => {
        const ssh = rules.filter((r) => r.access === "Allow" && (r.destinationPortRange === "22" || r.destinationPortRanges?.includes("22")));
        expect(ssh.map((r) => r.sourceAddressPrefix)).toEqual(["VirtualNetwork"]);
    });
});
