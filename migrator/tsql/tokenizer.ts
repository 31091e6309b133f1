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
    | "go";

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
const WHITESPACE = /\s+/y;
const LINE_END = /[\r\n]/g;
const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const WORD = /[\p{L}_#][\p{L}\p{M}\p{N}_@#$]*/uy;
const VARIABLE = /@@?[\p{L}\p{M}\p{N}_@#$]*/uy;
const DOLLAR_TAG = /\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/y;
const MULTI_PUNCT = /(?:<>|!=|>=|<=|!<|!>|\+=|-=|\*=|\/=|%=|&=|\|=|\^=|::|\|\|)/y;

function matchAt(re: RegExp, text: string, pos: number): RegExpExecArray | null {
    re.lastIndex = pos;
    return re.exec(text);
}

function countNewlines(text: string): number {
    let n = 0;
    for (let i = 0; i < text.length; i++) {
        if (text.charCodeAt(i) === 10) n++;
    }
    return n;
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
 * Splits `text` into tokens. Throws {@link TsqlSyntaxError} (with the line) on an unterminated string,
 * block comment, bracketed or quoted name.
 */
export function tokenize(text: string, options: TokenizeOptions = {}): Token[] {
    const dialect = options.dialect ?? "tsql";
    const tokens: Token[] = [];
    let pos = 0;
    let line = 1;
    const push = (kind: TokenKind, end: number, value?: string): void => {
        const tokenText = text.slice(pos, end);
        tokens.push({ kind, text: tokenText, line, offset: pos, value: value ?? tokenText });
        line += countNewlines(tokenText);
        pos = end;
    };
    while (pos < text.length) {
        const ch = text[pos];
        const atLineStart = pos === 0 || text[pos - 1] === "\n";
        if (atLineStart) {
            const go = matchAt(GO_LINE, text, pos);
            if (go) {
                push("go", pos + go[0].length, go[1] ?? "1");
                continue;
            }
        }
        if (/\s/.test(ch)) {
            // Stop whitespace at a newline so the next line can be checked for GO.
            const ws = matchAt(WHITESPACE, text, pos)![0];
            const newline = ws.indexOf("\n");
            push("whitespace", pos + (newline >= 0 ? newline + 1 : ws.length));
            continue;
        }
        if (text.startsWith("--", pos)) {
            // A bare CR ends the comment too (as in SQL Server's lexer): `-- x<CR>DROP TABLE t` runs the DROP.
            LINE_END.lastIndex = pos;
            const eol = LINE_END.exec(text);
            push("lineComment", eol ? eol.index : text.length);
            continue;
        }
        if (text.startsWith("/*", pos)) {
            const end = endOfBlockComment(text, pos);
            if (end < 0) throw new TsqlSyntaxError("unterminated block comment (/* without a matching */)", line);
            push("blockComment", end);
            continue;
        }
        const isNString = (ch === "N" || ch === "n") && text[pos + 1] === "'";
        if (ch === "'" || isNString) {
            const open = isNString ? pos + 1 : pos;
            const end = endOfQuoted(text, open + 1, "'");
            if (end < 0) throw new TsqlSyntaxError("unterminated string literal (' without a closing ')", line);
            push("string", end, text.slice(open + 1, end - 1).replace(/''/g, "'"));
            continue;
        }
        if (ch === "[" && dialect === "tsql") {
            const end = endOfQuoted(text, pos + 1, "]");
            if (end < 0) throw new TsqlSyntaxError("unterminated bracketed name ([ without a closing ])", line);
            push("bracketIdentifier", end, text.slice(pos + 1, end - 1).replace(/]]/g, "]"));
            continue;
        }
        if (ch === '"') {
            const end = endOfQuoted(text, pos + 1, '"');
            if (end < 0) throw new TsqlSyntaxError('unterminated quoted name (" without a closing ")', line);
            push("quotedIdentifier", end, text.slice(pos + 1, end - 1).replace(/""/g, '"'));
            continue;
        }
        if (ch === "$" && dialect === "postgres") {
            const tag = matchAt(DOLLAR_TAG, text, pos);
            if (tag) {
                const close = text.indexOf(tag[0], pos + tag[0].length);
                if (close < 0) throw new TsqlSyntaxError(`unterminated dollar-quoted string (${tag[0]} without a closing ${tag[0]})`, line);
                push("string", close + tag[0].length, text.slice(pos + tag[0].length, close));
                continue;
            }
        }
        const number = matchAt(NUMBER, text, pos);
        if (number) {
            push("number", pos + number[0].length);
            continue;
        }
        const word = matchAt(WORD, text, pos);
        if (word) {
            push("word", pos + word[0].length);
            continue;
        }
        if (ch === "@") {
            push("variable", pos + matchAt(VARIABLE, text, pos)![0].length);
            continue;
        }
        const punct = matchAt(MULTI_PUNCT, text, pos);
        // Surrogate pairs stay together so the re-joined text is identical.
        const width = punct ? punct[0].length : (text.codePointAt(pos)! > 0xffff ? 2 : 1);
        push("punctuation", pos + width);
    }
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
