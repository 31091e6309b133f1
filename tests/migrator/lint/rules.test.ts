import { isTrivia, tokenize } from "../../../migrator/tsql/tokenizer";
import { Finding, lintSql, notInTransaction } from "../../../migrator/lint/lint";
import { RULES, examplePhase } from "../../../migrator/lint/rules";

const ids = (findings: readonly Finding[]): string[] => findings.map((f) => f.ruleId);
const CONTRACT = "-- migrate:requires-version 2.0.0\n";

describe("the rules table", () => {
    it.each(RULES.map((r) => [r.id, r] as const))("%s: the bad example trips it", (id, rule) => {
        expect(ids(lintSql(rule.bad, examplePhase(rule.bad)))).toContain(id);
    });

    it.each(RULES.map((r) => [r.id, r] as const))("%s: the good example trips neither it nor any unallowed error", (id, rule) => {
        const findings = lintSql(rule.good, examplePhase(rule.good));
        expect(ids(findings)).not.toContain(id);
        expect(findings.filter((f) => f.severity === "error" && !f.allowed)).toEqual([]);
    });

    it("has unique ids written as UPPER-KEBAB-CASE", () => {
        expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
        for (const rule of RULES) expect(rule.id).toMatch(/^[A-Z]+(-[A-Z]+)*$/);
    });

    it("checks every error about removing or changing in place only in expand, where the live version depends on it", () => {
        const removals = RULES.filter((r) => r.severity === "error" && !["TRANSACTION-CONTROL", "USE-DATABASE", "LINT-ALLOW-INVALID", "NEEDS-NO-TRANSACTION"].includes(r.id));
        for (const rule of removals) expect(rule.phases).toEqual(["expand"]);
    });
});

