/**
 * The download/verify code the migration run reuses: vm-scripts/deploy-app.sh with FETCH_ONLY=1 (what
 * vm-scripts/run-migrations.sh calls) against a local HTTP server holding an artifact. It must download, check the
 * SHA-256 and unpack the release, and neither switch `current` nor restart anything.
 */
import { execFileSync, spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.join(__dirname, "..", "..", "vm-scripts", "deploy-app.sh");

let work: string;
let server: http.Server;
let port: number;
let artifact: Buffer;

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "bg-fetch-only-"));
    const src = path.join(work, "src");
    fs.mkdirSync(path.join(src, "dist", "migrator"), { recursive: true });
    fs.writeFileSync(path.join(src, "build-info.json"), JSON.stringify({ version: "2.0.0" }, null, 2));
    fs.writeFileSync(path.join(src, "dist", "migrator", "cli.js"), "// runner\n");
    execFileSync("tar", ["-czf", path.join(work, "app-2.0.0.tgz"), "-C", src, "."]);
    artifact = fs.readFileSync(path.join(work, "app-2.0.0.tgz"));
    server = http.createServer((req, res) => {
        if (req.url?.startsWith("/artifacts/app-2.0.0.tgz")) res.end(artifact);
        else res.writeHead(404).end("not found");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
});

afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(work, { recursive: true, force: true });
});

function fetchOnly(root: string, sha256: string, extra: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
        const child = spawn("bash", [SCRIPT], {
            env: {
                PATH: process.env.PATH ?? "",
                FETCH_ONLY: "1",
                BG_ROOT: root,
                APP_COLOR: "green",
                APP_VERSION: "2.0.0",
                ARTIFACT_URL: `http://127.0.0.1:${port}/artifacts/app-2.0.0.tgz?sig=test`,
                ARTIFACT_SHA256: sha256,
                // No KEYVAULT_URL: a fetch needs no secret (the release agent reads only its own from Key Vault).
                SYSTEMCTL: path.join(root, "no-systemctl"),
                WAIT_SECONDS: "1",
                ...extra,
            },
        });
        let out = "";
        child.stdout.on("data", (d) => (out += String(d)));
        child.stderr.on("data", (d) => (out += String(d)));
        child.on("close", (code) => resolve({ code, out }));
    });
}

describe("deploy-app.sh FETCH_ONLY=1 (used by the migration run)", () => {
    it("downloads, verifies and unpacks the release without switching current or restarting, and without Key Vault", async () => {
        const root = path.join(work, "vm1");
        fs.mkdirSync(root);
        fs.writeFileSync(path.join(root, "no-systemctl"), "#!/bin/sh\necho systemctl called >&2\nexit 7\n", { mode: 0o755 });
        const r = await fetchOnly(root, createHash("sha256").update(artifact).digest("hex"));
        expect({ code: r.code, out: r.out }).toEqual({ code: 0, out: expect.stringContaining("FETCH_ONLY: not switched, not restarted") });
        expect(fs.existsSync(path.join(root, "opt", "app", "releases", "2.0.0", "dist", "migrator", "cli.js"))).toBe(true);
        expect(fs.existsSync(path.join(root, "opt", "app", "current"))).toBe(false);
        expect(fs.existsSync(path.join(root, "etc", "bluegreen", "app.env"))).toBe(false);
        expect(r.out).not.toContain("systemctl called");
    });

    it("unpacks into FETCH_DIR when given (the release agent's tool bundle), without a manifest", async () => {
        const root = path.join(work, "vm3");
        fs.mkdirSync(root);
        const dir = path.join(root, "agent", "tools-abc");
        const r = await fetchOnly(root, createHash("sha256").update(artifact).digest("hex"), { FETCH_DIR: dir });
        expect(r.code).toBe(0);
        expect(fs.existsSync(path.join(dir, "dist", "migrator", "cli.js"))).toBe(true);
        expect(fs.existsSync(path.join(root, "opt", "app", "releases", "2.0.0"))).toBe(false);
    });

    it("keeps the fetched tool bundle and the three most recently used others, removing older ones and nothing else", async () => {
        const root = path.join(work, "vm4");
        const agent = path.join(root, "agent");
        const hoursAgo = (h: number): Date => new Date(Date.now() - h * 3600_000);
        // five older bundles, used 1 to 5 hours ago, and the watch's state beside them
        for (let i = 1; i <= 5; i++) {
            fs.mkdirSync(path.join(agent, `tools-old${i}`, "dist"), { recursive: true });
            fs.utimesSync(path.join(agent, `tools-old${i}`), hoursAgo(i), hoursAgo(i));
        }
        fs.mkdirSync(path.join(agent, "flips"));
        fs.utimesSync(path.join(agent, "flips"), hoursAgo(9), hoursAgo(9));
        const sha = createHash("sha256").update(artifact).digest("hex");
        const r = await fetchOnly(root, sha, { FETCH_DIR: path.join(agent, "tools-abc") });
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/removing the old tool bundle tools-old4/);
        expect(fs.readdirSync(agent).sort()).toEqual(["flips", "tools-abc", "tools-old1", "tools-old2", "tools-old3"]);
        // a bundle used again counts as recent: the next clean-up removes another
        fs.cpSync(path.join(agent, "tools-abc"), path.join(agent, "tools-old3"), { recursive: true });
        fs.utimesSync(path.join(agent, "tools-old3"), hoursAgo(3), hoursAgo(3));
        fs.mkdirSync(path.join(agent, "tools-new"));
        fs.writeFileSync(path.join(agent, "tools-old3", ".artifact-sha256"), `${sha}\n`);
        expect((await fetchOnly(root, sha, { FETCH_DIR: path.join(agent, "tools-old3") })).code).toBe(0);
        expect(fs.readdirSync(agent).sort()).toEqual(["flips", "tools-abc", "tools-new", "tools-old1", "tools-old3"]);
    });

    it("refuses an artifact whose SHA-256 differs, leaving no release behind", async () => {
        const root = path.join(work, "vm2");
        fs.mkdirSync(root);
        const r = await fetchOnly(root, "0".repeat(64));
        expect(r.code).not.toBe(0);
        expect(r.out).toMatch(/checksum mismatch/);
        expect(fs.existsSync(path.join(root, "opt", "app", "releases", "2.0.0"))).toBe(false);
    });
});
