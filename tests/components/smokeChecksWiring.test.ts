/**
 * The user's smoke checks wired into the program (index.ts), under mocks: the stack's `smokeChecksFile` is read from
 * the repository, and the live color's gate run command carries the checks (as JSON, with their runner) for the
 * agent's health-gate.sh; a changed check is a new gate run; a bad file declares nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseSmokeChecks } from "../../release/smokeChecks";
import { baseConfig, byName, ProgramRun, REPO_ROOT, runProgram } from "../support/pulumiProgram";

const scriptOf = (run: ProgramRun, name: string): string => String((byName(run, name).inputs.source as { script: string }).script);
/** The files an agent run command writes (`echo '<base64>' | base64 -d > <dir>/<file>`), decoded. */
const writtenFiles = (script: string): Record<string, string> =>
    Object.fromEntries([...script.matchAll(/^echo '([A-Za-z0-9+/=]*)' \| base64 -d > \S+\/([^/\s]+)$/gm)].map((m) => [m[2], Buffer.from(m[1], "base64").toString("utf8")]));

describe("smoke checks in the program", () => {
    let first: ProgramRun;
    let changed: ProgramRun;
    beforeAll(async () => {
        first = await runProgram(baseConfig({ smokeChecksFile: "app/smoke-checks.yaml" }));
        if (first.error) throw first.error;
        changed = await runProgram(baseConfig({ smokeChecksFile: "tests/fixtures/smoke-checks/home-only.yaml" }), { previous: first });
        if (changed.error) throw changed.error;
    });

    it("gives the live color's gate the checks of the stack's file, defaults applied, and their runner", () => {
        const script = scriptOf(first, "blue-gate-check");
        const files = writtenFiles(script);
        const sample = parseSmokeChecks(parse(fs.readFileSync(path.join(REPO_ROOT, "app", "smoke-checks.yaml"), "utf8")));
        expect(JSON.parse(files["smoke-checks.json"])).toEqual(sample.checks);
        expect(files["smoke-checks.js"]).toContain("smoke check");
        expect(script).toContain("export GATE_SMOKE_CHECKS='/var/lib/bluegreen/agent/gate/smoke-checks.json'");
        expect(files["health-gate.sh"]).toContain("--smoke-checks");
    });

    it("runs the gate again, under a new name, when the checks change", () => {
        const name = (run: ProgramRun) => byName(run, "blue-gate-check").inputs.runCommandName;
        expect(JSON.parse(writtenFiles(scriptOf(changed, "blue-gate-check"))["smoke-checks.json"]).map((c: { name: string }) => c.name)).toEqual(["home"]);
        expect(name(changed)).not.toBe(name(first));
    });

    it("refuses a smoke checks file that is not valid before declaring any resource, naming the file, the check and the fix", async () => {
        const bad = await runProgram(baseConfig({ smokeChecksFile: "tests/fixtures/smoke-checks/missing.yaml" }));
        expect(bad.error?.message).toContain('smokeChecksFile (tests/fixtures/smoke-checks/missing.yaml) = "tests/fixtures/smoke-checks/missing.yaml" names a file that does not exist');
        expect(bad.error?.message).toContain("pulumi config rm smokeChecksFile");
        expect(bad.resources).toEqual([]);
    });
});
