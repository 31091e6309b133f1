/**
 * The journal: one row per migration the runner has run (table `migration_journal`), and one row per contract run
 * (table `migration_restore_points`: the time to restore to if the contract must be undone).
 *
 * Columns of `migration_journal`: name (the file name, primary key), phase (expand | contract), checksum (SHA-256 of
 * the file, hex), applied_at (server time, UTC), applied_by (the database login), duration_ms, state (applied |
 * failed: only a no-transaction migration can be recorded failed) and error (the failure, for a failed one; for a
 * baselined one, a note starting with {@link BASELINED}).
 *
 * A no-transaction migration is journaled before its first batch and after each batch, as `failed` with an error
 * that starts with {@link UNFINISHED}: if the runner is killed or its connection lost half-way, the row stays and
 * the next `up` refuses (with what ran and what did not) instead of running the migration again from its start.
 */

/** How the error of a no-transaction migration that has started but not (yet) finished begins. */
export const UNFINISHED = "unfinished: ";

/** True for the journal row of a no-transaction migration that started and never recorded an outcome. */
export function isUnfinished(entry: { readonly state: string; readonly error?: string }): boolean {
    return entry.state === "failed" && (entry.error ?? "").startsWith(UNFINISHED);
}

/**
 * How the `error` column of a baselined migration begins: recorded applied by `npm run db -- baseline`, without
 * running, because the database already reflected it (state stays `applied`, so every rule about applied migrations
 * — checksums, order, the contract gate — holds for it).
 */
export const BASELINED = "baselined: ";

/** True for the journal row of a migration recorded by `baseline` instead of run. */
export function isBaselined(entry: { readonly state: string; readonly error?: string }): boolean {
    return entry.state === "applied" && (entry.error ?? "").startsWith(BASELINED);
}

/** One row of `migration_journal`. */
export interface JournalEntry {
    readonly name: string;
    readonly phase: "expand" | "contract";
    readonly checksum: string;
    readonly appliedAt: Date;
    readonly appliedBy: string;
    readonly durationMs: number;
    readonly state: "applied" | "failed";
    readonly error?: string;
}

/** What the engine writes; the driver adds applied_at (server clock) and applied_by (the login). */
export type JournalWrite = Omit<JournalEntry, "appliedAt" | "appliedBy">;

/** One row of `migration_restore_points`. */
export interface RestorePoint {
    /** Server time (UTC) just before the contract run started: restore to this point to undo it. */
    readonly recordedAt: Date;
    readonly recordedBy: string;
    /** The contract migrations the run was about to apply, comma-separated. */
    readonly migrations: string;
}

/** A `migration_journal` row as both drivers read it (column names as in the table). */
export interface JournalRow {
    name: string;
    phase: "expand" | "contract";
    checksum: string;
    applied_at: Date;
    applied_by: string;
    duration_ms: number;
    state: "applied" | "failed";
    error: string | null;
}

/** The SELECT both drivers use to read the journal (append the table name, qualified as the dialect wants). */
export const JOURNAL_COLUMNS = "name, phase, checksum, applied_at, applied_by, duration_ms, state, error";

/** A journal row as the engine sees it. */
export function journalEntryOf(row: JournalRow): JournalEntry {
    return {
        name: row.name,
        phase: row.phase,
        checksum: row.checksum,
        appliedAt: row.applied_at,
        appliedBy: row.applied_by,
        durationMs: row.duration_ms,
        state: row.state,
        ...(row.error !== null && row.error !== undefined ? { error: row.error } : {}),
    };
}

/** The journal table names (same on both dialects; `dbo` schema on SQL Server, the search path on PostgreSQL). */
export const JOURNAL_TABLE = "migration_journal";
export const RESTORE_POINT_TABLE = "migration_restore_points";
