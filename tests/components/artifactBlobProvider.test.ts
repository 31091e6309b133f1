/**
 * The artifact upload's provider (components/artifactBlobProvider.ts) against a stand-in of the Blob REST API: an
 * in-memory container that answers GET, PUT with `If-None-Match: *` (409 when the blob exists) and, while the
 * deployer's role has not applied yet, 403.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ArtifactBlobInputs, diffArtifactBlob, publishArtifact, PublishIo } from "../../components/artifactBlobProvider";
import { packedArtifacts, publishStep, UPLOADER_ROLE_COMMAND } from "../../components/lib/artifacts";

const CONTAINER = "https://acct.blob.core.windows.net/artifacts/";

/** A container in memory, with the headers and answers of Blob Storage that the provider relies on. */
class BlobStandIn {
    readonly blobs = new Map<string, Buffer>();
    readonly requests: string[] = [];
    /** Requests answered 403 before the role applies. */
    forbiddenFor = 0;
    /** A blob that appears (CI) right before the next PUT of that name. */
    raceWith?: { name: string; body: Buffer };

    readonly fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
        const url = String(input);
        const method = init?.method ?? "GET";
        const headers = (init?.headers ?? {}) as Record<string, string>;
        const name = url.slice(CONTAINER.length);
        this.requests.push(`${method} ${name}`);
        if (headers.Authorization !== "Bearer storage-token" || headers["x-ms-version"] === undefined) return new Response("no auth", { status: 401 });
        if (this.forbiddenFor > 0) {
            this.forbiddenFor--;
            return new Response("AuthorizationPermissionMismatch", { status: 403 });
        }
        if (method === "GET") {
            const blob = this.blobs.get(name);
            return blob ? new Response(blob, { status: 200 }) : new Response("BlobNotFound", { status: 404 });
        }
        if (this.raceWith?.name === name) {
            this.blobs.set(name, this.raceWith.body);
            this.raceWith = undefined;
        }
        if (headers["If-None-Match"] === "*" && this.blobs.has(name)) return new Response("BlobAlreadyExists", { status: 409 });
        if (headers["x-ms-blob-type"] !== "BlockBlob") return new Response("MissingRequiredHeader", { status: 400 });
        this.blobs.set(name, Buffer.from(init?.body as Buffer));
        return new Response(null, { status: 201 });
    }) as typeof fetch;
}

let dir: string;
let file: string;
let bytes: Buffer;
let sha: string;
let store: BlobStandIn;
let logged: string[];
let io: PublishIo;

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "blob-"));
    file = path.join(dir, "app-1.0.0.tgz");
    bytes = Buffer.from("packed app 1.0.0");
    fs.writeFileSync(file, bytes);
    sha = crypto.createHash("sha256").update(bytes).digest("hex");
    store = new BlobStandIn();
    logged = [];
    io = { fetch: store.fetch, sleep: async () => undefined, log: (l) => logged.push(l), retryIntervalSeconds: 0 };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const inputs = (over: Partial<ArtifactBlobInputs> = {}): ArtifactBlobInputs => ({ containerUrl: CONTAINER, version: "1.0.0", sha256: sha, file, token: "storage-token", ...over });

