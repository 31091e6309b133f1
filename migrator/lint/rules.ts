import { MigrationPhase } from "../migrationFile";

/**
 * The migration lint rules: one table, read by the linter (severity, phases, message), by the docs page
 * (docs/migration-lint-rules.md) and by the tests (every bad example must trip its rule, every good one must not).
 *
 * The principle: an **expand** migration runs while the previous app version is live and must stay usable by it
 * (and by a rollback to it), so it may only add. Removing, renaming or changing in place belongs in a **contract**
 * migration, run once no running version needs the old shape. Warnings are for legal changes that lock, scan or
 * rewrite a live table, or that the linter cannot see into; they apply in both phases and never fail a run.
 */

export type Severity = "error" | "warning";

export interface RuleDefinition {
    readonly id: string;
    readonly severity: Severity;
    /** The phases the rule is checked in (errors about removals are expand-only: contract is where removals go). */
    readonly phases: readonly MigrationPhase[];
    /** What is wrong; `{name}` is replaced by the object the finding is about (`{next}`: its next versioned name). */
    readonly problem: string;
    /** The safe way, as T-SQL steps. */
    readonly safe: string;
    /** Why the rule exists (docs). */
    readonly why: string;
    /** A whole migration file (in the rule's first phase) that trips the rule. */
    readonly bad: string;
    /** The same intent done safely: trips no error. */
    readonly good: string;
}

const EXPAND: readonly MigrationPhase[] = ["expand"];
const BOTH: readonly MigrationPhase[] = ["expand", "contract"];
const CONTRACT_HEADER = "-- migrate:requires-version 2.0.0";

