-- migrate:no-transaction
-- PostgreSQL twin of migrations/0003_backfill_goal_name.expand.sql: renaming goals.title to goals.name, step 2 of 3.
-- Copies title into name for rows written before 0002, 1,000 rows per UPDATE. Safe to re-run.
-- (The loop runs as one DO statement: fine for the rehearsal's data; on a big PostgreSQL table, commit per batch.)

DO $$
BEGIN
    LOOP
        UPDATE goals SET name = title
        WHERE id IN (SELECT id FROM goals WHERE name IS NULL LIMIT 1000);
        EXIT WHEN NOT FOUND;
    END LOOP;
END
$$;
