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
import {
    commitOutcomeUnknown,
    DEFAULT_REQUEST_TIMEOUT_MS,
    Driver,
    DriverOptions,
    LockLostError,
    MigrationFailedError,
    OutcomeUnknownError,
} from "./drivers/driver";
import { MssqlApi, MssqlDriver } from "./drivers/mssql";
import { PostgresDriver } from "./drivers/postgres";
import { BASELINED, JournalEntry, RestorePoint, UNFINISHED } from "./journal";
import { lintMigration } from "./lint/lint";
import { loadMigrationDir, MigrationFile } from "./migrationFile";
import { BaselineRequest, LintFindingLike, MigrationStatus, Phase, Plan, planBaseline, planRun } from "./plan";
import { batchTimeoutMs, DEFAULT_LONG_REQUEST_TIMEOUT_MS } from "./timeouts";
import { heartbeat } from "./heartbeat";
import { decideRetry, DEFAULT_RETRY_POLICY, isLockTimeout, RetryPolicy, RetryScope, retryScopeOf } from "./retry";
import { CONNECT_RETRY_POLICY, decideTransientRetry, TransientPolicy } from "./transient";

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
    /**
     * Retries of the connection on Azure SQL's transient errors or a server not up yet (migrator/transient.ts); a
     * refused login or address is never retried. @default 6 attempts, 5 s doubling to at most 60 s (Microsoft's advice)
     */
    readonly connectRetry?: TransientPolicy;
    /** Tests: how to wait between retries. @default setTimeout */
    readonly sleep?: (ms: number) => Promise<void>;
    /** How often a migration that is still running says so (`still applying <name> (<n> s)`), in ms. @default 30000 */
    readonly progressEveryMs?: number;
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
    /**
     * Records migrations the database already reflects as applied, with their checksums, without running them (one
     * transaction, under the lock). Refused, changing nothing, when the journal is not empty. Returns their names.
     */
    baseline(request: BaselineRequest): Promise<readonly string[]>;
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

