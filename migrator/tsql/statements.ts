import { Dialect, Token, isIdentifier, isKeyword, isTrivia, isPunctuation, keywordOf } from "./tokenizer";

/**
 * Splits the tokens of one batch into statements, the way SQL Server does: at `;`, and without semicolons at the
 * next keyword that starts a statement at parenthesis depth 0 (so `DROP TABLE a DROP TABLE b` is two statements).
 * `BEGIN … END`, `BEGIN TRY/CATCH`, `IF … ELSE` and `WHILE` are blocks: their statements come out one by one, marked
 * with the loop they run in. `CASE … END` is an expression, not a block. The body of `CREATE PROCEDURE/VIEW/
 * FUNCTION/TRIGGER` runs later, not now, so it stays inside that one statement (T-SQL makes it the rest of the batch).
 */

export interface Statement {
    /** Significant tokens (no whitespace or comments). */
    readonly tokens: readonly Token[];
    /** Line of the first token. */
    readonly line: number;
    /** True when the statement runs inside a `WHILE` loop (directly or in a block in it). */
    readonly inLoop: boolean;
    /** True inside an `IF`/`ELSE` branch, a `WHILE` body or a `TRY`/`CATCH` block: it may not run, or run several times. */
    readonly conditional: boolean;
    /** `IF` and `WHILE` conditions come out as statements too, with this set. */
    readonly isCondition: boolean;
}

const STATEMENT_START = new Set([
    "ALTER", "BACKUP", "BEGIN", "BREAK", "BULK", "CHECKPOINT", "CLOSE", "COMMIT", "CONTINUE", "CREATE", "DBCC",
    "DEALLOCATE", "DECLARE", "DELETE", "DENY", "DISABLE", "DROP", "ELSE", "ENABLE", "END", "EXEC", "EXECUTE", "FETCH",
    "GOTO", "GRANT", "IF", "INSERT", "KILL", "MERGE", "OPEN", "PRINT", "RAISERROR", "RECONFIGURE", "RESTORE",
    "RETURN", "REVERT", "REVOKE", "ROLLBACK", "SAVE", "SELECT", "SET", "SHUTDOWN", "THROW", "TRUNCATE", "UPDATE",
    "USE", "WAITFOR", "WHILE", "WITH",
]);

/** Object types that can follow DROP; `IF EXISTS` after one of them belongs to the DROP. */
const DROPPABLE = new Set([
    "TABLE", "VIEW", "PROC", "PROCEDURE", "FUNCTION", "TRIGGER", "INDEX", "COLUMN", "CONSTRAINT", "SCHEMA", "TYPE",
    "SEQUENCE", "SYNONYM", "DATABASE", "USER", "ROLE", "DEFAULT", "RULE", "STATISTICS", "ASSEMBLY", "LOGIN",
]);

const ROUTINE_TYPES = new Set(["PROC", "PROCEDURE", "FUNCTION", "VIEW", "TRIGGER"]);

const upper = keywordOf;
const isPunct = isPunctuation;

/** Index after `CREATE [OR ALTER|OR REPLACE]` / `ALTER` when a routine type follows, else -1. */
export function routineTypeIndex(tokens: readonly Token[], start = 0): number {
    let i = start;
    const first = upper(tokens[i]);
    if (first !== "CREATE" && first !== "ALTER") return -1;
    i++;
    if (first === "CREATE" && upper(tokens[i]) === "OR" && ["ALTER", "REPLACE"].includes(upper(tokens[i + 1]))) i += 2;
    return ROUTINE_TYPES.has(upper(tokens[i])) ? i : -1;
}

/** Index just after a dotted name starting at `i` (`a`, `dbo.a`, `db..a`, `[x].[y]`); `i` when there is none. */
export function skipName(tokens: readonly Token[], i: number): number {
    if (!(isIdentifier(tokens[i]) || tokens[i]?.kind === "variable")) return i;
    let j = i + 1;
    while (isPunct(tokens[j], ".")) {
        j++;
        while (isPunct(tokens[j], ".")) j++;
        if (isIdentifier(tokens[j])) j++;
    }
    return j;
}

/** For `ALTER TABLE name [WITH CHECK|NOCHECK]`: the index of the action keyword (ADD, DROP, ALTER, …). */
export function alterTableActionIndex(tokens: readonly Token[], start: number): number {
    if (upper(tokens[start]) !== "ALTER" || upper(tokens[start + 1]) !== "TABLE") return -1;
    let i = skipName(tokens, start + 2);
    if (upper(tokens[i]) === "WITH" && ["CHECK", "NOCHECK"].includes(upper(tokens[i + 1]))) i += 2;
    return i;
}

function isCteStart(tokens: readonly Token[], i: number): boolean {
    if (!isIdentifier(tokens[i + 1])) return false;
    let j = i + 2;
    if (isPunct(tokens[j], "(")) {
        let depth = 0;
        for (; j < tokens.length; j++) {
            if (isPunct(tokens[j], "(")) depth++;
            else if (isPunct(tokens[j], ")") && --depth === 0) break;
        }
        j++;
    }
    return isKeyword(tokens[j], "AS");
}

