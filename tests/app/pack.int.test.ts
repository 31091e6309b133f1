// npm run app:pack: one real pack of this checkout (compile + node_modules closure + tar), then what it must refuse.
import { execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packApp, PackResult } from "../../app/pack";
import { freePort } from "../support/postgres";
import { request, sleep } from "./httpClient";

jest.setTimeout(120_000);

let dist: string;
let unpacked: string;
let packed: PackResult;

beforeAll(async () => {
    dist = fs.mkdtempSync(path.join(os.tmpdir(), "bg-pack-test-"));
    unpacked = path.join(dist, "unpacked");
    // This checkout may have uncommitted work while the suite runs: the dirty-tree refusal is tested on a clone below.
    packed = await packApp({ version: "1.2.3", distDir: dist, allowDirty: true });
    fs.mkdirSync(unpacked);
    execFileSync("tar", ["-xzf", packed.artifact, "-C", unpacked]);
});
afterAll(() => fs.rmSync(dist, { recursive: true, force: true }));

describe("npm run app:pack", () => {
    it("stamps the version (and the git commit) into build-info.json", () => {
        const info = JSON.parse(fs.readFileSync(path.join(unpacked, "build-info.json"), "utf8"));
        expect(info.version).toBe("1.2.3");
        expect(info.commit).toMatch(/^[0-9a-f]{40}$/);
        expect(JSON.parse(fs.readFileSync(path.join(unpacked, "package.json"), "utf8")).version).toBe("1.2.3");
    });

    it("packs the same checkout twice to the same bytes, stamped with the commit's time instead of now", async () => {
        const again = fs.mkdtempSync(path.join(os.tmpdir(), "bg-pack-again-"));
        try {
            const second = await packApp({ version: "1.2.3", distDir: again });
            expect(second.sha256).toBe(packed.sha256);
            expect(fs.readFileSync(second.artifact).equals(fs.readFileSync(packed.artifact))).toBe(true);
        } finally {
            fs.rmSync(again, { recursive: true, force: true });
        }
        const committedAt = Number(execFileSync("git", ["log", "-1", "--format=%ct"], { encoding: "utf8" }).trim());
        const info = JSON.parse(fs.readFileSync(path.join(unpacked, "build-info.json"), "utf8"));
        expect(info.builtAt).toBe(new Date(committedAt * 1000).toISOString());
    });

    it("writes a checksum file that matches the artifact, in sha256sum format", () => {
        const sha = crypto.createHash("sha256").update(fs.readFileSync(packed.artifact)).digest("hex");
        expect(packed.sha256).toBe(sha);
        expect(fs.readFileSync(packed.checksumFile, "utf8")).toBe(`${sha}  app-1.2.3.tgz\n`);
        expect(execFileSync("sha256sum", ["-c", path.basename(packed.checksumFile)], { cwd: dist, encoding: "utf8" })).toContain("app-1.2.3.tgz: OK");
    });

    it("writes the manifest: the version, the start script, where it was built from", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(unpacked, "bluegreen.json"), "utf8"));
        expect(manifest).toMatchObject({ schema: 1, name: "goals", version: "1.2.3", start: ["bin/start"], healthPath: "/health", runtimePackages: ["nodejs"] });
        expect(manifest.source.commit).toMatch(/^[0-9a-f]{40}$/);
        expect(fs.statSync(path.join(unpacked, "bin", "start")).mode & 0o111).not.toBe(0);
    });

    it("carries the compiled app and its drivers, but neither the migrations nor their runner (the product's), nor dev tooling", () => {
        for (const file of ["dist/app/src/main.js", "dist/release/versions.js", "node_modules/pg/package.json", "node_modules/mssql/package.json", "node_modules/tedious/package.json"]) {
            expect(fs.existsSync(path.join(unpacked, file))).toBe(true);
        }
        for (const absent of ["migrations", "dist/migrator/cli.js", "dist/migrator/runner.js", "node_modules/typescript", "node_modules/jest", "node_modules/@pulumi", "dist/app/pack.js", "dist/tests", "tests"]) {
            expect(fs.existsSync(path.join(unpacked, absent))).toBe(false);
        }
        expect(packed.packages).toEqual(expect.arrayContaining([expect.stringMatching(/^pg@/), expect.stringMatching(/^mssql@/)]));
    });

    it("runs from the unpacked artifact by its start command, with Node alone, and reports the stamped version", async () => {
        const port = await freePort();
        const child = spawn(path.join(unpacked, "bin", "start"), [], {
            cwd: unpacked,
            env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`, APP_COLOR: "blue", DATABASE_URL: "memory:", APP_HOST: "127.0.0.1", PORT: String(port), STAGING_PORT: String(await freePort()) },
            stdio: "ignore",
        });
        const exited = new Promise<number | null>((r) => child.on("exit", r));
        try {
            let reply;
            for (let i = 0; i < 100 && !reply; i++) {
                reply = await request(port, "/version").catch(() => undefined);
                if (!reply) await sleep(50);
            }
            expect(reply?.body).toEqual({ version: "1.2.3", color: "blue" });
        } finally {
            child.kill("SIGTERM");
            expect(await exited).toBe(0);
        }
    });

    it("refuses to overwrite an artifact of the same version, leaving it unchanged", async () => {
        const before = fs.readFileSync(packed.artifact);
        await expect(packApp({ version: "1.2.3", distDir: dist })).rejects.toThrow(/app-1\.2\.3\.tgz already exists: artifacts are immutable/);
        expect(fs.readFileSync(packed.artifact).equals(before)).toBe(true);
    });

    it.each(["1.2", "v1.2.3", "latest", "1.2.3 "])("refuses the version %j and writes nothing", async (version) => {
        await expect(packApp({ version, distDir: dist })).rejects.toThrow(/is not a semantic version; pass MAJOR.MINOR.PATCH, e.g. npm run app:pack -- 1.4.2/);
        expect(fs.readdirSync(dist).sort()).toEqual(["app-1.2.3.tgz", "app-1.2.3.tgz.sha256", "unpacked"]);
    });
});

describe("npm run app:pack from a tree with changes no commit holds", () => {
    let clone: string;
    beforeAll(() => {
        // A clone of this checkout's HEAD (tracked files only), with its node_modules linked in.
        clone = fs.mkdtempSync(path.join(os.tmpdir(), "bg-pack-clone-"));
        execFileSync("git", ["clone", "-q", "--shared", "--no-checkout", path.join(__dirname, "..", ".."), clone]);
        execFileSync("git", ["checkout", "-q", "HEAD"], { cwd: clone });
        fs.symlinkSync(path.join(__dirname, "..", "..", "node_modules"), path.join(clone, "node_modules"));
        fs.writeFileSync(path.join(clone, "app", "src", "unreviewed.ts"), "export const x = 1;\n");
    });
    afterAll(() => fs.rmSync(clone, { recursive: true, force: true }));

    it("refuses, naming the untracked file, and writes nothing", async () => {
        const out = path.join(clone, "dist");
        await expect(packApp({ version: "1.0.0", root: clone, distDir: out })).rejects.toThrow(
            /app:pack refused: the working tree has changes no commit holds.*\n {2}\?\? app\/src\/unreviewed\.ts\n.*--allow-dirty/s,
        );
        expect(fs.existsSync(out)).toBe(false);
    });

    it("--allow-dirty packs it, stamped dirty with the files", async () => {
        const out = path.join(clone, "dist");
        const result = await packApp({ version: "1.0.0", root: clone, distDir: out, allowDirty: true });
        const info = JSON.parse(execFileSync("tar", ["-xzOf", result.artifact, "./build-info.json"], { encoding: "utf8" }));
        expect(info).toMatchObject({ version: "1.0.0", commit: expect.stringMatching(/^[0-9a-f]{40}$/), dirty: ["?? app/src/unreviewed.ts"] });
    });
});

describe("npm run app:pack -- <version> --app <directory>: any directory that follows the contract", () => {
    let repo: string;
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { cwd: repo, stdio: "ignore" });
    beforeAll(() => {
        // A service in another runtime, in its own repository: a manifest and a start script, nothing of Node.
        repo = fs.mkdtempSync(path.join(os.tmpdir(), "bg-pack-any-"));
        fs.mkdirSync(path.join(repo, "bin"));
        fs.writeFileSync(path.join(repo, "bluegreen.json"), JSON.stringify({ schema: 1, name: "hello", version: "0.0.0", start: ["bin/serve", "--verbose"], runtimePackages: ["python3"] }));
        fs.writeFileSync(path.join(repo, "bin", "serve"), "#!/usr/bin/env python3\nprint('hi')\n", { mode: 0o755 });
        git("init", "-q");
        git("add", ".");
        git("commit", "-qm", "a service");
    });
    afterAll(() => fs.rmSync(repo, { recursive: true, force: true }));

    it("packs it as it is, with the version and the commit written into its manifest", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "bg-pack-any-out-"));
        try {
            const result = await packApp({ version: "3.1.0", app: repo, distDir: out });
            const listing = execFileSync("tar", ["-tzf", result.artifact], { encoding: "utf8" }).split("\n").filter(Boolean).sort();
            expect(listing).toEqual(["./", "./bin/", "./bin/serve", "./bluegreen.json"]);
            const manifest = JSON.parse(execFileSync("tar", ["-xzOf", result.artifact, "./bluegreen.json"], { encoding: "utf8" }));
            expect(manifest).toMatchObject({ name: "hello", version: "3.1.0", start: ["bin/serve", "--verbose"], source: { commit: expect.stringMatching(/^[0-9a-f]{40}$/) } });
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });

    it("refuses a directory whose artifact a VM would refuse, and one without a manifest, writing nothing", async () => {
        const out = path.join(repo, "..", `${path.basename(repo)}-bad-out`);
        fs.chmodSync(path.join(repo, "bin", "serve"), 0o644);
        try {
            await expect(packApp({ version: "3.1.1", app: repo, distDir: out, allowDirty: true })).rejects.toThrow(/breaks the app contract.*"bin\/serve" is not an executable file/s);
        } finally {
            fs.chmodSync(path.join(repo, "bin", "serve"), 0o755);
        }
        await expect(packApp({ version: "3.1.1", app: path.join(repo, "bin"), distDir: out })).rejects.toThrow(/has no bluegreen.json, so it does not follow the app contract/);
        expect(fs.existsSync(path.join(out, "app-3.1.1.tgz"))).toBe(false);
        fs.rmSync(out, { recursive: true, force: true });
    });
});