describe("publishArtifact", () => {
    it("uploads the artifact, then its .sha256 (as app:pack writes it), each without overwriting", async () => {
        const out = await publishArtifact(inputs(), io);
        expect(store.requests).toEqual(["GET app-1.0.0.tgz", "GET app-1.0.0.tgz.sha256", "PUT app-1.0.0.tgz", "PUT app-1.0.0.tgz.sha256"]);
        expect(store.blobs.get("app-1.0.0.tgz")).toEqual(bytes);
        expect(store.blobs.get("app-1.0.0.tgz.sha256")?.toString()).toBe(`${sha}  app-1.0.0.tgz\n`);
        expect(out).toMatchObject({ url: `${CONTAINER}app-1.0.0.tgz`, sha256: sha, published: { "app-1.0.0.tgz": "uploaded", "app-1.0.0.tgz.sha256": "uploaded" } });
        expect(JSON.stringify(out)).not.toContain("storage-token");
    });

    it("keeps what CI already published with the same bytes, and completes a half-published version", async () => {
        store.blobs.set("app-1.0.0.tgz", bytes);
        const out = await publishArtifact(inputs(), io);
        expect(store.requests.filter((r) => r.startsWith("PUT"))).toEqual(["PUT app-1.0.0.tgz.sha256"]);
        expect(out.published).toEqual({ "app-1.0.0.tgz": "already published", "app-1.0.0.tgz.sha256": "uploaded" });
    });

    it("refuses a blob that exists with another SHA-256, uploading nothing", async () => {
        store.blobs.set("app-1.0.0.tgz", Buffer.from("other bytes"));
        const other = crypto.createHash("sha256").update("other bytes").digest("hex");
        await expect(publishArtifact(inputs(), io)).rejects.toThrow(`${CONTAINER}app-1.0.0.tgz already exists and stands for sha256 ${other}, not ${sha}`);
        expect(store.requests.filter((r) => r.startsWith("PUT"))).toEqual([]);
        expect(store.blobs.get("app-1.0.0.tgz")?.toString()).toBe("other bytes");
    });

    it("refuses a published .sha256 that names other bytes", async () => {
        store.blobs.set("app-1.0.0.tgz.sha256", Buffer.from(`${"d".repeat(64)}  app-1.0.0.tgz\n`));
        await expect(publishArtifact(inputs(), io)).rejects.toThrow(`stands for sha256 ${"d".repeat(64)}`);
        expect(store.blobs.has("app-1.0.0.tgz")).toBe(false);
    });

    it("never overwrites a blob that CI published between the comparison and the upload: other bytes are refused", async () => {
        store.raceWith = { name: "app-1.0.0.tgz", body: Buffer.from("ci bytes") };
        await expect(publishArtifact(inputs(), io)).rejects.toThrow("already exists and stands for sha256");
        expect(store.blobs.get("app-1.0.0.tgz")?.toString()).toBe("ci bytes");
    });

    it("takes the same bytes published in that race as published", async () => {
        store.raceWith = { name: "app-1.0.0.tgz", body: bytes };
        const out = await publishArtifact(inputs(), io);
        expect(out.published["app-1.0.0.tgz"]).toBe("already published");
    });

    it("waits out 403 while a role assignment applies, saying why in each retry", async () => {
        store.forbiddenFor = 3;
        await publishArtifact(inputs(), io);
        expect(logged.filter((l) => l.includes("answered 403"))).toHaveLength(3);
        expect(logged[0]).toMatch(/a role assignment can take up to 10 minutes to apply, retrying in 0s \(\d+s left\)/);
        expect(store.blobs.has("app-1.0.0.tgz.sha256")).toBe(true);
    });

    it("gives up after the wait with the exact role command", async () => {
        store.forbiddenFor = Number.POSITIVE_INFINITY;
        await expect(publishArtifact(inputs({ authWaitSeconds: 0 }), io)).rejects.toThrow(
            `answered 403 for 0s: the identity running pulumi up may not write blobs there (Owner or Contributor of the subscription carry no data actions). Grant it Storage Blob Data Contributor, wait a few minutes and run pulumi up again: ${UPLOADER_ROLE_COMMAND}`,
        );
    });

    it("refuses a local file that is no longer the pinned bytes", async () => {
        fs.writeFileSync(file, "repacked");
        await expect(publishArtifact(inputs(), io)).rejects.toThrow(`hashes to ${crypto.createHash("sha256").update("repacked").digest("hex")}, not the pinned ${sha}`);
        expect(store.requests).toEqual([]);
    });
});

describe("diffArtifactBlob", () => {
    const olds = { containerUrl: CONTAINER, version: "1.0.0", sha256: "a".repeat(64), url: "", published: {} };
    it("ignores the file path and the token (another machine, a fresh token)", () => {
        expect(diffArtifactBlob(olds, { containerUrl: CONTAINER, version: "1.0.0", sha256: "A".repeat(64), file: "/elsewhere", token: "new" })).toEqual({ changes: false, replaces: [] });
    });
    it("replaces on other bytes or another container (the old blob is retained, the new one compared)", () => {
        expect(diffArtifactBlob(olds, { containerUrl: CONTAINER, version: "1.0.0", sha256: "b".repeat(64), file: "f" }).replaces).toEqual(["sha256"]);
    });
});

describe("publishStep", () => {
    it.each([
        [undefined, "upload"],
        ["a".repeat(64), "keep"],
        ["A".repeat(64), "keep"],
        ["b".repeat(64), "refuse"],
    ])("published %s → %s", (published, action) => {
        expect(publishStep("u", published, "a".repeat(64)).action).toBe(action);
    });
});

describe("packedArtifacts", () => {
    const hash = (f: string) => (f.endsWith("1.0.0.tgz") ? "a".repeat(64) : "b".repeat(64));
    it("finds the wanted versions present under dist/, once per version, and skips the missing ones", () => {
        const found = packedArtifacts("/d/", [
            { version: "1.0.0", sha256: "A".repeat(64), shaKey: "blueArtifactSha256" },
            { version: "1.0.0", sha256: "a".repeat(64), shaKey: "greenArtifactSha256" },
            { version: "2.0.0", sha256: "b".repeat(64), shaKey: "greenArtifactSha256" },
        ], (f) => f === "/d/app-1.0.0.tgz", hash);
        expect(found).toEqual([{ version: "1.0.0", sha256: "a".repeat(64), file: "/d/app-1.0.0.tgz" }]);
    });
    it("refuses every file whose bytes are not pinned, naming each key", () => {
        expect(() => packedArtifacts("/d", [
            { version: "1.0.0", sha256: "c".repeat(64), shaKey: "blueArtifactSha256" },
            { version: "2.0.0", sha256: "c".repeat(64), shaKey: "greenArtifactSha256" },
        ], () => true, hash)).toThrow(/blueArtifactSha256 is c{64}[\s\S]*greenArtifactSha256 is c{64}/);
    });
});
