import fc from "fast-check";
import { BatchTooLargeError, streamBatches } from "../../../migrator/tsql/batches";
import { classify } from "../../../migrator/tsql/classify";
import { Statement, splitStatements } from "../../../migrator/tsql/statements";
import { Token, tokenize } from "../../../migrator/tsql/tokenizer";
import { lintSql } from "../../../migrator/lint/lint";

const batchesOf = (sql: string, maxTokensPerBatch?: number): Token[][] => {
    const batches: Token[][] = [];
    streamBatches(sql, { maxTokensPerBatch, onBatch: (tokens) => batches.push(tokens) });
    return batches;
};

/** What the rules see of a statement: where it starts, its line, its flags and what it is classified as. */
const shape = (statements: readonly Statement[]): unknown[] =>
    statements.map((st, i) => ({
        offset: st.tokens[0].offset, line: st.line, inLoop: st.inLoop, conditional: st.conditional, isCondition: st.isCondition,
        kind: classify(st, new Map(), i === 0).kind,
    }));

describe("streamBatches", () => {
    it("folds the rows of an INSERT … VALUES list into one token, whatever literals and calls they hold", () => {
        const sql = "INSERT INTO dbo.t (a, b) VALUES\n(1, N'x'),\n(2, CAST('y' AS nvarchar(10))),\n((3), NULL);\nDROP TABLE dbo.u;";
        const [tokens] = batchesOf(sql);
        const rows = tokens.filter((t) => t.kind === "valuesRows");
        expect(rows).toHaveLength(1);
        expect(rows[0].text).toBe("(1, N'x'),\n(2, CAST('y' AS nvarchar(10))),\n((3), NULL)");
        expect(rows[0].line).toBe(2);
        expect(tokens.map((t) => t.text)).toEqual(["INSERT", "INTO", "dbo", ".", "t", "(", "a", ",", "b", ")", "VALUES", rows[0].text, ";", "DROP", "TABLE", "dbo", ".", "u", ";"]);
    });

    it("keeps a row holding CASE or END as tokens (the splitter counts them at any depth), the rows before it still folded", () => {
        const [tokens] = batchesOf("INSERT t VALUES (1), (CASE WHEN 1 = 1 THEN 2 END), (3)");
        expect(tokens.map((t) => t.text)).toEqual(["INSERT", "t", "VALUES", "(1)", ",", "(", "CASE", "WHEN", "1", "=", "1", "THEN", "2", "END", ")", ",", "(", "3", ")"]);
    });

    it("keeps a comma after the rows that is not followed by another row", () => {
        const [tokens] = batchesOf("MERGE t USING (VALUES (1), (2)) AS s (a), x");
        expect(tokens.map((t) => t.text)).toEqual(["MERGE", "t", "USING", "(", "VALUES", "(1), (2)", ")", "AS", "s", "(", "a", ")", ",", "x"]);
    });

    it("splits on GO and folds nothing across it (an unclosed row ends with its batch, as tokens)", () => {
        const batches = batchesOf("INSERT t VALUES (1\nGO\nDROP TABLE x");
        expect(batches.map((b) => b.map((t) => t.text))).toEqual([["INSERT", "t", "VALUES", "(", "1"], ["DROP", "TABLE", "x"]]);
    });

    it("refuses a batch with more tokens than the limit, naming the line the batch starts on", () => {
        const sql = "SELECT 1;\nGO\nSELECT 1, 2, 3, 4;";
        expect(batchesOf(sql, 9)).toHaveLength(2);
        expect(() => batchesOf(sql, 5)).toThrow(BatchTooLargeError);
        expect(() => batchesOf(sql, 5)).toThrow(/the batch starting at line 3 holds more than 5 tokens outside INSERT … VALUES rows/);
        // Bulk rows do not count: ten thousand rows are one token.
        expect(batchesOf(`INSERT t VALUES ${Array.from({ length: 10_000 }, (_, i) => `(${i}, 'v')`).join(", ")};`, 8)[0]).toHaveLength(5);
    });

    it("the statements the rules see are the same with rows folded as without (same starts, lines, flags and kinds)", () => {
        const fragments = fc.constantFrom(
            "INSERT INTO t VALUES ", "VALUES", " (1, 'a')", "(2)", ", ", ",", "(", ")", " DROP TABLE x ", " ; ", "\n", "EXEC ('DROP TABLE y')",
            " IF 1 = 1 ", " BEGIN ", " END ", " CASE ", " WHEN 1 THEN 2 ", " SELECT ", " UPDATE t SET a = 1 ", " -- c\n", "\nGO\n", "N'q'",
        );
        fc.assert(fc.property(fc.array(fragments, { maxLength: 30 }).map((parts) => parts.join("")), (sql) => {
            let expected: unknown[][];
            try {
                const batches: Token[][] = [[]];
                for (const token of tokenize(sql)) {
                    if (token.kind === "go") batches.push([]);
                    else batches[batches.length - 1].push(token);
                }
                expected = batches.map((b) => shape(splitStatements(b)));
            } catch {
                return;
            }
            expect(batchesOf(sql).map((b) => shape(splitStatements(b)))).toEqual(expected);
        }), { numRuns: 3000 });
    });
});

describe("linting a bulk INSERT", () => {
    it("still finds what follows the rows in the same batch, at its line", () => {
        const rows = Array.from({ length: 5_000 }, (_, i) => `(${i}, N'row ${i}')`).join(",\n");
        const findings = lintSql(`INSERT INTO dbo.t (a, b) VALUES\n${rows}\nDROP TABLE dbo.goals;`);
        expect(findings.map((f) => [f.ruleId, f.line])).toEqual([["DROP-TABLE", 5_002]]);
    });

    it("a -- lint:allow inside the rows' lines is judged by the rows' code lines", () => {
        const findings = lintSql("INSERT INTO dbo.t VALUES (1), -- lint:allow DROP-TABLE moved\n(2);");
        expect(findings.map((f) => f.ruleId)).toEqual(["LINT-ALLOW-INVALID"]);
    });
});
