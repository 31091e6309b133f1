/**
 * The provider implementation of an artifact's blobs (components/artifactStore.ts `ArtifactBlob`): uploads
 * `app-<version>.tgz` and then `app-<version>.tgz.sha256` to the container with the deployer's Entra ID token (the
 * account has no shared key), the same way delivery/publish-artifact.sh does from CI:
 *   - a blob that is not there is uploaded with `If-None-Match: *`, so a race with CI never overwrites;
 *   - a blob that is there is compared (downloaded and hashed; the `.sha256` file by its first field): the same bytes
 *     are kept, other bytes are refused;
 *   - 401/403 is retried for up to 10 minutes, saying why: a role assignment can take that long to apply.
 * Never deletes anything (and the resource is `retainOnDelete`): a run without dist/ leaves published blobs alone.
 * Plain Node (global fetch), no Pulumi at run time: the dynamic provider host loads it by path.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import { artifactBlobName, publishStep, ROLE_PROPAGATION_SECONDS, UPLOADER_ROLE_COMMAND } from "./lib/artifacts";

/** The dynamic resource's inputs. */
export interface ArtifactBlobInputs {
    /** The container's URL, ending in `/`. */
    readonly containerUrl: string;
    readonly version: string;
    /** SHA-256 (hex) the config pins for this version. */
    readonly sha256: string;
    /** Absolute path of the packed `app-<version>.tgz` on the machine running `pulumi up`. */
    readonly file: string;
    /**
     * The blob's name in the container (its checksum goes beside it as `<name>.sha256`).
     * @default `app-<version>.tgz`
     */
    readonly blobName?: string;
    /** Secret: an Entra ID access token for `https://storage.azure.com/` (azure-native's getClientToken). */
    readonly token?: string;
    /** How long 401/403 is waited out, in seconds. @default 600 */
    readonly authWaitSeconds?: number;
}

/** The dynamic resource's state (no token). */
export interface ArtifactBlobOutputs {
    readonly containerUrl: string;
    readonly version: string;
    readonly sha256: string;
    /** The artifact's URL. */
    readonly url: string;
    /** What this create did for each blob: `uploaded` or `already published`. */
    readonly published: Record<string, string>;
}

/** How the provider talks to Blob Storage and waits (tests pass short waits and a recorder). */
export interface PublishIo {
    readonly fetch: typeof fetch;
    readonly sleep: (ms: number) => Promise<void>;
    readonly log: (line: string) => void;
    /** Seconds between two tries after 401/403. @default 15 */
    readonly retryIntervalSeconds?: number;
}

const STORAGE_API_VERSION = "2021-08-06";

const defaultIo: PublishIo = {
    fetch: (...args) => fetch(...args),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    // The dynamic provider host's stderr goes to the engine's log (pulumi up -v 3 shows it): the wait is also in the error.
    log: (line) => process.stderr.write(`${line}\n`),
};

function sha256Hex(bytes: Buffer): string {
    return createHash("sha256").update(bytes).digest("hex");
}

/** The `.sha256` file app:pack writes: `<hex>  app-<version>.tgz`. */
export function checksumFileText(blobName: string, sha256: string): string {
    return `${sha256}  ${blobName}\n`;
}

/** The 401/403 wait shared by every request of one publish. */
interface Wait {
    /** When it ends (ms since the epoch). */
    readonly deadline: number;
    readonly seconds: number;
}

/**
 * Sends one request, waiting out 401/403 (role propagation) until `deadline` (ms since epoch). Other answers are
 * returned as they are.
 */
async function send(url: string, init: RequestInit, wait: Wait, io: PublishIo): Promise<Response> {
    for (;;) {
        const response = await io.fetch(url, init);
        if (response.status !== 401 && response.status !== 403) return response;
        const left = Math.ceil((wait.deadline - Date.now()) / 1000);
        if (left <= 0) {
            throw new Error(
                `${url} answered ${response.status} for ${wait.seconds}s: the identity running pulumi up may not ` +
                    `write blobs there (Owner or Contributor of the subscription carry no data actions). Grant it Storage Blob Data Contributor, ` +
                    `wait a few minutes and run pulumi up again: ${UPLOADER_ROLE_COMMAND}`,
            );
        }
        const interval = io.retryIntervalSeconds ?? 15;
        io.log(
            `artifact upload: ${url} answered ${response.status}; a role assignment can take up to 10 minutes to apply, ` +
                `retrying in ${interval}s (${left}s left)`,
        );
        await response.arrayBuffer().catch(() => undefined);
        await io.sleep(interval * 1000);
    }
}

