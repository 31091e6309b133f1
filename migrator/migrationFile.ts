import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { isVersion } from "../release/versions";
import { Dialect, TsqlSyntaxError, scanTokens } from "./tsql/tokenizer";

/** One `GO`-separated batch of a migration file. */
export interface MigrationBatch {
    /** The batch text exactly as in the file (without the `GO` line). */
    readonly sql: string;
    /** 1-based line in the file where the batch text starts. */
    readonly startLine: number;
    /** How many times to run it: the count after `GO` (`GO 5`), otherwise 1. */
    readonly repeat: number;
}

export type MigrationPhase = "expand" | "contract";

/** A parsed migration file: `<number>_<slug>.expand.sql` or `<number>_<slug>.contract.sql`. */
export interface MigrationFile {
    /** The file name, e.g. `0002_add_goal_title.expand.sql`: the key in the journal. */
    readonly name: string;
    /** The leading number, e.g. 2: the order migrations run in. */
    readonly number: number;
    /** The part between the number and the phase, e.g. `add_goal_title`. */
    readonly slug: string;
    readonly phase: MigrationPhase;
    /** The path the file was read from (as given). */
    readonly path: string;
    /** True when the header has `-- migrate:no-transaction`. */
    readonly noTransaction: boolean;
    /** From `-- migrate:requires-version <semver>`: required in contract files, refused in expand files. */
    readonly requiresVersion?: string;
    /** Batches with at least one statement, in file order. */
    readonly batches: readonly MigrationBatch[];
    /** SHA-256 of the file's bytes, lower-case hex. */
    readonly checksum: string;
    /** The decoded text (without a byte-order mark), for the linter. */
    readonly text: string;
    /** The SQL dialect the file was read as. */
    readonly dialect: Dialect;
}

export interface ParseOptions {
    /**
     * `tsql` for SQL Server (the product), `postgres` for the PostgreSQL twins in `migrations/postgres/`.
     * @default "tsql"
     */
    readonly dialect?: Dialect;
}

/** A migration file that cannot be used as it is; the message names the file, the line when known, and the fix. */
export class MigrationFileError extends Error {
    constructor(
        readonly path: string,
        readonly line: number | undefined,
        readonly reason: string,
    ) {
        super(`${path}${line === undefined ? "" : `:${line}`}: ${reason}`);
        this.name = "MigrationFileError";
    }
}

const FILE_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.(expand|contract)\.sql$/;
const EXPECTED_NAME =
    "expected <number>_<slug>.expand.sql or <number>_<slug>.contract.sql, e.g. 0003_add_goal_status.expand.sql " +
    "(slug: letters, digits, _ and -)";
const HEADER = /^--\s*migrate:(\S*)\s*(.*?)\s*$/;

/** Splits a migration file name into its parts, or explains what the name should look like. */
export function parseMigrationName(filePath: string): { name: string; number: number; slug: string; phase: MigrationPhase } {
    const name = path.basename(filePath);
    const match = FILE_NAME.exec(name);
    if (!match) {
        throw new MigrationFileError(filePath, undefined, `"${name}" is not a migration file name: ${EXPECTED_NAME}.`);
    }
    return { name, number: Number(match[1]), slug: match[2], phase: match[3] as MigrationPhase };
}

/**
 * The largest migration file read (64 MiB). Migrations are linted and run where they run (the release agent, a 2 GB
 * VM): the linter reads a file one batch at a time and folds bulk `INSERT … VALUES` rows (migrator/tsql/batches.ts),
 * so a 50 MB bulk INSERT lints in about 3.3 s of CPU with a peak of about 225 MB (`npm run bench:lint-large`); a file over
 * this size is refused before it is read, with what to do instead.
 */
export const MAX_MIGRATION_BYTES = 64 * 1024 * 1024;

/** Reads a migration file's bytes, refusing one over {@link MAX_MIGRATION_BYTES} before reading it. */
export function readMigrationBytes(filePath: string): Buffer {
    const size = fs.statSync(filePath).size;
    if (size > MAX_MIGRATION_BYTES) {
        throw new MigrationFileError(
            filePath,
            undefined,
            `is ${(size / 1024 / 1024).toFixed(1)} MiB; migration files over ${MAX_MIGRATION_BYTES / 1024 / 1024} MiB are refused ` +
                `(a file is linted and run on the release agent, whose memory is bounded): split the change into several ` +
                `migrations, and load bulk data outside migrations (bcp or BULK INSERT from a file).`,
        );
    }
    return fs.readFileSync(filePath);
}

