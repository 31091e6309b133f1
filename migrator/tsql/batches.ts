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

const TRIVIA: ReadonlySet<TokenKind> = new Set(["whitespace", "lineComment", "blockComment"]);

/** Streams `text` batch by batch (see the module comment). Throws TsqlSyntaxError or {@link BatchTooLargeError}. */
export function streamBatches(text: string, options: BatchStreamOptions): void {
    const dialect = options.dialect ?? "tsql";
    const limit = options.maxTokensPerBatch ?? MAX_BATCH_TOKENS;
    let batch: Token[] = [];
    let batchLine = 1;
    // VALUES rows being folded: where they start and end, and a comma read after the last row (it may be followed by
    // another row, or by something else).
    let afterValues = false;
    let rows: { start: number; end: number; line: number } | undefined;
    let depth = 0;
    let comma: Token | undefined;

    const push = (token: Token): void => {
        if (batch.length >= limit) throw new BatchTooLargeError(batchLine, limit);
        batch.push(token);
    };
    const flushRows = (): void => {
        if (rows) {
            const rowsText = text.slice(rows.start, rows.end);
            push({ kind: "valuesRows", text: rowsText, line: rows.line, offset: rows.start, value: rowsText });
        }
        rows = undefined;
        depth = 0;
        if (comma) push(comma);
        comma = undefined;
    };
    const endBatch = (): void => {
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
            // Inside a row: nothing is kept; the row ends where its parentheses balance.
            if (single === 40) depth++;
            else if (single === 41) depth--;
            rows!.end = end;
            return;
        }
        if (single === 40 && (afterValues || (rows && comma))) {
            // The first row after VALUES, or the next one after a comma (which then belongs to the folded rows).
            if (rows) comma = undefined;
            else rows = { start, end, line };
            depth = 1;
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
