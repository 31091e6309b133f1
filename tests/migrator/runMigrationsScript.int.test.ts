/**
 * vm-scripts/run-migrations.sh run locally against a real PostgreSQL: a stand-in deploy-app.sh (which must be called
 * with FETCH_ONLY=1 and "unpacks" a release), and in the release a shim for dist/migrator/cli.js that runs this
 * repository's migrator/cli.ts. Checks the order (fetch, ensure-app-user, up) and that no secret is printed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { startPostgres, TestPostgres } from "../support/postgres";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "vm-scripts", "run-migrations.sh");

let pg: TestPostgres;
let work: string;

beforeAll(async () => {
    pg = await startPostgres();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "bg-run-migrations-"));
}, 60_000);

afterAll(async () => {
    fs.rmSync(work, { recursive: true, force: true });
    await pg?.stop();
});

/** A stand-in for deploy-app.sh: refuses unless FETCH_ONLY=1, then puts a "release" with the runner shim in place. */
function standInDeployScript(dir: string, migrations: string): string {
    const file = path.join(dir, "deploy-app.sh");
    const release = '"$APP_HOME/releases/$APP_VERSION"';
    fs.writeFileSync(
        file,
        [
            "#!/usr/bin/env bash",
            "set -euo pipefail",
            '[ "${FETCH_ONLY:-}" = 1 ] || { echo "deploy-app stand-in: called without FETCH_ONLY=1" >&2; exit 9; }',
            'echo "deploy-app stand-in: fetched $APP_VERSION for $APP_COLOR"',
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

function run(env: Record<string, string>) {
    return spawnSync("bash", [SCRIPT], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env }, timeout: 60_000 });
}

describe("vm-scripts/run-migrations.sh", () => {
    it("fetches the release through deploy-app.sh (FETCH_ONLY), ensures the app user, runs expand, and prints no secret", async () => {
        const url = await pg.createDatabase("script_expand");
        const adminUrl = url.replace("postgres://postgres@", "postgres://postgres:admin-secret-123@");
        const deploy = standInDeployScript(work, path.join(__dirname, "..", "fixtures", "migrations", "basic"));
        const r = run({
            MIGRATE_PHASE: "expand",
            APP_COLOR: "green",
            APP_VERSION: "2.0.0",
            ARTIFACT_URL: "https://example.invalid/app-2.0.0.tgz",
            ARTIFACT_SHA256: "0".repeat(64),
            APP_DB_USER: "app_user",
            APP_DB_PASSWORD: "app-secret-456",
            ADMIN_DATABASE_URL: adminUrl,
            DEPLOY_SCRIPT: deploy,
            APP_HOME: path.join(work, "app"),
        });
        const output = r.stdout + r.stderr;
        expect({ status: r.status, output }).toEqual({ status: 0, output: expect.stringContaining("run-migrations: done") });
        expect(output).toMatch(/fetched 2\.0\.0 for green[\s\S]*database user app_user ensured[\s\S]*applied 2 expand migration\(s\)/);
        expect(output).not.toContain("admin-secret-123");
        expect(output).not.toContain("app-secret-456");
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

        const contract = run({
            MIGRATE_PHASE: "contract",
            APP_COLOR: "green",
            APP_VERSION: "2.0.0",
            RUNNING_VERSIONS: "1.0.0,2.0.0",
            ADMIN_DATABASE_URL: adminUrl,
            DEPLOY_SCRIPT: deploy,
            APP_HOME: path.join(work, "app"),
        });
        expect(contract.status).toBe(1);
        expect(contract.stderr).toMatch(/0003_drop_goal_name\.contract\.sql may not run yet/);
    }, 60_000);

    it.each([
        [{ MIGRATE_PHASE: "sideways" }, /MIGRATE_PHASE="sideways" must be expand or contract/],
        [{ MIGRATE_PHASE: "expand" }, /APP_DB_PASSWORD is empty/],
        [{ MIGRATE_PHASE: "contract", RUNNING_VERSIONS: "" }, /RUNNING_VERSIONS="" must list the versions both colors run/],
        [{ MIGRATE_PHASE: "contract", RUNNING_VERSIONS: "2.0.0,2.0.0" }, /ADMIN_DATABASE_URL is empty/],
    ])("refuses bad inputs %j with exit 2", (env, message) => {
        const r = run(env);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(message);
    });
});
