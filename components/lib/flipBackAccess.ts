/**
 * What the release agent's identity may do for the automatic flip-back (release/flipBack.ts), and where: the least
 * privilege that can PUT the load balancer. Pure data and functions; components/flipBackAccess.ts declares them.
 *
 * An LB PUT is authorized by Azure Resource Manager twice: the write itself on the load balancer, and a "linked
 * access check" on every resource outside it that the body references — the frontend's public IP and, for IP-based
 * pools, the virtual network of each pool address (Azure answers 403 LinkedAuthorizationFailed naming the action
 * without it). So each grant holds only the actions its scope needs, and is assigned on that one resource:
 *
 * | grant | actions | assigned on | why |
 * |---|---|---|---|
 * | lb   | Microsoft.Network/loadBalancers/read, …/write | the load balancer | read it (etag, rules, provisioningState) and PUT it |
 * | ip   | Microsoft.Network/publicIPAddresses/join/action | the frontend's public IP | the PUT's body references it |
 * | vnet | Microsoft.Network/virtualNetworks/joinLoadBalancer/action | the virtual network | the pools' addresses reference it |
 *
 * Not granted, on purpose: delete, any other resource, `Microsoft.Network/locations/operations/read` (the
 * Azure-AsyncOperation URL is at subscription scope: the flip-back reads the load balancer's own provisioningState
 * instead), anything at the resource group or subscription. A custom role's assignable scope cannot be narrower than
 * a resource group (Azure: management group, subscription or resource group), so the definitions live in the stack's
 * resource group and are assignable only there; the assignments are on the three resources.
 */
import { createHash } from "node:crypto";

/** The resource a grant is assigned on. */
export type FlipBackTarget = "loadBalancer" | "publicIp" | "virtualNetwork";

export interface FlipBackGrant {
    /** Short key, part of resource names (`flip-back-lb`). */
    readonly key: "lb" | "ip" | "vnet";
    readonly target: FlipBackTarget;
    /** What the custom role lets do, for its name. */
    readonly title: string;
    /** Exactly the actions of the custom role. */
    readonly actions: readonly string[];
    /** The role's description: why each action. */
    readonly why: string;
}

export const FLIP_BACK_GRANTS: readonly FlipBackGrant[] = [
    {
        key: "lb",
        target: "loadBalancer",
        title: "read and update the load balancer",
        actions: ["Microsoft.Network/loadBalancers/read", "Microsoft.Network/loadBalancers/write"],
        why: "The release agent's automatic flip-back reads the load balancer (etag, rules, provisioning state) and PUTs it with the production rule on the rollback target.",
    },
    {
        key: "ip",
        target: "publicIp",
        title: "reference the frontend public IP",
        actions: ["Microsoft.Network/publicIPAddresses/join/action"],
        why: "A load balancer PUT references its frontend public IP: Azure's linked access check asks for join on it.",
    },
    {
        key: "vnet",
        target: "virtualNetwork",
        title: "reference the pools' virtual network",
        actions: ["Microsoft.Network/virtualNetworks/joinLoadBalancer/action"],
        why: "A load balancer PUT with IP-based pools references the pools' virtual network: Azure's linked access check asks for joinLoadBalancer on it.",
    },
];

/** A GUID derived from `text` (the role definition's id must be a GUID; the same stack gets the same one). */
export function stableGuid(text: string): string {
    const h = createHash("sha256").update(text).digest("hex");
    // Shaped as an RFC 4122 name-based GUID (version 5 nibble, variant bits), so Azure's GUID check accepts it.
    const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The role definition's GUID for `grant` in the stack `project/stack` deployed into `subscriptionId`: known before
 * the first deploy (the resource group's name is not), so whatever limits the deploying identity's role assignments
 * to listed roles (delivery/settings.ts `rbacAdministratorCondition`) can list these too.
 */
export function flipBackRoleGuid(subscriptionId: string, stack: string, grant: Pick<FlipBackGrant, "key">): string {
    return stableGuid(`bluegreen-flip-back/${grant.key}/${subscriptionId.toLowerCase()}/${stack}`);
}

/** The role's name: unique in the tenant (Azure requires it), saying what it is for and for which stack where. */
export function flipBackRoleName(subscriptionId: string, stack: string, grant: Pick<FlipBackGrant, "title">): string {
    return `bluegreen flip-back: ${grant.title} (${stack} in ${subscriptionId})`;
}
