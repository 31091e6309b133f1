import { Dialect, Token, TokenKind, makeToken, scanTokens } from "./tokenizer";

/**
 * Reads a file's significant tokens one `GO` batch at a time, so the linter of a large file holds one batch's tokens,
 * never the file's. The rows of an `INSERT … VALUES (…), (…)` list (bulk data, the usual cause of a large migration)
 * become one `valuesRows` token: no rule looks inside a VALUES row (what a statement does is decided outside them),
 * and a 50 MB bulk INSERT is then a handful of tokens instead of millions.
 */

/** The most significant tokens one batch may hold after VALUES rows are folded (about 100 bytes of memory each). */
export const MAX_BATCH_TOKENS = 1_000_000;

/** A batch with more significant tokens than the linter holds at once; `line` is where the batch starts. */
export class BatchTooLargeError extends Error {
    constructor(
        readonly line: number,
        readonly limit: number,
    ) {
        super(
            `the batch starting at line ${line} holds more than ${limit.toLocaleString("en-US")} tokens outside INSERT … VALUES rows ` +
                `(a batch is read whole, about 100 bytes of memory per token): split it with GO lines, or into several migrations`,
        );
        this.name = "BatchTooLargeError";
    }
}

export interface BatchStreamOptions {
    /** @default "tsql" */
    readonly dialect?: Dialect;
    /** @default MAX_BATCH_TOKENS */
    readonly maxTokensPerBatch?: number;
    /** Called once per batch (also for an empty one) with its significant tokens, `GO` excluded. */
    readonly onBatch: (tokens: Token[]) => void;
    /** Called for every `-- line comment`, in order. */
    readonly onLineComment?: (token: Token) => void;
    /** Called with the line of every significant token as read (rows included), in order. */
    readonly onCodeLine?: (line: number) => void;
}

/** The tokens of the row being read, as positions in typed arrays (a bulk INSERT allocates nothing per token). */
class RowBuffer {
    private kinds: TokenKind[] = [];
    private positions = new Int32Array(3 * 64);
    length = 0;

    push(kind: TokenKind, start: number, end: number, line: number): void {
        if (3 * (this.length + 1) > this.positions.length) {
            const grown = new Int32Array(this.positions.length * 2);
            grown.set(this.positions);
            this.positions = grown;
        }
        this.kinds[this.length] = kind;
        const at = 3 * this.length;
        this.positions[at] = start;
        this.positions[at + 1] = end;
        this.positions[at + 2] = line;
        this.length++;
    }

    clear(): void {
        this.length = 0;
    }

    /** Every token held, in order; empties the buffer. */
    take(): { kind: TokenKind; start: number; end: number; line: number }[] {
        const out = Array.from({ length: this.length }, (_, i) => ({
            kind: this.kinds[i], start: this.positions[3 * i], end: this.positions[3 * i + 1], line: this.positions[3 * i + 2],
        }));
        this.clear();
        return out;
    }
}

const TRIVIA: ReadonlySet<TokenKind> = new Set(["whitespace", "lineComment", "blockComment"]);

/** Streams `text` batch by batch (see the module comment). Throws TsqlSyntaxError or {@link BatchTooLargeError}. */
export function streamBatches(text: string, options: BatchStreamOptions): void {
    const dialect = options.dialect ?? "tsql";
    const limit = options.maxTokensPerBatch ?? MAX_BATCH_TOKENS;
    let batch: Token[] = [];
    let batchLine = 1;
    // VALUES rows folded so far (where they start and end), and a comma read after the last one (it may be followed by
    // another row, or by something else).
    let afterValues = false;
    let rows: { start: number; end: number; line: number } | undefined;
    let comma: Token | undefined;
    // The row being read, as positions: folded when it closes, unless it holds CASE or END (the statement splitter
    // counts those at any depth, so such a row is kept as tokens) or never closes before the batch ends.
    let depth = 0;
    let rowStart = 0;
    let rowLine = 0;
    let rowPlain = true;
    const row = new RowBuffer();

    const push = (token: Token): void => {
        if (batch.length + row.length >= limit) throw new BatchTooLargeError(batchLine, limit);
        batch.push(token);
    };
    const flushRows = (): void => {
        if (rows) {
            const rowsText = text.slice(rows.start, rows.end);
            push({ kind: "valuesRows", text: rowsText, line: rows.line, offset: rows.start, value: rowsText });
        }
        rows = undefined;
        if (comma) push(comma);
        comma = undefined;
    };
    /** The row read so far, as ordinary tokens (it is not folded). */
    const unfoldRow = (): void => {
        const kept = row.take();
        flushRows();
        for (const t of kept) push(makeToken(text, dialect, t.kind, t.start, t.end, t.line));
        depth = 0;
    };
    const endBatch = (): void => {
        if (depth > 0) unfoldRow();
        flushRows();
        afterValues = false;
        options.onBatch(batch);
        batch = [];
    };

    scanTokens(text, { dialect }, (kind, start, end, line, goCount) => {
        if (kind === "go") {
            endBatch();
            batchLine = line + 1;
            return;
        }
        if (TRIVIA.has(kind)) {
            if (kind === "lineComment" && options.onLineComment) options.onLineComment(makeToken(text, dialect, kind, start, end, line, goCount));
            return;
        }
        options.onCodeLine?.(line);
        const single = kind === "punctuation" && end === start + 1 ? text.charCodeAt(start) : -1;
        if (depth > 0) {
            // Inside a row: kept as positions until its parentheses balance.
            if (batch.length + row.length >= limit) throw new BatchTooLargeError(batchLine, limit);
            row.push(kind, start, end, line);
            if (kind === "word" && (end - start === 4 || end - start === 3)) {
                const word = text.slice(start, end).toUpperCase();
                if (word === "CASE" || word === "END") rowPlain = false;
            }
            if (single === 40) depth++;
            else if (single === 41 && --depth === 0) {
                if (!rowPlain) {
                    unfoldRow();
                    return;
                }
                if (rows) rows.end = end;
                else rows = { start: rowStart, end, line: rowLine };
                comma = undefined; // the comma between two folded rows is part of their text
                row.clear();
            }
            return;
        }
        if (single === 40 && (afterValues || (rows && comma))) {
            // The first row after VALUES, or the next one after a comma.
            depth = 1;
            rowStart = start;
            rowLine = line;
            rowPlain = true;
            row.push(kind, start, end, line);
            afterValues = false;
            return;
        }
        if (single === 44 && rows && !comma) {
            comma = makeToken(text, dialect, kind, start, end, line);
            return;
        }
        flushRows();
        afterValues = kind === "word" && end - start === 6 && text.slice(start, end).toUpperCase() === "VALUES";
        push(makeToken(text, dialect, kind, start, end, line));
    });
    endBatch();
}
