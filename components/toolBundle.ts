import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import { containerUrl } from "./lib/artifacts";
import { childOptions } from "./lib/childOptions";
import { ToolBundleFile } from "./lib/toolBundle";

export interface ToolBundleArgs {
    /** Resource group of the artifact store. */
    readonly resourceGroupName: pulumi.Input<string>;
    /** The artifact store's account (components/artifactStore.ts). */
    readonly accountName: pulumi.Input<string>;
    /** The artifact store's container. */
    readonly containerName: pulumi.Input<string>;
    /** The account's blob endpoint, e.g. `https://<account>.blob.core.windows.net/`. */
    readonly blobEndpoint: pulumi.Input<string>;
    /** The bundle this checkout builds (components/lib/toolBundle.ts `buildToolBundle`). */
    readonly bundle: ToolBundleFile;
}

/**
 * The release agent's tools (the migration runner and migrations/ of this repository, pinned by SHA-256: see
 * components/lib/toolBundle.ts) published as `bluegreen-tools-<hash>.tgz` in the artifact container, where the agent
 * reads it with its identity. One blob per content: a changed runner or migration is a new blob (the old one is
 * deleted once nothing declares it); an unchanged one is not uploaded again. Runs on the agent take `url` and
 * `sha256`, and depend on this component, so the upload comes first.
 */
export class ToolBundle extends pulumi.ComponentResource {
    /** The blob's URL. */
    public readonly url: pulumi.Output<string>;
    /** The SHA-256 every run checks before it runs anything from the bundle (plain: known when the program starts). */
    public readonly sha256: string;

    constructor(name: string, args: ToolBundleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:toolBundle:ToolBundle", name, {}, opts);
        const blob = new storage.Blob(`${name}-blob`, {
            resourceGroupName: args.resourceGroupName,
            accountName: args.accountName,
            containerName: args.containerName,
            blobName: args.bundle.blobName,
            type: storage.BlobType.Block,
            contentType: "application/gzip",
            source: new pulumi.asset.FileAsset(args.bundle.file),
            metadata: { sha256: args.bundle.sha256 },
        }, { ...childOptions(this, opts), deleteBeforeReplace: false });
        this.sha256 = args.bundle.sha256;
        // Through the blob's id: a run that downloads it starts only after the upload.
        this.url = pulumi.all([args.blobEndpoint, args.containerName, blob.id]).apply(([endpoint, container]) => `${containerUrl(endpoint, container)}${args.bundle.blobName}`);
        this.registerOutputs({ url: this.url, sha256: this.sha256 });
    }
}
