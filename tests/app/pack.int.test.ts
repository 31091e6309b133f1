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

    it("carries the compiled app, the migration runner and the drivers, but no dev tooling", () => {
        for (const file of ["dist/app/src/main.js", "dist/release/versions.js", "dist/migrator/cli.js", "node_modules/pg/package.json", "node_modules/mssql/package.json", "node_modules/tedious/package.json"]) {
            expect(fs.existsSync(path.join(unpacked, file))).toBe(true);
        }
        for (const absent of ["node_modules/typescript", "node_modules/jest", "node_modules/@pulumi", "dist/app/pack.js", "dist/tests", "tests"]) {
            expect(fs.existsSync(path.join(unpacked, absent))).toBe(false);
        }
        expect(packed.packages).toEqual(expect.arrayContaining([expect.stringMatching(/^pg@/), expect.stringMatching(/^mssql@/)]));
    });

    it("runs from the unpacked artifact with Node alone and reports the stamped version", async () => {
        const port = await freePort();
        const child = spawn(process.execPath, ["dist/app/src/main.js"], {
            cwd: unpacked,
            env: { PATH: process.env.PATH ?? "", APP_COLOR: "blue", DATABASE_URL: "memory:", APP_HOST: "127.0.0.1", APP_PORT: String(port), APP_STAGING_PORT: String(await freePort()) },
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
        fs.writeFileSync(path.join(clone, "migrations", "0099_x.expand.sql"), "ALTER TABLE goals ADD unreviewed int NULL;\n");
    });
    afterAll(() => fs.rmSync(clone, { recursive: true, force: true }));

    it("refuses, naming the untracked migration, and writes nothing", async () => {
        const out = path.join(clone, "dist");
        await expect(packApp({ version: "1.0.0", root: clone, distDir: out })).rejects.toThrow(
            /app:pack refused: the working tree has changes no commit holds.*\n {2}\?\? migrations\/0099_x\.expand\.sql\n.*--allow-dirty/s,
        );
        expect(fs.existsSync(out)).toBe(false);
    });

    it("--allow-dirty packs it, stamped dirty with the files", async () => {
        const out = path.join(clone, "dist");
        const result = await packApp({ version: "1.0.0", root: clone, distDir: out, allowDirty: true });
        const info = JSON.parse(execFileSync("tar", ["-xzOf", result.artifact, "./build-info.json"], { encoding: "utf8" }));
        expect(info).toMatchObject({ version: "1.0.0", commit: expect.stringMatching(/^[0-9a-f]{40}$/), dirty: ["?? migrations/0099_x.expand.sql"] });
    });
});
