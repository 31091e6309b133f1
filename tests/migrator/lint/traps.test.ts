import fc from "fast-check";
import { Finding, lintSql } from "../../../migrator/lint/lint";

const found = (sql: string): [string, number][] => lintSql(sql).filter((f) => !f.allowed).map((f: Finding) => [f.ruleId, f.line]);

describe("the linter is not fooled by", () => {
    it("a statement inside a line comment or a nested block comment", () => {
        expect(found("-- DROP TABLE dbo.goals\n/* outer /* DROP TABLE dbo.goals */ TRUNCATE TABLE dbo.goals */\nSELECT 1")).toEqual([]);
    });

    it("a statement inside a string literal, N'' or with doubled quotes", () => {
        expect(found("INSERT dbo.log (msg) VALUES (N'DROP TABLE dbo.goals'), ('it''s ; DROP TABLE dbo.goals; --')\nPRINT 'ALTER TABLE dbo.goals DROP COLUMN name'")).toEqual([]);
    });

    it("a doubled quote that would end a naive string early and hide a DROP", () => {
        expect(found("SELECT 'a'' ; '\nDROP TABLE dbo.goals")).toEqual([["DROP-TABLE", 2]]);
    });

    it("a comment marker inside a string (the DROP after it is real)", () => {
        expect(found("SELECT '--' DROP TABLE dbo.goals")).toEqual([["DROP-TABLE", 1]]);
    });

    it("a string start inside a comment (the DROP after it is real)", () => {
        expect(found("-- it's\nDROP TABLE dbo.goals")).toEqual([["DROP-TABLE", 2]]);
    });

    it.each([
        ["EXEC('…')", "EXEC('DROP TABLE dbo.goals')"],
        ["EXECUTE (N'…' + N'…')", "EXECUTE (N'DROP ' + N'TABLE dbo.goals')"],
        ["sp_executesql", "EXEC sp_executesql N'ALTER TABLE dbo.goals DROP COLUMN name'"],
        ["sp_executesql @stmt =", "EXEC sys.sp_executesql @stmt = N'TRUNCATE TABLE dbo.goals'"],
        ["a variable set from literals", "DECLARE @sql NVARCHAR(MAX) = N'DROP TABLE '\nSET @sql += N'dbo.goals'\nEXEC (@sql)"],
        ["a variable set in one IF branch", "DECLARE @sql NVARCHAR(MAX)\nIF 1 = 0 SET @sql = N'DROP TABLE dbo.goals' ELSE SET @sql = N'SELECT 1'\nEXEC (@sql)"],
        ["dynamic SQL inside dynamic SQL", "EXEC (N'EXEC (N''DROP TABLE dbo.goals'')')"],
        ["sp_rename inside dynamic SQL without EXEC", "EXEC (N'sp_rename ''dbo.goals'', ''targets''')"],
    ])("dynamic SQL in a string: %s", (_, sql) => {
        const lines = sql.split("\n");
        const findings = lintSql(sql).filter((f) => f.severity === "error");
        expect(findings).toHaveLength(1);
        expect(findings[0].line).toBe(lines.length);
        expect(findings[0].message).toMatch(/^in dynamic SQL: /);
    });

    it("dynamic SQL that cannot be read is a warning, not silence", () => {
        expect(found("EXEC (N'SELECT ''unterminated')")).toEqual([["DYNAMIC-SQL", 1]]);
    });

    it("a procedure created with a DROP in its body and run in the same file", () => {
        const sql = "CREATE PROCEDURE #cleanup AS DROP TABLE dbo.goals\nGO\nEXEC #cleanup";
        expect(found(sql)).toEqual([["DROP-TABLE", 3]]);
    });

    it("but a DROP in a procedure body that is only created does not run, so it is not a finding", () => {
        expect(found("CREATE PROCEDURE dbo.cleanup_v1 AS DROP TABLE dbo.goals")).toEqual([]);
    });

    it("a batch that starts with a bare procedure name (SQL Server runs it without EXEC)", () => {
        expect(found("SELECT 1\nGO\nsp_rename 'dbo.goals.name', 'title', 'COLUMN'")).toEqual([["RENAME", 3]]);
    });

    it.each([
        ["[bracketed]", "DROP TABLE [dbo].[goals]"],
        ["[bracketed] with ]]", "DROP TABLE [dbo].[go]]als]"],
        ["\"quoted\"", "DROP TABLE \"dbo\".\"goals\""],
        ["three-part", "DROP TABLE appdb.dbo.goals"],
        ["db..name", "DROP TABLE appdb..goals"],
    ])("%s names", (_, sql) => {
        expect(found(sql)).toEqual([["DROP-TABLE", 1]]);
    });

    it("a keyword written as a bracketed name is a name, not a keyword", () => {
        expect(found("SELECT [drop], [table] FROM dbo.goals WHERE [truncate] = 1")).toEqual([]);
    });

    it.each(["drop table dbo.goals", "DrOp TaBlE dbo.goals", "DROP\tTABLE\tdbo.goals"])("any letter case and spacing: %j", (sql) => {
        expect(found(sql)).toEqual([["DROP-TABLE", 1]]);
    });

    it("a statement spread over several lines, reported at its first line", () => {
        expect(found("SELECT 1\nALTER\n  TABLE\n    dbo.goals\n  DROP\n    COLUMN\n      name")).toEqual([["DROP-COLUMN", 2]]);
    });

    it("several statements on one line, without semicolons", () => {
        expect(found("SELECT 1 DROP TABLE dbo.a TRUNCATE TABLE dbo.b EXEC sp_rename 'dbo.c', 'd'")).toEqual([
            ["DROP-TABLE", 1], ["RENAME", 1], ["TRUNCATE-TABLE", 1],
        ]);
    });

    it("several statements in one batch and across batches", () => {
        expect(found("DROP TABLE dbo.a;\nGO\nDROP VIEW dbo.v; DROP PROCEDURE dbo.p\nGO 2\nDROP FUNCTION dbo.f")).toEqual([
            ["DROP-TABLE", 1], ["DROP-PROCEDURE", 3], ["DROP-VIEW", 3], ["DROP-FUNCTION", 5],
        ]);
    });

    it("statements inside IF … BEGIN … END … ELSE", () => {
        const sql = "IF OBJECT_ID(N'dbo.goals') IS NOT NULL\nBEGIN\n    PRINT 'x'\n    DROP TABLE dbo.goals\nEND\nELSE\n    ALTER TABLE dbo.t DROP COLUMN c";
        expect(found(sql)).toEqual([["DROP-TABLE", 4], ["DROP-COLUMN", 7]]);
    });

    it("a DROP right after an IF condition on the same line", () => {
        expect(found("IF EXISTS (SELECT 1 FROM sys.tables WHERE name = 'goals') DROP TABLE dbo.goals")).toEqual([["DROP-TABLE", 1]]);
    });

    it("statements inside WHILE and TRY/CATCH blocks", () => {
        const sql = "WHILE @i < 10\nBEGIN\n  BEGIN TRY\n    TRUNCATE TABLE dbo.goals\n  END TRY\n  BEGIN CATCH\n    DROP TABLE dbo.goals\n  END CATCH\nEND";
        expect(found(sql)).toEqual([["TRUNCATE-TABLE", 4], ["DROP-TABLE", 7]]);
    });

    it("CASE … END inside a block does not close the block early", () => {
        const sql = "BEGIN\n  SELECT CASE WHEN 1 = 1 THEN 'a' ELSE 'b' END\n  DROP TABLE dbo.goals\nEND";
        expect(found(sql)).toEqual([["DROP-TABLE", 3]]);
    });

    it("GO inside a string or a block comment does not split the batch", () => {
        const sql = "DECLARE @s NVARCHAR(100) = N'\nGO\n'\n/*\nGO\n*/\nEXEC (@s + N'DROP TABLE dbo.goals')";
        expect(found(sql)).toEqual([["DROP-TABLE", 7]]);
    });

    it("a rename of a column added earlier in the same file is fine, of an existing one is not", () => {
        expect(found("ALTER TABLE dbo.goals ADD tmp INT NULL\nEXEC sp_rename 'dbo.goals.tmp', 'score', 'COLUMN'")).toEqual([]);
        expect(found("EXEC sp_rename 'dbo.goals.name', 'title', 'COLUMN'")).toEqual([["RENAME", 1]]);
    });
});