/** The SHA-256 the blob at `url` stands for, or undefined when it is not there. */
async function publishedSha(url: string, headers: Record<string, string>, wait: Wait, io: PublishIo): Promise<string | undefined> {
    const response = await send(url, { method: "GET", headers }, wait, io);
    if (response.status === 404) {
        await response.arrayBuffer().catch(() => undefined);
        return undefined;
    }
    const body = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200) throw new Error(`reading ${url} answered HTTP ${response.status}: ${body.subarray(0, 300).toString("utf8")}`);
    return url.endsWith(".sha256") ? body.toString("utf8").trim().split(/\s+/)[0] ?? "" : sha256Hex(body);
}

/**
 * Publishes one version's two blobs (see the module comment). Throws with the reason and the fix when a blob stands for
 * other bytes, the local file is not the pinned one, or access is still refused after the wait.
 */
export async function publishArtifact(inputs: ArtifactBlobInputs, io: PublishIo = defaultIo): Promise<ArtifactBlobOutputs> {
    const bytes = fs.readFileSync(inputs.file);
    const actual = sha256Hex(bytes);
    if (actual !== inputs.sha256.toLowerCase()) {
        throw new Error(`${inputs.file} hashes to ${actual}, not the pinned ${inputs.sha256}: pack it again (npm run app:pack -- ${inputs.version}) or pin its SHA-256.`);
    }
    const seconds = inputs.authWaitSeconds ?? ROLE_PROPAGATION_SECONDS;
    const wait: Wait = { deadline: Date.now() + seconds * 1000, seconds };
    const base = { "x-ms-version": STORAGE_API_VERSION, ...(inputs.token ? { Authorization: `Bearer ${inputs.token}` } : {}) };
    const tgz = inputs.blobName ?? artifactBlobName(inputs.version);
    const blobs: { name: string; body: Buffer; type: string }[] = [
        { name: tgz, body: bytes, type: "application/gzip" },
        { name: `${tgz}.sha256`, body: Buffer.from(checksumFileText(tgz, actual), "utf8"), type: "text/plain" },
    ];
    // Compare both before uploading anything; the checksum file goes last (a reader that finds it finds the artifact).
    const steps = [];
    for (const blob of blobs) {
        const url = `${inputs.containerUrl}${blob.name}`;
        const step = publishStep(url, await publishedSha(url, base, wait, io), actual);
        if (step.action === "refuse") throw new Error(step.reason);
        steps.push({ ...blob, url, step });
    }
    const published: Record<string, string> = {};
    for (const blob of steps) {
        if (blob.step.action === "keep") {
            published[blob.name] = "already published";
            continue;
        }
        const response = await send(blob.url, {
            method: "PUT",
            headers: { ...base, "x-ms-blob-type": "BlockBlob", "Content-Type": blob.type, "If-None-Match": "*" },
            body: blob.body,
        }, wait, io);
        await response.arrayBuffer().catch(() => undefined);
        if (response.status === 409 || response.status === 412) {
            // Someone (CI) published it between the comparison and the upload: compare again, never overwrite.
            const again = publishStep(blob.url, await publishedSha(blob.url, base, wait, io), actual);
            if (again.action === "refuse") throw new Error(again.reason);
            published[blob.name] = "already published";
            continue;
        }
        if (response.status !== 201) throw new Error(`uploading ${blob.url} answered HTTP ${response.status}`);
        io.log(`artifact upload: ${blob.url} uploaded (sha256 ${actual})`);
        published[blob.name] = "uploaded";
    }
    return { containerUrl: inputs.containerUrl, version: inputs.version, sha256: actual, url: `${inputs.containerUrl}${tgz}`, published };
}

/** The resource is replaced when it would stand for another blob or other bytes; the file path and token do not matter. */
export function diffArtifactBlob(olds: ArtifactBlobOutputs, news: ArtifactBlobInputs): { changes: boolean; replaces: string[] } {
    const replaces: string[] = (["containerUrl", "version", "sha256"] as const).filter((k) => String(olds[k]).toLowerCase() !== String(news[k]).toLowerCase());
    const oldName = olds.url?.slice(olds.containerUrl.length);
    if (oldName && oldName !== (news.blobName ?? artifactBlobName(news.version))) replaces.push("blobName");
    return { changes: replaces.length > 0, replaces };
}
