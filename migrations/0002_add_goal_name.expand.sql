-- Renaming goals.title to goals.name, the zero-downtime way. Step 1 of 3 (expand, safe for the live 1.x):
--   * add the new column, nullable: 1.x never names it;
--   * give title a default, so that 2.x's INSERT (name only) passes title's NOT NULL; the trigger then copies
--     name over that default;
--   * a trigger keeps title and name in step while 1.x and 2.x both run (1.x writes title, 2.x writes name);
--   * GetGoals_v2 reads the new column: created under a new name, GetGoals_v1 is left alone for 1.x.
-- Step 2 (0003) backfills old rows in batches; step 3 (0004, contract) drops title once no 1.x can take traffic.
--
-- Locks (one transaction, so every lock is held until it commits, which is at once): ADD name (nullable, no
-- default: metadata only), ADD CONSTRAINT ... DEFAULT and CREATE TRIGGER each take a schema-modification (Sch-M)
-- lock on dbo.goals, which waits for every running query on the table and blocks every new one while it waits. The
-- runner's session has LOCK_TIMEOUT 5 s: a wait longer than that rolls the migration back and retries it later
-- (docs/migrations.md), so the live app is never queued behind it for longer. CREATE PROCEDURE locks no table.

ALTER TABLE dbo.goals ADD name NVARCHAR(200) NULL;
GO

ALTER TABLE dbo.goals ADD CONSTRAINT df_goals_title DEFAULT N'' FOR title;
GO

CREATE TRIGGER dbo.goals_sync_title_name
ON dbo.goals
AFTER INSERT, UPDATE
AS
BEGIN
    SET NOCOUNT ON;
    -- Our own UPDATEs below must not fire this trigger again (if RECURSIVE_TRIGGERS is ON).
    IF TRIGGER_NESTLEVEL(@@PROCID) > 1 RETURN;

    IF NOT EXISTS (SELECT 1 FROM deleted)
    BEGIN
        -- INSERT: 1.x wrote title only (name is NULL); 2.x wrote name only (title holds its default N'').
        UPDATE g
        SET name  = CASE WHEN i.name IS NULL THEN i.title ELSE g.name END,
            title = CASE WHEN i.name IS NOT NULL AND i.title = N'' THEN i.name ELSE g.title END
        FROM dbo.goals AS g
        JOIN inserted AS i ON i.id = g.id
        WHERE i.name IS NULL OR i.title = N'';
        RETURN;
    END

    -- UPDATE: copy whichever column was written to the other one.
    IF UPDATE(title) AND NOT UPDATE(name)
        UPDATE g SET name = i.title
        FROM dbo.goals AS g
        JOIN inserted AS i ON i.id = g.id
        WHERE EXISTS (SELECT i.title EXCEPT SELECT g.name);
    ELSE IF UPDATE(name) AND NOT UPDATE(title)
        UPDATE g SET title = i.name
        FROM dbo.goals AS g
        JOIN inserted AS i ON i.id = g.id
        WHERE i.name IS NOT NULL AND EXISTS (SELECT i.name EXCEPT SELECT g.title);
END
GO

CREATE PROCEDURE dbo.GetGoals_v2
    @limit INT = 50
AS
BEGIN
    SET NOCOUNT ON;
    SELECT TOP (@limit) id, name, created_at
    FROM dbo.goals
    ORDER BY id DESC;
END
GO
