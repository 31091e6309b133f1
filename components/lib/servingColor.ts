/**
 * What the production rule really points at, read from Azure before the release guard decides: the color (so a flip
 * whose gate did not pass is known as "pending gate", release/guard.ts `reconcile`) and the release agent's flip-back
 * record in the load balancer's tag `bluegreen-flip-back` (so an automatic flip-back is known and never undone
 * silently). The load balancer is auto-named, so its name is kept in a tag of the resource group
 * (`bluegreen-load-balancer`, written after the load balancer by `loadBalancerLocator`).
 *
 * Two outcomes are told apart (release/readBack.ts `ServingRead`): nothing to read yet — no load balancer named in the
 * resource group's tag (the first deploy, or a stack from before the tag): nothing is known and the guard trusts its
 * record; and a read that failed — Azure answered an error for the resource group or the load balancer it names:
 * `unreadable` says which read and what Azure said, and the guard refuses every update while it has a record (it
 * cannot know whether production was moved).
 */
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import * as resources from "@pulumi/azure-native/resources";
import { LOAD_BALANCER_LOCATOR_TAG, ServingRead, servingReadFailure, servingReadOf } from "../../release/readBack";

/** What the production rule points at now and the agent's flip-back record, or why they could not be read (see the file comment). */
export function readServingColor(resourceGroupName: pulumi.Output<string>): pulumi.Output<ServingRead> {
    return resourceGroupName.apply(async (name): Promise<ServingRead> => {
        let lbName: string | undefined;
        try {
            const rg = await resources.getResourceGroup({ resourceGroupName: name });
            lbName = rg.tags?.[LOAD_BALANCER_LOCATOR_TAG];
            if (!lbName) return {};
            return servingReadOf(await network.getLoadBalancer({ resourceGroupName: name, loadBalancerName: lbName }));
        } catch (e) {
            return servingReadFailure(name, lbName, e);
        }
    });
}

/** Writes the load balancer's name into the resource group's tags (Azure replaces the group's tags with these). */
export function loadBalancerLocator(
    name: string,
    args: { resourceGroupId: pulumi.Input<string>; loadBalancerName: pulumi.Input<string> },
    opts?: pulumi.CustomResourceOptions,
): resources.TagAtScope {
    return new resources.TagAtScope(name, {
        scope: args.resourceGroupId,
        properties: { tags: { [LOAD_BALANCER_LOCATOR_TAG]: args.loadBalancerName } },
    }, opts);
}
