import { Color } from "../../release/colors";
import { numberToIpv4, parseIpv4Cidr } from "../../config/checks";

/**
 * Address plan of the app subnet. VMs get STATIC private IPs computed here, so the load balancer's
 * IP-based backend pools can list a color's addresses without referring to its NICs (see loadBalancer.ts):
 *
 *   .0-.3   reserved by Azure            .10-.39  blue VMs (blue-vm-0 = .10, blue-vm-1 = .11, ...)
 *   .4      free                         .40-.69  green VMs (green-vm-0 = .40, ...)
 *   .5      the release agent VM
 *   .6-.9   free (e.g. a jump box)
 *   .70 and up: free for other uses (run-command helpers, private endpoints).
 */
export const VNET_CIDR = "10.20.0.0/16";
/** The app subnet (both colors live in it). */
export const APP_SUBNET_CIDR = "10.20.1.0/24";

/** Host offset of each color's first VM in the subnet. */
export const FIRST_HOST_OFFSET: Readonly<Record<Color, number>> = { blue: 10, green: 40 };

/** Host offset of the release agent VM (components/releaseAgent.ts). */
export const AGENT_HOST_OFFSET = 5;

/** The release agent's static private IP in `subnetCidr` (`.5`). */
export function agentPrivateIp(subnetCidr: string): string {
    const subnet = parseIpv4Cidr(subnetCidr);
    if (!subnet) throw new Error(`"${subnetCidr}" is not an IPv4 CIDR block`);
    return numberToIpv4(subnet.network + AGENT_HOST_OFFSET);
}

/** At most this many VMs per color: the size of each color's address range. */
export const MAX_INSTANCES_PER_COLOR = 30;

/**
 * The static private IP of VM number `index` (0-based) of `color` in `subnetCidr`.
 * Throws when the index is outside the color's range or the address does not fit the subnet.
 */
export function vmPrivateIp(subnetCidr: string, color: Color, index: number): string {
    const subnet = parseIpv4Cidr(subnetCidr);
    if (!subnet) throw new Error(`"${subnetCidr}" is not an IPv4 CIDR block`);
    if (!Number.isInteger(index) || index < 0 || index >= MAX_INSTANCES_PER_COLOR) {
        throw new Error(`VM index ${index} is outside 0..${MAX_INSTANCES_PER_COLOR - 1} for color ${color}`);
    }
    const offset = FIRST_HOST_OFFSET[color] + index;
    const size = 2 ** (32 - subnet.prefix);
    if (offset >= size - 1) throw new Error(`subnet ${subnetCidr} is too small for ${color} VM ${index}`);
    return numberToIpv4(subnet.network + offset);
}

/** The static private IPs of all `count` VMs of `color`, in VM order. */
export function colorPrivateIps(subnetCidr: string, color: Color, count: number): string[] {
    return Array.from({ length: count }, (_, index) => vmPrivateIp(subnetCidr, color, index));
}

/** The availability zone of VM number `index`: round-robin over `zones`; `undefined` when zones is empty. */
export function zoneFor(zones: readonly string[], index: number): string | undefined {
    return zones.length === 0 ? undefined : zones[index % zones.length];
}
