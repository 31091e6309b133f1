import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { migrationExecution, migrationKey, migrationRunScript, MigrationRunSettings } from "../../components/migrationRun";
import { agentWorkDir } from "../../components/lib/agentRun";

const settings: MigrationRunSettings = {
    phase: "expand",
    color: "green",
    version: "2.0.0",
    toolsSha256: "a".repeat(64),
    appUser: "app_user",
    lockTimeoutSeconds: 1800,
    adminUrlSecret: "sql-admin-url",
    appPasswordSecret: "app-db-password",
};
const run = { toolsUrl: "https://bgart.blob.core.windows.net/artifacts/bluegreen-tools-aaaaaaaaaaaa.tgz", keyvaultUrl: "https://kv.vault.azure.net/" };
const scripts = {
    deployApp: "#!/bin/bash\necho 'deploy-app'\n",
    runMigrations: "#!/bin/bash\necho \"run $MIGRATE_PHASE\"\n",
    keyvaultSecret: "#!/bin/bash\necho secret-reader\n",
};
const MIGRATE_DIR = agentWorkDir(migrationKey("expand", "green"));

/** The `export NAME='value'` lines of a generated script, as an object. */
function exportsOf(script: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of script.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) out[m[1]] = m[2];
    return out;
}

describe("migrationRunScript", () => {
    it("exports the expand settings, including the app user, the vault and the secrets' names — never a secret", () => {
        expect(exportsOf(migrationRunScript(settings, run, scripts))).toEqual({
            MIGRATE_PHASE: "'expand'",
            APP_COLOR: "'green'",
            APP_VERSION: "'2.0.0'",
            TOOLS_URL: `'${run.toolsUrl}'`,
            TOOLS_SHA256: `'${"a".repeat(64)}'`,
            LOCK_TIMEOUT_SECONDS: "'1800'",
            KEYVAULT_URL: "'https://kv.vault.azure.net/'",
            ADMIN_URL_SECRET: "'sql-admin-url'",
            APP_PASSWORD_SECRET: "'app-db-password'",
            DEPLOY_SCRIPT: `'${MIGRATE_DIR}/deploy-app.sh'`,
            KEYVAULT_SCRIPT: `'${MIGRATE_DIR}/keyvault-secret.sh'`,
            APP_HOME: `'${MIGRATE_DIR}/app'`,
            APP_DB_USER: "'app_user'",
            AGENT_WORK_DIR: `'${MIGRATE_DIR}'`,
        });
    });

    it("names a new execution when the version, the scripts or the retry tag change, and the same one otherwise", () => {
        const base = migrationExecution(settings, scripts, "");
        expect(base.key).toBe("migrate-expand-green");
        expect(migrationExecution(settings, scripts, "")).toEqual(base);
        expect(migrationExecution({ ...settings, version: "2.1.0" }, scripts, "").digest).not.toBe(base.digest);
        expect(migrationExecution(settings, { ...scripts, runMigrations: "#!/bin/bash\necho v2\n" }, "").digest).not.toBe(base.digest);
        expect(migrationExecution(settings, scripts, "1").digest).not.toBe(base.digest);
    });

    it("names a new execution when the tool bundle changes (a new migration, a new runner): the commit that adds a migration runs it", () => {
        const base = migrationExecution(settings, scripts, "");
        expect(migrationExecution({ ...settings, toolsSha256: "b".repeat(64) }, scripts, "").digest).not.toBe(base.digest);
    });

    it("exports the running versions for a contract run", () => {
        const contract = migrationRunScript({ ...settings, phase: "contract", appUser: undefined, runningVersions: ["1.0.0", "2.0.0"] }, run, scripts);
        expect(exportsOf(contract)).toMatchObject({ MIGRATE_PHASE: "'contract'", RUNNING_VERSIONS: "'1.0.0,2.0.0'" });
        expect(exportsOf(contract).APP_DB_USER).toBeUndefined();
    });

    it("differs when the version changes, so Azure re-runs the command on a release", () => {
        expect(migrationRunScript({ ...settings, version: "2.1.0" }, run, scripts)).not.toEqual(migrationRunScript(settings, run, scripts));
    });

    it("writes the three scripts byte for byte and runs run-migrations.sh (checked by running it with bash in a temp dir)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-migrate-script-"));
        try {
            const script = migrationRunScript(settings, run, scripts).split(MIGRATE_DIR).join(dir);
            const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
            expect(r.stdout).toBe("run expand\n");
            expect(fs.readFileSync(`${dir}/deploy-app.sh`, "utf8")).toBe(scripts.deployApp);
            expect(fs.readFileSync(`${dir}/run-migrations.sh`, "utf8")).toBe(scripts.runMigrations);
            expect(fs.readFileSync(`${dir}/keyvault-secret.sh`, "utf8")).toBe(scripts.keyvaultSecret);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("quotes values so that a quote in one cannot break out of it", () => {
        const script = migrationRunScript(settings, { ...run, toolsUrl: "https://x/a'; rm -rf /; echo '" }, scripts);
        expect(script).toContain(`export TOOLS_URL='https://x/a'\\''; rm -rf /; echo '\\'''`);
    });
});