describe("expand errors", () => {
    it.each([
        ["DROP-TABLE", "DROP TABLE IF EXISTS [dbo].[goals], dbo.other"],
        ["DROP-COLUMN", "ALTER TABLE goals DROP COLUMN IF EXISTS name"],
        ["DROP-VIEW", "drop view dbo.v1"],
        ["DROP-PROCEDURE", "DROP PROC GetGoals_v1"],
        ["DROP-FUNCTION", "DROP FUNCTION IF EXISTS dbo.f"],
        ["DROP-TRIGGER", "DROP TRIGGER IF EXISTS dbo.tr"],
        ["DROP-INDEX", "DROP INDEX goals.ix_name"],
        ["DROP-INDEX", "ALTER INDEX ix_goals_title ON dbo.goals DISABLE"],
        ["REVOKE-PERMISSION", "DENY INSERT ON SCHEMA::dbo TO app_user"],
        ["DROP-CONSTRAINT", "ALTER TABLE dbo.goals DROP df_goals_done"],
        ["DROP-OBJECT", "DROP SCHEMA archive"],
        ["DROP-OBJECT", "DROP TYPE dbo.GoalList"],
        ["RENAME", "EXECUTE sys.sp_rename @objname = N'dbo.goals', @newname = N'targets'"],
        ["RENAME", "EXEC @rc = [dbo].[sp_rename] 'goals.ix_a', 'ix_b', 'INDEX'"],
        ["SCHEMA-TRANSFER", "ALTER SCHEMA archive TRANSFER OBJECT::dbo.goals"],
        ["ALTER-COLUMN", "ALTER TABLE dbo.goals ALTER COLUMN title NVARCHAR(400) NULL"],
        ["ADD-NOT-NULL-COLUMN-WITHOUT-DEFAULT", "ALTER TABLE dbo.goals ADD a INT NULL, b INT NOT NULL"],
        ["ADD-NOT-NULL-COLUMN-WITHOUT-DEFAULT", "ALTER TABLE dbo.goals ADD id2 INT PRIMARY KEY"],
        ["TRUNCATE-TABLE", "truncate table goals"],
        ["ALTER-ROUTINE-IN-PLACE", "CREATE OR ALTER PROCEDURE dbo.GetGoals_v1 AS SELECT 1"],
        ["ALTER-ROUTINE-IN-PLACE", "ALTER VIEW dbo.ActiveGoals AS SELECT 1 AS a"],
        ["ALTER-ROUTINE-IN-PLACE", "ALTER FUNCTION dbo.f() RETURNS INT AS BEGIN RETURN 1 END"],
        ["TRANSACTION-CONTROL", "BEGIN TRAN\nUPDATE goals SET done = 1 WHERE id = 1\nROLLBACK TRAN"],
        ["USE-DATABASE", "USE [master]"],
        ["TRANSACTION-CONTROL", "SET XACT_ABORT OFF"],
        ["TRANSACTION-CONTROL", "SET IMPLICIT_TRANSACTIONS ON"],
        ["NEEDS-NO-TRANSACTION", "CREATE INDEX ix_goals_done ON dbo.goals (done) WITH (ONLINE = ON, RESUMABLE = ON)"],
        ["NEEDS-NO-TRANSACTION", "ALTER DATABASE CURRENT SET READ_COMMITTED_SNAPSHOT ON"],
    ])("%s for %j", (id, sql) => {
        const findings = lintSql(sql);
        expect(findings.find((f) => f.ruleId === id)).toMatchObject({ severity: "error", line: expect.any(Number) });
    });

    it.each([
        ["a nullable column", "ALTER TABLE dbo.goals ADD notes NVARCHAR(MAX) NULL"],
        ["a column with neither NULL nor NOT NULL (nullable by default)", "ALTER TABLE dbo.goals ADD notes NVARCHAR(MAX)"],
        ["a NOT NULL column with a constant default", "ALTER TABLE dbo.goals ADD done BIT NOT NULL CONSTRAINT df DEFAULT 0"],
        ["a computed column", "ALTER TABLE dbo.goals ADD title_length AS LEN(title)"],
        ["a new versioned procedure", "CREATE PROCEDURE dbo.GetGoals_v2 AS SELECT id FROM dbo.goals"],
        ["an update with a WHERE", "UPDATE dbo.goals SET done = 1 WHERE id = 5"],
        ["a default constraint for new rows", "ALTER TABLE dbo.goals ADD CONSTRAINT df_goals_title DEFAULT N'' FOR title"],
        ["SET XACT_ABORT ON and SET NOCOUNT ON", "SET XACT_ABORT ON\nSET NOCOUNT ON"],
        ["BEGIN TRAN in a no-transaction migration", "-- migrate:no-transaction\nBEGIN TRAN\nUPDATE goals SET done = 1 WHERE id = 1\nCOMMIT"],
    ])("passes %s", (_, sql) => {
        expect(lintSql(sql)).toEqual([]);
    });

    it("reports each finding with the path, the statement's line, and a message with the safe way", () => {
        const findings = lintSql("SELECT 1;\n\nALTER TABLE dbo.goals\n  DROP COLUMN name;", "expand", { name: "migrations/0005_x.expand.sql" });
        expect(findings).toEqual([{
            path: "migrations/0005_x.expand.sql", line: 3, ruleId: "DROP-COLUMN", severity: "error",
            message: expect.stringMatching(/drops column dbo\.goals\.name .*Safe: .*contract migration.*DROP COLUMN/),
        }]);
    });
});

describe("contract migrations", () => {
    it("allow removals", () => {
        const sql = `${CONTRACT}DROP TRIGGER dbo.sync\nALTER TABLE dbo.goals DROP COLUMN name\nDROP PROCEDURE dbo.GetGoals_v1\nEXEC sp_rename 'dbo.a', 'b'\nTRUNCATE TABLE dbo.t\nALTER TABLE dbo.goals ALTER COLUMN title NVARCHAR(200) NOT NULL`;
        expect(lintSql(sql, "contract")).toEqual([]);
    });

    it("still warn about locking and still refuse transaction control", () => {
        expect(ids(lintSql(`${CONTRACT}CREATE INDEX ix ON dbo.goals (title)\nCOMMIT`, "contract"))).toEqual(["INDEX-WITHOUT-ONLINE", "TRANSACTION-CONTROL"]);
    });
});

