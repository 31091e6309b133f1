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

/**
 * `options` with `more` added to its `dependsOn` (kept, not replaced): for a child that waits for a sibling as well
 * as for everything its component waits for. `dependsOn` must be absent, one resource or an array.
 */
export function withDependsOn(options: pulumi.CustomResourceOptions, ...more: pulumi.Resource[]): pulumi.CustomResourceOptions {
    const inherited = options.dependsOn;
    if (inherited === undefined) return { ...options, dependsOn: more };
    if (Array.isArray(inherited)) return { ...options, dependsOn: [...inherited, ...more] };
    if (pulumi.Resource.isInstance(inherited)) return { ...options, dependsOn: [inherited, ...more] };
    throw new Error("withDependsOn: pass the component's dependsOn as a resource or an array of resources, not a promise or output.");
}
