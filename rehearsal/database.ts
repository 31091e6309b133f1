/**
 * The rehearsal's database: a throw-away PostgreSQL cluster and the product's migration runner (migrator/runner.ts)
 * applying the app's PostgreSQL migrations (migrations/postgres/, the twins of the T-SQL ones).
 *
 * Each release ships its own migrations, as an artifact would: release 1 (v1) ships only the first migration (the
 * initial schema), release 2 (v2) ships them all (the expand that v2 needs and the contract that removes what only
 * v1 used). The rehearsal copies each set into its own directory and points the runner at it.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { maskUrl } from "../migrator/databaseUrl";
import { MigrationStatus } from "../migrator/plan";
import { Client } from "pg";
import { createRunner, Runner } from "../migrator/runner";
import { ContractMigration, SchemaStatus } from "../release/guard";
import { REPO_ROOT } from "./apps";
import { Cleanup } from "./cleanup";
import { startPostgres } from "./postgres";

/** The app's least-privilege database user (created by the runner's `ensureAppUser`, as on Azure SQL). */
export const APP_DB_USER = "bluegreen_app";

/** The app's PostgreSQL migrations in the repository. */
export const POSTGRES_MIGRATIONS = path.join(REPO_ROOT, "migrations", "postgres");

export interface ReleaseDirs {
    /** Release 1's migrations: the initial schema. */
    readonly v1: string;
    /** Release 2's migrations: all of them. */
    readonly v2: string;
}

/**
 * Splits the migration files of `source` into the two releases and copies each set into its own directory under
 * `work`: release 1 gets the lowest-numbered file, release 2 every file. Throws when there is none.
 */
export function prepareReleaseDirs(source: string, work: string): ReleaseDirs {
    const files = fs.existsSync(source) ? fs.readdirSync(source).filter((f) => /^\d+_.+\.(expand|contract)\.sql$/.test(f)) : [];
    if (files.length < 2) {
        throw new Error(
            `${source} holds ${files.length} migration file(s); the rehearsal needs the initial schema and at least one later migration ` +
                `(<number>_<slug>.expand.sql / .contract.sql, the PostgreSQL twins of migrations/).`,
        );
    }
    files.sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b));
    const dirs: ReleaseDirs = { v1: path.join(work, "migrations-release-1"), v2: path.join(work, "migrations-release-2") };
    for (const [dir, names] of [[dirs.v1, files.slice(0, 1)], [dirs.v2, files]] as const) {
        fs.mkdirSync(dir, { recursive: true });
        for (const name of names) fs.copyFileSync(path.join(source, name), path.join(dir, name));
    }
    return dirs;
}

/** What the guard's flip check needs from the runner's status: applied contracts and pending expands. */
export function toSchemaStatus(migrations: readonly MigrationStatus[]): SchemaStatus {
    return {
        appliedContract: migrations
            .filter((m) => m.phase === "contract" && m.state === "applied")
            .map((m) => ({ name: m.name, requiresVersion: m.requiresVersion ?? "" })),
        pendingExpand: migrations.filter((m) => m.phase === "expand" && m.state !== "applied").map((m) => m.name),
    };
}

/** The contract migrations not applied yet, with their requires-version, for the guard's contract check. */
export function pendingContracts(migrations: readonly MigrationStatus[]): ContractMigration[] {
    return migrations
        .filter((m) => m.phase === "contract" && m.state !== "applied")
        .map((m) => ({ name: m.name, requiresVersion: m.requiresVersion ?? "" }));
}