describe("objects that are not live", () => {
    it("lets a migration change a table it created earlier in the same file, even in another batch", () => {
        const sql = "CREATE TABLE dbo.drafts (id INT NOT NULL)\nGO\nALTER TABLE [dbo].[Drafts] ADD title NVARCHAR(10) NOT NULL\n" +
            "CREATE INDEX ix ON dbo.drafts (title)\nALTER TABLE drafts ALTER COLUMN title NVARCHAR(20) NOT NULL\nUPDATE drafts SET title = ''\nDROP TABLE dbo.drafts";
        expect(lintSql(sql)).toEqual([]);
    });

    it("lets a migration change a column it added earlier in the same file", () => {
        expect(lintSql("ALTER TABLE dbo.goals ADD title NVARCHAR(10) NULL\nALTER TABLE dbo.goals ALTER COLUMN title NVARCHAR(20) NULL\nALTER TABLE dbo.goals DROP COLUMN title")).toEqual([]);
    });

    it("lets a migration alter or drop a procedure it created earlier in the same file", () => {
        expect(lintSql("CREATE PROCEDURE dbo.p AS SELECT 1\nGO\nALTER PROCEDURE dbo.p AS SELECT 2\nGO\nDROP PROCEDURE dbo.p")).toEqual([]);
    });

    it.each(["#work", "##shared", "@rows"])("ignores temporary table %s", (name) => {
        const sql = `DROP TABLE ${name}\nTRUNCATE TABLE ${name}\nDELETE FROM ${name}\nALTER TABLE ${name} DROP COLUMN a\nEXEC sp_rename '${name}.a', 'b', 'COLUMN'`;
        expect(lintSql(sql)).toEqual([]);
    });

    it("still flags the same table in an earlier file: only this file's creations count", () => {
        expect(ids(lintSql("DROP TABLE dbo.drafts"))).toEqual(["DROP-TABLE"]);
    });
});

describe("warnings", () => {
    it.each([
        ["INDEX-WITHOUT-ONLINE", "CREATE NONCLUSTERED INDEX ix ON dbo.goals (a) WITH (FILLFACTOR = 90)"],
        ["INDEX-WITHOUT-ONLINE", "ALTER INDEX ALL ON dbo.goals REBUILD"],
        ["INDEX-WITHOUT-ONLINE", "ALTER INDEX ix ON dbo.goals REBUILD WITH (ONLINE = OFF)"],
        ["INDEX-WITHOUT-ONLINE", "ALTER TABLE dbo.goals ADD CONSTRAINT pk PRIMARY KEY CLUSTERED (id)"],
        ["UNIQUE-ON-EXISTING-TABLE", "ALTER TABLE dbo.goals ADD CONSTRAINT uq UNIQUE (title) WITH (ONLINE = ON)"],
        ["CONSTRAINT-WITH-CHECK", "ALTER TABLE dbo.goals WITH CHECK ADD CONSTRAINT ck CHECK (LEN(title) > 0)"],
        ["CONSTRAINT-WITH-CHECK", "ALTER TABLE dbo.goals ADD FOREIGN KEY (owner_id) REFERENCES dbo.owners (id)"],
        ["WHOLE-TABLE-UPDATE", "UPDATE dbo.goals SET done = 0 WHERE 1 = 1"],
        ["WHOLE-TABLE-UPDATE", "UPDATE TOP (1000) dbo.goals SET done = 0"],
        ["WHOLE-TABLE-DELETE", "DELETE dbo.goals"],
        ["ADD-COLUMN-VOLATILE-DEFAULT", "ALTER TABLE dbo.goals ADD r FLOAT NULL DEFAULT RAND() WITH VALUES"],
        ["ALTER-TRIGGER", "DISABLE TRIGGER dbo.sync ON dbo.goals"],
        ["ALTER-TRIGGER", "ALTER TABLE dbo.goals DISABLE TRIGGER sync"],
        ["DYNAMIC-SQL", "EXEC (@sql)"],
        ["DYNAMIC-SQL", "EXEC @procedureName"],
        ["DYNAMIC-SQL", "SELECT @s = definition FROM sys.sql_modules\nEXEC sp_executesql @s"],
    ])("%s for %j, which does not fail the run", (id, sql) => {
        const finding = lintSql(sql).find((f) => f.ruleId === id);
        expect(finding).toMatchObject({ severity: "warning" });
    });

    it.each([
        ["an online index", "CREATE INDEX ix ON dbo.goals (a) WITH (ONLINE = ON, MAXDOP = 2)"],
        ["a NOCHECK foreign key", "ALTER TABLE dbo.goals WITH NOCHECK ADD CONSTRAINT fk FOREIGN KEY (o) REFERENCES dbo.o (id)"],
        ["an inline foreign key on a new nullable column", "ALTER TABLE dbo.goals ADD owner_id INT NULL CONSTRAINT fk REFERENCES dbo.owners (id)"],
        ["a keyed update", "UPDATE g SET done = 1 FROM dbo.goals AS g WHERE g.id = @id"],
        ["a batched delete in a no-transaction loop", "-- migrate:no-transaction\nWHILE 1 = 1 BEGIN DELETE TOP (500) dbo.goals IF @@ROWCOUNT = 0 BREAK END"],
        ["an index on a table created in the same file", "CREATE TABLE dbo.t (a INT)\nCREATE UNIQUE INDEX ux ON dbo.t (a)"],
    ])("none for %s", (_, sql) => {
        expect(lintSql(sql)).toEqual([]);
    });
});

