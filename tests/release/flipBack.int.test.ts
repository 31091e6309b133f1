/**
 * The release agent's automatic flip-back (release/flipBack.ts) against the ARM stand-in (rehearsal/armStandIn.ts)
 * over real HTTP: the change, its read-back, a concurrent writer (412 on a stale If-Match), 403, 429, 5xx, at most
 * one flip-back per flip. Waits are real but short (the stand-in provisions in 30 ms, the poll is 20 ms); nothing
 * asserts on a time window, so the file may run beside another.
 */
import { ArmStandIn, armLoadBalancerJson, ARM_STAND_IN_TOKEN, pointRule, startArmStandIn } from "../../rehearsal/armStandIn";
import { ArmLoadBalancer, flipBack, FlipBackOptions, FlipBackResult } from "../../release/flipBack";
import { ARM_RESOURCE, imdsToken } from "../../release/imdsToken";
import { FLIP_BACK_TAG, parseFlipBackTag } from "../../release/watchContract";
import { record } from "./flipBackFixtures";


let arm: ArmStandIn;
const changes: ArmLoadBalancer[] = [];
const waits: number[] = [];

beforeEach(async () => {
    changes.length = 0;
    waits.length = 0;
    arm = await startArmStandIn({
        loadBalancer: armLoadBalancerJson({ live: "green", gateRun: "gate-7" }),
        provisioningMs: 30,
        onChange: (lb) => {
            changes.push(lb);
        },
    });
});
afterEach(() => arm.close());

function run(over: Partial<FlipBackOptions> = {}): Promise<FlipBackResult> {
    return flipBack({
        armEndpoint: arm.url,
        loadBalancerId: arm.loadBalancerId,
        from: "green",
        to: "blue",
        record,
        token: () => imdsToken(ARM_RESOURCE, { endpoint: arm.url }),
        // Waits are recorded and shortened: the test checks what was asked, not the clock.
        sleep: (ms) => {
            waits.push(ms);
            return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20)));
        },
        limits: { pollIntervalMs: 20, backoffMs: 10 },
        ...over,
    });
}

const lbRequests = () => arm.requests.filter((r) => !r.url.startsWith("/metadata/"));

