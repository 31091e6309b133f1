import fc from "fast-check";
import { tokenize, Token, TsqlSyntaxError, isTrivia } from "../../../migrator/tsql/tokenizer";

const significant = (sql: string): Token[] => tokenize(sql).filter((t) => !isTrivia(t));
const kinds = (sql: string): string[] => significant(sql).map((t) => `${t.kind}:${t.text}`);

describe("tokenize", () => {
    it("splits words, punctuation, numbers and variables", () => {
        expect(kinds("SELECT @x = 1.5, @@ROWCOUNT;")).toEqual([
            "word:SELECT", "variable:@x", "punctuation:=", "number:1.5", "punctuation:,", "variable:@@ROWCOUNT", "punctuation:;",
        ]);
    });

    it("keeps a line comment, including one that holds a statement, as one comment token", () => {
        const tokens = tokenize("-- DROP TABLE goals\nSELECT 1");
        expect(tokens[0]).toMatchObject({ kind: "lineComment", text: "-- DROP TABLE goals", line: 1 });
        expect(significant("-- DROP TABLE goals\nSELECT 1")[0]).toMatchObject({ text: "SELECT", line: 2 });
    });

    it("reads nested block comments to their matching end", () => {
        const sql = "/* outer /* inner DROP TABLE x */ still comment */ SELECT 1";
        expect(tokenize(sql)[0]).toMatchObject({ kind: "blockComment", text: "/* outer /* inner DROP TABLE x */ still comment */" });
        expect(kinds(sql)).toEqual(["word:SELECT", "number:1"]);
    });

    it.each([
        ["'it''s'", "it's"],
        ["N'DROP TABLE [x]'", "DROP TABLE [x]"],
        ["n'a''b'''", "a'b'"],
        ["''", ""],
    ])("reads the string %s with value %j", (sql, value) => {
        expect(significant(sql)).toEqual([expect.objectContaining({ kind: "string", text: sql, value })]);
    });

    it("reads [bracketed] names with ]] and \"quoted\" names with \"\"", () => {
        expect(significant('[my]]table] "odd "" name"')).toEqual([
            expect.objectContaining({ kind: "bracketIdentifier", value: "my]table" }),
            expect.objectContaining({ kind: "quotedIdentifier", value: 'odd " name' }),
        ]);
    });

    it("reads temp table names #t and ##t as words", () => {
        expect(kinds("#t ##global")).toEqual(["word:#t", "word:##global"]);
    });

    it("counts lines across multi-line strings and comments", () => {
        const tokens = significant("SELECT 'a\nb'\n/* x\ny */ FROM\n t");
        expect(tokens.map((t) => [t.text, t.line])).toEqual([["SELECT", 1], ["'a\nb'", 1], ["FROM", 4], ["t", 5]]);
    });

    it.each([
        ["GO", "1"],
        ["go", "1"],
        ["  Go 5  ", "5"],
        ["GO -- end of batch", "1"],
    ])("recognises %j alone on a line as a batch separator with count %s", (line, count) => {
        const tokens = tokenize(`SELECT 1\n${line}\nSELECT 2`);
        expect(tokens.filter((t) => t.kind === "go")).toEqual([expect.objectContaining({ line: 2, value: count })]);
    });

    it.each([
        ["inside a block comment", "/*\nGO\n*/"],
        ["inside a string", "SELECT 'a\nGO\nb'"],
        ["after code on the line", "SELECT 1 GO"],
        ["as part of a longer word", "GOTO done"],
        ["with a non-numeric argument", "GO now"],
    ])("does not treat GO %s as a separator", (_, sql) => {
        expect(tokenize(sql).some((t) => t.kind === "go")).toBe(false);
    });

    it.each([
        ["SELECT 'abc", "string", 1],
        ["SELECT 1\n/* /* */", "block comment", 2],
        ["SELECT [abc", "bracketed name", 1],
        ['\n\nSELECT "abc', "quoted name", 3],
    ])("refuses %j as an unterminated %s on line %d", (sql, what, line) => {
        expect(() => tokenize(sql)).toThrow(TsqlSyntaxError);
        try {
            tokenize(sql);
        } catch (error) {
            expect((error as TsqlSyntaxError).line).toBe(line);
            expect((error as Error).message).toContain(what);
        }
    });

    it("reads PostgreSQL dollar-quoted bodies as one string in the postgres dialect", () => {
        const sql = "CREATE FUNCTION f() RETURNS trigger AS $fn$ BEGIN NEW.a := 'x'; END $fn$ LANGUAGE plpgsql";
        const strings = tokenize(sql, { dialect: "postgres" }).filter((t) => t.kind === "string");
        expect(strings).toEqual([expect.objectContaining({ value: " BEGIN NEW.a := 'x'; END " })]);
    });

    describe("properties", () => {
        const fragments = fc.constantFrom(
            "SELECT", " ", "\n", "\r\n", "\t", "'", "''", "N'", "[", "]", "]]", '"', "--", "/*", "*/", "GO", "go 2", "@x",
            "@@", "#t", "12", ".5", "e", "$", "(", ")", ";", ",", "=", "<>", "DROP", "é", "😀", "-", "/", "*",
        );
        const sqlish = fc.array(fragments, { maxLength: 40 }).map((parts) => parts.join(""));

        it("re-joining token texts gives back the input (or the input is refused with a line)", () => {
            fc.assert(fc.property(fc.oneof(sqlish, fc.string({ maxLength: 60 })), (sql) => {
                let tokens: Token[];
                try {
                    tokens = tokenize(sql);
                } catch (error) {
                    expect(error).toBeInstanceOf(TsqlSyntaxError);
                    expect((error as TsqlSyntaxError).line).toBeGreaterThanOrEqual(1);
                    return;
                }
                expect(tokens.map((t) => t.text).join("")).toBe(sql);
            }), { numRuns: 2000 });
        });

        it("each token's line is 1 plus the newlines before its offset", () => {
            fc.assert(fc.property(sqlish, (sql) => {
                let tokens: Token[];
                try {
                    tokens = tokenize(sql);
                } catch {
                    return;
                }
                for (const token of tokens) {
                    expect(token.line).toBe(sql.slice(0, token.offset).split("\n").length);
                }
            }), { numRuns: 500 });
        });

        it("a string literal's content never produces tokens of its own", () => {
            fc.assert(fc.property(fc.string({ maxLength: 40 }), (content) => {
                const literal = `N'${content.replace(/'/g, "''")}'`;
                expect(significant(`EXEC(${literal})`).map((t) => t.kind)).toEqual(["word", "punctuation", "string", "punctuation"]);
                expect(significant(literal)[0].value).toBe(content);
            }));
        });
    });
});