export const RULES: readonly RuleDefinition[] = [
    {
        id: "DROP-TABLE", severity: "error", phases: EXPAND,
        problem: "drops table {name} while the live version still reads and writes it",
        safe: "release an app version that no longer uses the table, then drop it in a contract migration: `-- migrate:requires-version <that version>` + `DROP TABLE {name};`",
        why: "The version that is live during an expand (and the one a rollback returns to) was built against this table; its queries fail the moment it is gone.",
        bad: "DROP TABLE dbo.goal_archive;",
        good: `${CONTRACT_HEADER}\nDROP TABLE dbo.goal_archive;`,
    },
    {
        id: "DROP-COLUMN", severity: "error", phases: EXPAND,
        problem: "drops column {name} while the live version may still read or write it",
        safe: "release a version that no longer names the column, then in a contract migration (`-- migrate:requires-version <that version>`): `ALTER TABLE <table> DROP COLUMN <column>;`",
        why: "Any SELECT, INSERT or UPDATE of the live version that names the column fails with 'Invalid column name'.",
        bad: "ALTER TABLE dbo.goals DROP COLUMN name;",
        good: `${CONTRACT_HEADER}\nALTER TABLE dbo.goals DROP COLUMN name;`,
    },
    {
        id: "DROP-VIEW", severity: "error", phases: EXPAND,
        problem: "drops view {name} while the live version may still query it",
        safe: "create the replacement under a new name (`CREATE VIEW {next} …`), move the app to it, drop the old view in a contract migration",
        why: "Views are part of the contract between the database and the running app, like tables.",
        bad: "DROP VIEW dbo.ActiveGoals_v1;",
        good: `${CONTRACT_HEADER}\nDROP VIEW dbo.ActiveGoals_v1;`,
    },
    {
        id: "DROP-PROCEDURE", severity: "error", phases: EXPAND,
        problem: "drops procedure {name} while the live version may still call it",
        safe: "create the new version under a new name (`CREATE PROCEDURE {next} …`), move the app to it, drop the old procedure in a contract migration",
        why: "The live version calls procedures by name; a dropped one fails every call ('Could not find stored procedure').",
        bad: "DROP PROCEDURE dbo.GetGoals_v1;",
        good: `${CONTRACT_HEADER}\nDROP PROCEDURE dbo.GetGoals_v1;`,
    },
    {
        id: "DROP-FUNCTION", severity: "error", phases: EXPAND,
        problem: "drops function {name} while the live version may still call it",
        safe: "create the new version under a new name (`CREATE FUNCTION {next} …`), move the app to it, drop the old function in a contract migration",
        why: "Same as procedures: the live version's queries call it by name.",
        bad: "DROP FUNCTION dbo.GoalScore_v1;",
        good: `${CONTRACT_HEADER}\nDROP FUNCTION dbo.GoalScore_v1;`,
    },
    {
        id: "DROP-TRIGGER", severity: "error", phases: EXPAND,
        problem: "drops trigger {name}, which may keep old and new columns in step for the live version",
        safe: "drop the trigger in the contract migration that also drops the column it keeps in step",
        why: "During a rename done the safe way, a trigger copies the live version's writes into the new column; dropping it early silently loses data for the new version.",
        bad: "DROP TRIGGER dbo.goals_sync_title;",
        good: `${CONTRACT_HEADER}\nDROP TRIGGER dbo.goals_sync_title;`,
    },
    {
        id: "DROP-INDEX", severity: "error", phases: EXPAND,
        problem: "drops or disables index {name}, which the live version's queries (or its uniqueness checks) may rely on",
        safe: "create the replacement index first (`CREATE INDEX … WITH (ONLINE = ON)`), and drop the old one in a contract migration",
        why: "Removing an index can turn the live version's seeks into table scans, and removing a unique index lets duplicates in.",
        bad: "DROP INDEX ix_goals_name ON dbo.goals;",
        good: `${CONTRACT_HEADER}\nDROP INDEX ix_goals_name ON dbo.goals;`,
    },
    {
        id: "DROP-CONSTRAINT", severity: "error", phases: EXPAND,
        problem: "drops constraint {name}: a DEFAULT the live version's inserts rely on, or a key or check it relies on",
        safe: "drop constraints in a contract migration, once no running version relies on them",
        why: "Dropping a DEFAULT makes the live version's INSERTs that omit the column fail on a NOT NULL column; dropping a UNIQUE or PRIMARY KEY removes a guarantee its code assumes.",
        bad: "ALTER TABLE dbo.goals DROP CONSTRAINT df_goals_done;",
        good: `${CONTRACT_HEADER}\nALTER TABLE dbo.goals DROP CONSTRAINT df_goals_done;`,
    },
    {
        id: "DROP-OBJECT", severity: "error", phases: EXPAND,
        problem: "drops {name} ({type}) while the live version may still use it",
        safe: "drop it in a contract migration once no running version uses it",
        why: "Schemas, types, sequences and synonyms are used by name by the live version, like tables.",
        bad: "DROP SEQUENCE dbo.goal_numbers;",
        good: `${CONTRACT_HEADER}\nDROP SEQUENCE dbo.goal_numbers;`,
    },
    {
        id: "RENAME", severity: "error", phases: EXPAND,
        problem: "renames {name}: the live version still uses the old name",
        safe: "expand: add the new column/object next to the old one, backfill it in batches, keep both in step with a trigger (or create `<name>_v2` for a procedure/view); release the app that uses the new name; contract: drop the old name",
        why: "A rename is a drop and an add in one step: every query of the live version that uses the old name fails at once.",
        bad: "EXEC sp_rename 'dbo.goals.name', 'title', 'COLUMN';",
        good: "ALTER TABLE dbo.goals ADD title NVARCHAR(200) NULL;",
    },
    {
        id: "SCHEMA-TRANSFER", severity: "error", phases: EXPAND,
        problem: "moves {name} to schema {schema}: the live version still uses the old schema-qualified name",
        safe: "create the object in the new schema (or a synonym `CREATE SYNONYM newschema.x FOR oldschema.x`), move the app, remove the old one in a contract migration",
        why: "ALTER SCHEMA … TRANSFER renames the object for every caller at once.",
        bad: "ALTER SCHEMA archive TRANSFER dbo.goals;",
        good: "CREATE SYNONYM archive.goals FOR dbo.goals;",
    },
    {
        id: "REVOKE-PERMISSION", severity: "error", phases: EXPAND,
        problem: "takes a permission away ({name}) while the live version may still need it",
        safe: "GRANT what the new version needs in the expand migration; REVOKE/DENY what only the old version used in a contract migration",
        why: "The live version logs in as the same database user; a revoked permission fails its queries at once ('The SELECT permission was denied').",
        bad: "REVOKE SELECT ON dbo.goals FROM app_user;",
        good: "GRANT EXECUTE ON dbo.GetGoals_v2 TO app_user;",
    },
    {
        id: "ALTER-COLUMN", severity: "error", phases: EXPAND,
        problem: "changes column {name} in place (type, size or NULL/NOT NULL): the live version may write values the new definition rejects, and the change can rewrite and lock the table",
        safe: "expand: `ALTER TABLE <table> ADD <new_column> <new type> NULL;` + backfill in batches + a trigger keeping both in step; release the app that uses the new column; contract: drop the old column",
        why: "Narrowing or NOT NULL makes the live version's writes fail; a type change rewrites every row under a schema-modification lock, blocking the live version.",
        bad: "ALTER TABLE dbo.goals ALTER COLUMN name NVARCHAR(100) NOT NULL;",
        good: "ALTER TABLE dbo.goals ADD name_v2 NVARCHAR(100) NULL;",
    },
    {
        id: "ADD-NOT-NULL-COLUMN-WITHOUT-DEFAULT", severity: "error", phases: EXPAND,
        problem: "adds NOT NULL column {name} without a default: the live version's INSERTs do not name it and fail (and the ALTER fails on a table with rows)",
        safe: "`ALTER TABLE <table> ADD <column> <type> NULL;` or `ALTER TABLE <table> ADD <column> <type> NOT NULL CONSTRAINT DF_<table>_<column> DEFAULT <constant>;` (metadata-only on Azure SQL)",
        why: "The live version does not know the new column, so it never supplies a value for it.",
        bad: "ALTER TABLE dbo.goals ADD status TINYINT NOT NULL;",
        good: "ALTER TABLE dbo.goals ADD status TINYINT NOT NULL CONSTRAINT df_goals_status DEFAULT 0;",
    },
    {
        id: "TRUNCATE-TABLE", severity: "error", phases: EXPAND,
        problem: "truncates {name}: deletes every row the live version is serving",
        safe: "delete only the rows that must go, in batches (`WHILE 1 = 1 BEGIN DELETE TOP (1000) FROM <table> WHERE …; IF @@ROWCOUNT = 0 BREAK; END`), or drop the table in a contract migration",
        why: "TRUNCATE takes a schema-modification lock and removes all data at once.",
        bad: "TRUNCATE TABLE dbo.goals;",
        good: "-- migrate:no-transaction\nWHILE 1 = 1\nBEGIN\n    DELETE TOP (1000) FROM dbo.goals WHERE done = 1 AND created_at < '2020-01-01';\n    IF @@ROWCOUNT = 0 BREAK;\nEND",
    },
    {
        id: "ALTER-ROUTINE-IN-PLACE", severity: "error", phases: EXPAND,
        problem: "changes {name} in place: the live version calls it and gets the new behaviour (or an error) mid-release",
        safe: "version it by name: `CREATE {type} {next} …`; the new app calls {next}; drop the old one in a contract migration",
        why: "Both colors run at once during a release and after a flip the old one must still work for a rollback; a procedure changed in place serves only one of them (seed 004: spFindAllThings → spFindAllThings_2).",
        bad: "ALTER PROCEDURE dbo.GetGoals_v1 AS SELECT id, title FROM dbo.goals;",
        good: "CREATE PROCEDURE dbo.GetGoals_v2 AS SELECT id, title FROM dbo.goals;",
    },
    {
        id: "ALTER-TRIGGER", severity: "warning", phases: EXPAND,
        problem: "changes trigger {name} in place: it runs on the live version's writes from now on",
        safe: "make sure the new trigger body accepts every write the live version makes; prefer adding a new trigger and dropping the old one in a contract migration",
        why: "Triggers cannot be versioned by name like procedures (all enabled triggers fire), so this is allowed but flagged for review.",
        bad: "ALTER TRIGGER dbo.goals_sync_title ON dbo.goals AFTER INSERT AS SET NOCOUNT ON;",
        good: "CREATE TRIGGER dbo.goals_audit ON dbo.goals AFTER INSERT AS SET NOCOUNT ON;",
    },
    {
        id: "INDEX-WITHOUT-ONLINE", severity: "warning", phases: BOTH,
        problem: "builds index {name} on existing table {table} without ONLINE = ON: the table is locked against the live version's writes (and reads, for a clustered index) until the build ends",
        safe: "`CREATE INDEX … ON <table> (…) WITH (ONLINE = ON);` (Azure SQL and Enterprise edition)",
        why: "An offline index build holds a shared or schema-modification lock for its whole duration; on a big table that is an outage.",
        bad: "CREATE INDEX ix_goals_title ON dbo.goals (title);",
        good: "CREATE INDEX ix_goals_title ON dbo.goals (title) WITH (ONLINE = ON);",
    },
    {
        id: "UNIQUE-ON-EXISTING-TABLE", severity: "warning", phases: BOTH,
        problem: "adds a uniqueness rule ({name}) to existing table {table}: the build fails on existing duplicates, and the live version's writes that would duplicate now fail",
        safe: "check for duplicates first (`SELECT col, COUNT(*) FROM <table> GROUP BY col HAVING COUNT(*) > 1`), make sure the live version never writes duplicates, and build it `WITH (ONLINE = ON)`",
        why: "The live version was not written against the new rule; squawk and strong_migrations flag the same.",
        bad: "CREATE UNIQUE INDEX ux_goals_title ON dbo.goals (title) WITH (ONLINE = ON);",
        good: "CREATE INDEX ix_goals_title ON dbo.goals (title) WITH (ONLINE = ON);",
    },
    {
        id: "CONSTRAINT-WITH-CHECK", severity: "warning", phases: BOTH,
        problem: "adds {kind} constraint {name} to existing table {table} WITH CHECK: every existing row is read under a schema-modification lock, and the live version's writes that break the rule now fail",
        safe: "add it `WITH NOCHECK` (enforced for new writes at once, no scan), then validate later in a quiet window: `ALTER TABLE <table> WITH CHECK CHECK CONSTRAINT <name>;`",
        why: "Like PostgreSQL's NOT VALID + VALIDATE (squawk: constraint-missing-not-valid, adding-foreign-key-constraint).",
        bad: "ALTER TABLE dbo.goals ADD CONSTRAINT fk_goals_owner FOREIGN KEY (owner_id) REFERENCES dbo.owners (id);",
        good: "ALTER TABLE dbo.goals WITH NOCHECK ADD CONSTRAINT fk_goals_owner FOREIGN KEY (owner_id) REFERENCES dbo.owners (id);",
    },
    {
        id: "ADD-IDENTITY-COLUMN", severity: "warning", phases: BOTH,
        problem: "adds IDENTITY column {name} to existing table {table}: every row is rewritten under a lock",
        safe: "create a new table with the identity column, copy in batches, switch over in a later release",
        why: "SQL Server fills an added identity column for every existing row in one operation (squawk: adding-serial-primary-key-field).",
        bad: "ALTER TABLE dbo.goals ADD seq INT IDENTITY(1, 1) NOT NULL;",
        good: "ALTER TABLE dbo.goals ADD seq INT NULL;",
    },
    {
        id: "ADD-COLUMN-VOLATILE-DEFAULT", severity: "warning", phases: BOTH,
        problem: "adds column {name} to existing table {table} with a per-row default (NEWID(), RAND() …) filled into every row: a size-of-data update under a lock",
        safe: "add the column NULL, backfill in batches, then add the default constraint for new rows",
        why: "Only runtime-constant defaults are metadata-only; a per-row value is written into every existing row (strong_migrations: volatile default).",
        bad: "ALTER TABLE dbo.goals ADD public_id UNIQUEIDENTIFIER NOT NULL CONSTRAINT df_goals_public_id DEFAULT NEWID();",
        good: "ALTER TABLE dbo.goals ADD public_id UNIQUEIDENTIFIER NULL;",
    },
    {
        id: "WHOLE-TABLE-UPDATE", severity: "warning", phases: BOTH,
        problem: "updates every row of {name} in one statement: one long transaction, lock escalation to a table lock, a big log",
        safe: "batch it in a `-- migrate:no-transaction` migration that walks the key in ranges with a pause between them: `WHILE @from <= @last BEGIN UPDATE <table> SET … WHERE id >= @from AND id < @from + 1000 AND <not yet done>; SET @from += 1000; WAITFOR DELAY '00:00:00.100'; END` (`UPDATE TOP (n) … WHERE <not yet done>` in a loop rereads the rows already done on every pass: quadratic)",
        why: "Backfills are the classic cause of lock-outs during a release (strong_migrations: backfilling data).",
        bad: "UPDATE dbo.goals SET title = name;",
        good: "-- migrate:no-transaction\nDECLARE @from BIGINT = (SELECT MIN(id) FROM dbo.goals);\nDECLARE @last BIGINT = (SELECT MAX(id) FROM dbo.goals);\nWHILE @from <= @last\nBEGIN\n    UPDATE dbo.goals SET title = name WHERE id >= @from AND id < @from + 1000 AND title IS NULL;\n    SET @from = @from + 1000;\n    WAITFOR DELAY '00:00:00.100';\nEND",
    },
    {
        id: "WHOLE-TABLE-DELETE", severity: "warning", phases: BOTH,
        problem: "deletes every row of {name} in one statement: one long transaction holding locks the live version waits on",
        safe: "batch it in a `-- migrate:no-transaction` migration: `WHILE 1 = 1 BEGIN DELETE TOP (1000) FROM <table> WHERE …; IF @@ROWCOUNT = 0 BREAK; END`",
        why: "Same as WHOLE-TABLE-UPDATE; and if every row really must go, the table probably belongs in a contract migration.",
        bad: "DELETE FROM dbo.goal_events;",
        good: "-- migrate:no-transaction\nWHILE 1 = 1\nBEGIN\n    DELETE TOP (1000) FROM dbo.goal_events;\n    IF @@ROWCOUNT = 0 BREAK;\nEND",
    },
    {
        id: "BATCHES-IN-TRANSACTION", severity: "warning", phases: BOTH,
        problem: "batches changes to {name} in a loop inside the runner's transaction: every batch's locks are held until the whole migration commits, so batching gains nothing",
        safe: "put the loop in its own migration with `-- migrate:no-transaction` at the top (make it safe to re-run: `WHERE <not yet done>`)",
        why: "The runner wraps each migration in one transaction unless it is marked no-transaction.",
        bad: "WHILE 1 = 1\nBEGIN\n    UPDATE TOP (1000) dbo.goals SET title = name WHERE title IS NULL AND name IS NOT NULL;\n    IF @@ROWCOUNT = 0 BREAK;\nEND",
        good: "-- migrate:no-transaction\nWHILE 1 = 1\nBEGIN\n    UPDATE TOP (1000) dbo.goals SET title = name WHERE title IS NULL AND name IS NOT NULL;\n    IF @@ROWCOUNT = 0 BREAK;\nEND",
    },
    {
        id: "DYNAMIC-SQL", severity: "warning", phases: BOTH,
        problem: "runs dynamic SQL the linter cannot read ({name}): it is not checked",
        safe: "write the statement directly in the migration; dynamic SQL built only from string literals (and variables set from literals) is checked like any other statement",
        why: "Anything could be in a string built at run time (strong_migrations: executing SQL directly).",
        bad: "DECLARE @table SYSNAME = (SELECT TOP (1) name FROM sys.tables);\nEXEC (N'DELETE FROM ' + @table);",
        good: "EXEC (N'CREATE INDEX ix_goals_done ON dbo.goals (done) WITH (ONLINE = ON)');",
    },
    {
        id: "TRANSACTION-CONTROL", severity: "error", phases: BOTH,
        problem: "uses {name} inside a migration the runner wraps in a transaction: COMMIT ends the runner's transaction early, ROLLBACK undoes it (and the journal entry), SET XACT_ABORT OFF or IMPLICIT_TRANSACTIONS ON change what an error does to it",
        safe: "remove it (the runner commits or rolls back the whole file), or put `-- migrate:no-transaction` at the top and manage transactions yourself",
        why: "A failed migration must leave the database and the journal as they were; that holds only if the runner owns the transaction (squawk: transaction-nesting).",
        bad: "BEGIN TRANSACTION;\nALTER TABLE dbo.goals ADD notes NVARCHAR(MAX) NULL;\nCOMMIT;",
        good: "ALTER TABLE dbo.goals ADD notes NVARCHAR(MAX) NULL;",
    },
    {
        id: "NEEDS-NO-TRANSACTION", severity: "error", phases: BOTH,
        problem: "runs {name}, which cannot run inside the transaction the runner wraps a migration in",
        safe: "move it to a migration of its own with `-- migrate:no-transaction` at the top (on PostgreSQL, in a batch of its own)",
        why: "SQL Server refuses RESUMABLE = ON (error 574) and ALTER DATABASE (error 226) in a user transaction; PostgreSQL refuses CONCURRENTLY, VACUUM and CREATE DATABASE in a transaction block. The run would fail on the server.",
        bad: "ALTER INDEX ix_goals_done ON dbo.goals REBUILD WITH (ONLINE = ON, RESUMABLE = ON);",
        good: "-- migrate:no-transaction\nALTER INDEX ix_goals_done ON dbo.goals REBUILD WITH (ONLINE = ON, RESUMABLE = ON);",
    },
    {
        id: "USE-DATABASE", severity: "error", phases: BOTH,
        problem: "switches to database {name}: the rest of the migration would run somewhere the journal does not describe",
        safe: "remove the USE statement; the runner connects to the right database (`--url` / DATABASE_URL)",
        why: "The journal, the lock and the checksums are kept in the database the runner connected to.",
        bad: "USE goals_prod;\nALTER TABLE dbo.goals ADD notes NVARCHAR(MAX) NULL;",
        good: "ALTER TABLE dbo.goals ADD notes NVARCHAR(MAX) NULL;",
    },
    {
        id: "LINT-ALLOW-INVALID", severity: "error", phases: BOTH,
        problem: "{name}",
        safe: "write `-- lint:allow <RULE-ID> <reason>` on the line before the statement, e.g. `-- lint:allow DROP-TABLE the table was never used by any released version`",
        why: "The escape hatch must say which rule it silences and why, so a reviewer can judge it; an allow without a reason allows nothing.",
        bad: "-- lint:allow DROP-TABLE\nDROP TABLE dbo.goal_drafts;",
        good: "-- lint:allow DROP-TABLE created by 0004 and never used by a released version\nDROP TABLE dbo.goal_drafts;",
    },
    {
        id: "LINT-ALLOW-UNUSED", severity: "warning", phases: BOTH,
        problem: "-- lint:allow {name} matches no finding on the next statement",
        safe: "remove it, or move it to the line just before the statement it is meant for",
        why: "A stale allow would silently cover the next unsafe statement someone writes there.",
        bad: "-- lint:allow DROP-TABLE scratch table\nCREATE TABLE dbo.scratch (id INT NOT NULL);",
        good: "CREATE TABLE dbo.scratch (id INT NOT NULL);",
    },
];

