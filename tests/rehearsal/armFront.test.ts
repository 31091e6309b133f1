import { armLoadBalancerJson } from "../../rehearsal/armStandIn";
import { programFlipBody } from "../../rehearsal/armFront";
import { armProductionColor, LIVE_TAG, ruleColorOf } from "../../release/flipBack";
import { FLIP_BACK_TAG } from "../../release/watchContract";

describe("programFlipBody (the program's flip, as the rehearsal PUTs it to the ARM stand-in)", () => {
    const lb = armLoadBalancerJson({ live: "blue", tags: { [FLIP_BACK_TAG]: "an earlier record" } });

    it.each(["green", "blue"] as const)("points production at %s, staging at the other color, and says so in the live tag", (to) => {
        const body = programFlipBody(lb, to);
        expect(armProductionColor(body)).toBe(to);
        expect(ruleColorOf(body, "staging")).toBe(to === "green" ? "blue" : "green");
        const production = body.properties.loadBalancingRules?.find((r) => r.name === "production");
        expect(production?.properties.backendAddressPools).toEqual([production?.properties.backendAddressPool]);
        expect(body.tags?.[LIVE_TAG]).toBe(to);
    });

    it("changes nothing else: the other tags (an earlier flip-back record), probes, ports, and the body it was given", () => {
        const before = JSON.stringify(lb);
        const body = programFlipBody(lb, "green");
        expect(JSON.stringify(lb)).toBe(before);
        expect(body.tags?.[FLIP_BACK_TAG]).toBe("an earlier record");
        expect(body.properties.probes).toEqual(lb.properties.probes);
        const ports = (x: typeof lb) => x.properties.loadBalancingRules?.map((r) => [r.name, r.properties.frontendPort, r.properties.backendPort]);
        expect(ports(body)).toEqual(ports(lb));
        expect(body.etag).toBe(lb.etag);
    });
});