describe("the linter is not fooled either by", () => {
    it("the same statement twice on one line: two findings (found by the property test below)", () => {
        expect(found("DROP TABLE dbo.a DROP TABLE dbo.a")).toEqual([["DROP-TABLE", 1], ["DROP-TABLE", 1]]);
    });

    it("two identical dynamic SQL EXECs on one line: two findings", () => {
        expect(found("EXEC (N'DROP VIEW dbo.v') EXEC (N'DROP VIEW dbo.v')")).toEqual([["DROP-VIEW", 1], ["DROP-VIEW", 1]]);
    });

    it("two possible texts of one dynamic SQL variable that are the same: one finding", () => {
        expect(found("DECLARE @s NVARCHAR(99) = N'DROP TABLE dbo.a'\nIF @x = 1 SET @s = N'DROP TABLE dbo.a'\nEXEC (@s)")).toEqual([["DROP-TABLE", 3]]);
    });

    it("sp_rename with the object in a variable (it cannot tell, so it counts as live)", () => {
        expect(found("DECLARE @old NVARCHAR(100) = N'dbo.goals'\nEXEC sp_rename @old, N'targets'")).toEqual([["RENAME", 2]]);
    });

    it("a table created only under IF, then dropped (the CREATE may not have run)", () => {
        expect(found("IF OBJECT_ID(N'dbo.goals') IS NULL CREATE TABLE dbo.goals (id INT)\nDROP TABLE dbo.goals")).toEqual([["DROP-TABLE", 2]]);
        expect(found("IF 1 = 1 BEGIN ALTER TABLE dbo.goals ADD title NVARCHAR(10) NULL END\nALTER TABLE dbo.goals DROP COLUMN title")).toEqual([["DROP-COLUMN", 2]]);
    });

    it("a procedure created under IF and run: its body is still checked", () => {
        expect(found("IF 1 = 1 EXEC (N'CREATE PROCEDURE dbo.p AS DROP TABLE dbo.goals')\nGO\nEXEC dbo.p")).toEqual([["DROP-TABLE", 3]]);
    });

    it("a trailing -- lint:allow, which would cover the next line's statement", () => {
        expect(found("SELECT 1 -- lint:allow DROP-TABLE sneaky\nDROP TABLE dbo.goals")).toEqual([["LINT-ALLOW-INVALID", 1], ["DROP-TABLE", 2]]);
    });

    it("SELECT @sql = N'…' before EXEC (@sql)", () => {
        expect(found("DECLARE @sql NVARCHAR(MAX)\nSELECT @sql = N'TRUNCATE TABLE dbo.goals'\nEXEC (@sql)")).toEqual([["TRUNCATE-TABLE", 3]]);
    });

    it("INSERT … EXEC of dynamic SQL", () => {
        expect(found("INSERT INTO #out EXEC (N'DROP TABLE dbo.goals')")).toEqual([["DROP-TABLE", 1]]);
    });

    it("a CTE in front of an unbatched DELETE", () => {
        expect(lintSql("WITH old AS (SELECT id FROM dbo.goals) DELETE FROM dbo.goals").map((f) => f.ruleId)).toEqual(["WHOLE-TABLE-DELETE"]);
    });

    it("PostgreSQL's ALTER COLUMN … SET DEFAULT is additive, but … DROP DEFAULT is not", () => {
        expect(lintSql("ALTER TABLE goals ALTER COLUMN done SET DEFAULT false;", "expand", { dialect: "postgres" })).toEqual([]);
        expect(lintSql("ALTER TABLE goals ALTER COLUMN done DROP DEFAULT;", "expand", { dialect: "postgres" }).map((f) => f.ruleId)).toEqual(["ALTER-COLUMN"]);
    });

    it("PostgreSQL's ADD CONSTRAINT … NOT VALID is T-SQL's WITH NOCHECK (no scan); without it, the scan is flagged", () => {
        const add = "ALTER TABLE goals ADD CONSTRAINT goals_name_not_null CHECK (name IS NOT NULL)";
        expect(lintSql(`${add} NOT VALID;`, "expand", { dialect: "postgres" })).toEqual([]);
        expect(lintSql(`${add};`, "expand", { dialect: "postgres" }).map((f) => f.ruleId)).toEqual(["CONSTRAINT-WITH-CHECK"]);
    });

    it("PostgreSQL renames and CREATE OR REPLACE", () => {
        const sql = "ALTER TABLE goals RENAME COLUMN title TO name;\nALTER TABLE goals RENAME TO targets;\nCREATE OR REPLACE FUNCTION get_goals_v1() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nALTER TABLE goals SET SCHEMA archive;";
        expect(lintSql(sql, "expand", { dialect: "postgres" }).map((f) => [f.ruleId, f.line])).toEqual([
            ["RENAME", 1], ["RENAME", 2], ["ALTER-ROUTINE-IN-PLACE", 3], ["SCHEMA-TRANSFER", 4],
        ]);
    });
});

