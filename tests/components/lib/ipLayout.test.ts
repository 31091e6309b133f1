import * as fc from "fast-check";
import { APP_SUBNET_CIDR, colorPrivateIps, MAX_INSTANCES_PER_COLOR, VNET_CIDR, vmPrivateIp, zoneFor } from "../../../components/lib/ipLayout";
import { ipv4ToNumber, parseIpv4Cidr } from "../../../config/checks";
import { COLORS } from "../../../release/colors";

describe("vmPrivateIp", () => {
    it.each([
        ["blue", 0, "10.20.1.10"],
        ["blue", 1, "10.20.1.11"],
        ["blue", 29, "10.20.1.39"],
        ["green", 0, "10.20.1.40"],
        ["green", 2, "10.20.1.42"],
        ["green", 29, "10.20.1.69"],
    ] as const)("gives %s VM %i the address %s", (color, index, ip) => {
        expect(vmPrivateIp(APP_SUBNET_CIDR, color, index)).toBe(ip);
    });

    it("refuses an index outside the color's range rather than spilling into the other color", () => {
        expect(() => vmPrivateIp(APP_SUBNET_CIDR, "blue", MAX_INSTANCES_PER_COLOR)).toThrow(/outside 0..29 for color blue/);
        expect(() => vmPrivateIp(APP_SUBNET_CIDR, "green", -1)).toThrow(/outside/);
    });

    it("refuses a subnet too small for the plan", () => {
        expect(() => vmPrivateIp("10.20.1.0/27", "green", 0)).toThrow(/too small/);
    });

    it("never gives two VMs the same address, and keeps every address inside the subnet and out of Azure's reserved ones", () => {
        const subnet = parseIpv4Cidr(APP_SUBNET_CIDR);
        if (!subnet) throw new Error("bad subnet constant");
        fc.assert(
            fc.property(fc.integer({ min: 1, max: MAX_INSTANCES_PER_COLOR }), fc.integer({ min: 1, max: MAX_INSTANCES_PER_COLOR }), (blueCount, greenCount) => {
                const all = [...colorPrivateIps(APP_SUBNET_CIDR, "blue", blueCount), ...colorPrivateIps(APP_SUBNET_CIDR, "green", greenCount)];
                expect(new Set(all).size).toBe(all.length);
                for (const ip of all) {
                    const offset = (ipv4ToNumber(ip) as number) - subnet.network;
                    expect(offset).toBeGreaterThanOrEqual(4);
                    expect(offset).toBeLessThan(2 ** (32 - subnet.prefix) - 1);
                }
            }),
        );
    });

    it("places the app subnet inside the VNet", () => {
        const vnet = parseIpv4Cidr(VNET_CIDR);
        const subnet = parseIpv4Cidr(APP_SUBNET_CIDR);
        expect(vnet && subnet && subnet.prefix >= vnet.prefix && subnet.network - (subnet.network % 2 ** (32 - vnet.prefix)) === vnet.network).toBe(true);
    });

    it("lists a color's addresses in VM order", () => {
        for (const color of COLORS) {
            expect(colorPrivateIps(APP_SUBNET_CIDR, color, 3)).toEqual([0, 1, 2].map((i) => vmPrivateIp(APP_SUBNET_CIDR, color, i)));
        }
    });
});

describe("zoneFor", () => {
    it("spreads VMs round-robin over the zones", () => {
        expect([0, 1, 2, 3, 4].map((i) => zoneFor(["1", "2", "3"], i))).toEqual(["1", "2", "3", "1", "2"]);
    });
    it("gives no zone when the region has none", () => {
        expect(zoneFor([], 3)).toBeUndefined();
    });
});
