/**
 * vm-scripts/run-migrations.sh run locally against a real PostgreSQL: a stand-in deploy-app.sh (which must be called
 * with FETCH_ONLY=1 and "unpacks" the tool bundle into FETCH_DIR), in it a shim for dist/migrator/cli.js that runs this
 * repository's migrator/cli.ts, and a stand-in IMDS + Key Vault holding the secrets (read by the real
 * vm-scripts/keyvault-secret.sh beside the script). Checks the order (fetch, secrets, ensure-app-user, up), which
 * secrets each phase reads, and that no secret is printed.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { RunningKeyVaultStandIn, startKeyVaultStandIn, VAULT_TOKEN } from "../../rehearsal/keyVaultStandIn";
import { startPostgres, TestPostgres } from "../support/postgres";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "vm-scripts", "run-migrations.sh");

let pg: TestPostgres;
let work: string;
let kv: RunningKeyVaultStandIn;

beforeAll(async () => {
    pg = await startPostgres();
    kv = await startKeyVaultStandIn();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "bg-run-migrations-"));
}, 60_000);

afterAll(async () => {
    fs.rmSync(work, { recursive: true, force: true });
    await kv?.close();
    await pg?.stop();
});
beforeEach(() => kv.standIn.reset());

/** A stand-in for deploy-app.sh: refuses unless FETCH_ONLY=1, then puts a "tool bundle" with the runner shim in FETCH_DIR. */
function standInDeployScript(dir: string, migrations: string): string {
    const file = path.join(dir, "deploy-app.sh");
    const release = '"$FETCH_DIR"';
    fs.writeFileSync(
        file,
        [
            "#!/usr/bin/env bash",
            "set -euo pipefail",
            '[ "${FETCH_ONLY:-}" = 1 ] || { echo "deploy-app stand-in: called without FETCH_ONLY=1" >&2; exit 9; }',
            'echo "deploy-app stand-in: fetched $ARTIFACT_URL ($ARTIFACT_SHA256) into ${FETCH_DIR#$APP_HOME/}"',
            `mkdir -p ${release}/dist/migrator`,
            `cp -r ${JSON.stringify(migrations)} ${release}/migrations`,
            `cat > ${release}/dist/migrator/cli.js <<'EOF'`,
            `require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, project: ${JSON.stringify(path.join(ROOT, "tsconfig.json"))} });`,
            `require(${JSON.stringify(path.join(ROOT, "migrator", "cli.ts"))}).main(process.argv.slice(2), process).then((c) => { process.exitCode = c; });`,
            "EOF",
            "",
        ].join("\n"),
    );
    return file;
}

interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * Runs the script with the stand-in Key Vault (asynchronously: the stand-in answers from this process); every run's
 * output is checked for the secrets the stand-in holds.
 */
