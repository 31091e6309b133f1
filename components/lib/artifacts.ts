import { createHash } from "crypto";
import { readFileSync } from "fs";
/** The blob name of the artifact of `version`: one immutable file per version. */
export function artifactBlobName(version: string): string {
    return `app-${version}.tgz`;
}

/** The URL of `container` under `blobEndpoint` (with or without a trailing slash), ending in `/`. */
export function containerUrl(blobEndpoint: string, container: string): string {
    return `${blobEndpoint.replace(/\/+$/, "")}/${container}/`;
}

/**
 * The URL of `app-<version>.tgz` in the program's private container, e.g.
 * `https://<account>.blob.core.windows.net/artifacts/app-1.4.2.tgz`.
 * `blobEndpoint` is the account's primary blob endpoint (with or without a trailing slash).
 */
export function artifactUrl(blobEndpoint: string, container: string, version: string): string {
    return `${containerUrl(blobEndpoint, container)}${artifactBlobName(version)}`;
}

/** Built-in role "Key Vault Secrets User": read a secret's value (data action `secrets/getSecret`), nothing else. */
export const KEY_VAULT_SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6";

/** Built-in role "Storage Blob Data Reader" (read blobs with Entra ID / managed identity). */
export const STORAGE_BLOB_DATA_READER_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";

/**
 * The full role definition id for `roleGuid` in the subscription that `scopeId` (an ARM resource id) lives in:
 * `/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid>`. Avoids a client-config lookup.
 */
export function roleDefinitionId(scopeId: string, roleGuid: string): string {
    return `/subscriptions/${subscriptionOf(scopeId)}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}

/** The subscription id in an ARM id (`/subscriptions/<id>/...`); throws naming the value otherwise. */
export function subscriptionOf(armId: string): string {
    const match = /^\/subscriptions\/([^/]+)/i.exec(armId);
    if (!match) throw new Error(`"${armId}" is not an ARM resource id under /subscriptions/<id>`);
    return match[1];
}

/** Built-in role "Storage Blob Data Contributor": read, write and delete blobs (what an upload needs; Owner has no data actions). */
export const STORAGE_BLOB_DATA_CONTRIBUTOR_ROLE = "ba92f5b4-2d11-453f-a403-e96b0029c9fe";

/** How long a 401/403 from Blob Storage is waited out: Azure can take up to 10 minutes to apply a new role assignment. */
export const ROLE_PROPAGATION_SECONDS = 600;

/**
 * The command that gives the signed-in user of `az` the data role an upload needs, on the whole subscription (the
 * storage account does not exist before the first deploy; narrow it to the account afterwards if you like).
 */
export const UPLOADER_ROLE_COMMAND =
    'az role assignment create --assignee "$(az ad signed-in-user show --query id --output tsv)" ' +
    '--role "Storage Blob Data Contributor" --scope "/subscriptions/$(az account show --query id --output tsv)"';

/** An artifact packed by `npm run app:pack -- <version>` that this update publishes to the container. */
export interface PackedArtifact {
    readonly version: string;
    /** Its SHA-256 (hex, lowercase), as the config pins it. */
    readonly sha256: string;
    /** Absolute path of `app-<version>.tgz`. */
    readonly file: string;
}

/** What a color asks of the program's container: a version and its pinned SHA-256 (config key for messages). */
export interface WantedArtifact {
    readonly version: string;
    readonly sha256: string;
    /** The config key that pins the SHA-256, e.g. `blueArtifactSha256`. */
    readonly shaKey: string;
}

/**
 * The packed artifacts under `distDir` that this update publishes: for each wanted version whose
 * `app-<version>.tgz` is there. A version without a file is skipped (a runner without dist/, e.g. Pulumi Deployments,
 * relies on what is already published). A file whose bytes are not the pinned SHA-256 is refused before anything is
 * declared, with the fix. `hashFile` computes a file's SHA-256 (hex).
 */
export function packedArtifacts(distDir: string, wanted: readonly WantedArtifact[], exists: (file: string) => boolean, hashFile: (file: string) => string): PackedArtifact[] {
    const found = new Map<string, PackedArtifact>();
    const problems: string[] = [];
    for (const w of wanted) {
        const file = `${distDir.replace(/\/+$/, "")}/${artifactBlobName(w.version)}`;
        if (!exists(file)) continue;
        const actual = hashFile(file).toLowerCase();
        const pinned = w.sha256.toLowerCase();
        if (actual !== pinned) {
            problems.push(
                `${file} hashes to ${actual}, but ${w.shaKey} is ${pinned}: the program uploads what it finds under dist/, and the VMs would refuse ` +
                    `those bytes. Fix: pin the file you packed (pulumi config set ${w.shaKey} "$(cut -d' ' -f1 ${file}.sha256)"), or, when ${pinned} is ` +
                    `the artifact already published, move ${file} out of dist/.`,
            );
            continue;
        }
        found.set(w.version, { version: w.version, sha256: actual, file });
    }
    if (problems.length > 0) throw new Error(`Refusing to publish from dist/:\n  - ${problems.join("\n  - ")}`);
    return [...found.values()];
}

/** What to do with one blob of an artifact, given the SHA-256 the published blob stands for (undefined: not there). */
export type PublishStep = { readonly action: "upload" } | { readonly action: "keep" } | { readonly action: "refuse"; readonly reason: string };

/**
 * Published artifacts are immutable: a blob that is not there is uploaded, one that stands for the same SHA-256 is
 * kept (a re-run, or CI published the same bytes), one that stands for another is refused — never overwritten.
 */
export function publishStep(blobUrl: string, published: string | undefined, sha256: string): PublishStep {
    if (published === undefined) return { action: "upload" };
    if (published.toLowerCase() === sha256.toLowerCase()) return { action: "keep" };
    return {
        action: "refuse",
        reason:
            `${blobUrl} already exists and stands for sha256 ${published.toLowerCase()}, not ${sha256.toLowerCase()}. Published versions are immutable ` +
            `and never overwritten: pack the change as a new version (npm run app:pack -- <next version>) and set the color's version and ` +
            `ArtifactSha256 to it; or, if ${published.toLowerCase()} is the artifact you meant, pin it and move the packed file out of dist/.`,
    };
}

/** The SHA-256 (hex) of a file's bytes. */
export function sha256OfFile(file: string): string {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
}
