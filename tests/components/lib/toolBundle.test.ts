import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildToolBundle, bundleSources, runnerSources, toolBundleBlobName, toolInputsHash } from "../../../components/lib/toolBundle";
import { REPO_ROOT } from "../../support/pulumiProgram";

describe("the release agent's tool bundle", () => {
    it("is made of the runner and what it imports (release/versions.ts among them), nothing of the app", () => {
        const sources = runnerSources(REPO_ROOT);
        expect(sources).toEqual(expect.arrayContaining(["migrator/cli.ts", "migrator/runner.ts", "migrator/drivers/mssql.ts", "release/versions.ts"]));
        expect(sources.filter((s) => s.startsWith("app/") || s.startsWith("components/"))).toEqual([]);
    });

    it("holds the post-flip watch's command line and what it imports (Node built-ins only: no package of its own)", () => {
        const sources = bundleSources(REPO_ROOT);
        expect(sources).toEqual(expect.arrayContaining(["migrator/cli.ts", "release/watchCli.ts", "release/watch.ts", "release/watchSignals.ts", "release/postFlipAnalysis.ts", "release/watchContract.ts"]));
        const watchOnly = runnerSources(REPO_ROOT, "release/watchCli.ts");
        for (const rel of watchOnly) {
            const imports = [...fs.readFileSync(path.join(REPO_ROOT, rel), "utf8").matchAll(/from\s+["']([^"'.][^"']*)["']/g)].map((m) => m[1]);
            expect({ rel, packages: imports.filter((i) => !["fs", "http", "https", "path", "os", "crypto", "net", "child_process"].includes(i.replace(/^node:/, ""))) }).toEqual({ rel, packages: [] });
        }
    });

    it("is published under the first 12 hex digits of its SHA-256", () => {
        expect(toolBundleBlobName("abcdef0123456789".repeat(4))).toBe("bluegreen-tools-abcdef012345.tgz");
    });

    describe("built from a small checkout", () => {
        let root: string;
        beforeEach(() => {
            // A runner importing a sibling and one npm package, two migrations, a lock file.
            root = fs.mkdtempSync(path.join(os.tmpdir(), "bg-tools-root-"));
            fs.mkdirSync(path.join(root, "migrator"));
            fs.writeFileSync(path.join(root, "migrator", "cli.ts"), 'import { x } from "./x";\nimport * as pad from "tinypad";\nconsole.log(x, pad);\n');
            fs.writeFileSync(path.join(root, "migrator", "x.ts"), "export const x: number = 1;\n");
            fs.writeFileSync(path.join(root, "migrator", "unused.ts"), "export const y = 2;\n");
            fs.mkdirSync(path.join(root, "node_modules", "tinypad"), { recursive: true });
            fs.writeFileSync(path.join(root, "node_modules", "tinypad", "package.json"), JSON.stringify({ name: "tinypad", version: "1.0.0" }));
            fs.writeFileSync(path.join(root, "node_modules", "tinypad", "index.js"), "module.exports = 1;\n");
            fs.mkdirSync(path.join(root, "migrations"));
            fs.writeFileSync(path.join(root, "migrations", "0001_a.expand.sql"), "CREATE TABLE a (id int);\n");
            fs.writeFileSync(path.join(root, "package-lock.json"), "{}\n");
        });
        afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

        it("holds the transpiled runner, the migrations and the packages it requires; the same sources give the same bytes", () => {
            const first = buildToolBundle(root, path.join(root, "cache-a"));
            const listing = execFileSync("tar", ["-tzf", first.file], { encoding: "utf8" }).split("\n").filter((l) => l && !l.endsWith("/")).sort();
            expect(listing).toEqual(["./dist/migrator/cli.js", "./dist/migrator/x.js", "./migrations/0001_a.expand.sql", "./node_modules/tinypad/index.js", "./node_modules/tinypad/package.json"]);
            const again = buildToolBundle(root, path.join(root, "cache-b"));
            expect(again.sha256).toBe(first.sha256);
            expect(first.blobName).toBe(toolBundleBlobName(first.sha256));
        });

        it("is a new bundle when a migration is added (so the agent's runs of that update run it), and is built once per content", () => {
            const cache = path.join(root, "cache");
            const before = buildToolBundle(root, cache);
            expect(buildToolBundle(root, cache)).toEqual(before); // from the cache
            const key = toolInputsHash(root);
            fs.writeFileSync(path.join(root, "migrations", "0002_b.expand.sql"), "ALTER TABLE a ADD b int NULL;\n");
            expect(toolInputsHash(root)).not.toBe(key);
            expect(buildToolBundle(root, cache).sha256).not.toBe(before.sha256);
        });
    });
});
