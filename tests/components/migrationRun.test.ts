import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MIGRATE_DIR, migrationRunScript, MigrationRunSettings } from "../../components/migrationRun";

const settings: MigrationRunSettings = {
    phase: "expand",
    color: "green",
    version: "2.0.0",
    artifactUrl: "https://bgart.blob.core.windows.net/artifacts/app-2.0.0.tgz",
    artifactSha256: "a".repeat(64),
    appUser: "app_user",
    lockTimeoutSeconds: 1800,
};
const scripts = { deployApp: "#!/bin/bash\necho 'deploy-app'\n", runMigrations: "#!/bin/bash\necho \"run $MIGRATE_PHASE\"\n" };

/** The `export NAME='value'` lines of a generated script, as an object. */
function exportsOf(script: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of script.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) out[m[1]] = m[2];
    return out;
}

describe("migrationRunScript", () => {
    it("exports the expand settings, including the app user, and no contract-only setting", () => {
        expect(exportsOf(migrationRunScript(settings, scripts))).toEqual({
            MIGRATE_PHASE: "'expand'",
            APP_COLOR: "'green'",
            APP_VERSION: "'2.0.0'",
            ARTIFACT_URL: `'${settings.artifactUrl}'`,
            ARTIFACT_SHA256: `'${"a".repeat(64)}'`,
            LOCK_TIMEOUT_SECONDS: "'1800'",
            DEPLOY_SCRIPT: `'${MIGRATE_DIR}/deploy-app.sh'`,
            APP_DB_USER: "'app_user'",
        });
    });

    it("exports the running versions for a contract run", () => {
        const contract = migrationRunScript({ ...settings, phase: "contract", appUser: undefined, runningVersions: ["1.0.0", "2.0.0"] }, scripts);
        expect(exportsOf(contract)).toMatchObject({ MIGRATE_PHASE: "'contract'", RUNNING_VERSIONS: "'1.0.0,2.0.0'" });
        expect(exportsOf(contract).APP_DB_USER).toBeUndefined();
    });

    it("differs when the version changes, so Azure re-runs the command on a release", () => {
        expect(migrationRunScript({ ...settings, version: "2.1.0" }, scripts)).not.toEqual(migrationRunScript(settings, scripts));
    });

    it("writes both scripts byte for byte and runs run-migrations.sh (checked by running it with bash in a temp dir)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-migrate-script-"));
        try {
            const script = migrationRunScript(settings, scripts).split(MIGRATE_DIR).join(dir);
            const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
            expect(r.stdout).toBe("run expand\n");
            expect(fs.readFileSync(`${dir}/deploy-app.sh`, "utf8")).toBe(scripts.deployApp);
            expect(fs.readFileSync(`${dir}/run-migrations.sh`, "utf8")).toBe(scripts.runMigrations);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("quotes values so that a quote in one cannot break out of it", () => {
        const script = migrationRunScript({ ...settings, artifactUrl: "https://x/a'; rm -rf /; echo '" }, scripts);
        expect(script).toContain(`export ARTIFACT_URL='https://x/a'\\''; rm -rf /; echo '\\'''`);
    });
});
