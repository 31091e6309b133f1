/**
 * What the production rule really points at, read from Azure before the release guard decides (so a flip whose gate
 * did not pass is known as "pending gate", release/guard.ts `reconcile`). The load balancer is auto-named, so its name
 * is kept in a tag of the resource group (`bluegreen-load-balancer`, written after the load balancer by
 * `loadBalancerLocator`). Anything missing (the first deploy, the tag removed, the load balancer gone) reads as
 * "not known", and the guard then trusts its record.
 */
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import * as resources from "@pulumi/azure-native/resources";
import { Color } from "../../release/colors";
import { LOAD_BALANCER_LOCATOR_TAG, productionColorOf } from "../../release/readBack";

/** The color the production rule points at now, or undefined when it cannot be read (see the file comment). */
export function readServingColor(resourceGroupName: pulumi.Output<string>): pulumi.Output<Color | undefined> {
    return resourceGroupName.apply(async (name): Promise<Color | undefined> => {
        try {
            const rg = await resources.getResourceGroup({ resourceGroupName: name });
            const lbName = rg.tags?.[LOAD_BALANCER_LOCATOR_TAG];
            if (!lbName) return undefined;
            return productionColorOf(await network.getLoadBalancer({ resourceGroupName: name, loadBalancerName: lbName }));
        } catch {
            return undefined;
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
