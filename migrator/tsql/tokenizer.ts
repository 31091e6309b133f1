/**
 * A small, lossless T-SQL tokenizer: enough to split batches on `GO` and to classify statements for the
 * migration linter. Joining the `text` of every token gives back the input exactly.
 *
 * It understands what makes naive regex linters wrong: `--` and nested `/* /* *\/ *\/` comments, `'strings'`
 * and `N'strings'` with doubled quotes, `[bracketed]` names with `]]`, `"quoted"` names, and `GO` batch
 * separators (only alone on their line, with an optional repeat count, and never inside a comment or string).
 * With `dialect: "postgres"` it reads the PostgreSQL twins instead: `$tag$ … $tag$` strings, and `[` is punctuation.
 */

export type TokenKind =
    | "whitespace"
    | "lineComment"
    | "blockComment"
    | "string"
    | "bracketIdentifier"
    | "quotedIdentifier"
    | "number"
    | "word"
    | "variable"
    | "punctuation"
    | "go"
    /** The rows of an `INSERT … VALUES (…), (…)` list folded into one token (migrator/tsql/batches.ts; never from tokenize). */
    | "valuesRows";

export interface Token {
    readonly kind: TokenKind;
    /** The exact source text of the token. */
    readonly text: string;
    /** 1-based line of the token's first character. */
    readonly line: number;
    /** Offset of the token's first character in the input. */
    readonly offset: number;
    /**
     * For identifiers (`word`, `bracketIdentifier`, `quotedIdentifier`): the name without quoting.
     * For `string`: the content with doubled quotes undone. For `go`: the repeat count as text.
     */
    readonly value: string;
}

export type Dialect = "tsql" | "postgres";

export interface TokenizeOptions {
    /** @default "tsql" */
    readonly dialect?: Dialect;
}

/** A token that cannot be finished (unterminated string, comment or name), with the line where it starts. */
export class TsqlSyntaxError extends Error {
    constructor(
        message: string,
        readonly line: number,
    ) {
        super(`line ${line}: ${message}`);
        this.name = "TsqlSyntaxError";
    }
}

