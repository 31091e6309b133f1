-- migrate:no-transaction
-- PostgreSQL twin of migrations/0003_backfill_goal_name.expand.sql: renaming goals.title to goals.name, step 2 of 3.
-- Walks the primary key in ranges of 1,000 ids with a pause between them, committing each range (a DO block run
-- outside a transaction may COMMIT, PostgreSQL 11+), so no row is read twice and no lock is held for long.
-- Safe to re-run: it only touches rows whose name is still NULL; rows written later are the trigger's.
--
-- Locks: per range, row locks on at most 1,000 rows until that range's COMMIT; ROW EXCLUSIVE on goals (which
-- conflicts with no query of the app). Waits longer than the session's lock_timeout (5 s) fail the batch.

DO $$
DECLARE
    batch_size CONSTANT bigint := 1000;
    cur bigint;
    last_id bigint;
BEGIN
    SELECT min(id), max(id) INTO cur, last_id FROM goals;
    WHILE cur <= last_id LOOP
        UPDATE goals SET name = title
        WHERE id >= cur AND id < cur + batch_size AND name IS NULL;
        COMMIT;
        cur := cur + batch_size;
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
