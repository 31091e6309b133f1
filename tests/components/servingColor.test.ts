// What the program reads from Azure before the release guard decides (components/lib/servingColor.ts), under Pulumi
// mocks: nothing to read yet, the color and the agent's flip-back record, or why the read failed.
import * as pulumi from "@pulumi/pulumi";

/** What "Azure" answers: the resource group's tags, the load balancer (or an error for either read). */
let answers: { rgTags?: Record<string, string>; rgError?: string; lb?: Record<string, unknown>; lbError?: string } = {};
/** An invoke's failure as the engine hands it to the SDK: the message in the gRPC error's `details`. */
const azureError = (message: string) => Object.assign(new Error(message), { details: message });

pulumi.runtime.setMocks(
    {
        newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
        call: (args) => {
            if (args.token === "azure-native:resources:getResourceGroup") {
                if (answers.rgError) throw azureError(answers.rgError);
                return { name: args.inputs.resourceGroupName, tags: answers.rgTags };
            }
            if (args.token === "azure-native:network:getLoadBalancer") {
                if (answers.lbError) throw azureError(answers.lbError);
                return answers.lb ?? {};
            }
            return {};
        },
    },
    "bluegreen",
    "test",
    false,
);

import { readServingColor } from "../../components/lib/servingColor";
import { formatFlipBackTag, FlipBackRecord } from "../../release/watchContract";
import type { ServingRead } from "../../release/readBack";

const read = (): Promise<ServingRead> => new Promise((resolve) => readServingColor(pulumi.output("rg-prod")).apply(resolve));
const record: FlipBackRecord = { flipId: "2026-12-01T10:00:00.000Z", at: "2026-12-01T10:03:20.000Z", from: "green", to: "blue", reason: "green: error ratio 20%" };
const lb = (pool: string, tags: Record<string, string> = {}) => ({
    loadBalancingRules: [{ name: "production", backendAddressPool: { id: `/subscriptions/s/resourceGroups/rg-prod/providers/Microsoft.Network/loadBalancers/front-lb1/backendAddressPools/${pool}` } }],
    tags,
});

describe("readServingColor", () => {
    it("knows nothing, and says no error, when the resource group names no load balancer yet (the first deploy)", async () => {
        answers = { rgTags: {} };
        expect(await read()).toEqual({});
    });

    it("reads the color the production rule points at and the agent's flip-back record from the load balancer's tag", async () => {
        answers = { rgTags: { "bluegreen-load-balancer": "front-lb1" }, lb: lb("blue", { "bluegreen-flip-back": formatFlipBackTag(record) }) };
        expect(await read()).toEqual({ color: "blue", flipBack: record });
    });

    it("reads no record when the tag is absent or not a record", async () => {
        answers = { rgTags: { "bluegreen-load-balancer": "front-lb1" }, lb: lb("green", { "bluegreen-flip-back": "{not json" }) };
        expect(await read()).toEqual({ color: "green" });
    });

    it("says why when Azure answers an error for the load balancer, and how to look (not 'nothing known')", async () => {
        answers = { rgTags: { "bluegreen-load-balancer": "front-lb1" }, lbError: "(TooManyRequests) Number of read requests exceeded the limit\nmore detail" };
        const r = await read();
        expect(r.color).toBeUndefined();
        expect(r.unreadable).toBe(
            "reading load balancer front-lb1 in resource group rg-prod failed: (TooManyRequests) Number of read requests exceeded the limit; " +
                "look yourself: az network lb show --resource-group rg-prod --name front-lb1",
        );
    });

    it("says how to recover when the load balancer the tag names was deleted outside Pulumi", async () => {
        answers = { rgTags: { "bluegreen-load-balancer": "front-lb1" }, lbError: "(ResourceNotFound) The Resource 'Microsoft.Network/loadBalancers/front-lb1' was not found" };
        expect((await read()).unreadable).toContain("pulumi refresh, then az group update --name rg-prod --remove tags.bluegreen-load-balancer");
    });

    it("says why when the resource group cannot be read", async () => {
        answers = { rgError: "(AuthorizationFailed) no read access" };
        expect((await read()).unreadable).toBe("reading resource group rg-prod (its tag bluegreen-load-balancer names the load balancer) failed: (AuthorizationFailed) no read access");
    });
});