export interface RehearsalDatabase {
    /** The URL the app instances use (their least-privilege user). */
    readonly appUrl: string;
    /** The app's URL with the password masked, for printing. */
    readonly maskedUrl: string;
    readonly releaseDirs: ReleaseDirs;
    /** `up` of one phase with the migrations of `dir`; returns the names applied. Throws the runner's refusal. */
    up(dir: string, phase: "expand" | "contract", runningVersions?: readonly string[]): Promise<string[]>;
    /** The runner's status of `dir`, as the guard's SchemaStatus. */
    schemaStatus(dir: string): Promise<SchemaStatus>;
    /** The pending contract migrations of `dir`. */
    pendingContract(dir: string): Promise<ContractMigration[]>;
    /**
     * A long read of the live app, as it were: a transaction holding a lock on `table` (ACCESS SHARE: the app's own
     * reads and writes pass, a migration's ALTER TABLE waits). Returns the release (idempotent).
     */
    holdTableLock(table: string): Promise<() => Promise<void>>;
    /** The runner's log lines since the last call (its lock-timeout retries among them). */
    takeMigrationLog(): string[];
    /**
     * Writes the runner's `status` (JSON) for `dir` to a file in `work` and returns a shell command printing it: the
     * health gate's `--db-status-cmd` (on a VM it runs the runner's CLI; here the library answered a moment ago).
     */
    statusCommand(dir: string, work: string): Promise<string>;
}

/** The runner's statement lock timeout in the rehearsal (the product's default is 5 s). */
export const REHEARSAL_STATEMENT_LOCK_TIMEOUT_MS = 300;

/** Starts PostgreSQL (stopped by `cleanup`), creates the app's database, prepares the release directories. */
export async function openRehearsalDatabase(cleanup: Cleanup, work: string, source = POSTGRES_MIGRATIONS): Promise<RehearsalDatabase> {
    const releaseDirs = prepareReleaseDirs(source, work);
    const pg = await startPostgres();
    cleanup.add("stop PostgreSQL", () => pg.stop());
    const url = await pg.createDatabase("rehearsal");
    // The app does not log in as the administrator: the runner creates its least-privilege user, as in the product.
    const password = randomBytes(18).toString("base64url");
    await createRunner({ url, dir: releaseDirs.v1 }).ensureAppUser(APP_DB_USER, password);
    const appUrl = `postgres://${APP_DB_USER}:${password}@127.0.0.1:${pg.port}/rehearsal`;
    const runners = new Map<string, Runner>();
    const runner = (dir: string): Runner => {
        let r = runners.get(dir);
        if (!r) {
            // A short statement lock timeout, so that the expand under a held lock shows its retries within the run.
            r = createRunner({
                url,
                dir,
                lockTimeoutMs: 10_000,
                statementLockTimeoutMs: REHEARSAL_STATEMENT_LOCK_TIMEOUT_MS,
                lockRetry: { attempts: 10, baseDelayMs: 200, maxDelayMs: 800 },
                log: (line) => migrationLog.push(line),
            });
            runners.set(dir, r);
        }
        return r;
    };
    let statusFiles = 0;
    const migrationLog: string[] = [];
    return {
        async holdTableLock(table) {
            const holder = new Client({ connectionString: url });
            await holder.connect();
            await holder.query(`BEGIN; SELECT count(*) FROM ${holder.escapeIdentifier(table)};`);
            let released = false;
            return async () => {
                if (released) return;
                released = true;
                await holder.query("COMMIT").catch(() => undefined);
                await holder.end().catch(() => undefined);
            };
        },
        takeMigrationLog() {
            return migrationLog.splice(0);
        },
        appUrl,
        maskedUrl: maskUrl(appUrl),
        releaseDirs,
        async up(dir, phase, runningVersions) {
            const result = await runner(dir).up({ phase, ...(runningVersions ? { runningVersions } : {}) });
            return [...result.applied];
        },
        async schemaStatus(dir) {
            return toSchemaStatus((await runner(dir).status()).migrations);
        },
        async pendingContract(dir) {
            return pendingContracts((await runner(dir).status()).migrations);
        },
        async statusCommand(dir, where) {
            const file = path.join(where, `status-${++statusFiles}.json`);
            fs.writeFileSync(file, JSON.stringify(await runner(dir).status()));
            return `cat '${file}'`;
        },
    };
}
