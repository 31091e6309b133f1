import { splitStatements, Statement } from "../../../migrator/tsql/statements";
import { tokenize } from "../../../migrator/tsql/tokenizer";

const split = (sql: string): Statement[] => splitStatements(tokenize(sql));
const texts = (sql: string): string[] => split(sql).map((s) => s.tokens.map((t) => t.text).join(" "));

describe("splitStatements", () => {
    it.each([
        ["semicolons", "DROP TABLE a; DROP TABLE b;", ["DROP TABLE a", "DROP TABLE b"]],
        ["no semicolons, one line", "DROP TABLE a DROP TABLE b", ["DROP TABLE a", "DROP TABLE b"]],
        ["SET after UPDATE's SET", "UPDATE t SET a = 1 SET @x = 2", ["UPDATE t SET a = 1", "SET @x = 2"]],
        ["INSERT … SELECT stays one statement", "INSERT INTO t (a) SELECT a FROM s SELECT 1", ["INSERT INTO t ( a ) SELECT a FROM s", "SELECT 1"]],
        ["INSERT … VALUES then SELECT", "INSERT t VALUES (1) SELECT 2", ["INSERT t VALUES ( 1 )", "SELECT 2"]],
        ["INSERT … EXEC", "INSERT t EXEC dbo.p EXEC dbo.q", ["INSERT t EXEC dbo . p", "EXEC dbo . q"]],
        ["UNION SELECT", "SELECT 1 UNION ALL SELECT 2 SELECT 3", ["SELECT 1 UNION ALL SELECT 2", "SELECT 3"]],
        ["subquery in parentheses", "SELECT (SELECT 1) DELETE FROM t WHERE a IN (SELECT a FROM u)", ["SELECT ( SELECT 1 )", "DELETE FROM t WHERE a IN ( SELECT a FROM u )"]],
        ["ALTER TABLE … DROP COLUMN is one statement", "ALTER TABLE t DROP COLUMN a, COLUMN b", ["ALTER TABLE t DROP COLUMN a , COLUMN b"]],
        ["ALTER TABLE ADD then a DROP TABLE", "ALTER TABLE t ADD c INT NULL DROP TABLE x", ["ALTER TABLE t ADD c INT NULL", "DROP TABLE x"]],
        ["ALTER TABLE WITH CHECK ADD", "ALTER TABLE t WITH CHECK ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (id) ON DELETE SET NULL ON UPDATE CASCADE",
            ["ALTER TABLE t WITH CHECK ADD CONSTRAINT f FOREIGN KEY ( a ) REFERENCES p ( id ) ON DELETE SET NULL ON UPDATE CASCADE"]],
        ["ALTER TABLE ALTER COLUMN", "ALTER TABLE t ALTER COLUMN a INT NOT NULL", ["ALTER TABLE t ALTER COLUMN a INT NOT NULL"]],
        ["DROP TABLE IF EXISTS", "DROP TABLE IF EXISTS a DROP VIEW IF EXISTS v", ["DROP TABLE IF EXISTS a", "DROP VIEW IF EXISTS v"]],
        ["CREATE INDEX WITH options", "CREATE INDEX ix ON t (a) WITH (ONLINE = ON) CREATE TABLE u (id INT)", ["CREATE INDEX ix ON t ( a ) WITH ( ONLINE = ON )", "CREATE TABLE u ( id INT )"]],
        ["a CTE", ";WITH c AS (SELECT 1 AS a) DELETE FROM t WHERE a IN (SELECT a FROM c) SELECT 1",
            ["WITH c AS ( SELECT 1 AS a ) DELETE FROM t WHERE a IN ( SELECT a FROM c )", "SELECT 1"]],
        ["CASE … END is not a block", "SELECT CASE WHEN a = 1 THEN 'x' ELSE 'y' END FROM t DROP TABLE t", ["SELECT CASE WHEN a = 1 THEN 'x' ELSE 'y' END FROM t", "DROP TABLE t"]],
        ["CREATE OR ALTER", "CREATE OR ALTER VIEW v AS SELECT 1 AS a", ["CREATE OR ALTER VIEW v AS SELECT 1 AS a"]],
        ["a procedure body runs to the end of the batch", "CREATE PROCEDURE p AS BEGIN DROP TABLE t; SELECT 1; END", ["CREATE PROCEDURE p AS BEGIN DROP TABLE t ; SELECT 1 ; END"]],
        ["a cursor", "DECLARE c CURSOR FOR SELECT a FROM t OPEN c", ["DECLARE c CURSOR FOR SELECT a FROM t", "OPEN c"]],
        ["OFFSET … FETCH", "SELECT a FROM t ORDER BY a OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY", ["SELECT a FROM t ORDER BY a OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY"]],
        ["GRANT", "GRANT SELECT, UPDATE ON t TO app DROP TABLE x", ["GRANT SELECT , UPDATE ON t TO app", "DROP TABLE x"]],
        ["MERGE keeps its THEN UPDATE SET / DELETE / INSERT", "MERGE t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN NOT MATCHED BY SOURCE THEN DELETE WHEN NOT MATCHED THEN INSERT (a) VALUES (s.a); DROP TABLE x",
            ["MERGE t USING s ON t . id = s . id WHEN MATCHED THEN UPDATE SET a = s . a WHEN NOT MATCHED BY SOURCE THEN DELETE WHEN NOT MATCHED THEN INSERT ( a ) VALUES ( s . a )", "DROP TABLE x"]],
        ["a MERGE without its semicolon does not swallow what follows", "MERGE t USING s ON 1 = 0 WHEN NOT MATCHED THEN INSERT (a) VALUES (1) DROP TABLE x",
            ["MERGE t USING s ON 1 = 0 WHEN NOT MATCHED THEN INSERT ( a ) VALUES ( 1 )", "DROP TABLE x"]],
        ["BEGIN TRAN is a statement, not a block", "BEGIN TRAN DROP TABLE a COMMIT", ["BEGIN TRAN", "DROP TABLE a", "COMMIT"]],
    ])("splits %s", (_, sql, expected) => {
        expect(texts(sql)).toEqual(expected);
    });

    it("reads statements inside IF … BEGIN … END ELSE, marking them conditional", () => {
        const statements = split("IF OBJECT_ID('t') IS NOT NULL\nBEGIN\n  DROP TABLE t\n  PRINT 'x'\nEND\nELSE DROP VIEW v\nSELECT 1");
        expect(statements.map((s) => [s.tokens[0].text, s.line, s.conditional, s.isCondition])).toEqual([
            ["IF", 1, false, true], ["DROP", 3, true, false], ["PRINT", 4, true, false], ["DROP", 6, true, false], ["SELECT", 7, false, false],
        ]);
    });

    it("marks statements inside WHILE (with or without BEGIN) as in a loop, and nothing after it", () => {
        const statements = split("WHILE 1 = 1 BEGIN UPDATE TOP (10) t SET a = 1 WHERE a = 0 IF @@ROWCOUNT = 0 BREAK END WHILE @i < 3 SET @i += 1 DELETE FROM t");
        expect(statements.map((s) => [s.tokens[0].text, s.inLoop])).toEqual([
            ["WHILE", false], ["UPDATE", true], ["IF", true], ["BREAK", true], ["WHILE", false], ["SET", true], ["DELETE", false],
        ]);
    });

    it("reads BEGIN TRY … END TRY BEGIN CATCH … END CATCH blocks", () => {
        expect(texts("BEGIN TRY DROP TABLE a END TRY BEGIN CATCH THROW; END CATCH DROP TABLE b")).toEqual(["DROP TABLE a", "THROW", "DROP TABLE b"]);
    });

    it("reads nested blocks and an IF without BEGIN inside a block", () => {
        expect(texts("BEGIN IF 1 = 1 BEGIN BEGIN DROP TABLE a END END ELSE IF 2 = 2 DROP TABLE b; ELSE DROP TABLE c END")).toEqual([
            "IF 1 = 1", "DROP TABLE a", "IF 2 = 2", "DROP TABLE b", "DROP TABLE c",
        ]);
    });

    it("does not hang or lose statements on unbalanced END/ELSE", () => {
        expect(texts("END DROP TABLE a ELSE DROP TABLE b")).toEqual(["END", "DROP TABLE a", "ELSE", "DROP TABLE b"]);
    });

    it("splits PostgreSQL on semicolons only, keeping a CREATE TRIGGER … INSERT OR UPDATE whole", () => {
        const sql = "CREATE TRIGGER t BEFORE INSERT OR UPDATE ON goals FOR EACH ROW EXECUTE FUNCTION f(); DROP TABLE x;";
        expect(splitStatements(tokenize(sql, { dialect: "postgres" }), "postgres").map((s) => s.tokens[0].text)).toEqual(["CREATE", "DROP"]);
    });
});
