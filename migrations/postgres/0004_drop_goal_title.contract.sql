-- migrate:requires-version 2.0.0
-- PostgreSQL twin of migrations/0004_drop_goal_title.contract.sql: renaming goals.title to goals.name, step 3 of 3.
-- Runs only once every color that can take traffic runs 2.0.0 or later. Removes what only 1.x used.

DROP TRIGGER goals_sync_title_name ON goals;
DROP FUNCTION goals_sync_title_name();
ALTER TABLE goals DROP COLUMN title;
DROP FUNCTION get_goals_v1(integer);
ALTER TABLE goals ALTER COLUMN name SET NOT NULL;
