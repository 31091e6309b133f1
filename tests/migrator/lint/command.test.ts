import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { formatFinding, lintCommand } from "../../../migrator/lint/command";
import { MAX_MIGRATION_BYTES } from "../../../migrator/migrationFile";

const ROOT = path.join(__dirname, "..", "..", "..");

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const code = await lintCommand(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
    return { code, stdout, stderr };
}

describe("lintCommand", () => {
    let dir: string;
    const write = (name: string, text: string): string => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        return file;
    };
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "lint-cmd-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("exits 0 and prints nothing per file for clean migrations", async () => {
        const result = await run([path.join(ROOT, "migrations")]);
        expect(result).toMatchObject({ code: 0, stdout: "" });
        expect(result.stderr).toMatch(/4 file\(s\), 0 error\(s\)/);
    });

    it("prints <path>:<line>: <RULE-ID> per finding and exits 1 on an error", async () => {
        const file = write("0002_bad.expand.sql", "SELECT 1\nDROP TABLE dbo.goals\n");
        const result = await run([file]);
        expect(result.code).toBe(1);
        expect(result.stdout).toMatch(new RegExp(`^${file.replace(/[.\\/]/g, "\\$&")}:2: DROP-TABLE error: drops table dbo\\.goals .* Safe: .*\\n$`));
    });

    describe("encodings: what SQL Server tools write is decoded, anything else is unreadable (exit 2)", () => {
        const dropColumn = "ALTER TABLE dbo.goals DROP COLUMN title;\n";
        const utf16be = (text: string) => Buffer.from(text, "utf16le").swap16();
        it.each([
            ["UTF-8 without a byte-order mark", Buffer.from(dropColumn, "utf8")],
            ["UTF-8 with a byte-order mark", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(dropColumn, "utf8")])],
            ["UTF-16 LE with a byte-order mark (SSMS Unicode)", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(dropColumn, "utf16le")])],
            ["UTF-16 BE with a byte-order mark", Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(dropColumn)])],
        ])("%s: decoded and linted (the dropped column is an error)", async (_what, bytes) => {
            const file = path.join(dir, "0002_drop.expand.sql");
            fs.writeFileSync(file, bytes);
            const result = await run([file]);
            expect(result.code).toBe(1);
            expect(result.stdout).toMatch(/:1: DROP-COLUMN error/);
        });

        it.each([
            ["UTF-16 LE without a byte-order mark", Buffer.from(dropColumn, "utf16le"), /binary, or UTF-16 without a byte-order mark/],
            ["UTF-16 BE without a byte-order mark", utf16be(dropColumn), /binary, or UTF-16 without a byte-order mark/],
            ["a binary file", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]), /binary/],
            ["Windows-1252 text (not UTF-8)", Buffer.from("-- caf\xe9\nALTER TABLE dbo.goals DROP COLUMN title;\n", "latin1"), /not valid UTF-8/],
            ["UTF-16 BE mark with an odd length", Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(dropColumn), Buffer.from([0x41])]), /odd number of bytes/],
            ["valid UTF-8 holding a NUL", Buffer.from("SELECT 1;\n\u0000\n", "utf8"), /NUL character at line 2/],
        ])("%s: unreadable, exit 2, naming the file and the encodings to use", async (_what, bytes, why) => {
            const file = path.join(dir, "0002_drop.expand.sql");
            fs.writeFileSync(file, bytes);
            const result = await run([file]);
            expect(result.code).toBe(2);
            expect(result.stderr).toMatch(why);
            expect(result.stderr).toContain(`${file}: cannot be read as text`);
            expect(result.stderr).toMatch(/UTF-8 \(with or without a byte-order mark\) or as UTF-16 with a byte-order mark/);
        });
    });

    it("refuses a file over the size limit before reading it (exit 2), saying what to do instead", async () => {
        const file = path.join(dir, "0002_huge.expand.sql");
        fs.writeFileSync(file, "");
        fs.truncateSync(file, MAX_MIGRATION_BYTES + 1); // sparse zeros: read, they would be "binary", not "too big"
        const result = await run([file]);
        expect(result.code).toBe(2);
        expect(result.stderr).toContain(`${file}: is 64.0 MiB; migration files over 64 MiB are refused`);
        expect(result.stderr).toMatch(/split the change into several migrations/);
        // At the limit it is read: these zeros are then refused as binary, not for their size.
        fs.truncateSync(file, MAX_MIGRATION_BYTES);
        const atLimit = await run([file]);
        expect(atLimit.code).toBe(2);
        expect(atLimit.stderr).toContain(`${file}: cannot be read as text`);
    });

    it("exits 0 when there are only warnings, and prints them", async () => {
        write("0002_index.expand.sql", "CREATE INDEX ix ON dbo.goals (title)");
        const result = await run([dir]);
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/:1: INDEX-WITHOUT-ONLINE warning: /);
    });

    it("prints allowed findings marked as allowed with the reason, and exits 0", async () => {
        write("0002_x.expand.sql", "-- lint:allow DROP-TABLE created by 0001 in this same release, never live\nDROP TABLE dbo.drafts");
        const result = await run([dir]);
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/:2: DROP-TABLE error allowed \(created by 0001 in this same release, never live\): drops table/);
    });

    it.each([
        ["no paths", [], /name at least one migration file or directory/],
        ["an unknown option", ["--fix", "x.sql"], /unknown option "--fix"/],
        ["a bad dialect", ["--dialect", "oracle", "x.sql"], /--dialect must be tsql or postgres \(got "oracle"\)/],
    ])("exits 2 on a usage error: %s", async (_, argv, message) => {
        const result = await run(argv as string[]);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(message);
        expect(result.stderr).toMatch(/usage: npm run --silent db -- lint/);
    });

    it("exits 2 for a path that does not exist, naming it", async () => {
        const result = await run([path.join(dir, "missing.sql")]);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/missing\.sql: cannot read it \(ENOENT\)/);
    });

    it("exits 2 for a file that cannot be tokenized, naming the file and line, and still lints the others", async () => {
        write("0001_ok.expand.sql", "DROP TABLE dbo.goals");
        write("0002_broken.expand.sql", "SELECT 1\nSELECT 'unterminated\n");
        const result = await run([dir]);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/0002_broken\.expand\.sql:2: unterminated string literal/);
        expect(result.stdout).toMatch(/0001_ok\.expand\.sql:1: DROP-TABLE/);
    });

    it("exits 2 for a .sql file whose name is not a migration name", async () => {
        write("cleanup.sql", "SELECT 1");
        const result = await run([dir]);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/"cleanup\.sql" is not a migration file name: expected <number>_<slug>\.expand\.sql/);
    });

    it("lints the PostgreSQL twins with --dialect postgres", async () => {
        const result = await run(["--dialect", "postgres", path.join(ROOT, "migrations", "postgres")]);
        expect(result.code).toBe(0);
    });

    it("formats an allowed warning with its reason", () => {
        expect(formatFinding({ path: "m.sql", line: 3, ruleId: "X", severity: "warning", message: "m", allowed: { reason: "r" } })).toBe("m.sql:3: X warning allowed (r): m");
    });
});
