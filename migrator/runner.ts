/**
 * The migration engine, as a library: `createRunner({ url, dir })` → `status`, `plan`, `up`, `resolve`,
 * `ensureAppUser`. The CLI (migrator/cli.ts), the release guard, and the local rehearsal all use it.
 *
 *   const runner = createRunner({ url: process.env.DATABASE_URL });
 *   await runner.up({ phase: "expand" });
 *   await runner.up({ phase: "contract", runningVersions: ["2.0.0", "2.0.0"] });
 *
 * Every method opens its own connection and closes it. `up`, `resolve` and `ensureAppUser` take the lock on that one
 * connection for the whole call, then read the journal and plan (so a runner that waited sees what the other one did).
 * Decisions live in migrator/plan.ts (pure); the dialect lives in migrator/drivers/.
 */
import * as path from "path";
import { DatabaseUrl, Dialect, parseDatabaseUrl } from "./databaseUrl";
import { DEFAULT_REQUEST_TIMEOUT_MS, Driver, DriverOptions } from "./drivers/driver";
import { MssqlApi, MssqlDriver } from "./drivers/mssql";
import { PostgresDriver } from "./drivers/postgres";
import { JournalEntry, RestorePoint } from "./journal";
import { lintMigration } from "./lint/lint";
import { loadMigrationDir, MigrationFile } from "./migrationFile";
import { LintFindingLike, MigrationStatus, Phase, Plan, planRun } from "./plan";
import { batchTimeoutMs, DEFAULT_LONG_REQUEST_TIMEOUT_MS } from "./timeouts";
import { decideRetry, DEFAULT_RETRY_POLICY, isLockTimeout, RetryPolicy, RetryScope, retryScopeOf } from "./retry";

/** Options of {@link createRunner}. */
export interface RunnerOptions {
    /** The database URL (postgres://, postgresql://, mssql://, sqlserver://). @default process.env.DATABASE_URL */
    readonly url?: string;
    /** The migrations directory. @default {@link defaultMigrationsDir} of the URL's dialect */
    readonly dir?: string;
    /** How long to wait for another runner's lock, in ms. @default 60000 */
    readonly lockTimeoutMs?: number;
    /** Timeout of one batch, in ms. @default 30 minutes */
    readonly requestTimeoutMs?: number;
    /** Where progress lines go. @default nowhere */
    readonly log?: (line: string) => void;
    /** The linter (errors refuse an expand run). @default migrator/lint's lintMigration */
    readonly lint?: (file: MigrationFile) => readonly LintFindingLike[];
    /** Tests: the mssql module to use (tests/support/fakeMssql.ts). @default the real `mssql` */
    readonly mssqlApi?: MssqlApi;
    /** Tests: a lock name other than the default, to keep suites apart. */
    readonly lockName?: string;
    /** How long one statement may wait for a table/row lock, in ms (0 = forever). @default 5000 */
    readonly statementLockTimeoutMs?: number;
    /** Retries after a lock timeout (see migrator/retry.ts). @default 5 attempts, 2 s doubling to at most 30 s */
    readonly lockRetry?: RetryPolicy;
    /** Timeout of a batch that builds an index online (ONLINE/RESUMABLE = ON, CONCURRENTLY), in ms. @default 24 hours */
    readonly longRequestTimeoutMs?: number;
    /** Tests: how to wait between retries. @default setTimeout */
    readonly sleep?: (ms: number) => Promise<void>;
}

/** What `up` was asked for. */
export interface UpRequest {
    readonly phase: Phase;
    /** Contract phase: the version of every color that can take traffic. */
    readonly runningVersions?: readonly string[];
}

/** What `up` did. */
export interface UpResult {
    readonly applied: readonly string[];
    /** Contract runs: the time recorded before the first contract migration (restore to it to undo). */
    readonly restorePoint?: RestorePoint;
}