describe("the automatic flip-back through Azure Resource Manager", () => {
    it("moves production back with If-Match, waits for the provisioning, reads it back and records why in the tag", async () => {
        const before = arm.loadBalancer();
        const result = await run();
        expect(result).toMatchObject({ outcome: "flipped", readBack: "blue", problems: [] });
        expect(arm.productionColor()).toBe("blue");
        const lb = arm.loadBalancer();
        expect(parseFlipBackTag(lb.tags?.[FLIP_BACK_TAG])).toEqual(record);
        expect(lb.tags?.["bluegreen-live"]).toBe("blue");
        expect(lb.tags?.["bluegreen-gate"]).toBe("gate-7");
        // One PUT, sent with the etag that was read; the token came from IMDS.
        const puts = lbRequests().filter((r) => r.method === "PUT");
        expect(puts).toHaveLength(1);
        expect(puts[0].ifMatch).toBe(before.etag);
        expect(puts[0].authorization).toBe(`Bearer ${ARM_STAND_IN_TOKEN}`);
        // It never reads the operation-status URL (outside the load balancer's scope): only the load balancer itself.
        expect(lbRequests().every((r) => r.url.startsWith(`${arm.loadBalancerId}?api-version=2024-05-01`))).toBe(true);
        // The onChange hook saw the applied change.
        expect(changes).toHaveLength(1);
        expect(changes[0].properties.provisioningState).toBe("Succeeded");
    });

    it("reads again and succeeds when another writer changed something else under it (412 on a stale If-Match)", async () => {
        arm.concurrentWrite((lb) => {
            lb.tags = { ...lb.tags, "cost-center": "42" };
        }, { beforeNextPut: true });
        const result = await run();
        expect(result.outcome).toBe("flipped");
        expect(lbRequests().filter((r) => r.method === "PUT").map((r) => r.status)).toEqual([412, 200]);
        expect(result.attempts.find((a) => a.status === 412)?.note).toMatch(/stale If-Match/);
        // The other writer's change survives: the second plan started from what it wrote.
        expect(arm.loadBalancer().tags?.["cost-center"]).toBe("42");
        expect(arm.productionColor()).toBe("blue");
    });

    it("stops, changing nothing, when the concurrent writer already moved production back", async () => {
        arm.concurrentWrite((lb) => {
            pointRule(lb, "production", "blue");
            pointRule(lb, "staging", "green");
        }, { beforeNextPut: true });
        const result = await run();
        expect(result).toMatchObject({ outcome: "already", readBack: "blue" });
        expect(lbRequests().filter((r) => r.method === "PUT").map((r) => r.status)).toEqual([412]);
        expect(arm.loadBalancer().tags?.[FLIP_BACK_TAG]).toBeUndefined();
    });

    it("fails at once on 403, naming the missing permission and the fix, and changes nothing", async () => {
        const etag = arm.loadBalancer().etag;
        arm.failNext(403, 5);
        const result = await run();
        expect(result.outcome).toBe("failed");
        expect(lbRequests()).toHaveLength(1); // no retry
        expect(result.problems.join("\n")).toContain(`lacks Microsoft.Network/loadBalancers/read on ${arm.loadBalancerId}`);
        expect(result.problems.join("\n")).toContain("`pulumi config set liveColor blue && pulumi up`");
        expect(arm.loadBalancer().etag).toBe(etag);
        expect(arm.productionColor()).toBe("green");
    });

    it("fails at once on a PUT refused for a linked resource (the public IP), naming that action", async () => {
        const ip = arm.loadBalancer().properties.frontendIPConfigurations?.[0].properties.publicIPAddress as { id: string };
        arm.failNext(403, 1, undefined, { method: "PUT", linkedAction: "Microsoft.Network/publicIPAddresses/join/action", linkedScope: ip.id });
        const result = await run();
        expect(result.outcome).toBe("failed");
        expect(result.problems[0]).toContain(`lacks Microsoft.Network/publicIPAddresses/join/action on ${ip.id}`);
        expect(lbRequests().map((r) => `${r.method} ${r.status}`)).toEqual(["GET 200", "PUT 403"]);
        expect(arm.productionColor()).toBe("green");
    });

    it("waits what Retry-After asks on 429 and then succeeds", async () => {
        arm.failNext(429, 2, 2);
        const result = await run();
        expect(result.outcome).toBe("flipped");
        expect(waits.slice(0, 2)).toEqual([2000, 2000]);
        expect(result.attempts.filter((a) => a.status === 429)).toHaveLength(2);
    });

    it("caps a long Retry-After and gives up after the bounded retries, production unchanged", async () => {
        arm.failNext(429, 10, 600);
        const result = await run({ limits: { pollIntervalMs: 20, throttleRetries: 2, maxRetryAfterMs: 3000 } });
        expect(result.outcome).toBe("failed");
        expect(waits).toEqual([3000, 3000]);
        expect(result.problems[0]).toMatch(/kept throttling .* 3 time\(s\), Retry-After 600 s/);
        expect(arm.productionColor()).toBe("green");
    });

    it("retries 5xx with backoff, then succeeds", async () => {
        arm.failNext(500, 1);
        arm.failNext(503, 1);
        const result = await run();
        expect(result.outcome).toBe("flipped");
        expect(waits.slice(0, 2)).toEqual([10, 20]);
    });

    it("waits for another writer's update still provisioning, and retries a 409 AnotherOperationInProgress", async () => {
        // Someone else's PUT (a `pulumi up`), accepted just before: the load balancer is Updating for 30 ms.
        const auth = { authorization: `Bearer ${ARM_STAND_IN_TOKEN}` };
        const url = `${arm.url}${arm.loadBalancerId}?api-version=2024-05-01`;
        const other = arm.loadBalancer();
        other.tags = { ...other.tags, "cost-center": "42" };
        expect((await fetch(url, { method: "PUT", headers: { ...auth, "if-match": other.etag ?? "" }, body: JSON.stringify(other) })).status).toBe(200);
        arm.failNext(409, 1, undefined, { method: "PUT" });
        const result = await run();
        expect(result.outcome).toBe("flipped");
        expect(result.attempts.some((a) => /another update in progress \(Updating\)/.test(a.note ?? ""))).toBe(true);
        expect(result.attempts.find((a) => a.status === 409)?.note).toMatch(/409 AnotherOperationInProgress: retries/);
        expect(arm.loadBalancer().tags?.["cost-center"]).toBe("42");
    });

    it("asks IMDS again once when ARM answers 401 (an expired token), and fails naming IMDS when there is no token", async () => {
        let calls = 0;
        const flipped = await run({ token: async () => (++calls === 1 ? "expired" : ARM_STAND_IN_TOKEN) });
        expect(flipped.outcome).toBe("flipped");
        expect(calls).toBe(2);
        const noToken = await run({ token: () => imdsToken(ARM_RESOURCE, { endpoint: `${arm.url}/nothing`, tries: 1 }) });
        expect(noToken.outcome).toBe("failed");
        expect(noToken.problems[0]).toMatch(/^no access token for Azure Resource Manager: no managed-identity token for https:\/\/management.azure.com\/: IMDS answered 4\d\d/);
    });

    it("flips back at most once per flip: a second call for the same flip changes nothing", async () => {
        expect((await run()).outcome).toBe("flipped");
        const etag = arm.loadBalancer().etag;
        const again = await run({ record: { ...record, at: "2026-12-01T10:01:00.000Z", reason: "again" } });
        expect(again.outcome).toBe("already");
        const same = await run();
        expect(same.outcome).toBe("already");
        expect(arm.loadBalancer().etag).toBe(etag);
        expect(lbRequests().filter((r) => r.method === "PUT")).toHaveLength(1);
        expect(parseFlipBackTag(arm.loadBalancer().tags?.[FLIP_BACK_TAG])?.reason).toBe(record.reason);
    });

    it("refuses, sending nothing, when production is on a pool that is neither color", async () => {
        arm.concurrentWrite((lb) => {
            const rule = lb.properties.loadBalancingRules?.find((r) => r.name === "production");
            if (rule) rule.properties.backendAddressPool = { id: `${lb.id}/backendAddressPools/canary` };
            if (rule) delete rule.properties.backendAddressPools;
        });
        const result = await run();
        expect(result.outcome).toBe("refused");
        expect(result.problems[0]).toMatch(/neither blue nor green/);
        expect(lbRequests().filter((r) => r.method === "PUT")).toHaveLength(0);
    });

    it("fails within its deadline when Azure never finishes provisioning", async () => {
        await arm.close();
        arm = await startArmStandIn({ loadBalancer: armLoadBalancerJson({ live: "green" }), provisioningMs: 60_000 });
        const started = Date.now();
        const result = await run({ deadlineMs: 400 });
        expect(result.outcome).toBe("failed");
        expect(result.problems.join(" ")).toMatch(/had not finished the load balancer's update \(Updating\) within 400 ms|ran out of its 400 ms/);
        expect(result.problems.join(" ")).toContain("Azure accepted the change but the agent could not confirm it");
        expect(Date.now() - started).toBeLessThan(5000);
    });
});

describe("the ARM stand-in", () => {
    it("answers GET with the etag as header and in the body, and a PUT with Updating and an Azure-AsyncOperation to poll", async () => {
        const auth = { authorization: `Bearer ${ARM_STAND_IN_TOKEN}` };
        const url = `${arm.url}${arm.loadBalancerId}?api-version=2024-05-01`;
        const get = await fetch(url, { headers: auth });
        const lb = await get.json() as ArmLoadBalancer;
        expect(get.headers.get("etag")).toBe(lb.etag);
        const put = await fetch(url, { method: "PUT", headers: { ...auth, "if-match": lb.etag ?? "" }, body: JSON.stringify(lb) });
        expect(put.status).toBe(200);
        expect(((await put.json()) as ArmLoadBalancer).properties.provisioningState).toBe("Updating");
        const op = put.headers.get("azure-asyncoperation") ?? "";
        expect(op).toMatch(/\/subscriptions\/[^/]+\/providers\/Microsoft\.Network\/locations\/westeurope\/operations\/[0-9a-f-]+\?api-version=/);
        expect((await (await fetch(op, { headers: auth })).json() as { status: string }).status).toBe("InProgress");
        await arm.settled();
        expect((await (await fetch(op, { headers: auth })).json() as { status: string }).status).toBe("Succeeded");
        // The old etag is stale now; no If-Match at all is refused too; no token is 401.
        expect((await fetch(url, { method: "PUT", headers: { ...auth, "if-match": lb.etag ?? "" }, body: JSON.stringify(lb) })).status).toBe(412);
        expect((await fetch(url, { method: "PUT", headers: auth, body: JSON.stringify(lb) })).status).toBe(412);
        expect((await fetch(url)).status).toBe(401);
    });

    it("refuses a body whose rule points at a pool it does not have, or whose two pool fields disagree", async () => {
        const auth = { authorization: `Bearer ${ARM_STAND_IN_TOKEN}` };
        const url = `${arm.url}${arm.loadBalancerId}?api-version=2024-05-01`;
        const lb = arm.loadBalancer();
        const rule = lb.properties.loadBalancingRules?.[0];
        if (rule) rule.properties.backendAddressPool = { id: `${lb.id}/backendAddressPools/blue` }; // plural still green
        const res = await fetch(url, { method: "PUT", headers: { ...auth, "if-match": lb.etag ?? "" }, body: JSON.stringify(lb) });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/must refer to the same pool/);
    });

    it("hands out IMDS tokens only with the Metadata header", async () => {
        await expect(imdsToken(ARM_RESOURCE, { endpoint: arm.url })).resolves.toBe(ARM_STAND_IN_TOKEN);
        const res = await fetch(`${arm.url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(ARM_RESOURCE)}`);
        expect(res.status).toBe(400);
    });
});