describe("the linter is not fooled by the review's traps either", () => {
    it.each([
        ["transactional", ""],
        ["no-transaction", "-- migrate:no-transaction\n"],
    ])("a CREATE inside BEGIN TRY (it may fail on the live table and be swallowed) does not exempt a later DROP (%s)", (_, header) => {
        const sql = `${header}BEGIN TRY CREATE TABLE dbo.goals (id INT) END TRY BEGIN CATCH END CATCH\nDROP TABLE dbo.goals`;
        const line = header === "" ? 2 : 3;
        expect(found(sql)).toEqual([["DROP-TABLE", line]]);
    });

    it("a column added inside BEGIN TRY does not exempt a later DROP COLUMN", () => {
        expect(found("BEGIN TRY ALTER TABLE dbo.goals ADD name INT NULL END TRY BEGIN CATCH END CATCH\nALTER TABLE dbo.goals DROP COLUMN name"))
            .toEqual([["DROP-COLUMN", 2]]);
    });

    it.each([
        ["master..sp_rename", "EXEC master..sp_rename 'dbo.goals.name', 'title', 'COLUMN'"],
        ["[master]..[sp_rename]", "EXEC [master]..[sp_rename] 'dbo.goals', 'targets'"],
        ["sp_renamedb", "EXEC sp_renamedb 'appdb', 'appdb_old'"],
    ])("a rename written as %s", (_, sql) => {
        expect(found(sql)).toEqual([["RENAME", 1]]);
    });

    it("a rename written as ALTER DATABASE … MODIFY NAME (which cannot run in a transaction either)", () => {
        expect(found("ALTER DATABASE appdb MODIFY NAME = appdb_old")).toEqual([["NEEDS-NO-TRANSACTION", 1], ["RENAME", 1]]);
    });

    it.each([
        ["SWITCH TO", "ALTER TABLE dbo.goals SWITCH TO dbo.goals_archive"],
        ["SWITCH PARTITION", "ALTER TABLE [dbo].[goals] SWITCH PARTITION 2 TO dbo.goals_archive PARTITION 2"],
    ])("ALTER TABLE … %s, which empties the live table like TRUNCATE", (_, sql) => {
        expect(found(sql)).toEqual([["TRUNCATE-TABLE", 1]]);
    });

    it("but switching rows out of a table created in the same file is fine", () => {
        expect(found("CREATE TABLE dbo.staging (id INT)\nALTER TABLE dbo.staging SWITCH TO dbo.goals")).toEqual([]);
    });

    it.each([
        ["QUOTENAME of a variable", "DECLARE @t SYSNAME = N'goals'\nEXEC (N'DROP TABLE dbo.' + QUOTENAME(@t))", "DROP-TABLE"],
        ["QUOTENAME of a literal", "EXEC (N'ALTER TABLE dbo.goals DROP COLUMN ' + QUOTENAME(N'name'))", "DROP-COLUMN"],
        ["CHAR(59) appended", "EXEC ('TRUNCATE TABLE dbo.goals' + CHAR(59))", "TRUNCATE-TABLE"],
        ["a variable read from a query", "DECLARE @t SYSNAME = (SELECT TOP (1) name FROM sys.tables)\nEXEC sp_executesql N'DROP VIEW dbo.' + @t", "DROP-VIEW"],
        ["extra parentheses", "EXEC ((('DROP TABLE dbo.goals')))", "DROP-TABLE"],
    ])("dynamic SQL concatenated with parts it cannot read (%s): the readable part is still checked", (_, sql, rule) => {
        const errors = lintSql(sql).filter((f) => f.severity === "error");
        expect(errors.map((f) => [f.ruleId, f.line])).toEqual([[rule, sql.split("\n").length]]);
    });

    it.each([
        ["named", "EXEC sp_executesql N'EXEC (@s)', N'@s NVARCHAR(MAX)', @s = N'DROP TABLE dbo.goals'", "DROP-TABLE"],
        ["positional", "EXEC sp_executesql N'EXEC (@s)', N'@n INT, @s NVARCHAR(MAX)', 1, N'DROP TABLE dbo.goals'", "DROP-TABLE"],
        ["with @stmt/@params", "EXEC sp_executesql @stmt = N'EXEC (@s)', @params = N'@s NVARCHAR(MAX)', @s = N'TRUNCATE TABLE dbo.goals'", "TRUNCATE-TABLE"],
    ])("the statement passed into sp_executesql as a %s parameter and run there with EXEC", (_, sql, rule) => {
        expect(found(sql)).toEqual([[rule, 1]]);
    });

    it("but an ordinary parameterized sp_executesql is fine", () => {
        expect(found("EXEC sp_executesql N'UPDATE dbo.goals SET done = 1 WHERE id = @id', N'@id INT', @id = 5")).toEqual([]);
    });

    it.each([
        ["set and run inside the loop", "DECLARE @i INT = 0, @s NVARCHAR(MAX)\nWHILE @i < 1\nBEGIN\n  SET @s = N'DROP TABLE dbo.goals'\n  EXEC (@s)\n  SET @i += 1\nEND", 5],
        ["set inside the loop, run after it", "DECLARE @i INT = 0, @s NVARCHAR(MAX) = N''\nWHILE @i < 1 BEGIN SET @s = N'DROP TABLE dbo.goals' SET @i += 1 END\nEXEC (@s)", 3],
        ["appended to inside the loop", "DECLARE @s NVARCHAR(MAX) = N'SELECT 1'\nWHILE 1 = 0 SET @s += N'; DROP TABLE dbo.goals'\nEXEC (@s)", 3],
    ])("dynamic SQL assigned in a WHILE loop (%s): one iteration's text is checked, and a warning says the rest is not", (_, sql, line) => {
        expect(found(sql)).toEqual([["DROP-TABLE", line], ["DYNAMIC-SQL", line]]);
    });

    it("a concatenation with an unreadable part also warns that the part is not checked", () => {
        expect(found("EXEC (N'ALTER TABLE dbo.goals ADD c INT NULL' + CHAR(59))")).toEqual([["DYNAMIC-SQL", 1]]);
    });

    it.each([
        ["a comment between the keywords", "DROP/**/TABLE dbo.goals"],
        ["a line comment between the keywords", "DROP -- x\nTABLE dbo.goals"],
        ["DROP TABLE IF EXISTS", "DROP TABLE IF EXISTS dbo.goals"],
        ["a byte-order mark at the start", "\uFEFFDROP TABLE dbo.goals"],
        ["a no-break space between the keywords", "DROP\u00A0TABLE dbo.goals"],
        ["a unicode name", "DROP TABLE dbo.Zíle_目标"],
    ])("%s", (_, sql) => {
        expect(found(sql)).toEqual([["DROP-TABLE", 1]]);
    });

    it("a line comment ended by a bare CR (old Mac line ending): the statement after it runs, so it is checked", () => {
        expect(found("-- harmless note\rDROP TABLE dbo.goals")).toEqual([["DROP-TABLE", 1]]);
    });

    it("a new table whose name differs from a live one only by a combining accent does not exempt the live one", () => {
        expect(found("CREATE TABLE dbo.cafe\u0301 (id INT)\nDROP TABLE dbo.cafe")).toEqual([["DROP-TABLE", 2]]);
        expect(found("CREATE TABLE dbo.cafe\u0301 (id INT)\nDROP TABLE dbo.cafe\u0301")).toEqual([]);
    });

    it("a second variable whose name differs only by a combining accent does not overwrite the first", () => {
        const sql = "DECLARE @s NVARCHAR(MAX) = N'DROP TABLE dbo.goals'\nDECLARE @s\u0301 NVARCHAR(MAX) = N'SELECT 1'\nEXEC (@s)";
        expect(found(sql)).toEqual([["DROP-TABLE", 3]]);
    });

    it.each([
        ["sys.sp_rename", "CREATE SYNONYM dbo.r FOR sys.sp_rename\nGO\nEXEC dbo.r 'dbo.goals', 'targets'", [["RENAME", 3]]],
        ["sp_executesql", "CREATE SYNONYM dbo.x FOR sp_executesql\nGO\nEXEC dbo.x N'DROP TABLE dbo.goals'", [["DROP-TABLE", 3]]],
        ["a synonym of a synonym of sp_rename, run without EXEC", "CREATE SYNONYM dbo.a FOR sys.sp_rename\nCREATE SYNONYM dbo.b FOR dbo.a\nGO\ndbo.b 'dbo.goals', 'x'", [["RENAME", 4]]],
        ["two synonyms of each other (no endless loop)", "CREATE SYNONYM dbo.a FOR dbo.b\nCREATE SYNONYM dbo.b FOR dbo.a\nGO\nEXEC dbo.a", []],
    ])("a procedure called through a synonym created in the file: %s", (_, sql, expected) => {
        expect(found(sql)).toEqual(expected);
    });

    it("CRLF line endings and GO 2: the line numbers stay right", () => {
        expect(found("SELECT 1\r\nGO 2\r\nALTER TABLE dbo.goals DROP COLUMN a, b\r\n")).toEqual([["DROP-COLUMN", 3], ["DROP-COLUMN", 3]]);
    });

    it("a second statement appended to the line a -- lint:allow covers: only the first is allowed", () => {
        const findings = lintSql("-- lint:allow DROP-TABLE scratch table created by 0001, never live\nDROP TABLE dbo.scratch; DROP TABLE dbo.goals");
        expect(findings.map((f) => [f.ruleId, f.message.match(/dbo\.\w+/)?.[0], f.allowed !== undefined])).toEqual([
            ["DROP-TABLE", "dbo.scratch", true],
            ["DROP-TABLE", "dbo.goals", false],
        ]);
    });

    it("but an allow above IF … DROP covers the DROP, and above one EXEC covers what that EXEC runs", () => {
        expect(found("-- lint:allow DROP-TABLE scratch table\nIF OBJECT_ID(N'dbo.scratch') IS NOT NULL DROP TABLE dbo.scratch")).toEqual([]);
        expect(found("-- lint:allow DROP-TABLE scratch tables\nEXEC (N'DROP TABLE dbo.s1; DROP TABLE dbo.s2')")).toEqual([]);
    });

    it("a -- lint:allow with a reason for a different rule allows nothing (and is reported as unused)", () => {
        expect(found("-- lint:allow DROP-COLUMN the column is unused\r\nDROP TABLE dbo.goals")).toEqual([["LINT-ALLOW-UNUSED", 1], ["DROP-TABLE", 2]]);
    });
});

