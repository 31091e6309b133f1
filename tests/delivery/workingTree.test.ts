import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkPulumiWorkingTree, refuseDirtyTree, workingTreeState } from "../../delivery/workingTree";

const POLICY = { what: "app:pack", override: "pass --allow-dirty" };

describe("workingTreeState / refuseDirtyTree", () => {
    let dir: string;
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir, stdio: "pipe" });
    const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
    };
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-tree-"));
        git("init", "-q");
        write(".gitignore", "*.log\n");
        write("migrations/0001_a.expand.sql", "SELECT 1;\n");
        write("app/src/main.ts", "export {};\n");
        write("docs/readme.md", "x\n");
        git("add", ".");
        git("commit", "-qm", "init");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a clean tree passes, with HEAD's commit", () => {
        const state = workingTreeState(dir, ["app", "migrations"]);
        expect(state).toEqual({ commit: expect.stringMatching(/^[0-9a-f]{40}$/), dirty: [] });
        expect(refuseDirtyTree(state, POLICY, false)).toBe(state);
    });

    it("names untracked, modified, staged, renamed and ignored files under the paths, and only those", () => {
        write("migrations/0099_x.expand.sql", "ALTER TABLE t ADD c int NULL;\n");
        write("app/src/main.ts", "export const changed = 1;\n");
        write("migrations/debug.log", "ignored, but it would be packed\n");
        git("mv", "migrations/0001_a.expand.sql", "migrations/0001_b.expand.sql");
        write("docs/readme.md", "changed outside what ships\n");
        const state = workingTreeState(dir, ["app", "migrations"]);
        expect(state.dirty).toEqual([
            " M app/src/main.ts",
            "R  migrations/0001_b.expand.sql",
            "?? migrations/0099_x.expand.sql",
            "!! migrations/debug.log",
        ]);
        expect(() => refuseDirtyTree(state, POLICY, false)).toThrow(
            new RegExp(
                `app:pack refused: the working tree has changes no commit holds, and app:pack would ship them as if they were commit ${state.commit?.slice(0, 12)}:\\n` +
                    `.*\\?\\? migrations/0099_x\\.expand\\.sql.*Commit them .*pass --allow-dirty \\(the result is stamped dirty\\)`,
                "s",
            ),
        );
        expect(refuseDirtyTree(state, POLICY, true)).toBe(state);
    });

    it("a directory that is not a git checkout is refused unless overridden", () => {
        const plain = fs.mkdtempSync(path.join(os.tmpdir(), "bg-plain-"));
        try {
            const state = workingTreeState(plain, ["app"]);
            expect(state).toEqual({ dirty: [] });
            expect(() => refuseDirtyTree(state, POLICY, false)).toThrow(/not a git checkout .*pass --allow-dirty/);
        } finally {
            fs.rmSync(plain, { recursive: true, force: true });
        }
    });
});

describe("checkPulumiWorkingTree (what pulumi up ships: vm-scripts/ and migrations/)", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-pulumi-tree-"));
        const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir, stdio: "pipe" });
        git("init", "-q");
        fs.mkdirSync(path.join(dir, "vm-scripts"));
        fs.writeFileSync(path.join(dir, "vm-scripts", "deploy-app.sh"), "echo ok\n");
        git("add", ".");
        git("commit", "-qm", "init");
        fs.writeFileSync(path.join(dir, "vm-scripts", "deploy-app.sh"), "echo changed\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("refuses an uncommitted VM script, naming it and the override", () => {
        expect(() => checkPulumiWorkingTree(dir, {})).toThrow(/pulumi up refused: .*\n {2} M vm-scripts\/deploy-app\.sh\n.*BLUEGREEN_ALLOW_DIRTY=1 pulumi up/s);
    });

    it("BLUEGREEN_ALLOW_DIRTY=1 lets it through with the files (the program warns with them)", () => {
        expect(checkPulumiWorkingTree(dir, { BLUEGREEN_ALLOW_DIRTY: "1" }).dirty).toEqual([" M vm-scripts/deploy-app.sh"]);
    });

    it("also covers what the release agent's tool bundle and the VMs' contract checks are built from", () => {
        fs.mkdirSync(path.join(dir, "migrator"));
        fs.writeFileSync(path.join(dir, "migrator", "runner.ts"), "// unreviewed\n");
        fs.mkdirSync(path.join(dir, "release"));
        fs.writeFileSync(path.join(dir, "release", "appContract.ts"), "// unreviewed\n");
        fs.writeFileSync(path.join(dir, "release", "guard.ts"), "// not shipped\n");
        expect(checkPulumiWorkingTree(dir, { BLUEGREEN_ALLOW_DIRTY: "1" }).dirty).toEqual(["?? migrator/runner.ts", "?? release/appContract.ts", " M vm-scripts/deploy-app.sh"]);
    });
});
