import * as pulumi from "@pulumi/pulumi";
import { ArtifactBlob } from "./artifactStore";
import { childOptions } from "./lib/childOptions";
import { ToolBundleFile } from "./lib/toolBundle";

export interface ToolBundleArgs {
    /** The artifact store's container URL, ending in `/` (components/artifactStore.ts `containerUrl`). */
    readonly containerUrl: pulumi.Input<string>;
    /**
     * Secret: an Entra ID token for `https://storage.azure.com/` of the identity running `pulumi up` (Storage Blob Data
     * Contributor): the account has no shared key, so the upload goes through Entra ID like the app artifacts'.
     */
    readonly token: pulumi.Input<string>;
    /** The bundle this checkout builds (components/lib/toolBundle.ts `buildToolBundle`). */
    readonly bundle: ToolBundleFile;
}

/**
 * The release agent's tools (the migration runner and migrations/ of this repository, pinned by SHA-256: see
 * components/lib/toolBundle.ts) published as `bluegreen-tools-<hash>.tgz` in the artifact container, where the agent
 * reads it with its identity. It is an {@link ArtifactBlob}: immutable, one blob per content (a changed runner or
 * migration is a new blob), compared and never overwritten, kept when nothing declares it any more (an agent run of an
 * older stack state may still fetch it). Runs on the agent take `url` and `sha256`, and depend on this component, so
 * the upload comes first. Give it `dependsOn: [artifactStore]`: the container must exist before the upload.
 */
export class ToolBundle extends pulumi.ComponentResource {
    /** The blob's URL. */
    public readonly url: pulumi.Output<string>;
    /** The SHA-256 every run checks before it runs anything from the bundle (plain: known when the program starts). */
    public readonly sha256: string;

    constructor(name: string, args: ToolBundleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:toolBundle:ToolBundle", name, {}, opts);
        const blob = new ArtifactBlob(`${name}-blob`, {
            containerUrl: args.containerUrl,
            artifact: { version: `tools-${args.bundle.sha256.slice(0, 12)}`, sha256: args.bundle.sha256, file: args.bundle.file },
            blobName: args.bundle.blobName,
            token: args.token,
        }, childOptions(this, opts));
        this.sha256 = args.bundle.sha256;
        // Through the blob's url: a run that downloads it starts only after the upload.
        this.url = blob.url;
        this.registerOutputs({ url: this.url, sha256: this.sha256 });
    }
}
