/**
 * The Python sample is released by the program like any contract app: with config changes only. Its artifact, packed
 * by `npm run app:pack -- 1.1.0 --app app-python`, goes onto the idle color (green) by the two values every release
 * sets (`greenVersion`, `greenArtifactSha256`); the live color (blue) is untouched. Two updates under mocks, the
 * second starting from the first's state, as the engine would run them.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packApp, PackResult } from "../../app/pack";
import { checkArchive, MANIFEST_FILE, readTarGz } from "../../release/appContract";
import { byName, changedResources, ProgramRun, RegisteredResource, reveal, runProgram, stackFileValues } from "../support/pulumiProgram";

const APP_DIR = path.resolve(__dirname, "..", "..", "app-python");
/** The dev stack: blue live, both colors on 1.0.0 (the Node sample), one VM each. */
const BEFORE = stackFileValues("dev");

let dist: string;
let packed: PackResult;
let before: ProgramRun;
let after: ProgramRun;
let touched: string[];

/** The script a color's deployment (a VM extension) runs: its inputs travel inside it, base64 in protectedSettings. */
function deploymentScript(run: ProgramRun, name: string): string {
    const ext: RegisteredResource = byName(run, name);
    return Buffer.from((reveal(ext.inputs.protectedSettings) as { script: string }).script, "base64").toString("utf8");
}

beforeAll(async () => {
    dist = fs.mkdtempSync(path.join(os.tmpdir(), "bg-python-release-"));
    packed = await packApp({ version: "1.1.0", app: APP_DIR, distDir: dist, allowDirty: true });
    before = await runProgram(BEFORE, { distDir: dist });
    after = await runProgram(
        { ...BEFORE, "azure-bluegreen:greenVersion": "1.1.0", "azure-bluegreen:greenArtifactSha256": packed.sha256 },
        { previous: before, azure: before.azure?.clone(), distDir: dist },
    );
    for (const run of [before, after]) {
        if (run.error) throw run.error;
        expect(run.failures).toEqual([]);
    }
    const changes = changedResources(before, after);
    touched = [...changes.changed, ...changes.added, ...changes.removed];
});
afterAll(() => fs.rmSync(dist, { recursive: true, force: true }));

describe("releasing the Python app onto the idle color with config changes only", () => {
    it("uploads the Python artifact, the one the contract accepts, pinned by its SHA-256", () => {
        const blob = byName(after, "artifacts-app-1.1.0");
        expect(blob.inputs).toMatchObject({ version: "1.1.0", sha256: packed.sha256, file: path.join(dist, "app-1.1.0.tgz") });
        const verdict = checkArchive(readTarGz(String(blob.inputs.file), (n) => n.replace(/^\.\//, "") === MANIFEST_FILE), "1.1.0");
        expect(verdict.problems).toEqual([]);
        expect(verdict.value?.manifest).toMatchObject({ name: "goals-python", runtimePackages: ["python3", "python3-psycopg2", "python3-pymssql"] });
    });

    it("deploys it onto green: green's deployment carries the version, the artifact's URL and its SHA-256", () => {
        const script = deploymentScript(after, "green-deploy-0");
        expect(script).toContain("export APP_COLOR='green'");
        expect(script).toContain("export APP_VERSION='1.1.0'");
        expect(script).toContain(`export ARTIFACT_SHA256='${packed.sha256}'`);
        expect(script).toMatch(/export ARTIFACT_URL='https:\/\/[^']+\/app-1\.1\.0\.tgz'/);
        expect(deploymentScript(before, "green-deploy-0")).toContain("export APP_VERSION='1.0.0'");
    });

    it("leaves blue, the live color, and the load balancer as they were", () => {
        expect(byName(after, "blue-deploy-0").inputs).toEqual(byName(before, "blue-deploy-0").inputs);
        expect(deploymentScript(after, "blue-deploy-0")).toContain("export APP_VERSION='1.0.0'");
        expect(touched.filter((r) => /::blue-|LoadBalancer::|:VirtualMachine::|:NetworkInterface::|:sql:/.test(r))).toEqual([]);
    });

    it("touches only what any release of the idle color touches: its deployment and migration run, the guard, the upload", () => {
        const allowed = [
            /^azure-native:compute:VirtualMachineExtension::green-deploy-\d+$/,
            /^azure-native:compute:VirtualMachineRunCommandByVirtualMachine::green-migrate-/,
            /^pulumi-nodejs:dynamic\/bluegreen:ReleaseGuard::release-guard$/,
            /^pulumi-nodejs:dynamic\/bluegreen:ArtifactBlob::artifacts-app-1\.1\.0$/,
        ];
        expect(touched.filter((r) => !allowed.some((a) => a.test(r)))).toEqual([]);
        expect(touched).toEqual(expect.arrayContaining(["azure-native:compute:VirtualMachineExtension::green-deploy-0", "pulumi-nodejs:dynamic/bluegreen:ArtifactBlob::artifacts-app-1.1.0"]));
    });
});
