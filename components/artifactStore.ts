import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import { artifactUrl, containerUrl, PackedArtifact } from "./lib/artifacts";
import { childOptions } from "./lib/childOptions";
import { requireProviderModule } from "./lib/providerModule";
import type { ArtifactBlobInputs, ArtifactBlobOutputs } from "./artifactBlobProvider";

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
    /**
     * Artifacts packed on this machine (`npm run app:pack`, found under dist/ by index.ts) to upload in this update,
     * each as an {@link ArtifactBlob}: immutable, compared with what is published, never deleted.
     * @default [] (nothing to upload: the artifacts are published by CI)
     */
    readonly publish?: readonly PackedArtifact[];
    /**
     * Secret: an Entra ID token for `https://storage.azure.com/` of the identity running `pulumi up` (it needs
     * Storage Blob Data Contributor). Only read when `publish` is not empty.
     */
    readonly uploadToken?: pulumi.Input<string>;
}

/** The provider implementation's absolute path (without extension), computed when the program loads. */
const BLOB_IMPLEMENTATION = path.join(__dirname, "artifactBlobProvider");
const PROJECT_ROOT = path.join(__dirname, "..");

/** Loads components/artifactBlobProvider in the dynamic provider host (components/lib/providerModule.ts). */
function loadBlobImplementation(): typeof import("./artifactBlobProvider") {
    return requireProviderModule<typeof import("./artifactBlobProvider")>(BLOB_IMPLEMENTATION, PROJECT_ROOT);
}

/**
 * The provider Pulumi serializes: a thin shim that loads the implementation by path (as the release guard's does), so
 * nothing but two strings and the loader is captured. No `delete`: a published artifact is never deleted by the program.
 */
export const artifactBlobProvider: pulumi.dynamic.ResourceProvider<ArtifactBlobInputs, ArtifactBlobOutputs> = {
    async diff(_id: string, olds: ArtifactBlobOutputs, news: ArtifactBlobInputs) {
        const d = loadBlobImplementation().diffArtifactBlob(olds, news);
        return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: false };
    },
    async create(inputs: ArtifactBlobInputs) {
        const outs = await loadBlobImplementation().publishArtifact(inputs);
        return { id: outs.url, outs };
    },
};

/** Arguments of one artifact's blobs. */
export interface ArtifactBlobArgs {
    readonly containerUrl: pulumi.Input<string>;
    readonly artifact: PackedArtifact;
    /**
     * The blob's name in the container.
     * @default `app-<version>.tgz`
     */
    readonly blobName?: string;
    /** Secret Entra ID token for storage. */
    readonly token: pulumi.Input<string>;
}

/**
 * `app-<version>.tgz` and its `.sha256` in the container, uploaded from dist/ in this update (see
 * components/artifactBlobProvider.ts). Always `retainOnDelete`: a run without dist/ (Pulumi Deployments) drops it
 * from the state and leaves the blobs where they are.
 */
export class ArtifactBlob extends pulumi.dynamic.Resource {
    /** The artifact's URL once it is in the container. */
    declare public readonly url: pulumi.Output<string>;

    constructor(name: string, args: ArtifactBlobArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            artifactBlobProvider,
            name,
            {
                containerUrl: args.containerUrl,
                version: args.artifact.version,
                sha256: args.artifact.sha256,
                file: args.artifact.file,
                ...(args.blobName ? { blobName: args.blobName } : {}),
                token: pulumi.secret(args.token),
                url: undefined,
                published: undefined,
            },
            { ...opts, retainOnDelete: true, additionalSecretOutputs: ["token"] },
            "bluegreen",
            "ArtifactBlob",
        );
    }
}

/**
 * A private blob container for the immutable app artifacts `app-<version>.tgz`.
 * HTTPS only, TLS 1.2, no anonymous blob access, and **no shared-key access**: the VMs read with their
 * managed identity (Storage Blob Data Reader, granted per VM by ColorSet), uploads use Entra ID (the artifacts packed
 * under dist/, as {@link ArtifactBlob}s of this component; or CI's delivery/publish-artifact.sh), so no account key
 * exists that could leak or need rotating. Order: container → uploads → whatever waits on {@link readyFor}.
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
    /** The artifacts this update uploads, by version: everything that downloads one waits for it ({@link readyFor}). */
    public readonly published: Readonly<Record<string, ArtifactBlob>>;

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

        // The container, then each artifact packed here (dependsOn: the upload needs the container, and data-plane
        // calls do not show in the URL's data flow).
        const published: Record<string, ArtifactBlob> = {};
        for (const artifact of args.publish ?? []) {
            published[artifact.version] = new ArtifactBlob(`${name}-app-${artifact.version}`, {
                containerUrl: this.containerUrl,
                artifact,
                token: args.uploadToken ?? "",
            }, { parent: this, dependsOn: [container] });
        }
        this.published = published;
        this.registerOutputs({
            accountName: this.accountName,
            containerName: this.containerName,
            containerId: this.containerId,
            blobEndpoint: this.blobEndpoint,
            containerUrl: this.containerUrl,
        });
    }

    /** What a download of `version` from this container must wait for: its upload in this update, if any. */
    public readyFor(version: string): pulumi.Resource[] {
        const blob = this.published[version];
        return blob ? [blob] : [];
    }

    /** The URL of `app-<version>.tgz` in this container. */
    public urlFor(version: string): pulumi.Output<string> {
        return pulumi.all([this.blobEndpoint, this.containerName]).apply(([endpoint, container]) => artifactUrl(endpoint, container, version));
    }
}