const GO_LINE = /[ \t]*GO(?:[ \t]+(\d+))?[ \t]*(?=--|\r?\n|$)/iy;
const SPACE = /\s/;
const LINE_END = /[\r\n]/g;
const WORD = /[\p{L}_#][\p{L}\p{M}\p{N}_@#$]*/uy;
const VARIABLE = /@@?[\p{L}\p{M}\p{N}_@#$]*/uy;
const DOLLAR_TAG = /\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/y;
const MULTI_PUNCT = /(?:<>|!=|>=|<=|!<|!>|\+=|-=|\*=|\/=|%=|&=|\|=|\^=|::|\|\|)/y;

const MULTI_PUNCT_START = new Set("<>!+-*/%&|^:=");
/** Kinds whose text can hold a newline (the line count moves past them). */
const MAY_SPAN_LINES: ReadonlySet<TokenKind> = new Set<TokenKind>(["whitespace", "blockComment", "string", "bracketIdentifier", "quotedIdentifier"]);

/** JavaScript's `\s`, with the ASCII cases first. */
function isSpace(code: number): boolean {
    if (code < 128) return code === 32 || (code >= 9 && code <= 13);
    return SPACE.test(String.fromCharCode(code));
}

function isAsciiDigit(code: number): boolean {
    return code >= 48 && code <= 57;
}

/** `[A-Za-z_#]`: an ASCII character that starts a word. */
function isAsciiWordStart(code: number): boolean {
    return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 35;
}

/** `[A-Za-z0-9_@#$]`: an ASCII character that continues a word. */
function isAsciiWordPart(code: number): boolean {
    return isAsciiWordStart(code) || isAsciiDigit(code) || code === 64 || code === 36;
}

/** End of the number at `pos`: `\d+\.?\d*` or `\.\d+`, then an optional exponent `[eE][+-]?\d+`. */
function endOfNumber(text: string, pos: number): number {
    let i = pos;
    while (isAsciiDigit(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === 46) {
        i++;
        while (isAsciiDigit(text.charCodeAt(i))) i++;
    }
    const e = text.charCodeAt(i);
    if (e === 69 || e === 101) {
        let j = i + 1;
        const sign = text.charCodeAt(j);
        if (sign === 43 || sign === 45) j++;
        if (isAsciiDigit(text.charCodeAt(j))) {
            while (isAsciiDigit(text.charCodeAt(j))) j++;
            i = j;
        }
    }
    return i;
}

function matchAt(re: RegExp, text: string, pos: number): RegExpExecArray | null {
    re.lastIndex = pos;
    return re.exec(text);
}

/** Position just after the closing `quote`, honouring doubled quotes; -1 when unterminated. */
function endOfQuoted(text: string, start: number, quote: string): number {
    let i = start;
    for (;;) {
        const next = text.indexOf(quote, i);
        if (next < 0) return -1;
        if (text[next + 1] === quote) {
            i = next + 2;
            continue;
        }
        return next + 1;
    }
}

/** Position just after a nested block comment starting at `start` (which points at `/*`); -1 when unterminated. */
function endOfBlockComment(text: string, start: number): number {
    let depth = 0;
    let i = start;
    while (i < text.length) {
        if (text.startsWith("/*", i)) {
            depth++;
            i += 2;
        } else if (text.startsWith("*/", i)) {
            depth--;
            i += 2;
            if (depth === 0) return i;
        } else {
            i++;
        }
    }
    return -1;
}

/**
 * Receives each token of {@link scanTokens} as positions in the input, so a caller that keeps only some tokens (the
 * linter of a 50 MB file) creates no object for the others. `goCount` is set for `go` tokens only.
 */
export type TokenSink = (kind: TokenKind, start: number, end: number, line: number, goCount?: string) => void;

/**
 * The tokenizer itself: calls `sink` for every token, in order (their texts joined give back the input). Throws
 * {@link TsqlSyntaxError} (with the line) on an unterminated string, block comment, bracketed or quoted name.
 */
export function scanTokens(text: string, options: TokenizeOptions, sink: TokenSink): void {
    const dialect = options.dialect ?? "tsql";
    let pos = 0;
    let line = 1;
    const emit = (kind: TokenKind, end: number, goCount?: string): void => {
        sink(kind, pos, end, line, goCount);
        if (MAY_SPAN_LINES.has(kind)) {
            for (let i = pos; i < end; i++) {
                if (text.charCodeAt(i) === 10) line++;
            }
        }
        pos = end;
    };
    while (pos < text.length) {
        const ch = text[pos];
        const code = text.charCodeAt(pos);
        if ((pos === 0 || text.charCodeAt(pos - 1) === 10) && (code === 32 || code === 9 || code === 71 || code === 103)) {
            const go = matchAt(GO_LINE, text, pos);
            if (go) {
                emit("go", pos + go[0].length, go[1] ?? "1");
                continue;
            }
        }
        if (isSpace(code)) {
            // Stop whitespace at a newline so the next line can be checked for GO.
            let end = pos;
            while (end < text.length && isSpace(text.charCodeAt(end))) {
                if (text.charCodeAt(end++) === 10) break;
            }
            emit("whitespace", end);
            continue;
        }
        if (isAsciiDigit(code) || (code === 46 && isAsciiDigit(text.charCodeAt(pos + 1)))) {
            emit("number", endOfNumber(text, pos));
            continue;
        }
        if (isAsciiWordStart(code) && !((code === 78 || code === 110) && text.charCodeAt(pos + 1) === 39)) {
            let end = pos + 1;
            while (end < text.length && isAsciiWordPart(text.charCodeAt(end))) end++;
            if (end >= text.length || text.charCodeAt(end) < 128) {
                emit("word", end);
                continue;
            }
            // A non-ASCII letter follows: the full (Unicode) rule below decides.
        }
        if (ch === "-" && text.charCodeAt(pos + 1) === 45) {
            // A bare CR ends the comment too (as in SQL Server's lexer): `-- x<CR>DROP TABLE t` runs the DROP.
            LINE_END.lastIndex = pos;
            const eol = LINE_END.exec(text);
            emit("lineComment", eol ? eol.index : text.length);
            continue;
        }
        if (ch === "/" && text.charCodeAt(pos + 1) === 42) {
            const end = endOfBlockComment(text, pos);
            if (end < 0) throw new TsqlSyntaxError("unterminated block comment (/* without a matching */)", line);
            emit("blockComment", end);
            continue;
        }
        const isNString = (ch === "N" || ch === "n") && text.charCodeAt(pos + 1) === 39;
        if (ch === "'" || isNString) {
            const end = endOfQuoted(text, isNString ? pos + 2 : pos + 1, "'");
            if (end < 0) throw new TsqlSyntaxError("unterminated string literal (' without a closing ')", line);
            emit("string", end);
            continue;
        }
        if (ch === "[" && dialect === "tsql") {
            const end = endOfQuoted(text, pos + 1, "]");
            if (end < 0) throw new TsqlSyntaxError("unterminated bracketed name ([ without a closing ])", line);
            emit("bracketIdentifier", end);
            continue;
        }
        if (ch === '"') {
            const end = endOfQuoted(text, pos + 1, '"');
            if (end < 0) throw new TsqlSyntaxError('unterminated quoted name (" without a closing ")', line);
            emit("quotedIdentifier", end);
            continue;
        }
        if (ch === "$" && dialect === "postgres") {
            const tag = matchAt(DOLLAR_TAG, text, pos);
            if (tag) {
                const close = text.indexOf(tag[0], pos + tag[0].length);
                if (close < 0) throw new TsqlSyntaxError(`unterminated dollar-quoted string (${tag[0]} without a closing ${tag[0]})`, line);
                emit("string", close + tag[0].length);
                continue;
            }
        }
        const word = matchAt(WORD, text, pos);
        if (word) {
            emit("word", pos + word[0].length);
            continue;
        }
        if (ch === "@") {
            emit("variable", pos + matchAt(VARIABLE, text, pos)![0].length);
            continue;
        }
        const punct = MULTI_PUNCT_START.has(ch) ? matchAt(MULTI_PUNCT, text, pos) : null;
        // Surrogate pairs stay together so the re-joined text is identical.
        const width = punct ? punct[0].length : (text.codePointAt(pos)! > 0xffff ? 2 : 1);
        emit("punctuation", pos + width);
    }
}

/**
 * A token's {@link Token.value} from its text: a string's content with doubled quotes undone (`N'it''s'` → `it's`,
 * `$tag$x$tag$` → `x`), a bracketed or quoted name without its quoting, anything else as written.
 */
export function tokenValue(kind: TokenKind, text: string, dialect: Dialect = "tsql"): string {
    switch (kind) {
        case "string": {
            if (dialect === "postgres" && text.startsWith("$")) {
                const tag = matchAt(DOLLAR_TAG, text, 0);
                if (tag) return text.slice(tag[0].length, text.length - tag[0].length);
            }
            return text.slice(text.startsWith("'") ? 1 : 2, -1).replace(/''/g, "'");
        }
        case "bracketIdentifier":
            return text.slice(1, -1).replace(/]]/g, "]");
        case "quotedIdentifier":
            return text.slice(1, -1).replace(/""/g, '"');
        default:
            return text;
    }
}

/** Builds the {@link Token} of a token {@link scanTokens} reported. */
export function makeToken(text: string, dialect: Dialect, kind: TokenKind, start: number, end: number, line: number, goCount?: string): Token {
    const tokenText = text.slice(start, end);
    const value = kind === "go" ? goCount ?? "1" : tokenValue(kind, tokenText, dialect);
    return { kind, text: tokenText, line, offset: start, value };
}

/**
 * Splits `text` into tokens. Throws {@link TsqlSyntaxError} (with the line) on an unterminated string,
 * block comment, bracketed or quoted name.
 */
export function tokenize(text: string, options: TokenizeOptions = {}): Token[] {
    const dialect = options.dialect ?? "tsql";
    const tokens: Token[] = [];
    scanTokens(text, options, (kind, start, end, line, goCount) => tokens.push(makeToken(text, dialect, kind, start, end, line, goCount)));
    return tokens;
}

/** Whitespace and comments: tokens that never change what a statement means. */
export function isTrivia(token: Token): boolean {
    return token.kind === "whitespace" || token.kind === "lineComment" || token.kind === "blockComment";
}

/** True for a token that names something: a plain word, a `[bracketed]` or a `"quoted"` name. */
export function isIdentifier(token: Token): boolean {
    return token.kind === "word" || token.kind === "bracketIdentifier" || token.kind === "quotedIdentifier";
}

/** True when `token` is the unquoted keyword `keyword` in any letter case (`[DROP]` is a name, not a keyword). */
export function isKeyword(token: Token | undefined, keyword: string): boolean {
    return token !== undefined && token.kind === "word" && token.text.toUpperCase() === keyword;
}

/** The upper-cased text of an unquoted word (`drop` → `DROP`), or "" for anything else (names in brackets included). */
export function keywordOf(token: Token | undefined): string {
    return token !== undefined && token.kind === "word" ? token.text.toUpperCase() : "";
}

/** True when `token` is the punctuation `text` (e.g. `(`, `;`, `.`). */
export function isPunctuation(token: Token | undefined, text: string): boolean {
    return token !== undefined && token.kind === "punctuation" && token.text === text;
}
