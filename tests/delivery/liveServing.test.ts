// What `release:check --live` reads through `pulumi` and `az` (delivery/liveServing.ts), with the CLIs stood in.
import { cliLiveServing, CliRunner } from "../../delivery/liveServing";
import { formatFlipBackTag, FlipBackRecord } from "../../release/watchContract";

const record: FlipBackRecord = { flipId: "2026-12-01T10:00:00.000Z", at: "2026-12-01T10:03:20.000Z", from: "green", to: "blue", reason: "green: error ratio 20%" };

/** A deployed stack's export: the parts `stackFacts` reads. */
const exported = {
    deployment: {
        resources: [
            { urn: "urn:pulumi:dev::azure-bluegreen::pulumi-nodejs:dynamic/bluegreen:ReleaseGuard::release-guard", type: "pulumi-nodejs:dynamic/bluegreen:ReleaseGuard", outputs: { state: { liveColor: "green" } } },
            { urn: "urn:pulumi:dev::azure-bluegreen::azure-native:resources:ResourceGroup::bluegreen", type: "azure-native:resources:ResourceGroup", outputs: { name: "rg-dev" } },
            { urn: "urn:pulumi:dev::azure-bluegreen::azure-native:network:LoadBalancer::front-lb", type: "azure-native:network:LoadBalancer", outputs: { name: "front-lb1" } },
            { urn: "urn:pulumi:dev::azure-bluegreen::azure-native:compute:VirtualMachine::agent-vm", type: "azure-native:compute:VirtualMachine", outputs: { name: "agent-vm1" } },
            { urn: "urn:pulumi:dev::azure-bluegreen::pulumi:pulumi:Stack::azure-bluegreen-dev", type: "pulumi:pulumi:Stack", outputs: {} },
        ],
    },
};
const lb = { loadBalancingRules: [{ name: "production", backendAddressPool: { id: "/subscriptions/s/resourceGroups/rg-dev/providers/Microsoft.Network/loadBalancers/front-lb1/backendAddressPools/blue" } }], tags: { "bluegreen-flip-back": formatFlipBackTag(record) } };

/** Answers `pulumi stack export` and `az network lb show` as given, recording each call. */
function runner(answers: { export?: unknown; lb?: unknown; exportError?: string; lbError?: string }, calls: string[][]): CliRunner {
    return (command, args) => {
        calls.push([command, ...args]);
        if (command === "pulumi") {
            if (answers.exportError) throw new Error(answers.exportError);
            return JSON.stringify(answers.export);
        }
        if (answers.lbError) throw new Error(answers.lbError);
        return JSON.stringify(answers.lb);
    };
}

describe("cliLiveServing", () => {
    it("reads the stack's load balancer (named in its state) and returns what serves and the agent's record", () => {
        const calls: string[][] = [];
        expect(cliLiveServing("/repo", "acme", runner({ export: exported, lb }, calls))("dev")).toEqual({ color: "blue", flipBack: record });
        expect(calls).toEqual([
            ["pulumi", "stack", "export", "--stack", "acme/dev", "--cwd", "/repo"],
            ["az", "network", "lb", "show", "--resource-group", "rg-dev", "--name", "front-lb1", "--output", "json"],
        ]);
    });

    it("knows nothing (no error) for a stack never deployed", () => {
        expect(cliLiveServing("/repo", undefined, runner({ export: { deployment: { resources: [] } } }, []))("dev")).toEqual({});
    });

    it("says why when the state or the load balancer cannot be read", () => {
        expect(cliLiveServing("/repo", undefined, runner({ exportError: "pulumi stack export failed: no stack named 'dev'" }, []))("dev").unreadable)
            .toBe("reading the state of stack dev failed: pulumi stack export failed: no stack named 'dev'");
        expect(cliLiveServing("/repo", undefined, runner({ export: exported, lbError: "az network lb failed: (AuthorizationFailed) no access" }, []))("dev").unreadable)
            .toContain("reading load balancer front-lb1 in resource group rg-dev failed: az network lb failed: (AuthorizationFailed) no access");
    });
});
