import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import { artifactUrl, containerUrl } from "./lib/artifacts";
import { childOptions } from "./lib/childOptions";

export interface ArtifactStoreArgs {
    /** Resource group of the storage account. */
    readonly resourceGroupName: pulumi.Input<string>;
    /** Azure region. */
    readonly location: pulumi.Input<string>;
    /**
     * Name of the private blob container.
     * @default "artifacts"
     */
    readonly containerName?: string;
}

/**
 * A private blob container for the immutable app artifacts `app-<version>.tgz`.
 * HTTPS only, TLS 1.2, no anonymous blob access, and **no shared-key access**: the VMs read with their
 * managed identity (Storage Blob Data Reader, granted per VM by ColorSet), uploads use Entra ID
 * (`az storage blob upload --auth-mode login`), so no account key exists that could leak or need rotating.
 */
export class ArtifactStore extends pulumi.ComponentResource {
    public readonly accountName: pulumi.Output<string>;
    public readonly containerName: pulumi.Output<string>;
    /** ARM id of the container: the scope of the VMs' read role assignments. */
    public readonly containerId: pulumi.Output<string>;
    /** The account's primary blob endpoint, e.g. `https://<account>.blob.core.windows.net/`. */
    public readonly blobEndpoint: pulumi.Output<string>;
    /** The container's URL with a trailing slash, e.g. `https://<account>.blob.core.windows.net/artifacts/` (where uploads go). */
    public readonly containerUrl: pulumi.Output<string>;

    constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:artifactStore:ArtifactStore", name, {}, opts);
        const childOpts = childOptions(this, opts);

        // Storage account names allow lowercase letters and digits only; auto-naming appends a random suffix.
        const account = new storage.StorageAccount(`${name.replace(/[^a-z0-9]/g, "")}store`, {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            kind: "StorageV2",
            sku: { name: "Standard_LRS" },
            enableHttpsTrafficOnly: true,
            minimumTlsVersion: "TLS1_2",
            allowBlobPublicAccess: false,
            allowSharedKeyAccess: false,
            defaultToOAuthAuthentication: true,
        }, childOpts);

        const container = new storage.BlobContainer(`${name}-container`, {
            resourceGroupName: args.resourceGroupName,
            accountName: account.name,
            containerName: args.containerName ?? "artifacts",
            publicAccess: "None",
        }, childOpts);

        this.accountName = account.name;
        this.containerName = container.name;
        this.containerId = container.id;
        this.blobEndpoint = account.primaryEndpoints.apply((e) => e.blob);
        this.containerUrl = pulumi.all([this.blobEndpoint, this.containerName]).apply(([endpoint, container]) => containerUrl(endpoint, container));
        this.registerOutputs({
            accountName: this.accountName,
            containerName: this.containerName,
            containerId: this.containerId,
            blobEndpoint: this.blobEndpoint,
            containerUrl: this.containerUrl,
        });
    }

    /** The URL of `app-<version>.tgz` in this container. */
    public urlFor(version: string): pulumi.Output<string> {
        return pulumi.all([this.blobEndpoint, this.containerName]).apply(([endpoint, container]) => artifactUrl(endpoint, container, version));
    }
}