/** How a failed no-transaction migration was resolved by hand. */
export type Resolution = "applied" | "rolled-back";

/** The runner's operations. */
export interface Runner {
    readonly dialect: Dialect;
    readonly dir: string;
    /** The state of every migration (read-only, no lock). Refusals that block every run are included. */
    status(): Promise<{ migrations: readonly MigrationStatus[]; refusals: readonly string[] }>;
    /** What `up` would run and what it would refuse (read-only, no lock). */
    plan(request: UpRequest): Promise<Plan>;
    /** Runs the phase's pending migrations, or throws a {@link RefusedError} having changed nothing. */
    up(request: UpRequest): Promise<UpResult>;
    /** Marks a failed no-transaction migration applied, or forgets it so that it runs again. */
    resolve(name: string, resolution: Resolution): Promise<void>;
    /** Creates the app's least-privilege database user, or re-applies the grants of an existing one (its password is left alone). */
    ensureAppUser(user: string, password: string): Promise<void>;
}

/** A run refused before it changed anything. `refusals` each name the migration and the way out. */
export class RefusedError extends Error {
    constructor(readonly refusals: readonly string[]) {
        super(`Refused; nothing was changed:\n${refusals.map((r) => `  - ${r}`).join("\n")}`);
        this.name = "RefusedError";
    }
}

/** A migration that failed while running; the message names the file, the batch and the line. */
export class MigrationFailedError extends Error {
    constructor(
        message: string,
        readonly migration: string,
        readonly line: number | undefined,
        readonly cause: unknown,
    ) {
        super(message);
        this.name = "MigrationFailedError";
    }
}

/** The default migrations directory: `migrations/` for SQL Server, its PostgreSQL twins in `migrations/postgres/`. */
export function defaultMigrationsDir(dialect: Dialect): string {
    return dialect === "postgres" ? path.join("migrations", "postgres") : "migrations";
}

const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

/** Creates the driver for a parsed URL. */
export function createDriver(db: DatabaseUrl, opts: DriverOptions, mssqlApi?: MssqlApi): Driver {
    return db.dialect === "postgres" ? new PostgresDriver(db.url, opts) : new MssqlDriver(db, opts, mssqlApi);
}

function lineCount(sql: string): number {
    return sql.split("\n").length - (sql.endsWith("\n") ? 1 : 0);
}

