/**
 * planFlipBack: what the release agent's automatic flip-back sends to Azure, or why it sends nothing. Pure; the
 * requests themselves are tested against the ARM stand-in (flipBack.int.test.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runnerSources } from "../../components/lib/toolBundle";
import { armLoadBalancerJson } from "../../rehearsal/armStandIn";
import { ArmLoadBalancer, armProductionColor, flipBackRecordFor, forbiddenMessage, planFlipBack, retryAfterMs, ruleColorOf } from "../../release/flipBack";
import { FLIP_BACK_TAG, formatFlipBackTag, parseFlipBackTag } from "../../release/watchContract";
import { record } from "./flipBackFixtures";

const request = { from: "green" as const, to: "blue" as const, record };
/** The load balancer after the flip to green (what the watch watches). */
const afterFlip = (): ArmLoadBalancer => armLoadBalancerJson({ live: "green", gateRun: "gate-7" });

function put(lb: ArmLoadBalancer): ArmLoadBalancer {
    const plan = planFlipBack(lb, request);
    if (plan.kind !== "put") throw new Error(`expected a put, got ${plan.kind}: ${plan.reason}`);
    return plan.body;
}

describe("planFlipBack", () => {
    it("sends production back to the rollback target and staging to the failed color, both pool fields agreeing", () => {
        const body = put(afterFlip());
        expect(armProductionColor(body)).toBe("blue");
        expect(ruleColorOf(body, "staging")).toBe("green");
        for (const rule of body.properties.loadBalancingRules ?? []) {
            expect(rule.properties.backendAddressPools).toEqual([rule.properties.backendAddressPool]);
        }
        expect(body.properties.loadBalancingRules?.[0].properties.backendAddressPool?.id).toBe(`${body.id}/backendAddressPools/blue`);
    });

    it("writes the record and the live color into the tags, keeping every other tag", () => {
        const lb = afterFlip();
        lb.tags = { ...lb.tags, owner: "team-a" };
        const body = put(lb);
        expect(body.tags).toEqual({ "bluegreen-gate": "gate-7", "bluegreen-live": "blue", owner: "team-a", [FLIP_BACK_TAG]: formatFlipBackTag(record) });
        expect(parseFlipBackTag(body.tags?.[FLIP_BACK_TAG])).toEqual(record);
    });

    it("changes nothing else: pools, probes, frontend, rule settings and the rest are sent back as read", () => {
        const lb = afterFlip();
        const body = put(lb);
        const strip = (x: ArmLoadBalancer) => {
            const c = JSON.parse(JSON.stringify(x)) as ArmLoadBalancer;
            delete c.tags;
            for (const r of c.properties.loadBalancingRules ?? []) {
                delete r.properties.backendAddressPool;
                delete r.properties.backendAddressPools;
            }
            return c;
        };
        expect(strip(body)).toEqual(strip(lb));
        expect(armProductionColor(lb)).toBe("green"); // the input is not modified
    });

    it("keeps a rule without the plural pool field without it (older API versions answer only the singular)", () => {
        const lb = afterFlip();
        for (const r of lb.properties.loadBalancingRules ?? []) delete r.properties.backendAddressPools;
        const body = put(lb);
        expect(body.properties.loadBalancingRules?.every((r) => r.properties.backendAddressPools === undefined)).toBe(true);
    });

    it.each<[string, (lb: ArmLoadBalancer) => void, "already" | "refused", RegExp]>([
        ["production already on the rollback target (a person was faster)", (lb) => Object.assign(lb, armLoadBalancerJson({ live: "blue" })), "already", /production is on blue already/],
        ["production on a pool that is neither color", (lb) => {
            const p = lb.properties.loadBalancingRules?.[0].properties;
            if (p) p.backendAddressPool = { id: `${lb.id}/backendAddressPools/canary` };
        }, "refused", /neither blue nor green/],
        ["no production rule", (lb) => {
            lb.properties.loadBalancingRules = lb.properties.loadBalancingRules?.filter((r) => r.name !== "production");
        }, "refused", /no rule named "production"/],
        ["no pool of the rollback target", (lb) => {
            lb.properties.backendAddressPools = lb.properties.backendAddressPools?.filter((p) => p.name !== "blue");
        }, "refused", /no backend pool named blue/],
        ["this flip already flipped back, then a person flipped forward again", (lb) => {
            lb.tags = { ...lb.tags, [FLIP_BACK_TAG]: formatFlipBackTag({ ...record, at: "2026-12-01T10:00:21.000Z" }) };
        }, "refused", /at most one automatic flip-back per flip/],
    ])("sends nothing when %s", (_, change, kind, reason) => {
        const lb = afterFlip();
        change(lb);
        const plan = planFlipBack(lb, request);
        expect(plan.kind).toBe(kind);
        expect(plan.kind !== "put" && plan.reason).toMatch(reason);
    });

    it("is done when this flip's flip-back is recorded and production is on the target; `ours` only for this very record", () => {
        const lb = armLoadBalancerJson({ live: "blue", tags: { [FLIP_BACK_TAG]: formatFlipBackTag(record) } });
        expect(planFlipBack(lb, request)).toMatchObject({ kind: "already", ours: true });
        lb.tags = { ...lb.tags, [FLIP_BACK_TAG]: formatFlipBackTag({ ...record, at: "2026-12-01T10:00:21.000Z" }) };
        expect(planFlipBack(lb, request)).toMatchObject({ kind: "already", ours: false });
    });

    it("flips back a later flip although an earlier flip's record is in the tag (one flip-back per flip, not per load balancer)", () => {
        const lb = afterFlip();
        lb.tags = { ...lb.tags, [FLIP_BACK_TAG]: formatFlipBackTag({ ...record, flipId: "2026-11-30T09:00:00.000Z", at: "2026-11-30T09:00:30.000Z" }) };
        expect(armProductionColor(put(lb))).toBe("blue");
    });

    it.each([
        ["the same color twice", { from: "blue" as const, to: "blue" as const, record: { ...record, from: "blue" as const } }, /must differ/],
        ["a record of another move", { from: "green" as const, to: "blue" as const, record: { ...record, from: "blue" as const, to: "green" as const } }, /the record says blue → green/],
    ])("refuses %s", (_, req, reason) => {
        const plan = planFlipBack(afterFlip(), req);
        expect(plan.kind).toBe("refused");
        expect(plan.kind === "refused" && plan.reason).toMatch(reason);
    });
});