describe("-- lint:allow", () => {
    it("marks the finding of the next statement as allowed, with the reason, and keeps it", () => {
        const findings = lintSql("-- lint:allow DROP-TABLE never used by a released version\nDROP TABLE dbo.drafts");
        expect(findings).toEqual([expect.objectContaining({ ruleId: "DROP-TABLE", severity: "error", allowed: { reason: "never used by a released version" } })]);
    });

    it("allows only the named rule", () => {
        const findings = lintSql("-- lint:allow DROP-COLUMN not the right rule\nDROP TABLE dbo.drafts");
        expect(findings.map((f) => [f.ruleId, f.allowed])).toEqual([["LINT-ALLOW-UNUSED", undefined], ["DROP-TABLE", undefined]]);
    });

    it("allows only the statement on the next code line, skipping blank and comment lines", () => {
        const findings = lintSql("-- lint:allow DROP-TABLE scratch table\n\n-- the scratch table\nDROP TABLE dbo.a\nDROP TABLE dbo.b");
        expect(findings.map((f) => [f.line, f.allowed !== undefined])).toEqual([[4, true], [5, false]]);
    });

    it.each([
        ["no reason", "-- lint:allow DROP-TABLE", /gives no reason/],
        ["no rule", "-- lint:allow", /names no rule/],
        ["an unknown rule", "-- lint:allow DROP-TABEL typo", /unknown rule "DROP-TABEL"/],
        ["a lint:allow rule", "-- lint:allow LINT-ALLOW-INVALID meta", /unknown rule/],
    ])("with %s allows nothing and is itself an error", (_, comment, message) => {
        const findings = lintSql(`${comment}\nDROP TABLE dbo.drafts`);
        expect(findings.map((f) => [f.ruleId, f.line, f.allowed])).toEqual([["LINT-ALLOW-INVALID", 1, undefined], ["DROP-TABLE", 2, undefined]]);
        expect(findings[0].message).toMatch(message);
    });

    it("inside a block comment or a string is not an allow", () => {
        expect(lintSql("/* -- lint:allow DROP-TABLE x */\nDROP TABLE dbo.a").map((f) => f.allowed)).toEqual([undefined]);
    });
});

describe("statements that cannot run in the runner's transaction", () => {
    it.each([
        ["RESUMABLE = ON", "tsql", "ALTER INDEX ix ON dbo.goals REBUILD WITH (ONLINE = ON, RESUMABLE = ON)", "RESUMABLE = ON"],
        ["ALTER DATABASE", "tsql", "ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON", "ALTER DATABASE"],
        ["an ordinary online index", "tsql", "CREATE INDEX ix ON dbo.goals (done) WITH (ONLINE = ON)", undefined],
        ["CREATE INDEX CONCURRENTLY", "postgres", "CREATE INDEX CONCURRENTLY ix ON goals (done)", "CREATE … CONCURRENTLY"],
        ["VACUUM", "postgres", "VACUUM goals", "VACUUM"],
        ["a plain PostgreSQL index", "postgres", "CREATE INDEX ix ON goals (done)", undefined],
    ] as const)("%s", (_, dialect, sql, expected) => {
        expect(notInTransaction(tokenize(sql, { dialect }).filter((t) => !isTrivia(t)), dialect)).toBe(expected);
    });

    it("is an error in a transactional migration of either phase, and fine in a no-transaction one", () => {
        const sql = "ALTER INDEX ix ON dbo.goals REBUILD WITH (ONLINE = ON, RESUMABLE = ON);";
        expect(lintSql(`${CONTRACT}${sql}`, "contract").map((f) => [f.ruleId, f.severity])).toEqual([["NEEDS-NO-TRANSACTION", "error"]]);
        expect(lintSql(`-- migrate:no-transaction\n${CONTRACT}${sql}`, "contract")).toEqual([]);
    });
});
