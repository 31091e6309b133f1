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
    const match = /^\/subscriptions\/([^/]+)/i.exec(scopeId);
    if (!match) throw new Error(`"${scopeId}" is not an ARM resource id under /subscriptions/<id>`);
    return `/subscriptions/${match[1]}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}
