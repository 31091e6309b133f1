-- migrate:requires-version 2.0.0
-- Renaming goals.title to goals.name, step 3 of 3 (contract): runs only once every color that can take traffic
-- (the live one and the rollback target) runs 2.0.0 or later, which reads and writes name only.
-- Removes what only 1.x used: the trigger keeping the columns in step, title's default and title itself, and
-- GetGoals_v1. Then name becomes NOT NULL (every row has one: 0003 backfilled, the trigger covered the rest).

DROP TRIGGER dbo.goals_sync_title_name;
GO

ALTER TABLE dbo.goals DROP CONSTRAINT df_goals_title;
ALTER TABLE dbo.goals DROP COLUMN title;
GO

DROP PROCEDURE dbo.GetGoals_v1;
GO

ALTER TABLE dbo.goals ALTER COLUMN name NVARCHAR(200) NOT NULL;
GO