/** What the scanner knows about the statement so far, to decide whether a keyword continues it. */
interface ScanState {
    readonly start: number;
    verb: string;
    /** INSERT: a SELECT/VALUES/EXEC source was seen. UPDATE: its SET was seen. WITH: its DML was seen. */
    partSeen: boolean;
    routine: boolean;
    grantTargetSeen: boolean;
}

function newScan(tokens: readonly Token[], start: number): ScanState {
    return {
        start,
        verb: upper(tokens[start]),
        partSeen: false,
        routine: routineTypeIndex(tokens, start) >= 0,
        grantTargetSeen: false,
    };
}

/** Decides whether the keyword at `i` (depth 0, not in a CASE) starts a new statement, given the one being read. */
function startsNewStatement(tokens: readonly Token[], i: number, s: ScanState): boolean {
    const token = tokens[i];
    const word = upper(token);
    if (s.routine) return false;
    if (word === "" || !STATEMENT_START.has(word)) return false;
    const prev = upper(tokens[i - 1]);
    const prev2 = upper(tokens[i - 2]);
    if (["GRANT", "REVOKE", "DENY"].includes(s.verb) && !s.grantTargetSeen) return false;
    if (word === "WITH") return isCteStart(tokens, i) && prev !== "AS";
    if (word === "IF") return !(isKeyword(tokens[i + 1], "EXISTS") && DROPPABLE.has(prev));
    if (word === "ROLLBACK" && prev === "WITH") return false;
    if (word === "FETCH" && (prev === "ROWS" || prev === "ROW")) return false;
    if (word === "ALTER" && prev === "OR") return false;
    if (word === "INSERT" && prev === "BULK") return false;
    if ((word === "DELETE" || word === "UPDATE") && (prev === "ON" || prev === "FOR")) return false;
    if (word === "SET" && prev2 === "ON" && (prev === "DELETE" || prev === "UPDATE")) return false;
    if (word === "SELECT" && ["UNION", "ALL", "EXCEPT", "INTERSECT", "FOR"].includes(prev)) return false;
    // MERGE … WHEN … THEN UPDATE SET / DELETE / INSERT belong to the MERGE.
    if (s.verb === "MERGE" && (["UPDATE", "DELETE", "INSERT"].includes(word) && prev === "THEN" || word === "SET" && prev === "UPDATE")) return false;
    if (s.verb === "WITH" && !s.partSeen && ["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"].includes(word)) {
        s.verb = word;
        return false;
    }
    if (s.verb === "INSERT" && !s.partSeen && (word === "SELECT" || word === "EXEC" || word === "EXECUTE")) {
        s.partSeen = true;
        return false;
    }
    if (s.verb === "UPDATE" && !s.partSeen && word === "SET") {
        s.partSeen = true;
        return false;
    }
    if (s.verb === "ALTER") {
        const action = alterTableActionIndex(tokens, s.start);
        if (action >= 0) return i !== action;
        // ALTER INDEX/DATABASE/ROLE …: their own SET, ENABLE, DISABLE, MERGE (RANGE) or DROP (MEMBER) continue them,
        // but a DROP of an object is a new statement.
        if (["SET", "ENABLE", "DISABLE"].includes(word)) return false;
        if (word === "DROP") return DROPPABLE.has(upper(tokens[i + 1]));
    }
    return true;
}

class Splitter {
    readonly statements: Statement[] = [];
    private i = 0;

    constructor(private readonly tokens: readonly Token[]) {}

    run(): Statement[] {
        while (this.i < this.tokens.length) {
            if (isPunct(this.tokens[this.i], ";")) {
                this.i++;
                continue;
            }
            // A stray END/ELSE at the top level: keep it as a statement of its own rather than loop on it.
            if (isKeyword(this.tokens[this.i], "END") || isKeyword(this.tokens[this.i], "ELSE")) {
                this.push(this.i, this.i + 1, false, false, false);
                this.i++;
                continue;
            }
            this.statement(false, false);
        }
        return this.statements;
    }

    private push(start: number, end: number, inLoop: boolean, conditional: boolean, isCondition: boolean): void {
        const tokens = this.tokens.slice(start, end);
        if (tokens.length > 0) this.statements.push({ tokens, line: tokens[0].line, inLoop, conditional, isCondition });
    }

    private skipSemicolons(): void {
        while (isPunct(this.tokens[this.i], ";")) this.i++;
    }

    /** Reads statements until END (not consumed) or the end of the tokens. */
    private block(inLoop: boolean, conditional: boolean): void {
        while (this.i < this.tokens.length) {
            this.skipSemicolons();
            const token = this.tokens[this.i];
            if (token === undefined || isKeyword(token, "END")) return;
            if (isKeyword(token, "ELSE")) {
                // An ELSE without its IF: skip it so the block still ends.
                this.i++;
                continue;
            }
            this.statement(inLoop, conditional);
        }
    }

