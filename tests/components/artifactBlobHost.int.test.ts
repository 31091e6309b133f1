// The artifact upload's provider as Pulumi's dynamic provider host runs it: serialized here, loaded from its text in a
// plain `node` process (no ts-node registered, no jest), and pointed at a real HTTP server that plays the Blob REST API
// (GET 200/404, PUT with If-None-Match: * → 201 or 409, 403 until the role "applies").
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { artifactBlobProvider } from "../../components/artifactStore";

const REPO = path.join(__dirname, "../..");

let dir: string;
let text: string;
beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "blob-host-"));
    text = (await pulumi.runtime.serializeFunction(() => artifactBlobProvider, { allowSecrets: true })).text;
    fs.writeFileSync(path.join(dir, "provider.js"), text);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `calls` in a plain node process with `provider` and a Blob stand-in on `base` (…/artifacts/). */
function inHost(calls: string, forbidden = 0): { stdout: string; stderr: string } {
    const script = `
        const http = require("http");
        const blobs = new Map(); const log = []; let forbidden = ${forbidden};
        const server = http.createServer((req, res) => {
            const chunks = []; req.on("data", (c) => chunks.push(c)); req.on("end", () => {
                log.push(req.method + " " + req.url);
                if (req.headers.authorization !== "Bearer t0ken") return res.writeHead(401).end();
                if (forbidden > 0) { forbidden--; return res.writeHead(403).end("AuthorizationPermissionMismatch"); }
                if (req.method === "GET") return blobs.has(req.url) ? res.writeHead(200).end(blobs.get(req.url)) : res.writeHead(404).end();
                if (req.headers["if-none-match"] === "*" && blobs.has(req.url)) return res.writeHead(409).end("BlobAlreadyExists");
                blobs.set(req.url, Buffer.concat(chunks)); res.writeHead(201).end();
            });
        });
        server.listen(0, "127.0.0.1", async () => {
            const base = "http://127.0.0.1:" + server.address().port + "/artifacts/";
            const requireFromString = require(require.resolve("require-from-string", { paths: [${JSON.stringify(REPO)}] }));
            const provider = requireFromString(require("fs").readFileSync(${JSON.stringify(path.join(dir, "provider.js"))}, "utf8")).handler();
            try { ${calls} } catch (e) { console.log(JSON.stringify({ error: e.message })); }
            server.close();
        });
    `;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: REPO, encoding: "utf8", timeout: 60_000, env: { ...process.env, NODE_OPTIONS: "" } });
    return { stdout: r.stdout, stderr: r.stderr };
}

function last(stdout: string): Record<string, unknown> {
    return JSON.parse(stdout.trim().split("\n").pop() as string) as Record<string, unknown>;
}

it("uploads both blobs, then keeps them on a second create, in a plain node process", () => {
    const file = path.join(dir, "app-1.0.0.tgz");
    fs.writeFileSync(file, "bytes of 1.0.0");
    const sha = crypto.createHash("sha256").update("bytes of 1.0.0").digest("hex");
    const inputs = (base: string) => `{ containerUrl: ${base}, version: "1.0.0", sha256: "${sha}", file: ${JSON.stringify(file)}, token: "t0ken" }`;
    const r = inHost(`
        const first = await provider.create(${inputs("base")});
        const again = await provider.create(${inputs("base")});
        const diff = await provider.diff(first.id, first.outs, { ...${inputs("base")}, file: "/elsewhere", token: "fresh" });
        console.log(JSON.stringify({ id: first.id === base + "app-1.0.0.tgz", first: first.outs.published, again: again.outs.published, diff, log, sum: blobs.get("/artifacts/app-1.0.0.tgz.sha256").toString() }));
    `);
    // What the host forwards to the engine's log: one line per upload.
    expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(new RegExp(`^artifact upload: http://127\\.0\\.0\\.1:\\d+/artifacts/app-1\\.0\\.0\\.tgz uploaded \\(sha256 ${sha}\\)$`)),
        expect.stringMatching(/app-1\.0\.0\.tgz\.sha256 uploaded/),
    ]);
    expect(last(r.stdout)).toEqual({
        id: true,
        first: { "app-1.0.0.tgz": "uploaded", "app-1.0.0.tgz.sha256": "uploaded" },
        again: { "app-1.0.0.tgz": "already published", "app-1.0.0.tgz.sha256": "already published" },
        diff: { changes: false, replaces: [], deleteBeforeReplace: false },
        log: ["GET /artifacts/app-1.0.0.tgz", "GET /artifacts/app-1.0.0.tgz.sha256", "PUT /artifacts/app-1.0.0.tgz", "PUT /artifacts/app-1.0.0.tgz.sha256", "GET /artifacts/app-1.0.0.tgz", "GET /artifacts/app-1.0.0.tgz.sha256"],
        sum: `${sha}  app-1.0.0.tgz\n`,
    });
});

it("refuses a blob published with other bytes, and has no delete (the engine never deletes an artifact)", () => {
    const file = path.join(dir, "app-2.0.0.tgz");
    fs.writeFileSync(file, "ours");
    const sha = crypto.createHash("sha256").update("ours").digest("hex");
    const r = inHost(`
        blobs.set("/artifacts/app-2.0.0.tgz", Buffer.from("theirs"));
        console.log(JSON.stringify({ hasDelete: typeof provider.delete }));
        await provider.create({ containerUrl: base, version: "2.0.0", sha256: "${sha}", file: ${JSON.stringify(file)}, token: "t0ken" });
    `);
    const lines = r.stdout.trim().split("\n");
    expect(JSON.parse(lines[0])).toEqual({ hasDelete: "undefined" });
    expect(String(last(r.stdout).error)).toContain(`app-2.0.0.tgz already exists and stands for sha256 ${crypto.createHash("sha256").update("theirs").digest("hex")}, not ${sha}`);
});