function messageOf(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

/** Creates a runner for one database and one migrations directory. Throws on a missing or bad URL (password masked). */
export function createRunner(options: RunnerOptions = {}): Runner {
    const db = parseDatabaseUrl(options.url ?? process.env.DATABASE_URL);
    const dir = options.dir ?? defaultMigrationsDir(db.dialect);
    const log = options.log ?? (() => undefined);
    const lint = options.lint ?? lintMigration;
    const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    const driverOptions: DriverOptions = {
        // The lock request itself must be allowed to wait longer than the lock timeout.
        requestTimeoutMs: Math.max(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, lockTimeoutMs + 30_000),
        ...(options.lockName !== undefined ? { lockName: options.lockName } : {}),
        ...(options.statementLockTimeoutMs !== undefined ? { statementLockTimeoutMs: options.statementLockTimeoutMs } : {}),
    };
    const lockRetry = options.lockRetry ?? DEFAULT_RETRY_POLICY;
    const batchTimeouts = {
        requestMs: driverOptions.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        longMs: options.longRequestTimeoutMs ?? DEFAULT_LONG_REQUEST_TIMEOUT_MS,
    };
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

    /** Runs `attempt` until it succeeds or {@link decideRetry} says stop; a lock timeout it gives up on is explained. */
    async function withLockRetry<T>(what: string, scope: RetryScope, attempt: () => Promise<T>): Promise<T> {
        for (let n = 1; ; n++) {
            try {
                return await attempt();
            } catch (err) {
                const decision = decideRetry({ dialect: db.dialect, err, scope, attempt: n, policy: lockRetry });
                if (decision.retry) {
                    log(`${what}: ${decision.note}`);
                    await sleep(decision.delayMs);
                    continue;
                }
                if (decision.note && err instanceof Error) err.message += `\n${decision.note}`;
                throw err;
            }
        }
    }

    const load = (): MigrationFile[] => loadMigrationDir(dir, { dialect: db.dialect === "postgres" ? "postgres" : "tsql" });

    async function withDriver<T>(locked: boolean, fn: (driver: Driver) => Promise<T>): Promise<T> {
        const driver = createDriver(db, driverOptions, options.mssqlApi);
        try {
            await driver.connect();
        } catch (err) {
            throw new Error(`Cannot connect to ${db.masked}: ${messageOf(err)}`);
        }
        try {
            if (!locked) return await fn(driver);
            await driver.lock(lockTimeoutMs);
            try {
                return await fn(driver);
            } finally {
                // The lock is the session's: closing the connection frees it too, so an unlock error must not hide
                // the run's own error.
                await driver.unlock().catch(() => undefined);
            }
        } finally {
            await driver.close().catch(() => undefined);
        }
    }

    async function runBatches(driver: Driver, m: MigrationFile): Promise<void> {
        for (const [i, batch] of m.batches.entries()) {
            for (let r = 0; r < batch.repeat; r++) {
                try {
                    // In a transaction a lock timeout is retried by up (the whole migration); outside one, per batch.
                    const run = () => driver.execBatch(batch.sql, batchTimeoutMs(batch.sql, m.dialect, batchTimeouts));
                    await (m.noTransaction ? withLockRetry(`${m.name} batch ${i + 1}`, retryScopeOf(m, batch.sql, m.dialect), run) : run());
                } catch (err) {
                    const within = driver.errorLine(err, batch.sql);
                    const line = within !== undefined ? batch.startLine + within - 1 : undefined;
                    const lastLine = batch.startLine + lineCount(batch.sql) - 1;
                    const where =
                        `batch ${i + 1} of ${m.batches.length} (lines ${batch.startLine}-${lastLine}` +
                        `${batch.repeat > 1 ? `, run ${r + 1} of ${batch.repeat}` : ""})`;
                    throw new MigrationFailedError(
                        `${m.path}${line !== undefined ? `:${line}` : ""}: ${where} failed${line !== undefined ? ` at line ${line}` : ""}: ${messageOf(err)}`,
                        m.name,
                        line,
                        err,
                    );
                }
            }
        }
    }

    async function apply(driver: Driver, m: MigrationFile): Promise<void> {
        const started = Date.now();
        const entry = { name: m.name, phase: m.phase, checksum: m.checksum };
        log(`applying ${m.name}${m.noTransaction ? " (no transaction)" : ""}`);
        if (!m.noTransaction) {
            await driver.begin();
            try {
                await runBatches(driver, m);
                await driver.writeJournal({ ...entry, durationMs: Date.now() - started, state: "applied" });
                await driver.commit();
            } catch (err) {
                await driver.rollback().catch(() => undefined);
                if (err instanceof MigrationFailedError && !isLockTimeout(db.dialect, err)) {
                    err.message +=
                        `\nThe migration ran in a transaction and was rolled back: the database and the journal are as they were, ` +
                        `and no later migration ran. Fix ${m.path} (it was never applied, so it may still change) and run up again.`;
                }
                throw err;
            }
        } else {
            try {
                await runBatches(driver, m);
            } catch (err) {
                await driver.writeJournal({ ...entry, durationMs: Date.now() - started, state: "failed", error: messageOf(err) });
                if (err instanceof MigrationFailedError) {
                    err.message +=
                        `\n${m.name} runs without a transaction (-- migrate:no-transaction), so the batches before the failing one ` +
                        `stay applied. It is recorded failed and the runner refuses to run until it is resolved:\n` +
                        `  1. look at what it changed;\n` +
                        `  2a. finish it by hand, then: npm run db -- resolve ${m.name} --applied\n` +
                        `  2b. or undo what it did (and fix the file), then: npm run db -- resolve ${m.name} --rolled-back (it runs again on the next up).`;
                }
                throw err;
            }
            await driver.writeJournal({ ...entry, durationMs: Date.now() - started, state: "applied" });
        }
        log(`applied ${m.name} in ${Date.now() - started} ms`);
    }

    function planFor(files: MigrationFile[], journal: JournalEntry[], request: Partial<UpRequest>): Plan {
        return planRun(files, journal, request, lint);
    }

    return {
        dialect: db.dialect,
        dir,

        async status() {
            const files = load();
            const journal = await withDriver(false, (d) => d.readJournal());
            const plan = planFor(files, journal, {});
            return { migrations: plan.status, refusals: plan.refusals };
        },

        async plan(request) {
            const files = load();
            const journal = await withDriver(false, (d) => d.readJournal());
            return planFor(files, journal, request);
        },

        async up(request) {
            const files = load();
            return withDriver(true, async (driver) => {
                const plan = planFor(files, await driver.readJournal(), request);
                if (plan.refusals.length > 0) throw new RefusedError(plan.refusals);
                if (plan.toRun.length === 0) {
                    log(`nothing to apply (${request.phase})`);
                    return { applied: [] };
                }
                await driver.ensureJournal();
                let restorePoint: RestorePoint | undefined;
                if (request.phase === "contract") {
                    restorePoint = await driver.recordRestorePoint(plan.toRun.map((m) => m.name));
                    log(
                        `restore point ${restorePoint.recordedAt.toISOString()} (UTC) recorded in the journal: to undo this contract run, ` +
                            `restore the database to this time (Azure SQL point-in-time restore).`,
                    );
                }
                const applied: string[] = [];
                for (const m of plan.toRun) {
                    // A transactional migration that hit the lock timeout was rolled back whole: retried (migrator/retry.ts).
                    await (m.noTransaction ? apply(driver, m) : withLockRetry(m.name, "migration", () => apply(driver, m)));
                    applied.push(m.name);
                }
                return { applied, ...(restorePoint ? { restorePoint } : {}) };
            });
        },

        async resolve(name, resolution) {
            await withDriver(true, async (driver) => {
                const entry = (await driver.readJournal()).find((e) => e.name === name);
                if (!entry || entry.state !== "failed") {
                    throw new RefusedError([
                        `${name} is ${entry ? `recorded ${entry.state}` : "not in the journal"}; resolve only applies to a migration ` +
                            `recorded failed (see npm run db -- status).`,
                    ]);
                }
                if (resolution === "applied") {
                    await driver.writeJournal({
                        name,
                        phase: entry.phase,
                        checksum: entry.checksum,
                        durationMs: entry.durationMs,
                        state: "applied",
                    });
                    log(`${name} marked applied`);
                } else {
                    await driver.deleteJournal(name);
                    log(`${name} forgotten: it runs again on the next up`);
                }
            });
        },

        async ensureAppUser(user, password) {
            if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(user)) {
                throw new Error(`"${user}" is not a usable database user name: use letters, digits and _, starting with a letter (e.g. app_user).`);
            }
            if (password.length < 8 || password.length > 128) {
                throw new Error("The app user's password must be 8 to 128 characters long.");
            }
            await withDriver(true, async (driver) => {
                await driver.ensureJournal();
                const outcome = await driver.ensureAppUser(user, password);
                log(
                    outcome === "created"
                        ? `database user ${user} ensured: created (read/write data, execute procedures; may not change the journal)`
                        : `database user ${user} ensured: it exists, grants re-applied, password left unchanged (the live color logs in with it; ` +
                              `to rotate it, see docs/migrations.md)`,
                );
            });
        },
    };
}
