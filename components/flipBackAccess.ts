import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import { roleDefinitionId, subscriptionOf } from "./lib/artifacts";
import { childOptions } from "./lib/childOptions";
import { FLIP_BACK_GRANTS, flipBackRoleGuid, flipBackRoleName, FlipBackTarget } from "./lib/flipBackAccess";

export interface FlipBackAccessArgs {
    /** ARM id of the stack's resource group: the custom roles are defined there, assignable there only. */
    readonly resourceGroupId: pulumi.Input<string>;
    /** `<project>/<stack>`: part of the roles' GUIDs and names (each unique in the tenant). */
    readonly stack: string;
    /** Object id of the release agent's managed identity (components/releaseAgent.ts `principalId`). */
    readonly principalId: pulumi.Input<string>;
    /** ARM id of the load balancer the flip-back may change (components/loadBalancer.ts `loadBalancerId`). */
    readonly loadBalancerId: pulumi.Input<string>;
    /** ARM id of the load balancer's frontend public IP (components/loadBalancer.ts `publicIpId`). */
    readonly publicIpId: pulumi.Input<string>;
    /** ARM id of the virtual network the pools' addresses are in (components/network.ts `virtualNetworkId`). */
    readonly virtualNetworkId: pulumi.Input<string>;
}

/**
 * The release agent's permission to flip production back by itself (release/flipBack.ts), and nothing more: custom
 * roles with exactly the actions a load balancer PUT needs, each assigned to the agent's identity on one resource —
 * read/write on the load balancer, the linked-access joins on its public IP and on the pools' virtual network
 * (components/lib/flipBackAccess.ts says why each; docs/post-flip-watch.md "The flip-back and its permissions").
 * A new assignment can take up to 10 minutes to apply in Azure: the first flip-back after the first deploy may be
 * refused with 403 until then (the agent then says so, and production stays where it is).
 */
export class FlipBackAccess extends pulumi.ComponentResource {
    /** Each grant's role assignment, by target. */
    public readonly assignments: Readonly<Record<FlipBackTarget, authorization.RoleAssignment>>;
    /** Each grant's custom role definition id, by target. */
    public readonly roleDefinitionIds: Readonly<Record<FlipBackTarget, pulumi.Output<string>>>;

    constructor(name: string, args: FlipBackAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:flipBackAccess:FlipBackAccess", name, {}, opts);
        const childOpts = childOptions(this, opts);
        const scopes: Record<FlipBackTarget, pulumi.Input<string>> = {
            loadBalancer: args.loadBalancerId,
            publicIp: args.publicIpId,
            virtualNetwork: args.virtualNetworkId,
        };
        const resourceGroupId = pulumi.output(args.resourceGroupId);
        const assignments: Partial<Record<FlipBackTarget, authorization.RoleAssignment>> = {};
        const roleIds: Partial<Record<FlipBackTarget, pulumi.Output<string>>> = {};
        for (const grant of FLIP_BACK_GRANTS) {
            const role = new authorization.RoleDefinition(`${name}-${grant.key}-role`, {
                scope: resourceGroupId,
                roleDefinitionId: resourceGroupId.apply((id) => flipBackRoleGuid(subscriptionOf(id), args.stack, grant)),
                roleName: resourceGroupId.apply((id) => flipBackRoleName(subscriptionOf(id), args.stack, grant)),
                description: grant.why,
                roleType: "CustomRole",
                permissions: [{ actions: [...grant.actions], notActions: [], dataActions: [], notDataActions: [] }],
                assignableScopes: [resourceGroupId],
            }, childOpts);
            const scope = pulumi.output(scopes[grant.target]);
            // Through the role's id: the assignment is sent once the role exists.
            const definitionId = pulumi.all([scope, resourceGroupId, role.id]).apply(([s, rg]) => roleDefinitionId(s, flipBackRoleGuid(subscriptionOf(rg), args.stack, grant)));
            assignments[grant.target] = new authorization.RoleAssignment(`${name}-${grant.key}`, {
                scope,
                roleDefinitionId: definitionId,
                principalId: args.principalId,
                principalType: "ServicePrincipal",
            }, { ...childOpts, replaceOnChanges: ["principalId"] }); // a new agent identity (a replaced VM) needs a new assignment
            roleIds[grant.target] = definitionId;
        }
        this.assignments = assignments as Record<FlipBackTarget, authorization.RoleAssignment>;
        this.roleDefinitionIds = roleIds as Record<FlipBackTarget, pulumi.Output<string>>;
        this.registerOutputs({ roleDefinitionIds: this.roleDefinitionIds });
    }
}