    private statement(inLoop: boolean, conditional: boolean): void {
        const token = this.tokens[this.i];
        const word = upper(token);
        const next = upper(this.tokens[this.i + 1]);
        if (word === "BEGIN" && !["TRAN", "TRANSACTION", "DISTRIBUTED", "DIALOG", "CONVERSATION"].includes(next)) {
            this.i++;
            // A TRY body may stop at any statement (its error swallowed by the CATCH), and a CATCH body runs only on
            // an error: what they create may not exist afterwards, so both are conditional.
            const tryOrCatch = next === "TRY" || next === "CATCH";
            if (tryOrCatch) this.i++;
            this.block(inLoop, conditional || tryOrCatch);
            if (isKeyword(this.tokens[this.i], "END")) {
                this.i++;
                if (isKeyword(this.tokens[this.i], "TRY") || isKeyword(this.tokens[this.i], "CATCH")) this.i++;
            }
            return;
        }
        if (word === "IF" || word === "WHILE") {
            const start = this.i;
            this.i = this.scan(start + 1, newScan(this.tokens, start));
            this.push(start, this.i, inLoop, conditional, true);
            this.skipSemicolons();
            if (this.i >= this.tokens.length || isKeyword(this.tokens[this.i], "END")) return;
            this.statement(inLoop || word === "WHILE", true);
            if (word === "IF") {
                const save = this.i;
                this.skipSemicolons();
                if (isKeyword(this.tokens[this.i], "ELSE")) {
                    this.i++;
                    this.skipSemicolons();
                    if (this.i < this.tokens.length && !isKeyword(this.tokens[this.i], "END")) this.statement(inLoop, true);
                } else {
                    this.i = save;
                }
            }
            return;
        }
        if ((token.kind === "word" || token.kind === "bracketIdentifier") && isPunct(this.tokens[this.i + 1], ":")
            && !isPunct(this.tokens[this.i + 2], ":")) {
            // A GOTO label.
            this.push(this.i, this.i + 2, inLoop, conditional, false);
            this.i += 2;
            return;
        }
        const start = this.i;
        this.i = this.scan(start + 1, newScan(this.tokens, start));
        this.push(start, this.i, inLoop, conditional, false);
        if (isPunct(this.tokens[this.i], ";")) this.i++;
    }

    /** Returns the index where the statement that began at `s.start` ends (a `;` is not consumed). */
    private scan(from: number, s: ScanState): number {
        let depth = 0;
        let caseDepth = 0;
        let i = from;
        for (; i < this.tokens.length; i++) {
            const token = this.tokens[i];
            if (token.kind === "punctuation") {
                if (token.text === "(") depth++;
                else if (token.text === ")") depth = Math.max(0, depth - 1);
                else if (token.text === ";" && depth === 0 && !s.routine) return i;
                continue;
            }
            if (token.kind !== "word") continue;
            const word = token.text.toUpperCase();
            if (word === "CASE") {
                caseDepth++;
                continue;
            }
            if (word === "END" && caseDepth > 0) {
                caseDepth--;
                continue;
            }
            if (word === "ELSE" && caseDepth > 0) continue;
            if (depth > 0 || caseDepth > 0) continue;
            if (s.verb === "INSERT" && (word === "VALUES" || (word === "DEFAULT" && isKeyword(this.tokens[i + 1], "VALUES")))) s.partSeen = true;
            if (["GRANT", "REVOKE", "DENY"].includes(s.verb) && (word === "TO" || word === "FROM")) s.grantTargetSeen = true;
            if (startsNewStatement(this.tokens, i, s)) return i;
        }
        return i;
    }
}

/** PostgreSQL needs `;` between the statements of a multi-statement string, and bodies are `$$` strings. */
function splitOnSemicolons(tokens: readonly Token[]): Statement[] {
    const statements: Statement[] = [];
    let start = 0;
    let depth = 0;
    const push = (end: number): void => {
        if (end > start) statements.push({ tokens: tokens.slice(start, end), line: tokens[start].line, inLoop: false, conditional: false, isCondition: false });
    };
    tokens.forEach((token, i) => {
        if (isPunct(token, "(")) depth++;
        else if (isPunct(token, ")")) depth = Math.max(0, depth - 1);
        else if (isPunct(token, ";") && depth === 0) {
            push(i);
            start = i + 1;
        }
    });
    push(tokens.length);
    return statements;
}

/** Splits the tokens of one batch (trivia allowed; it is dropped) into statements. */
export function splitStatements(tokens: readonly Token[], dialect: Dialect = "tsql"): Statement[] {
    const significant = tokens.filter((t) => !isTrivia(t) && t.kind !== "go");
    return dialect === "postgres" ? splitOnSemicolons(significant) : new Splitter(significant).run();
}