describe("flipBackRecordFor", () => {
    it("records the move from the watched (new) color back to the one live before the flip", () => {
        const r = flipBackRecordFor({ flipId: record.flipId, from: "blue", to: "green" }, "why", new Date(record.at));
        expect(r).toEqual({ flipId: record.flipId, at: record.at, from: "green", to: "blue", reason: "why" });
    });
});

describe("forbiddenMessage", () => {
    const lbId = afterFlip().id;
    it("names the load balancer action Azure says is missing, the scope and the fixes", () => {
        const m = forbiddenMessage({ error: { code: "AuthorizationFailed", message: `The client 'x' does not have authorization to perform action 'Microsoft.Network/loadBalancers/write' over scope '${lbId}' or the scope is invalid.` } }, "PUT", lbId, "blue");
        expect(m).toContain(`lacks Microsoft.Network/loadBalancers/write on ${lbId}`);
        expect(m).toContain("components/flipBackAccess.ts");
        expect(m).toContain("`pulumi config set liveColor blue && pulumi up`");
    });

    it("names the linked action and scope of a LinkedAuthorizationFailed (the frontend's public IP)", () => {
        const ip = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/front-ip";
        const m = forbiddenMessage({ error: { code: "LinkedAuthorizationFailed", message: `The client has permission to perform action 'Microsoft.Network/loadBalancers/write' on scope '${lbId}'; however, it does not have permission to perform action(s) 'Microsoft.Network/publicIPAddresses/join/action' on the linked scope(s) '${ip}' (respectively) or the linked scope(s) are invalid.` } }, "PUT", lbId, "blue");
        expect(m).toContain(`lacks Microsoft.Network/publicIPAddresses/join/action on ${ip}`);
        expect(m).toContain("403 LinkedAuthorizationFailed");
    });
});

describe("retryAfterMs", () => {
    const now = new Date("2026-12-01T10:00:00.000Z");
    it.each<[string | null, number | undefined]>([["3", 3000], ["0", 0], [new Date(now.getTime() + 2000).toUTCString(), 2000], [null, undefined], ["soon", undefined]])(
        "reads %j as %j ms", (value, ms) => expect(retryAfterMs(value, now)).toBe(ms));
});

describe("what the agent runs", () => {
    it("needs only Node's built-ins: flipBack.ts and imdsToken.ts import nothing but node: modules and release/ files", () => {
        const root = path.resolve(__dirname, "../..");
        const files = [...new Set([...runnerSources(root, "release/flipBack.ts"), ...runnerSources(root, "release/imdsToken.ts")])];
        expect(files).toEqual(expect.arrayContaining(["release/flipBack.ts", "release/imdsToken.ts", "release/watchContract.ts"]));
        for (const file of files) {
            expect(file.startsWith("release/")).toBe(true);
            const text = fs.readFileSync(path.join(root, file), "utf8");
            const packages = [...text.matchAll(/(?:from\s+|require\(\s*)["']([^"'.][^"']*)["']/g)].map((m) => m[1]);
            for (const name of packages) expect([file, name]).toEqual([file, expect.stringMatching(/^node:/)]);
        }
    });
});
