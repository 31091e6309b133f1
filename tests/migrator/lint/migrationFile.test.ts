import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadMigrationDir, MAX_MIGRATION_BYTES, MigrationFileError, parseMigrationFile } from "../../../migrator/migrationFile";

const CONTRACT_HEADER = "-- migrate:requires-version 2.0.0\n";

function parseError(name: string, text: string): MigrationFileError {
    try {
        parseMigrationFile(name, text);
    } catch (error) {
        expect(error).toBeInstanceOf(MigrationFileError);
        return error as MigrationFileError;
    }
    throw new Error(`expected ${name} to be refused`);
}

describe("parseMigrationFile", () => {
    it("reads number, slug, phase and the SHA-256 of the bytes", () => {
        const text = "CREATE TABLE dbo.t (id INT NOT NULL);\n";
        const file = parseMigrationFile("migrations/0007_add-t.expand.sql", text);
        expect(file).toMatchObject({
            name: "0007_add-t.expand.sql", number: 7, slug: "add-t", phase: "expand", path: "migrations/0007_add-t.expand.sql",
            noTransaction: false, checksum: createHash("sha256").update(text).digest("hex"),
        });
        expect(file.requiresVersion).toBeUndefined();
    });

    it.each([
        "0001_initial.sql", "initial.expand.sql", "0001-initial.expand.sql", "0001_initial.migrate.sql", "0001_.expand.sql", "0001_initial.expand.SQL.bak",
    ])("refuses the file name %s, naming it and the expected pattern", (name) => {
        const error = parseError(name, "SELECT 1");
        expect(error.message).toContain(name);
        expect(error.message).toContain("<number>_<slug>.expand.sql");
    });

    it("splits batches on GO lines with their start lines and repeat counts", () => {
        const text = "-- header comment\nCREATE TABLE t (a INT)\nGO\n\nINSERT t VALUES (1)\nGO 3\n/* only a comment */\nGO\nSELECT 'GO\nGO'\n";
        const file = parseMigrationFile("0001_x.expand.sql", text);
        expect(file.batches).toEqual([
            { sql: "-- header comment\nCREATE TABLE t (a INT)\n", startLine: 1, repeat: 1 },
            { sql: "\nINSERT t VALUES (1)\n", startLine: 4, repeat: 3 },
            { sql: "SELECT 'GO\nGO'\n", startLine: 9, repeat: 1 },
        ]);
        for (const batch of file.batches) {
            expect(text.split("\n")[batch.startLine - 1]).toBe(batch.sql.split("\n")[0]);
        }
    });

    it("reads -- migrate:no-transaction and -- migrate:requires-version from the header", () => {
        const file = parseMigrationFile("0003_drop_old.contract.sql", "-- migrate:no-transaction\n-- migrate:requires-version 2.1.0-rc.1\nDROP TABLE x");
        expect(file).toMatchObject({ noTransaction: true, requiresVersion: "2.1.0-rc.1", phase: "contract" });
    });

    it.each([
        ["a contract file without requires-version", "0003_x.contract.sql", "DROP TABLE x", "needs \"-- migrate:requires-version <semver>\""],
        ["requires-version in an expand file", "0003_x.expand.sql", CONTRACT_HEADER + "SELECT 1", "only for contract migrations"],
        ["a requires-version that is not semver", "0003_x.contract.sql", "-- migrate:requires-version v2\nSELECT 1", "\"v2\" is not a semantic version"],
        ["an unknown header", "0003_x.expand.sql", "-- migrate:no-transactions\nSELECT 1", "unknown header \"-- migrate:no-transactions\""],
        ["a header after the first statement", "0003_x.expand.sql", "SELECT 1\n-- migrate:no-transaction\n", "after the first statement"],
        ["an unterminated string", "0003_x.expand.sql", "SELECT 1\nSELECT 'abc", "unterminated string"],
    ])("refuses %s with the reason", (_, name, text, reason) => {
        const error = parseError(name, text);
        expect(error.message).toContain(name);
        expect(error.message).toContain(reason);
    });

    it("reports the line of a bad header", () => {
        expect(parseError("0003_x.expand.sql", "\n\n-- migrate:bogus\n").line).toBe(3);
    });

    it("checksums the bytes as given and decodes a UTF-16 file with a byte-order mark", () => {
        const text = "-- é\nSELECT N'ü'";
        const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
        const file = parseMigrationFile("0001_x.expand.sql", bytes);
        expect(file.checksum).toBe(createHash("sha256").update(bytes).digest("hex"));
        expect(file.text).toBe(text);
    });
});

describe("loadMigrationDir", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrations-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("refuses (so the runner refuses) a migration it cannot decode: UTF-16 without a byte-order mark", () => {
        fs.writeFileSync(path.join(dir, "0001_a.expand.sql"), "SELECT 1");
        fs.writeFileSync(path.join(dir, "0002_b.expand.sql"), Buffer.from("ALTER TABLE t DROP COLUMN c;", "utf16le"));
        expect(() => loadMigrationDir(dir)).toThrow(/0002_b\.expand\.sql: cannot be read as text: .*binary, or UTF-16 without a byte-order mark/);
    });

    it("refuses (so the runner refuses) a migration over the size limit", () => {
        fs.writeFileSync(path.join(dir, "0001_a.expand.sql"), "");
        fs.truncateSync(path.join(dir, "0001_a.expand.sql"), MAX_MIGRATION_BYTES + 1);
        expect(() => loadMigrationDir(dir)).toThrow(/0001_a\.expand\.sql: is 64\.0 MiB; migration files over 64 MiB are refused/);
    });

    it("returns the files sorted by number, ignoring files that are not .sql", () => {
        fs.writeFileSync(path.join(dir, "10_ten.expand.sql"), "SELECT 10");
        fs.writeFileSync(path.join(dir, "2_two.contract.sql"), CONTRACT_HEADER + "SELECT 2");
        fs.writeFileSync(path.join(dir, "0001_one.expand.sql"), "SELECT 1");
        fs.writeFileSync(path.join(dir, "README.md"), "notes");
        expect(loadMigrationDir(dir).map((f) => f.name)).toEqual(["0001_one.expand.sql", "2_two.contract.sql", "10_ten.expand.sql"]);
    });

    it("refuses two files with the same number, naming both", () => {
        fs.writeFileSync(path.join(dir, "0002_a.expand.sql"), "SELECT 1");
        fs.writeFileSync(path.join(dir, "002_b.expand.sql"), "SELECT 1");
        expect(() => loadMigrationDir(dir)).toThrow(/number 2 is used twice \(0002_a.expand.sql and 002_b.expand.sql\)/);
    });

    it("refuses a .sql file with a bad name instead of skipping it", () => {
        fs.writeFileSync(path.join(dir, "add_column.sql"), "SELECT 1");
        expect(() => loadMigrationDir(dir)).toThrow(/"add_column.sql" is not a migration file name/);
    });

    it("refuses a directory that does not exist, saying to pass --dir", () => {
        expect(() => loadMigrationDir(path.join(dir, "nope"))).toThrow(/--dir/);
    });
});