/** Rules an allow comment may name (the lint:allow rules themselves cannot be silenced). */
export const ALLOWABLE_RULE_IDS: ReadonlySet<string> = new Set(RULES.filter((r) => !r.id.startsWith("LINT-ALLOW-")).map((r) => r.id));

const BY_ID = new Map(RULES.map((rule) => [rule.id, rule]));

/** The rule with this id; throws for an unknown id (a typo in the linter itself). */
export function ruleById(id: string): RuleDefinition {
    const rule = BY_ID.get(id);
    if (!rule) throw new Error(`unknown lint rule ${id}`);
    return rule;
}

/** The phase a docs example is written for: contract when it carries `-- migrate:requires-version`, else expand. */
export function examplePhase(sql: string): MigrationPhase {
    return /^--\s*migrate:requires-version/m.test(sql) ? "contract" : "expand";
}

/** The next versioned name of a procedure/view/function: `GetGoals_v1` → `GetGoals_v2`, `GetGoals` → `GetGoals_v2`. */
export function nextVersionName(name: string): string {
    const match = /^(.*_v)(\d+)(\]?)$/i.exec(name);
    if (match) return `${match[1]}${Number(match[2]) + 1}${match[3]}`;
    return name.endsWith("]") ? `${name.slice(0, -1)}_v2]` : `${name}_v2`;
}
