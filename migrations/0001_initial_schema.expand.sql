-- The sample app's initial schema (app 1.x): the goals table and its read procedure.
-- Procedures and views are versioned by name (GetGoals_v1, GetGoals_v2, ...): a new version of the app gets a
-- new procedure while the old one keeps serving the version that is still live.

CREATE TABLE dbo.goals (
    id         INT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_goals PRIMARY KEY CLUSTERED,
    title      NVARCHAR(200) NOT NULL,
    created_at DATETIME2(3) NOT NULL CONSTRAINT df_goals_created_at DEFAULT SYSUTCDATETIME()
);
GO

CREATE PROCEDURE dbo.GetGoals_v1
    @limit INT = 50
AS
BEGIN
    SET NOCOUNT ON;
    SELECT TOP (@limit) id, title, created_at
    FROM dbo.goals
    ORDER BY id DESC;
END
GO
