-- migrate:no-transaction
-- Renaming goals.title to goals.name, step 2 of 3 (expand): copy title into name for the rows written before 0002.
-- 1,000 rows per UPDATE, each its own short transaction (hence no-transaction: inside one transaction every
-- batch's locks would be held to the end), so the live 1.x keeps reading and writing between batches.
-- Safe to re-run after a failure: it only touches rows that are not copied yet.

DECLARE @batch_size INT = 1000;

WHILE 1 = 1
BEGIN
    UPDATE TOP (@batch_size) dbo.goals
    SET name = title
    WHERE name IS NULL;

    IF @@ROWCOUNT = 0 BREAK;
END
GO