const ENCODINGS = "save it as UTF-8 (with or without a byte-order mark) or as UTF-16 with a byte-order mark (SSMS \"Unicode\")";

/**
 * Decodes file bytes as SQL Server tools write them: UTF-8 with or without a byte-order mark, UTF-16 LE with a mark
 * (SSMS "Unicode"), UTF-16 BE with a mark. Anything else (UTF-16 without a mark, invalid UTF-8, a NUL character:
 * a binary file) is unreadable: a migration that is linted or run must be exactly the text that was reviewed.
 */
export function decodeMigration(filePath: string, bytes: Buffer): string {
    const fail = (why: string): never => {
        throw new MigrationFileError(filePath, undefined, `cannot be read as text: ${why}; ${ENCODINGS}.`);
    };
    let text: string;
    let encoding: string;
    if (bytes[0] === 0xff && bytes[1] === 0xfe) {
        encoding = "UTF-16 LE";
        text = strictDecode(bytes.subarray(2), "utf-16le") ?? fail("it starts with a UTF-16 LE byte-order mark but is not valid UTF-16 LE");
    } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
        encoding = "UTF-16 BE";
        const body = Buffer.from(bytes.subarray(2));
        if (body.length % 2 !== 0) fail("it starts with a UTF-16 BE byte-order mark but has an odd number of bytes");
        text = strictDecode(body.swap16(), "utf-16le") ?? fail("it starts with a UTF-16 BE byte-order mark but is not valid UTF-16 BE");
    } else {
        encoding = "UTF-8";
        const utf8 = strictDecode(bytes, "utf-8");
        if (utf8 === undefined) {
            fail(bytes.includes(0) ? "it is binary, or UTF-16 without a byte-order mark" : "it is not valid UTF-8 (another code page?)");
        }
        text = utf8 as string;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const nul = text.indexOf("\u0000");
    if (nul >= 0) {
        fail(`it holds a NUL character at line ${text.slice(0, nul).split("\n").length} (read as ${encoding}): binary, or UTF-16 without a byte-order mark`);
    }
    return text;
}

function strictDecode(bytes: Uint8Array, encoding: "utf-8" | "utf-16le"): string | undefined {
    if (encoding === "utf-16le" && bytes.length % 2 !== 0) return undefined;
    try {
        // ignoreBOM: the mark was handled above; a second one would be content.
        return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
        return undefined;
    }
}

interface Headers {
    noTransaction: boolean;
    requiresVersion?: string;
}

/**
 * Reads the `-- migrate:` headers, fed one comment at a time. They must come before the first statement: a header
 * further down would look like it applies but would be read too late, so it is refused rather than ignored.
 */
class HeaderReader {
    readonly headers: Headers = { noTransaction: false };
    seenCode = false;

    constructor(
        private readonly filePath: string,
        private readonly phase: MigrationPhase,
    ) {}

    comment(text: string, line: number): void {
        const match = HEADER.exec(text);
        if (!match) return;
        const [, key, value] = match;
        const fail = (reason: string): never => {
            throw new MigrationFileError(this.filePath, line, reason);
        };
        if (this.seenCode) fail(`"${text.trim()}" comes after the first statement; move it to the header comments at the top of the file.`);
        if (key === "no-transaction") {
            if (value !== "") fail(`"-- migrate:no-transaction" takes no value (got "${value}").`);
            this.headers.noTransaction = true;
        } else if (key === "requires-version") {
            if (this.phase === "expand") {
                fail("-- migrate:requires-version is only for contract migrations (an expand migration must work with the live version); remove it, or rename the file to .contract.sql.");
            }
            if (!isVersion(value)) {
                fail(`"${value}" is not a semantic version; write e.g. "-- migrate:requires-version 2.0.0" (the first app version that no longer needs what this migration removes).`);
            }
            if (this.headers.requiresVersion !== undefined) fail("-- migrate:requires-version appears twice; keep one.");
            this.headers.requiresVersion = value;
        } else {
            fail(`unknown header "-- migrate:${key}"; the known headers are "-- migrate:no-transaction" and "-- migrate:requires-version <semver>".`);
        }
    }

    finish(): Headers {
        if (this.phase === "contract" && this.headers.requiresVersion === undefined) {
            throw new MigrationFileError(this.filePath, 1,
                "a contract migration needs \"-- migrate:requires-version <semver>\" at the top: the first app version that no longer needs what it removes (e.g. -- migrate:requires-version 2.0.0).");
        }
        return this.headers;
    }
}

