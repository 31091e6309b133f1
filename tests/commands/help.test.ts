/**
 * Every local command answers `--help` with its usage on stdout and exit code 0, run as `npm run <script>` runs it
 * (the script's own ts-node command line from package.json). app:pack ends with the config commands that deploy what
 * it built (tested on the function it prints).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { deployCommands } from "../../app/pack";

const ROOT = path.resolve(__dirname, "../..");
const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

/** Runs an npm script's command line with extra arguments, as `npm run <name> -- <args>` does. */
function runScript(name: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
    const [command, ...rest] = scripts[name].split(" ");
    const bin = path.join(ROOT, "node_modules", ".bin", command);
    const r = spawnSync(bin, [...rest, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.each([
    ["release:check", /^Usage: npm run --silent release:check -- --base <git-ref>/],
    ["db", /^usage: npm run --silent db -- <command>/],
    ["rehearse", /^usage: npm run rehearse -- \[--duration <seconds>\]/],
    ["app:pack", /^Usage: npm run app:pack -- <version>/],
    ["status", /^Usage: npm run status -- --stack <name>/],
])("npm run %s -- --help", (name, usage) => {
    it("prints its usage on stdout and exits 0", () => {
        const r = runScript(name, ["--help"]);
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
        expect(r.stdout).toMatch(usage);
    }, 60_000);
});

describe("app:pack's last lines", () => {
    it("are the exact pulumi config commands that deploy the version with its checksum, for either idle color", () => {
        const text = deployCommands("1.4.2", "ab".repeat(32));
        expect(text).toContain(`pulumi config set greenVersion 1.4.2 && pulumi config set greenArtifactSha256 ${"ab".repeat(32)} && pulumi up`);
        expect(text).toContain(`pulumi config set blueVersion 1.4.2 && pulumi config set blueArtifactSha256 ${"ab".repeat(32)} && pulumi up`);
    });
});
