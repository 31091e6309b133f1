-- PostgreSQL twin of migrations/0002_add_goal_name.expand.sql: renaming goals.title to goals.name, step 1 of 3.
-- Adds the nullable column, a trigger keeping title and name in step while 1.x (title) and 2.x (name) both run,
-- and get_goals_v2 under a new name. A BEFORE trigger fills title before its NOT NULL is checked, so PostgreSQL
-- needs no default on title (SQL Server's AFTER trigger does).

ALTER TABLE goals ADD COLUMN name varchar(200) NULL;

CREATE FUNCTION goals_sync_title_name() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.name := COALESCE(NEW.name, NEW.title);
        NEW.title := COALESCE(NEW.title, NEW.name);
    ELSIF NEW.title IS DISTINCT FROM OLD.title AND NEW.name IS NOT DISTINCT FROM OLD.name THEN
        NEW.name := NEW.title;
    ELSIF NEW.name IS DISTINCT FROM OLD.name AND NEW.title IS NOT DISTINCT FROM OLD.title THEN
        NEW.title := NEW.name;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER goals_sync_title_name
BEFORE INSERT OR UPDATE ON goals
FOR EACH ROW EXECUTE FUNCTION goals_sync_title_name();

CREATE FUNCTION get_goals_v2(max_rows integer DEFAULT 50)
RETURNS TABLE (id integer, name varchar, created_at timestamptz)
LANGUAGE sql STABLE
AS $$
    SELECT g.id, g.name, g.created_at FROM goals AS g ORDER BY g.id DESC LIMIT max_rows;
$$;