/**
 * Reads the headers and splits the `GO`-separated batches (dropping batches that hold only whitespace and comments)
 * in one pass of the tokenizer, keeping no token: a large file costs its text, not its tokens. A syntax error is
 * reported before a header problem (the first header problem is kept until the whole file has been read).
 */
function readStructure(filePath: string, text: string, dialect: Dialect, phase: MigrationPhase): { headers: Headers; batches: MigrationBatch[] } {
    const reader = new HeaderReader(filePath, phase);
    let headerError: unknown;
    const batches: MigrationBatch[] = [];
    let start = 0;
    let startLine = 1;
    let hasCode = false;
    let afterGo = false;
    const close = (end: number, repeat: number): void => {
        if (hasCode) batches.push({ sql: text.slice(start, end), startLine, repeat });
    };
    try {
        scanTokens(text, { dialect }, (kind, tokenStart, tokenEnd, line, goCount) => {
            if (kind === "go") {
                reader.seenCode = true; // a header after a GO line comes too late as well
                close(tokenStart, Number(goCount ?? "1"));
                start = tokenEnd;
                startLine = line;
                hasCode = false;
                afterGo = true;
                return;
            }
            // The batch after a GO starts on the line after it: the GO line's own newline belongs to neither batch.
            if (afterGo && kind === "whitespace" && text.charCodeAt(tokenEnd - 1) === 10) {
                start = tokenEnd;
                startLine = line + 1;
            }
            afterGo = false;
            if (kind === "lineComment") {
                if (headerError === undefined) {
                    try {
                        reader.comment(text.slice(tokenStart, tokenEnd), line);
                    } catch (error) {
                        headerError = error;
                    }
                }
            } else if (kind !== "whitespace" && kind !== "blockComment") {
                hasCode = true;
                reader.seenCode = true;
            }
        });
    } catch (error) {
        if (error instanceof TsqlSyntaxError) {
            throw new MigrationFileError(filePath, error.line, `${error.message.replace(/^line \d+: /, "")}; fix the SQL so it can be read.`);
        }
        throw error;
    }
    close(text.length, 1);
    if (headerError !== undefined) throw headerError;
    return { headers: reader.finish(), batches };
}

/**
 * Parses one migration file from its path (only the base name matters) and its content.
 * Throws {@link MigrationFileError} for a bad name, bad headers or SQL that cannot be tokenized.
 */
export function parseMigrationFile(filePath: string, content: string | Buffer, options: ParseOptions = {}): MigrationFile {
    const dialect = options.dialect ?? "tsql";
    const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
    const text = typeof content === "string" ? (content.charCodeAt(0) === 0xfeff ? content.slice(1) : content) : decodeMigration(filePath, content);
    const { name, number, slug, phase } = parseMigrationName(filePath);
    const { headers, batches } = readStructure(filePath, text, dialect, phase);
    return {
        name,
        number,
        slug,
        phase,
        path: filePath,
        noTransaction: headers.noTransaction,
        ...(headers.requiresVersion === undefined ? {} : { requiresVersion: headers.requiresVersion }),
        batches,
        checksum: createHash("sha256").update(bytes).digest("hex"),
        text,
        dialect,
    };
}

/**
 * Reads every `*.sql` file in `dir` (not recursively), sorted by number. Any `.sql` file with a bad name, and two
 * files with the same number, are errors (a migration silently skipped is worse than a refused run).
 */
export function loadMigrationDir(dir: string, options: ParseOptions = {}): MigrationFile[] {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (error) {
        throw new MigrationFileError(dir, undefined, `cannot read the migrations directory (${(error as Error).message}); pass an existing directory with --dir.`);
    }
    const files = entries
        .filter((entry) => entry.isFile() && entry.name.toLowerCase().endsWith(".sql"))
        .map((entry) => parseMigrationFile(path.join(dir, entry.name), readMigrationBytes(path.join(dir, entry.name)), options))
        .sort((a, b) => a.number - b.number || a.name.localeCompare(b.name));
    for (let i = 1; i < files.length; i++) {
        if (files[i].number === files[i - 1].number) {
            throw new MigrationFileError(files[i].path, undefined,
                `migration number ${files[i].number} is used twice (${files[i - 1].name} and ${files[i].name}); renumber one of them.`);
        }
    }
    return files;
}
