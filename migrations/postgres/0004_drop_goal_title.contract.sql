-- migrate:requires-version 2.0.0
-- PostgreSQL twin of migrations/0004_drop_goal_title.contract.sql: renaming goals.title to goals.name, step 3 of 3.
-- Runs only once every color that can take traffic runs 2.0.0 or later. First name becomes NOT NULL, then what only
-- 1.x used goes.
--
-- Locks (one transaction: every lock is held until it commits):
--   * ADD CONSTRAINT ... NOT VALID: ACCESS EXCLUSIVE for a moment (no scan); VALIDATE CONSTRAINT scans the table
--     under SHARE UPDATE EXCLUSIVE, which lets the app read and write; SET NOT NULL then uses the validated
--     constraint instead of scanning again (PostgreSQL 12+). They run first: the ACCESS EXCLUSIVE locks below are
--     held to the commit, and the scan must not run under them.
--   * DROP TRIGGER / DROP COLUMN / the constraint: ACCESS EXCLUSIVE on goals for a moment each (metadata only).
-- Each waits at most the session's lock_timeout (5 s): then the whole migration rolls back and is retried.

ALTER TABLE goals ADD CONSTRAINT goals_name_not_null CHECK (name IS NOT NULL) NOT VALID;
ALTER TABLE goals VALIDATE CONSTRAINT goals_name_not_null;
ALTER TABLE goals ALTER COLUMN name SET NOT NULL;
ALTER TABLE goals DROP CONSTRAINT goals_name_not_null;
DROP TRIGGER goals_sync_title_name ON goals;
DROP FUNCTION goals_sync_title_name();
ALTER TABLE goals DROP COLUMN title;
DROP FUNCTION get_goals_v1(integer);
