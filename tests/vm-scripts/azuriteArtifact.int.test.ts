/**
 * The artifact's way end to end against a real Blob Storage API (Azurite, Microsoft's emulator, over HTTPS with
 * `--oauth basic`, so bearer tokens are checked for issuer, audience and lifetime): `pulumi up`'s upload
 * (components/artifactBlobProvider.ts, serialized and run in a plain node process as the dynamic provider host runs
 * it) puts app-1.0.0.tgz and its .sha256 into the container, refuses to overwrite it with other bytes, and
 * vm-scripts/deploy-app.sh (FETCH_ONLY, as the release agent runs it) downloads it with a managed-identity token from
 * an IMDS stand-in and verifies it. Azurite ignores role assignments: the 403 path keeps its stand-in
 * (tests/app/deployScript.int.test.ts, tests/components/artifactBlobProvider.test.ts).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { artifactBlobProvider } from "../../components/artifactStore";
import { freePort } from "../support/postgres";

const REPO = path.join(__dirname, "../..");
const AZURITE = path.join(REPO, "node_modules/.bin/azurite-blob");
const SCRIPT = path.join(REPO, "vm-scripts/deploy-app.sh");

/** An unsigned Entra-like token Azurite's basic OAuth accepts (it checks issuer, audience and lifetime only). */
function token(): string {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    return `${b64({ alg: "none", typ: "JWT" })}.${b64({ aud: "https://storage.azure.com", iss: "https://sts.windows.net/11111111-1111-1111-1111-111111111111/", iat: now - 60, nbf: now - 60, exp: now + 3600 })}.`;
}

let dir: string;
let azurite: ChildProcess | undefined;
let imds: http.Server | undefined;
let container: string;
let imdsUrl: string;
const canRun = fs.existsSync(AZURITE) && spawnSync("openssl", ["version"]).status === 0;