describe("property: layout, letter case, comments and blocks never change the verdict", () => {
    const STATEMENTS: [string, string | null][] = [
        ["DROP TABLE dbo.a", "DROP-TABLE"],
        ["ALTER TABLE dbo.t DROP COLUMN c", "DROP-COLUMN"],
        ["TRUNCATE TABLE dbo.t", "TRUNCATE-TABLE"],
        ["EXEC sp_rename 'dbo.a', 'b'", "RENAME"],
        ["EXEC (N'DROP VIEW dbo.v')", "DROP-VIEW"],
        ["ALTER PROCEDURE dbo.p_v1 AS SELECT 1", "ALTER-ROUTINE-IN-PLACE"],
        ["SELECT 1", null],
        ["UPDATE dbo.t SET a = 1 WHERE id = 2", null],
        ["CREATE INDEX ix ON dbo.t (a) WITH (ONLINE = ON)", null],
        ["PRINT 'DROP TABLE x; GO'", null],
        ["ALTER TABLE dbo.t ADD c2 INT NULL", null],
        ["INSERT dbo.log VALUES (N'TRUNCATE TABLE dbo.t; --')", null],
    ];
    const SEPARATORS = [" ", "\n", ";", "; ", "\r\n", "\n/* DROP TABLE z */\n", " -- TRUNCATE TABLE t\n", "\n\t"];
    const WRAPPERS: ((s: string) => string)[] = [
        (s) => s,
        (s) => `IF @x = 1 BEGIN ${s} END`,
        (s) => `IF @x = 1 ${s}`,
        (s) => `IF @x = 1 SELECT 0 ELSE ${s}`,
        (s) => `WHILE @i < 1\nBEGIN\n${s}\nBREAK\nEND`,
        (s) => `BEGIN TRY ${s} END TRY BEGIN CATCH THROW END CATCH`,
    ];
    const randomCase = (text: string, seed: number): string =>
        [...text].map((ch, i) => ((seed >> (i % 30)) & 1 ? ch.toUpperCase() : ch.toLowerCase())).join("");

    it("finds exactly the rules of the statements it is given", () => {
        // ALTER PROCEDURE takes the rest of its batch, so it goes last, after a GO.
        const item = fc.record({
            statement: fc.integer({ min: 0, max: STATEMENTS.length - 2 }).map((i) => (i >= 5 ? i + 1 : i)),
            separator: fc.constantFrom(...SEPARATORS),
            wrapper: fc.integer({ min: 0, max: WRAPPERS.length - 1 }),
            caseSeed: fc.integer(),
        });
        fc.assert(fc.property(fc.array(item, { minLength: 1, maxLength: 8 }), fc.boolean(), (items, withProcedure) => {
            let sql = "";
            const expected: string[] = [];
            for (const { statement, separator, wrapper, caseSeed } of items) {
                const [text, rule] = STATEMENTS[statement];
                sql += WRAPPERS[wrapper](randomCase(text, caseSeed)) + separator;
                if (rule) expected.push(rule);
            }
            if (withProcedure) {
                sql += "\nGO\n" + STATEMENTS[5][0];
                expected.push(STATEMENTS[5][1]!);
            }
            const actual = lintSql(sql).filter((f) => f.severity === "error").map((f) => f.ruleId);
            expect(actual.sort()).toEqual(expected.sort());
        }), { numRuns: 1000 });
    });
});
