/**
 * The first deploy as one `pulumi up`: the artifact packed under dist/ is uploaded in the same update, after its
 * container and before everything that downloads it (migration runs, app deployments, the health gate). Under mocks.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { baseConfig, byName, isSecretValue, ofType, ProgramRun, RegisteredResource, runProgram } from "../support/pulumiProgram";

const BLOB_TYPE = "pulumi-nodejs:dynamic/bluegreen:ArtifactBlob";
const RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine";
const EXTENSION = "azure-native:compute:VirtualMachineExtension";

let dist: string;
let sha: string;

beforeAll(() => {
    dist = fs.mkdtempSync(path.join(os.tmpdir(), "dist-"));
    const bytes = Buffer.from("a packed app, version 1.0.0");
    fs.writeFileSync(path.join(dist, "app-1.0.0.tgz"), bytes);
    sha = crypto.createHash("sha256").update(bytes).digest("hex");
});
afterAll(() => fs.rmSync(dist, { recursive: true, force: true }));

function pinned(overrides: Record<string, string> = {}): Record<string, string> {
    return baseConfig({ blueArtifactSha256: sha, greenArtifactSha256: sha, ...overrides });
}

/** The app artifacts' blobs (the release agent's tool bundle is an ArtifactBlob too: `agent-tools-blob`). */
function appBlobs(run: ProgramRun): RegisteredResource[] {
    return ofType(run, BLOB_TYPE).filter((b) => b.name.startsWith("artifacts-app-"));
}

let firstDeployRun: Promise<ProgramRun> | undefined;
/** The first deploy with the packed artifact under dist/, run once for the describes that start from it. */
function firstDeploy(): Promise<ProgramRun> {
    firstDeployRun ??= runProgram(pinned(), { distDir: dist });
    return firstDeployRun;
}

function dependsOn(r: RegisteredResource, on: RegisteredResource): boolean {
    return r.dependencies.includes(on.urn);
}

describe("a first deploy with the artifact packed under dist/", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await firstDeploy();
    });

    it("succeeds and uploads the packed artifact once, as a blob that is never deleted", () => {
        expect(run.error).toBeUndefined();
        expect(run.failures).toEqual([]);
        const blobs = appBlobs(run);
        expect(blobs.map((b) => b.name)).toEqual(["artifacts-app-1.0.0"]);
        expect(blobs[0].inputs).toMatchObject({ version: "1.0.0", sha256: sha, file: path.join(dist, "app-1.0.0.tgz") });
        expect(blobs[0].retainOnDelete).toBe(true);
        expect(isSecretValue(blobs[0].inputs.token)).toBe(true);
    });

    it("orders container → artifact → every migration run, app deployment and the health gate", () => {
        const container = byName(run, "artifacts-container");
        const blob = byName(run, "artifacts-app-1.0.0");
        expect(dependsOn(blob, container)).toBe(true);
        const downloaders = [
            // the expand runs of both colors and the gate (the post-flip watch's run fetches the tool bundle only)
            ...ofType(run, RUN_COMMAND).filter((r) => !r.name.endsWith("-watch-run")),
            ...ofType(run, EXTENSION).filter((e) => e.name.includes("deploy")),
        ];
        expect(downloaders.map((d) => d.name).sort()).toEqual(
            expect.arrayContaining([expect.stringMatching(/^blue-migrate-expand/), expect.stringMatching(/^green-migrate-expand/), expect.stringMatching(/^blue-gate/), expect.stringMatching(/^blue-deploy/), expect.stringMatching(/^green-deploy/)]),
        );
        for (const d of downloaders) expect({ name: d.name, waits: dependsOn(d, blob) }).toEqual({ name: d.name, waits: true });
    });
});

describe("the release agent's tool bundle", () => {
    it("is uploaded like an artifact (Entra ID token, never azure-native's shared-key Blob), after the container, before the agent's runs", async () => {
        const run = await firstDeploy();
        expect(run.failures).toEqual([]);
        expect(ofType(run, "azure-native:storage:Blob")).toEqual([]);
        const tools = byName(run, "agent-tools-blob");
        expect(tools.type).toBe(BLOB_TYPE);
        expect(String(tools.inputs.blobName)).toMatch(/^bluegreen-tools-[0-9a-f]{12}\.tgz$/);
        expect(isSecretValue(tools.inputs.token)).toBe(true);
        expect(tools.retainOnDelete).toBe(true);
        expect(dependsOn(tools, byName(run, "artifacts-container"))).toBe(true);
        const migrations = ofType(run, RUN_COMMAND).filter((r) => r.name.includes("-migrate-"));
        expect(migrations.length).toBeGreaterThan(1);
        for (const migrate of migrations) {
            expect(dependsOn(migrate, tools)).toBe(true);
        }
    });
});

describe("without dist/ (Pulumi Deployments' runners)", () => {
    it("declares no upload and nothing waits for one; the blob of an earlier update is dropped from the state, not deleted (retainOnDelete)", async () => {
        const first = await firstDeploy();
        expect(appBlobs(first)).toHaveLength(1);
        const next = await runProgram(pinned(), { previous: first });
        expect(next.error).toBeUndefined();
        expect(next.failures).toEqual([]);
        expect(appBlobs(next)).toEqual([]);
        expect(appBlobs(first)[0].retainOnDelete).toBe(true);
        for (const r of ofType(next, RUN_COMMAND)) expect(r.dependencies.some((d) => d.includes("ArtifactBlob::artifacts-app-"))).toBe(false);
    });
});

describe("a packed artifact that is not the pinned one", () => {
    it("is refused before anything is declared, naming the file, both hashes and the fix", async () => {
        const run = await runProgram(pinned({ greenArtifactSha256: "c".repeat(64) }), { distDir: dist });
        expect(run.error?.message).toContain(`app-1.0.0.tgz hashes to ${sha}, but greenArtifactSha256 is ${"c".repeat(64)}`);
        expect(run.error?.message).toContain(`pulumi config set greenArtifactSha256 "$(cut -d' ' -f1 ${path.join(dist, "app-1.0.0.tgz")}.sha256)"`);
        expect(run.resources).toEqual([]);
    });

    it("does not matter for a color that uses its own artifact URL", async () => {
        const run = await runProgram(pinned({ greenArtifactSha256: "c".repeat(64), greenArtifactUrl: "https://cdn.example.org/app-1.0.0.tgz" }), { distDir: dist });
        expect(run.error).toBeUndefined();
        expect(appBlobs(run)).toHaveLength(1);
    });
});