async function run(env: Record<string, string>): Promise<Run> {
    const r = await new Promise<Run>((resolve) => {
        const child = spawn("bash", [SCRIPT], {
            env: {
                PATH: process.env.PATH ?? "", HOME: os.tmpdir(), IMDS_URL: kv.url, KEYVAULT_URL: `${kv.url}/`, AUTH_RETRY_INTERVAL: "1",
                TOOLS_URL: "https://example.invalid/bluegreen-tools-000000000000.tgz", TOOLS_SHA256: "0".repeat(64),
                ...env,
            },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
    for (const value of kv.standIn.secrets.values()) expect(r.stdout + r.stderr).not.toContain(value);
    return r;
}

describe("vm-scripts/run-migrations.sh", () => {
    it("fetches the release through deploy-app.sh (FETCH_ONLY), ensures the app user, runs expand, and prints no secret", async () => {
        const url = await pg.createDatabase("script_expand");
        const adminUrl = url.replace("postgres://postgres@", "postgres://postgres:admin-secret-123@");
        // Quotes, shell metacharacters and a newline: the runner must get the password byte for byte.
        const appPassword = `app's "secret" $(id) \`x\` ;&|\n456`;
        const deploy = standInDeployScript(work, path.join(__dirname, "..", "fixtures", "migrations", "basic"));
        kv.standIn.secrets.set("sql-admin-url", adminUrl);
        kv.standIn.secrets.set("app-db-password", appPassword);
        const r = await run({
            MIGRATE_PHASE: "expand",
            APP_COLOR: "green",
            APP_VERSION: "2.0.0",
            TOOLS_URL: "https://example.invalid/bluegreen-tools-000000000000.tgz",
            TOOLS_SHA256: "0".repeat(64),
            APP_DB_USER: "app_user",
            DEPLOY_SCRIPT: deploy,
            APP_HOME: path.join(work, "app"),
        });
        const output = r.stdout + r.stderr;
        expect({ status: r.status, output }).toEqual({ status: 0, output: expect.stringContaining("run-migrations: done") });
        expect(output).toMatch(
            /fetched https:\/\/example\.invalid\/bluegreen-tools-000000000000\.tgz \(0{64}\) into tools-000000000000[\s\S]*administrator's URL \(secret sql-admin-url\)[\s\S]*password \(secret app-db-password\)[\s\S]*database user app_user ensured[\s\S]*applied 2 expand migration\(s\)/,
        );
        expect(output).not.toContain("admin-secret-123");
        expect(output).not.toContain("456");
        expect(kv.standIn.vaultRequests).toEqual([
            { secret: "sql-admin-url", apiVersion: "7.4", authorization: `Bearer ${VAULT_TOKEN}` },
            { secret: "app-db-password", apiVersion: "7.4", authorization: `Bearer ${VAULT_TOKEN}` },
        ]);
        const c = new Client({ connectionString: url });
        await c.connect();
        try {
            const roles = await c.query("SELECT 1 FROM pg_roles WHERE rolname = 'app_user'");
            expect(roles.rowCount).toBe(1);
            const journal = await c.query<{ name: string }>("SELECT name FROM migration_journal ORDER BY name");
            expect(journal.rows.map((row) => row.name)).toEqual(["0001_create_goals.expand.sql", "0002_add_goal_title.expand.sql"]);
        } finally {
            await c.end();
        }
        // The app user logs in with exactly the password from Key Vault.
        const asApp = new Client({ connectionString: url.replace("postgres://postgres@", "postgres://app_user@"), password: appPassword });
        await asApp.connect();
        await asApp.end();

        kv.standIn.reset();
        kv.standIn.secrets.set("sql-admin-url", adminUrl);
        kv.standIn.secrets.set("app-db-password", appPassword);
        const contract = await run({
            MIGRATE_PHASE: "contract",
            APP_COLOR: "green",
            APP_VERSION: "2.0.0",
            RUNNING_VERSIONS: "1.0.0,2.0.0",
            DEPLOY_SCRIPT: deploy,
            APP_HOME: path.join(work, "app"),
        });
        expect(contract.status).toBe(1);
        expect(contract.stderr).toMatch(/0003_drop_goal_name\.contract\.sql may not run yet/);
        expect(kv.standIn.vaultRequests.map((q) => q.secret)).toEqual(["sql-admin-url"]);
    }, 60_000);

    it("waits while Key Vault answers 403 (the agent's role assignment propagating), then runs", async () => {
        const url = await pg.createDatabase("script_wait");
        const deploy = standInDeployScript(work, path.join(__dirname, "..", "fixtures", "migrations", "basic"));
        kv.standIn.secrets.set("sql-admin-url", url);
        kv.standIn.secrets.set("app-db-password", "app-password-after-wait");
        kv.standIn.denyNext = 1;
        const r = await run({ MIGRATE_PHASE: "expand", APP_COLOR: "green", APP_VERSION: "2.0.0", DEPLOY_SCRIPT: deploy, APP_HOME: path.join(work, "app-wait"), AUTH_WAIT_SECONDS: "20" });
        expect(r.stderr).toMatch(/answered 403 for secret sql-admin-url .*role assignment on the vault to propagate/);
        expect(kv.standIn.vaultRequests.map((q) => q.secret)).toEqual(["sql-admin-url", "sql-admin-url", "app-db-password"]);
        expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: expect.stringMatching(/applied 2 expand migration\(s\)[\s\S]*run-migrations: done/) });
    }, 60_000);

    it("fails when a secret is missing, naming it, before anything runs against the database", async () => {
        const url = await pg.createDatabase("script_missing");
        const deploy = standInDeployScript(work, path.join(__dirname, "..", "fixtures", "migrations", "basic"));
        kv.standIn.secrets.set("sql-admin-url", url.replace("postgres://postgres@", "postgres://postgres:admin-secret-789@"));
        const r = await run({ MIGRATE_PHASE: "expand", APP_COLOR: "green", APP_VERSION: "2.0.0", DEPLOY_SCRIPT: deploy, APP_HOME: path.join(work, "app-missing"), APP_PASSWORD_SECRET: "app-db-password-v2" });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/secret app-db-password-v2 is not in Key Vault .*Create it/);
        expect(r.stderr).toContain("could not read APP_DB_PASSWORD (secret app-db-password-v2) from Key Vault");
        const c = new Client({ connectionString: url });
        await c.connect();
        try {
            expect((await c.query("SELECT to_regclass('migration_journal') AS t")).rows).toEqual([{ t: null }]);
        } finally {
            await c.end();
        }
    }, 60_000);

    it.each([
        [{ MIGRATE_PHASE: "sideways" }, /MIGRATE_PHASE="sideways" must be expand or contract/],
        [{ MIGRATE_PHASE: "expand", APP_VERSION: "2.0.0", TOOLS_URL: "" }, /TOOLS_URL or TOOLS_SHA256 is empty; the run command passes the tool bundle's URL and SHA-256/],
        [{ MIGRATE_PHASE: "contract", RUNNING_VERSIONS: "" }, /RUNNING_VERSIONS="" must list the versions both colors run/],
        [{ MIGRATE_PHASE: "contract", RUNNING_VERSIONS: "2.0.0,2.0.0", KEYVAULT_URL: "" }, /KEYVAULT_URL is empty; the run command passes the URI of the Key Vault holding secret sql-admin-url/],
        [{ MIGRATE_PHASE: "contract", RUNNING_VERSIONS: "2.0.0,2.0.0", APP_VERSION: "2.0.0", DEPLOY_SCRIPT: __filename, KEYVAULT_SCRIPT: "/nonexistent/kv.sh" }, /\/nonexistent\/kv.sh is missing/],
    ])("refuses bad inputs %j with exit 2", async (env, message) => {
        const r = await run(env);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(message);
    });
});