/** A migration that failed while running (defined with the drivers, whose COMMIT of unknown outcome is one). */
export { MigrationFailedError, OutcomeUnknownError };

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
        // Connect, waiting out transient errors (each retry said); a fresh driver per attempt, as Microsoft advises.
        let driver: Driver;
        for (let attempt = 1; ; attempt++) {
            driver = createDriver(db, driverOptions, options.mssqlApi);
            try {
                await driver.connect();
                break;
            } catch (err) {
                await driver.close().catch(() => undefined);
                const decision = decideTransientRetry(`connecting to ${db.masked}`, err, attempt, options.connectRetry ?? CONNECT_RETRY_POLICY);
                if (decision.retry) {
                    log(decision.note);
                    await sleep(decision.delayMs);
                    continue;
                }
                throw new Error(`Cannot connect to ${db.masked}: ${messageOf(err)}${decision.note ? `\n${decision.note}` : ""}`);
            }
        }
        try {
            if (!locked) return await fn(driver);
            await driver.lock(lockTimeoutMs, (holder) =>
                log(`waiting up to ${Math.round(lockTimeoutMs / 1000)} s for the migration lock: another runner holds it, ${holder}`),
            );
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

    /** Did `err` take the connection with it? `otherwise`: the answer when the driver cannot tell. */
    const lost = (driver: Driver, err: unknown, otherwise = false): boolean => (driver.connectionLost ? driver.connectionLost(err) : otherwise);

    function linesOf(batch: MigrationFile["batches"][number]): string {
        return `lines ${batch.startLine}-${batch.startLine + lineCount(batch.sql) - 1}`;
    }

    /**
     * Runs batch `i` of `m` (all its repeats), each with its request timeout (migrator/timeouts.ts); a failure becomes a
     * {@link MigrationFailedError} naming file, batch and line. A lost lock stays a {@link LockLostError} (the batch
     * was not sent). Outside a transaction a lock timeout is retried here, the batch alone when migrator/retry.ts says
     * so: the journal is written by the caller once the batch has run, however many attempts it took. In a
     * transaction it is retried by up (the whole migration).
     */
    async function runBatch(driver: Driver, m: MigrationFile, i: number): Promise<void> {
        const batch = m.batches[i];
        const run = () => driver.execBatch(batch.sql, batchTimeoutMs(batch.sql, m.dialect, batchTimeouts));
        for (let r = 0; r < batch.repeat; r++) {
            try {
                await (m.noTransaction ? withLockRetry(`${m.name} batch ${i + 1}`, retryScopeOf(m, batch.sql, m.dialect), run) : run());
            } catch (err) {
                if (err instanceof LockLostError) throw err;
                const within = driver.errorLine(err, batch.sql);
                const line = within !== undefined ? batch.startLine + within - 1 : undefined;
                const where =
                    `batch ${i + 1} of ${m.batches.length} (${linesOf(batch)}` + `${batch.repeat > 1 ? `, run ${r + 1} of ${batch.repeat}` : ""})`;
                // Without a line from the database, the file:line points at the batch's first line.
                throw new MigrationFailedError(
                    `${m.path}:${line ?? batch.startLine}: ${where} failed${line !== undefined ? ` at line ${line}` : ""}: ${messageOf(err)}`,
                    m.name,
                    line,
                    err,
                );
            }
        }
    }

    /** What the journal says of a no-transaction migration after `done` of its batches (see journal.ts, UNFINISHED). */
    function progress(m: MigrationFile, done: number, startedAt: string): string {
        const n = m.batches.length;
        const ran = done === 0 ? "no batch done yet" : `batch${done > 1 ? `es 1-${done}` : " 1"} of ${n} done (${m.path} up to line ${
            m.batches[done - 1].startLine + lineCount(m.batches[done - 1].sql) - 1
        })`;
        const next = done < n ? `; batch ${done + 1} of ${n} (${linesOf(m.batches[done])}) started and not known to have finished` : "";
        return `${UNFINISHED}started ${startedAt}, ${ran}${next}`;
    }

    function resolveSteps(m: MigrationFile): string {
        return (
            `  1. look at what it changed;\n` +
            `  2a. finish it by hand, then: npm run db -- resolve ${m.name} --applied\n` +
            `  2b. or undo what it did (and fix the file), then: npm run db -- resolve ${m.name} --rolled-back (it runs again on the next up).`
        );
    }

    async function applyInTransaction(driver: Driver, m: MigrationFile, started: number): Promise<void> {
        const entry = { name: m.name, phase: m.phase, checksum: m.checksum };
        await driver.begin();
        try {
            for (let i = 0; i < m.batches.length; i++) await runBatch(driver, m, i);
            await driver.writeJournal({ ...entry, durationMs: Date.now() - started, state: "applied" });
        } catch (err) {
            await driver.rollback().catch(() => undefined);
            // A lock timeout is retried by up (or explained by withLockRetry when it gives up): nothing to fix in the file.
            if (err instanceof MigrationFailedError && (lost(driver, err.cause) || !isLockTimeout(db.dialect, err))) {
                err.message += lost(driver, err.cause)
                    ? `\nThe connection to the database was lost while this batch ran. ${m.name} ran in a transaction that was never ` +
                      `committed, so the database rolls it back: none of it is applied (known), its journal row was not written, and no ` +
                      `later migration ran. Next: once the database answers again (npm run db -- status shows ${m.name} pending), run up again.`
                    : `\nThe migration ran in a transaction and was rolled back: the database and the journal are as they were, ` +
                      `and no later migration ran. Fix ${m.path} (it was never applied, so it may still change) and run up again.`;
            }
            throw err;
        }
        try {
            await driver.commit();
        } catch (err) {
            // A COMMIT of unknown outcome is the driver's to tell (commitOutcomeUnknown names the query that tells);
            // a driver that cannot tell a refusal from a drop gets the cautious answer, unknown.
            const unknown =
                err instanceof OutcomeUnknownError ? err : !driver.connectionLost || driver.connectionLost(err) ? commitOutcomeUnknown(m.name, err) : undefined;
            const ran = `${m.path}: COMMIT of ${m.name} failed after all ${m.batches.length} batch(es) ran: `;
            if (unknown) {
                unknown.message = `${ran}${unknown.message}\nNo later migration ran.`;
                throw unknown;
            }
            throw new MigrationFailedError(
                `${ran}${messageOf(err)}\nThe database refused the COMMIT and rolled ${m.name} back: nothing of it is applied and no later ` +
                    `migration ran. Fix ${m.path} and run up again.`,
                m.name,
                undefined,
                err,
            );
        }
    }

    async function applyWithoutTransaction(driver: Driver, m: MigrationFile, started: number): Promise<void> {
        const entry = { name: m.name, phase: m.phase, checksum: m.checksum };
        const startedAt = new Date(started).toISOString();
        const record = (error: string) =>
            driver.writeJournal({ ...entry, durationMs: Date.now() - started, state: "failed", error });
        const n = m.batches.length;
        const batches = (k: number) => (k === 0 ? "no batch" : `batch${k > 1 ? `es 1-${k}` : " 1"}`);
        /** The migration lock went (migrator/drivers/mssql.ts): stop, saying where this migration stands. */
        const lockLost = (err: LockLostError, applied: number, journaled: number, what: string): LockLostError => {
            err.message +=
                `\n${m.path} runs without a transaction (-- migrate:no-transaction): ${batches(applied)} of ${n} applied (known)` +
                `${what}; no later batch was sent. The journal records it unfinished (${batches(journaled)} done), so no runner ` +
                `runs it again until it is resolved:\n${resolveSteps(m)}`;
            return err;
        };
        // Journaled before the first batch: a run cut off half-way (killed, connection lost) is never run again from its start.
        await record(progress(m, 0, startedAt));
        for (let i = 0; i < n; i++) {
            try {
                // A batch retried after a lock timeout (runBatch) is journaled once, below, when it has run.
                await runBatch(driver, m, i);
            } catch (err) {
                if (err instanceof LockLostError) throw lockLost(err, i, i, `, batch ${i + 1} not sent`);
                if (!(err instanceof MigrationFailedError)) throw err;
                const done = i === 0 ? "no batch before it ran" : `batch${i > 1 ? `es 1-${i}` : " 1"} before it stayed applied`;
                if (lost(driver, err.cause)) {
                    err.message +=
                        `\nThe connection to the database was lost while this batch ran. ${m.name} runs without a transaction ` +
                        `(-- migrate:no-transaction): ${done} (known), whether batch ${i + 1} (${linesOf(m.batches[i])}) took effect is ` +
                        `UNKNOWN (a statement that finished before the drop stays committed), and no later batch or migration ran. ` +
                        `The journal records it unfinished and up refuses to run until it is resolved:\n${resolveSteps(m)}`;
                } else {
                    // The journal already says "unfinished" if this write fails too; a lost lock is said first.
                    const failed = await record(`${messageOf(err)} (${done})`).then(
                        () => undefined,
                        (e: unknown) => e,
                    );
                    if (failed instanceof LockLostError) throw lockLost(failed, i, i, `, batch ${i + 1} failed: ${messageOf(err)}`);
                    err.message +=
                        `\n${m.name} runs without a transaction (-- migrate:no-transaction), so the batches before the failing one ` +
                        `stay applied. It is recorded failed and the runner refuses to run until it is resolved:\n${resolveSteps(m)}`;
                }
                throw err;
            }
            const last = i === n - 1;
            try {
                if (last) await driver.writeJournal({ ...entry, durationMs: Date.now() - started, state: "applied" });
                else await record(progress(m, i + 1, startedAt));
            } catch (err) {
                if (err instanceof LockLostError) throw lockLost(err, i + 1, i, "");
                throw new MigrationFailedError(
                    `${m.path}: batch ${i + 1} of ${n} ran, but recording it in the journal failed: ${messageOf(err)}\n` +
                        `Batches 1-${i + 1} of ${n} are applied (known); the journal still says ${m.name} is unfinished with ` +
                        `${i === 0 ? "no batch" : `batch${i > 1 ? `es 1-${i}` : " 1"}`} done, and up refuses to run until it is resolved:\n` +
                        (last ? `  all of it ran: npm run db -- resolve ${m.name} --applied` : resolveSteps(m)),
                    m.name,
                    undefined,
                    err,
                );
            }
        }
    }

    async function apply(driver: Driver, m: MigrationFile): Promise<void> {
        const started = Date.now();
        log(`applying ${m.name}${m.noTransaction ? " (no transaction)" : ""}`);
        const stop = heartbeat(log, `applying ${m.name}`, options.progressEveryMs ?? 30_000);
        try {
            if (m.noTransaction) await applyWithoutTransaction(driver, m, started);
            else await applyInTransaction(driver, m, started);
        } finally {
            stop();
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

        async baseline(request) {
            const files = load();
            return withDriver(true, async (driver) => {
                const { toRecord, refusals } = planBaseline(files, await driver.readJournal(), request);
                if (refusals.length > 0) throw new RefusedError(refusals);
                await driver.ensureJournal();
                const note = `${BASELINED}recorded without running by npm run db -- baseline at ${new Date().toISOString()}: the schema already had it`;
                await driver.begin();
                try {
                    for (const m of toRecord) {
                        await driver.writeJournal({ name: m.name, phase: m.phase, checksum: m.checksum, durationMs: 0, state: "applied", error: note });
                    }
                    await driver.commit();
                } catch (err) {
                    await driver.rollback().catch(() => undefined);
                    throw err;
                }
                for (const m of toRecord) log(`${m.name} baselined (checksum ${m.checksum.slice(0, 12)}…): recorded applied, not run`);
                const pending = files.filter((f) => !toRecord.includes(f)).map((f) => f.name);
                log(`${toRecord.length} migration(s) baselined; ${pending.length === 0 ? "none pending" : `pending, run by the next up: ${pending.join(", ")}`}`);
                return toRecord.map((m) => m.name);
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
