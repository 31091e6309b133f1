import * as fs from "fs";
import * as path from "path";
import { lintCommand } from "../../../migrator/lint/command";
import { lintMigration } from "../../../migrator/lint/lint";
import { parseMigrationFile } from "../../../migrator/migrationFile";

const DIR = path.join(__dirname, "..", "..", "fixtures", "tsql", "real");
const load = (name: string, transform: (text: string) => string = (t) => t) =>
    parseMigrationFile(path.join(DIR, name), transform(fs.readFileSync(path.join(DIR, name), "utf8")));
const verdict = (name: string, transform?: (text: string) => string): [string, number, string][] =>
    lintMigration(load(name, transform)).map((f) => [f.ruleId, f.line, f.severity]);

describe("real T-SQL migrations from public repositories (tests/fixtures/tsql/real/README.md)", () => {
    it("RoundhousE 0001_CreateTables (CRLF): clean", () => {
        expect(verdict("0001_roundhouse_create_tables.expand.sql")).toEqual([]);
    });

    it("RoundhousE 0002_ChangeTable: DROP-COLUMN on line 1", () => {
        expect(verdict("0002_roundhouse_change_table.expand.sql")).toEqual([["DROP-COLUMN", 1, "error"]]);
    });

    it("RoundhousE 0003_TestBatchSplitter: four batches, GO in comments and as an alias ignored, no USE-DATABASE from a comment", () => {
        const file = load("0003_roundhouse_batch_splitter.expand.sql");
        expect(file.batches.map((b) => [b.startLine, b.sql.trim().split(/\r?\n/)[0]])).toEqual([
            [1, "/*"], [7, "Select GetDate()"], [9, "SELECT GetDate()"], [11, "SELECT GetDate() GO"],
        ]);
        expect(lintMigration(file)).toEqual([]);
    });

    it("DbUp Script0001 with $schema$ = dbo: clean, the foreign keys are on tables it just created", () => {
        expect(verdict("0004_dbup_create_tables.expand.sql", (t) => t.replace(/\$schema\$/g, "dbo"))).toEqual([]);
        expect(verdict("0004_dbup_create_tables.expand.sql")).toEqual([]);
    });

    it("DbUp Script0007 (BOM, CRLF): clean, NOT NULL columns come with a default", () => {
        expect(verdict("0005_dbup_meta_tags.expand.sql")).toEqual([]);
    });

    it("the whole folder through the lint command: exit 1 because of the one DROP COLUMN", async () => {
        let stdout = "";
        const code = await lintCommand([DIR], { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true } });
        expect(code).toBe(1);
        expect(stdout.trim().split("\n")).toEqual([expect.stringMatching(/0002_roundhouse_change_table\.expand\.sql:1: DROP-COLUMN error: drops column Timmy\.dude /)]);
    });
});
