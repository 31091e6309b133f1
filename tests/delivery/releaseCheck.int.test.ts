/**
 * `npm run release:check` as CI runs it: the package.json script command, as a child process, in a real git
 * repository (npm runs scripts in the package folder, so the test runs the script's command the same way from
 * the temporary repository with this project's node_modules/.bin on PATH).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { baseStack, TempRepo } from "./tempRepo";

const ROOT = path.resolve(__dirname, "../..");
const SCRIPT = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts[
    "release:check"
];

function releaseCheck(repo: TempRepo, args: string[]) {
    const command = SCRIPT.replace(/(delivery\/\S+\.ts)/, (p) => path.join(ROOT, p));
    const r = spawnSync("sh", ["-c", `${command} "$@"`, "release:check", ...args], {
        cwd: repo.dir,
        encoding: "utf8",
        env: { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}` },
        timeout: 60_000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("npm run release:check (child process)", () => {
    let repo: TempRepo;
    beforeAll(() => {
        repo = new TempRepo();
    });
    afterAll(() => repo.remove());

    it("exits 0 for a bump of the idle color and 1 for a flip mixed with a version change", () => {
        const base = repo.commitStack("dev", baseStack());
        const bump = repo.commitStack("dev", baseStack({ greenVersion: "1.1.0" }));
        const ok = releaseCheck(repo, ["--base", base]);
        expect([ok.code, ok.err]).toEqual([0, ""]);
        expect(ok.out).toMatch(/dev: version bump of the idle color — ok/);

        repo.commitStack("dev", baseStack({ greenVersion: "1.2.0", liveColor: "green" }));
        const refused = releaseCheck(repo, ["--base", bump]);
        expect(refused.code).toBe(1);
        expect(refused.out).toMatch(/dev: mixed or unsafe change — REFUSED/);
        expect(refused.out).toMatch(/release:check FAILED/);
    });

    it("says so when a stack file has edits no commit holds (it checks commits only)", () => {
        const base = repo.commitStack("dev", baseStack());
        repo.writeStack("dev", baseStack({ liveColor: "green", greenVersion: "9.9.9" })); // not committed
        const r = releaseCheck(repo, ["--base", base]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/! not checked: edits no commit holds .*commit them and run it again to check them:\n {4} M Pulumi\.dev\.yaml/);
        const json = releaseCheck(repo, ["--base", base, "--json"]);
        expect(JSON.parse(json.out).uncommitted).toEqual([" M Pulumi.dev.yaml"]);
        repo.commit("the edit");
    });
});
