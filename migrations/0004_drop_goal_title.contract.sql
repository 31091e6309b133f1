-- migrate:requires-version 2.0.0
-- Renaming goals.title to goals.name, step 3 of 3 (contract): runs only once every color that can take traffic
-- (the live one and the rollback target) runs 2.0.0 or later, which reads and writes name only.
-- First name becomes NOT NULL (every row has one: 0003 backfilled, the trigger covered the rest), then what only 1.x
-- used goes: the trigger keeping the columns in step, title's default and title itself, and GetGoals_v1.
--
-- Locks (one transaction: every lock is held until it commits):
--   * ALTER COLUMN ... NOT NULL WITH (ONLINE = ON) (Azure SQL, and SQL Server 2016+ Enterprise/Developer): the
--     table stays readable and writable while every row is checked; a Sch-M lock only for a moment at the end. It
--     runs first because the Sch-M locks of the statements below are held to the commit: after them, the check
--     would block the app for its whole length.
--   * DROP TRIGGER, DROP CONSTRAINT, DROP COLUMN (metadata only: the space is reclaimed later): a Sch-M lock each,
--     for a moment. DROP PROCEDURE locks no table.
-- Each waits at most the session's LOCK_TIMEOUT (5 s): then the whole migration rolls back and is retried.

ALTER TABLE dbo.goals ALTER COLUMN name NVARCHAR(200) NOT NULL WITH (ONLINE = ON);
GO

DROP TRIGGER dbo.goals_sync_title_name;
GO

ALTER TABLE dbo.goals DROP CONSTRAINT df_goals_title;
ALTER TABLE dbo.goals DROP COLUMN title;
GO

DROP PROCEDURE dbo.GetGoals_v1;
GO
