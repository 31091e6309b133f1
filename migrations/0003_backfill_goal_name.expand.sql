-- migrate:no-transaction
-- Renaming goals.title to goals.name, step 2 of 3 (expand): copy title into name for the rows written before 0002.
-- Walks the primary key in ranges of 1,000 ids, each UPDATE its own short transaction (hence no-transaction: inside
-- one transaction every batch's locks would be held to the end), with a pause between ranges, so the live 1.x keeps
-- reading and writing. Each row is read once: a range is found by a seek on the clustered key, not by rescanning
-- for `name IS NULL` (which would read the rows already copied again on every pass — quadratic).
-- Rows written after @last are covered by 0002's trigger. Safe to re-run after a failure: it only touches rows whose
-- name is still NULL.
--
-- Locks: per range, row (or page) X locks on at most 1,000 rows for one short statement; no table or schema lock.
-- A range that waits longer than the session's LOCK_TIMEOUT (5 s) fails the batch; the file is then recorded failed
-- (re-run it with: npm run db -- resolve 0003_backfill_goal_name.expand.sql --rolled-back, then up).

DECLARE @batch_size INT = 1000;
DECLARE @from BIGINT = (SELECT MIN(id) FROM dbo.goals);
DECLARE @last BIGINT = (SELECT MAX(id) FROM dbo.goals);

WHILE @from <= @last
BEGIN
    UPDATE dbo.goals
    SET name = title
    WHERE id >= @from AND id < @from + @batch_size AND name IS NULL;

    SET @from = @from + @batch_size;
    WAITFOR DELAY '00:00:00.100';
END
GO