async function waitForPort(port: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
        const open = await new Promise<boolean>((resolve) => {
            const s = net.connect(port, "127.0.0.1", () => (s.end(), resolve(true)));
            s.on("error", () => resolve(false));
        });
        if (open) return;
        if (Date.now() > deadline) throw new Error(`Azurite did not listen on ${port}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** Runs `calls` in a plain node process that trusts Azurite's certificate, with `provider` and `container` set. */
function inHost(calls: string): { stdout: string; stderr: string } {
    const providerFile = path.join(dir, "provider.js");
    const script = `
        const requireFromString = require(require.resolve("require-from-string", { paths: [${JSON.stringify(REPO)}] }));
        const provider = requireFromString(require("fs").readFileSync(${JSON.stringify(providerFile)}, "utf8")).handler();
        const container = ${JSON.stringify(container)};
        (async () => { ${calls} })().catch((e) => console.log(JSON.stringify({ error: e.message })));
    `;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: REPO, encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_OPTIONS: "", NODE_EXTRA_CA_CERTS: path.join(dir, "cert.pem") } });
    return { stdout: r.stdout, stderr: r.stderr };
}

const last = (out: string): Record<string, unknown> => JSON.parse(out.trim().split("\n").pop() as string) as Record<string, unknown>;

(canRun ? describe : describe.skip)("the artifact through Azurite's Blob API", () => {
    let artifact: string;
    let sha: string;

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "azurite-"));
        execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
        const port = await freePort();
        azurite = spawn(AZURITE, ["--blobHost", "127.0.0.1", "--blobPort", String(port), "--oauth", "basic", "--cert", path.join(dir, "cert.pem"), "--key", path.join(dir, "key.pem"),
            "--inMemoryPersistence", "--silent", "--skipApiVersionCheck"], { cwd: dir, stdio: "ignore" });
        await waitForPort(port, 20_000);
        container = `https://127.0.0.1:${port}/devstoreaccount1/artifacts/`;
        fs.writeFileSync(path.join(dir, "provider.js"), (await pulumi.runtime.serializeFunction(() => artifactBlobProvider, { allowSecrets: true })).text);
        // The IMDS stand-in deploy-app.sh asks for its managed-identity token.
        imds = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: token() })));
        await new Promise<void>((resolve) => imds?.listen(0, "127.0.0.1", resolve));
        imdsUrl = `http://127.0.0.1:${(imds.address() as net.AddressInfo).port}`;
        // An artifact as app:pack stamps it (deploy-app.sh checks build-info.json's version).
        const release = path.join(dir, "release");
        fs.mkdirSync(release);
        fs.writeFileSync(path.join(release, "build-info.json"), JSON.stringify({ version: "1.0.0", commit: "abc" }, null, 2));
        artifact = path.join(dir, "app-1.0.0.tgz");
        execFileSync("tar", ["-czf", artifact, "-C", release, "build-info.json"]);
        sha = crypto.createHash("sha256").update(fs.readFileSync(artifact)).digest("hex");
    }, 60_000);

    afterAll(async () => {
        azurite?.kill();
        await new Promise<void>((resolve) => (imds ? imds.close(() => resolve()) : resolve()));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("pulumi up's upload puts the artifact and its checksum in the container, and refuses other bytes for the same version", () => {
        const r = inHost(`
            const auth = { Authorization: "Bearer ${token()}", "x-ms-version": "2021-08-06" };
            const made = await fetch(container + "?restype=container", { method: "PUT", headers: auth });
            const inputs = { containerUrl: container, version: "1.0.0", sha256: "${sha}", file: ${JSON.stringify(artifact)}, token: "${token()}" };
            const first = await provider.create(inputs);
            const again = await provider.create(inputs);
            const sum = await (await fetch(container + "app-1.0.0.tgz.sha256", { headers: auth })).text();
            const anonymous = (await fetch(container + "app-1.0.0.tgz", { headers: { "x-ms-version": "2021-08-06" } })).status;
            require("fs").writeFileSync(${JSON.stringify(path.join(dir, "other.tgz"))}, "other bytes");
            const otherSha = require("crypto").createHash("sha256").update("other bytes").digest("hex");
            let refused = "";
            try { await provider.create({ ...inputs, sha256: otherSha, file: ${JSON.stringify(path.join(dir, "other.tgz"))} }); } catch (e) { refused = e.message; }
            console.log(JSON.stringify({ made: made.status, first: first.outs.published, again: again.outs.published, sum, anonymous, refused }));
        `);
        const out = last(r.stdout);
        expect(out).toMatchObject({
            made: 201,
            first: { "app-1.0.0.tgz": "uploaded", "app-1.0.0.tgz.sha256": "uploaded" },
            again: { "app-1.0.0.tgz": "already published", "app-1.0.0.tgz.sha256": "already published" },
            sum: `${sha}  app-1.0.0.tgz\n`,
        });
        expect(out.anonymous).not.toBe(200);
        expect(String(out.refused)).toContain(`app-1.0.0.tgz already exists and stands for sha256 ${sha}, not`);
    }, 60_000);

    it("deploy-app.sh downloads it with the VM's token, verifies the SHA-256 and unpacks it (FETCH_ONLY, as on the agent)", async () => {
        const root = path.join(dir, "vm");
        // Asynchronously: the IMDS stand-in answers from this process.
        const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn("bash", [SCRIPT], { env: {
                ...process.env,
                BG_ROOT: root, FETCH_ONLY: "1", APP_COLOR: "blue", APP_VERSION: "1.0.0", ARTIFACT_SHA256: sha, ARTIFACT_URL: `${container}app-1.0.0.tgz`,
                IMDS_URL: imdsUrl, CURL_CA_BUNDLE: path.join(dir, "cert.pem"), CLOUD_INIT: "no-cloud-init-here", AUTH_WAIT_SECONDS: "5", AUTH_RETRY_INTERVAL: "1",
            } });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
        expect(r.stdout).toContain(`SHA-256 verified (${sha})`);
        expect(JSON.parse(fs.readFileSync(path.join(root, "opt/app/releases/1.0.0/build-info.json"), "utf8"))).toMatchObject({ version: "1.0.0" });
    }, 60_000);
});
