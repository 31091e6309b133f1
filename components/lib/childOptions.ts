import * as pulumi from "@pulumi/pulumi";

/**
 * Options for a component's child resources: `parent` is the component, and the component's own
 * `dependsOn` is passed on. Without this, children wait for the component's dependencies only indirectly
 * (the SDK registers a child after its parent's URN resolves); passing it on puts the dependency in each
 * child's own registration, so the engine's graph states it (a caller's `dependsOn: [guard]` or `[gate]`
 * visibly holds back every VM extension or the load balancer) and tests under mocks can check it.
 */
export function childOptions(component: pulumi.ComponentResource, opts?: pulumi.ComponentResourceOptions): pulumi.CustomResourceOptions {
    return opts?.dependsOn === undefined ? { parent: component } : { parent: component, dependsOn: opts.dependsOn };
}
