import * as fs from "fs";
import * as path from "path";
import { MigrationFile, MigrationFileError, MigrationPhase, parseMigrationFile, readMigrationBytes } from "../migrationFile";
import { Classified, ObjectName, UNKNOWN_PART, classify, evaluateStringExpression, nameFromParts, stringArguments } from "../tsql/classify";
import { BatchTooLargeError, streamBatches } from "../tsql/batches";
import { Statement, splitStatements } from "../tsql/statements";
import { Dialect, Token, TsqlSyntaxError, tokenize } from "../tsql/tokenizer";
import { ALLOWABLE_RULE_IDS, RULES, Severity, nextVersionName, ruleById } from "./rules";

/** One problem found in a migration file. */
export interface Finding {
    readonly path: string;
    readonly line: number;
    readonly ruleId: string;
    readonly severity: Severity;
    /** What is wrong and the safe way to do it. */
    readonly message: string;
    /** Set when a `-- lint:allow <RULE-ID> <reason>` comment on the line before covers it. */
    readonly allowed?: { readonly reason: string };
}

/** What the file has created so far: changing those breaks nothing live. */
interface Created {
    readonly tables: Set<string>;
    readonly columns: Set<string>;
    readonly routines: Set<string>;
    readonly indexes: Set<string>;
    readonly constraints: Set<string>;
    readonly objects: Set<string>;
}

interface Context {
    readonly file: MigrationFile;
    /** Created unconditionally earlier in the file: exempt. (A CREATE inside IF may not have run, so it exempts nothing.) */
    readonly created: Created;
    /** Bodies of procedures created in this file (even conditionally), checked where the file EXECs them. */
    readonly bodies: Map<string, readonly Token[]>;
    readonly findings: Finding[];
    readonly reported: Set<string>;
    /** For each finding: the offset of the file-level statement it comes from (an EXEC, for nested SQL). */
    readonly statementOf: Map<Finding, number>;
    /** Synonyms created in this file (even conditionally): their key → the target's name tokens. */
    readonly synonyms: Map<string, readonly Token[]>;
}

/** Where findings of nested SQL (dynamic SQL, a procedure run here) are reported, and how deep we are. */
interface Scope {
    readonly line?: number;
    readonly prefix: string;
    readonly depth: number;
    /** Inside an IF/WHILE of an enclosing level (the EXEC that ran this SQL was conditional). */
    readonly conditional: boolean;
    /** Where the enclosing EXECs are (their offsets), so statements of different EXECs never look alike. */
    readonly origin: string;
}

const MAX_NESTING = 4;
type Variables = Map<string, readonly string[] | undefined>;

function fill(template: string, details: Record<string, string>): string {
    const all: Record<string, string> = { next: nextVersionName(details.name ?? ""), ...details };
    return template.replace(/\{(\w+)\}/g, (whole, key: string) => all[key] ?? whole);
}

function report(ctx: Context, scope: Scope, statement: Statement, ruleId: string, details: Record<string, string>): void {
    const rule = ruleById(ruleId);
    if (!rule.phases.includes(ctx.file.phase)) return;
    const message = `${scope.prefix}${fill(rule.problem, details)}. Safe: ${fill(rule.safe, details)}`;
    const line = scope.line ?? statement.line;
    // The same statement can be reached twice (two possible texts of one dynamic SQL variable): report it once.
    const key = `${scope.origin}/${statement.tokens[0].offset}|${ruleId}|${message}`;
    if (ctx.reported.has(key)) return;
    ctx.reported.add(key);
    const finding: Finding = { path: ctx.file.path, line, ruleId, severity: rule.severity, message };
    ctx.findings.push(finding);
    ctx.statementOf.set(finding, scope.origin === "" ? statement.tokens[0].offset : Number(scope.origin.split("/")[1]));
}

const isNewTable = (ctx: Context, table: ObjectName): boolean => table.temporary || ctx.created.tables.has(table.key);
const columnKey = (table: ObjectName, column: string): string => `${table.key}.${column.toLowerCase()}`;
const constraintKey = (table: ObjectName, name: string): string => `${table.key.split(".")[0]}.${name.toLowerCase()}`;

function checkAlterTable(ctx: Context, scope: Scope, st: Statement, c: Extract<Classified, { kind: "alterTable" }>, created: Created): void {
    const { table, action } = c;
    const isNew = isNewTable(ctx, table);
    switch (action.type) {
        case "add":
            for (const column of action.columns) {
                const key = columnKey(table, column.name);
                if (!isNew) {
                    const details = { name: `${table.text}.${column.name}`, table: table.text };
                    if (column.notNull && !column.hasDefault && !column.identity && !column.computed) {
                        report(ctx, scope, st, "ADD-NOT-NULL-COLUMN-WITHOUT-DEFAULT", details);
                    }
                    if (column.identity) report(ctx, scope, st, "ADD-IDENTITY-COLUMN", details);
                    if (column.volatileDefault && (column.notNull || column.withValues)) report(ctx, scope, st, "ADD-COLUMN-VOLATILE-DEFAULT", details);
                }
                created.columns.add(key);
            }
            for (const constraint of action.constraints) {
                if (constraint.name) created.constraints.add(constraintKey(table, constraint.name));
                if (isNew) continue;
                const details = { name: constraint.name ?? `(unnamed ${constraint.kind})`, table: table.text, kind: constraint.kind };
                if ((constraint.kind === "FOREIGN KEY" || constraint.kind === "CHECK") && c.withCheck !== "NOCHECK" && !constraint.onNewColumn) {
                    report(ctx, scope, st, "CONSTRAINT-WITH-CHECK", details);
                }
                if (constraint.kind === "PRIMARY KEY" || constraint.kind === "UNIQUE") {
                    report(ctx, scope, st, "UNIQUE-ON-EXISTING-TABLE", details);
                    if (!c.online) report(ctx, scope, st, "INDEX-WITHOUT-ONLINE", details);
                }
            }
            return;
        case "drop":
            if (isNew) return;
            for (const column of action.columns) {
                if (!ctx.created.columns.has(columnKey(table, column))) report(ctx, scope, st, "DROP-COLUMN", { name: `${table.text}.${column}` });
            }
            for (const constraint of action.constraints) {
                if (!ctx.created.constraints.has(constraintKey(table, constraint))) report(ctx, scope, st, "DROP-CONSTRAINT", { name: constraint });
            }
            return;
        case "alterColumn":
            if (!isNew && !ctx.created.columns.has(columnKey(table, action.column))) report(ctx, scope, st, "ALTER-COLUMN", { name: `${table.text}.${action.column}` });
            return;
        case "rename":
            if (!isNew) report(ctx, scope, st, "RENAME", { name: `${table.text} (${action.what})` });
            return;
        case "setSchema":
            if (!isNew) report(ctx, scope, st, "SCHEMA-TRANSFER", { name: table.text, schema: action.schema });
            return;
        case "toggleTrigger":
            if (!isNew) report(ctx, scope, st, "ALTER-TRIGGER", { name: `on ${table.text}` });
            return;
        case "switchOut":
            // The source loses its rows (all of them, or a partition's) as surely as with TRUNCATE.
            if (!isNew) report(ctx, scope, st, "TRUNCATE-TABLE", { name: `${table.text} (ALTER TABLE … SWITCH moves its rows to another table)` });
            return;
        default:
            return;
    }
}

/** sp_rename's first argument names the object (`'dbo.goals.name'` with 'COLUMN'); is that object new in this file? */
function renamesNewObject(ctx: Context, args: readonly (string | undefined)[]): boolean {
    if (args[0] === undefined) return false; // a variable or expression: cannot tell, so it counts as live
    const parts = args[0].split(".").map((p) => p.replace(/^\[(.*)\]$/, "$1"));
    const type = (args[2] ?? "").toUpperCase();
    if (type === "COLUMN" || type === "INDEX" || parts.length >= 3) {
        const table = nameFromParts(parts.slice(0, -1).join("."), parts.slice(0, -1));
        return isNewTable(ctx, table) || ctx.created.columns.has(columnKey(table, parts[parts.length - 1]));
    }
    const name = nameFromParts(args[0] ?? "", parts);
    return isNewTable(ctx, name) || ctx.created.routines.has(name.key) || ctx.created.objects.has(name.key);
}

function checkDrop(ctx: Context, scope: Scope, st: Statement, c: Extract<Classified, { kind: "drop" }>): void {
    for (const name of c.names) {
        const details = { name: name.text, type: c.typeWord };
        switch (c.objectType) {
            case "TABLE":
                if (!isNewTable(ctx, name)) report(ctx, scope, st, "DROP-TABLE", details);
                break;
            case "VIEW":
            case "PROCEDURE":
            case "FUNCTION":
            case "TRIGGER":
                if (!ctx.created.routines.has(name.key)) report(ctx, scope, st, `DROP-${c.objectType}`, details);
                break;
            case "INDEX": {
                const table = c.table;
                const index = name.parts[name.parts.length - 1]?.toLowerCase() ?? "";
                if (!(table && (isNewTable(ctx, table) || ctx.created.indexes.has(`${table.key}.${index}`)))) report(ctx, scope, st, "DROP-INDEX", details);
                break;
            }
            default:
                if (!name.temporary && !ctx.created.objects.has(name.key)) report(ctx, scope, st, "DROP-OBJECT", details);
        }
    }
}

function assign(variables: Variables, st: Statement, c: Extract<Classified, { kind: "assign" }>, isDeclare: boolean): void {
    for (const a of c.assignments) {
        let value: readonly string[] | undefined;
        if (a.value.length === 0) value = isDeclare ? [""] : undefined;
        else {
            const evaluated = evaluateStringExpression(a.value, variables);
            if (a.compound) {
                const before = variables.get(a.variable);
                value = before && evaluated ? before.flatMap((b) => evaluated.map((e) => b + e)) : undefined;
            } else {
                value = evaluated;
            }
        }
        if (st.inLoop) {
            // After any number of iterations: the value before the loop, after one, or one the linter cannot tell
            // (UNKNOWN_PART keeps the DYNAMIC-SQL warning); what one iteration builds is still checked.
            const union = value ? [...new Set([...(variables.get(a.variable) ?? []), ...value, UNKNOWN_PART])] : undefined;
            value = union && union.length <= 32 ? union : undefined;
        } else if (st.conditional) {
            const before = variables.get(a.variable);
            value = before && value ? [...new Set([...before, ...value])] : undefined;
        }
        variables.set(a.variable, value);
    }
}

/** The scope of SQL run by statement `st` (dynamic SQL, a procedure body): reported at `st`'s line. */
function nested(scope: Scope, st: Statement, prefix: string): Scope {
    return {
        line: scope.line ?? st.line, prefix: `${scope.prefix}${prefix}`, depth: scope.depth + 1,
        conditional: scope.conditional || st.conditional, origin: `${scope.origin}/${st.tokens[0].offset}`,
    };
}

function lintNested(ctx: Context, scope: Scope, st: Statement, sql: string, label: string, parameters?: ReadonlyMap<string, readonly string[] | undefined>): void {
    if (scope.depth >= MAX_NESTING) {
        report(ctx, scope, st, "DYNAMIC-SQL", { name: `${label} nested more than ${MAX_NESTING} levels deep` });
        return;
    }
    let tokens: Token[];
    try {
        tokens = tokenize(sql);
    } catch (error) {
        if (!(error instanceof TsqlSyntaxError)) throw error;
        report(ctx, scope, st, "DYNAMIC-SQL", { name: `${label}: ${error.message}` });
        return;
    }
    lintStatements(ctx, nested(scope, st, `in ${label}: `), splitStatements(tokens), parameters);
}

/** Where a statement records what it creates: the file's set, or a throw-away one when it may not run. */
function recorder(ctx: Context, scope: Scope, st: Statement): Created {
    if (!st.conditional && !scope.conditional) return ctx.created;
    return { tables: new Set(), columns: new Set(), routines: new Set(), indexes: new Set(), constraints: new Set(), objects: new Set() };
}

/** What in the statement cannot run inside a transaction, if anything (see the NEEDS-NO-TRANSACTION rule). */
export function notInTransaction(tokens: readonly Token[], dialect: Dialect): string | undefined {
    const kw = (i: number): string => (tokens[i]?.kind === "word" ? tokens[i].text.toUpperCase() : "");
    if (dialect === "tsql") {
        if (tokens.some((_, i) => kw(i) === "RESUMABLE" && tokens[i + 1]?.text === "=" && kw(i + 2) === "ON")) return "RESUMABLE = ON";
        if (kw(0) === "ALTER" && kw(1) === "DATABASE") return "ALTER DATABASE";
        return undefined;
    }
    if ((kw(0) === "CREATE" || kw(0) === "DROP" || kw(0) === "REINDEX") && tokens.some((_, i) => kw(i) === "CONCURRENTLY")) return `${kw(0)} … CONCURRENTLY`;
    if (kw(0) === "VACUUM") return "VACUUM";
    if (kw(0) === "CREATE" && kw(1) === "DATABASE") return "CREATE DATABASE";
    return undefined;
}

function checkStatement(ctx: Context, scope: Scope, st: Statement, c: Classified, variables: Variables): void {
    const created = recorder(ctx, scope, st);
    const outsideOnly = ctx.file.noTransaction ? undefined : notInTransaction(st.tokens, ctx.file.dialect);
    if (outsideOnly) report(ctx, scope, st, "NEEDS-NO-TRANSACTION", { name: outsideOnly });
    switch (c.kind) {
        case "drop":
            checkDrop(ctx, scope, st, c);
            return;
        case "alterTable":
            checkAlterTable(ctx, scope, st, c, created);
            return;
        case "schemaTransfer":
            if (!isNewTable(ctx, c.object) && !created.routines.has(c.object.key)) report(ctx, scope, st, "SCHEMA-TRANSFER", { name: c.object.text, schema: c.schema });
            return;
        case "rename":
            report(ctx, scope, st, "RENAME", { name: c.args[0] ?? "an object" });
            return;
        case "truncate":
            if (!isNewTable(ctx, c.table)) report(ctx, scope, st, "TRUNCATE-TABLE", { name: c.table.text });
            return;
        case "createIndex":
            created.indexes.add(`${c.table.key}.${c.name.toLowerCase()}`);
            if (isNewTable(ctx, c.table)) return;
            if (!c.online) report(ctx, scope, st, "INDEX-WITHOUT-ONLINE", { name: c.name, table: c.table.text });
            if (c.unique) report(ctx, scope, st, "UNIQUE-ON-EXISTING-TABLE", { name: c.name, table: c.table.text });
            return;
        case "rebuildIndex":
            if (!c.online && !isNewTable(ctx, c.table)) report(ctx, scope, st, "INDEX-WITHOUT-ONLINE", { name: "(rebuild)", table: c.table.text });
            return;
        case "createTable":
        case "selectInto":
            created.tables.add(c.table.key);
            return;
        case "createObject":
            created.objects.add(c.name.key);
            if (c.target && c.target.length > 0) ctx.synonyms.set(c.name.key, c.target);
            return;
        case "routine":
            if (c.mode !== "create" && !ctx.created.routines.has(c.name.key)) {
                report(ctx, scope, st, c.objectType === "TRIGGER" ? "ALTER-TRIGGER" : "ALTER-ROUTINE-IN-PLACE", { name: c.name.text, type: c.objectType });
            }
            created.routines.add(c.name.key);
            if (c.objectType === "PROCEDURE") ctx.bodies.set(c.name.key, c.body);
            return;
        case "toggleTrigger":
            report(ctx, scope, st, "ALTER-TRIGGER", { name: st.tokens.slice(2, 3).map((t) => t.text).join("") });
            return;
        case "update":
        case "delete": {
            if (isNewTable(ctx, c.target)) return;
            const batched = c.hasTop && st.inLoop;
            if (!c.hasWhere && !batched) report(ctx, scope, st, c.kind === "update" ? "WHOLE-TABLE-UPDATE" : "WHOLE-TABLE-DELETE", { name: c.target.text });
            if (batched && !ctx.file.noTransaction) report(ctx, scope, st, "BATCHES-IN-TRANSACTION", { name: c.target.text });
            return;
        }
        case "execProcedure": {
            const synonym = ctx.synonyms.get(c.procedure.key);
            if (synonym && scope.depth < MAX_NESTING) {
                // EXEC dbo.r … where dbo.r is a synonym (e.g. FOR sys.sp_rename): checked as a call of its target.
                const call: Statement = { ...st, tokens: [...synonym, ...c.args] };
                checkStatement(ctx, nested(scope, st, `through synonym ${c.procedure.text}: `), call, classify(call, variables, true, ctx.file.dialect), variables);
                return;
            }
            const proc = c.procedure.key.replace(/^(dbo|sys)\./, "");
            if (proc === "sp_renamedb") {
                report(ctx, scope, st, "RENAME", { name: `database ${stringArguments(c.args)[0] ?? "(a variable)"}` });
                return;
            }
            if (proc === "sp_rename") {
                const args = stringArguments(c.args);
                if (!renamesNewObject(ctx, args)) report(ctx, scope, st, "RENAME", { name: `${args[0] === undefined ? "(an object named by a variable)" : `'${args[0]}'`} to ${args[1] === undefined ? "(a variable)" : `'${args[1]}'`}` });
                return;
            }
            const body = ctx.bodies.get(c.procedure.key);
            if (body && body.length > 0 && scope.depth < MAX_NESTING) {
                lintStatements(ctx, nested(scope, st, `in ${c.procedure.text} (created and run here): `), splitStatements(body));
            }
            return;
        }
        case "dynamicSql":
            if (!c.sql.candidates) {
                report(ctx, scope, st, "DYNAMIC-SQL", { name: st.tokens.map((t) => t.text).join(" ").slice(0, 80) });
                return;
            }
            // Parts it cannot read are not checked (a warning), but what is around them is.
            if (c.sql.candidates.some((sql) => sql.includes(UNKNOWN_PART))) {
                report(ctx, scope, st, "DYNAMIC-SQL", { name: st.tokens.map((t) => t.text).join(" ").slice(0, 80) });
            }
            for (const sql of c.sql.candidates) lintNested(ctx, scope, st, sql, "dynamic SQL", c.sql.parameters);
            return;
        case "transaction":
            if (!ctx.file.noTransaction) report(ctx, scope, st, "TRANSACTION-CONTROL", { name: c.word });
            return;
        case "use":
            report(ctx, scope, st, "USE-DATABASE", { name: c.database });
            return;
        case "revoke":
            report(ctx, scope, st, "REVOKE-PERMISSION", { name: c.text.slice(0, 80) });
            return;
        case "assign":
            assign(variables, st, c, /^DECLARE$/i.test(st.tokens[0].text));
            return;
        default:
            return;
    }
}

function lintStatements(ctx: Context, scope: Scope, statements: readonly Statement[], parameters?: ReadonlyMap<string, readonly string[] | undefined>): void {
    const variables: Variables = new Map(parameters);
    statements.forEach((st, index) => {
        if (st.isCondition) return;
        checkStatement(ctx, scope, st, classify(st, variables, index === 0, ctx.file.dialect), variables);
    });
}

interface AllowComment {
    readonly line: number;
    readonly targetLine: number;
    readonly ruleId: string;
    readonly reason: string;
    used: boolean;
}

const ALLOW = /^--\s*lint:allow\b\s*(\S*)\s*(.*?)\s*$/i;

/** The lines that hold the start of a significant token, in order: membership and "the next one after". */
class CodeLines {
    private lines = new Int32Array(1024);
    private count = 0;

    add(line: number): void {
        if (this.count > 0 && this.lines[this.count - 1] === line) return;
        if (this.count === this.lines.length) {
            const grown = new Int32Array(this.lines.length * 2);
            grown.set(this.lines);
            this.lines = grown;
        }
        this.lines[this.count++] = line;
    }

    /** Index of the first line greater than `line` (binary search). */
    private after(line: number): number {
        let lo = 0;
        let hi = this.count;
        while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (this.lines[mid] <= line) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    has(line: number): boolean {
        const i = this.after(line);
        return i > 0 && this.lines[i - 1] === line;
    }

    /** The first code line after `line`, or -1. */
    next(line: number): number {
        const i = this.after(line);
        return i < this.count ? this.lines[i] : -1;
    }
}

/** Reads `-- lint:allow <RULE-ID> <reason>` comments; invalid ones become findings and allow nothing. */
function readAllows(ctx: Context, comments: readonly Token[], codeLines: CodeLines): AllowComment[] {
    const allows: AllowComment[] = [];
    for (const token of comments) {
        const match = ALLOW.exec(token.text);
        if (!match) continue;
        const [, ruleId, reason] = match;
        const invalid = (problem: string): void => {
            ctx.findings.push({ path: ctx.file.path, line: token.line, ruleId: "LINT-ALLOW-INVALID", severity: "error",
                message: `${problem}. Safe: ${ruleById("LINT-ALLOW-INVALID").safe}` });
        };
        if (codeLines.has(token.line)) invalid("-- lint:allow must be on a line of its own, before the statement (a trailing one would silently cover the statement on the next line)");
        else if (ruleId === "") invalid("-- lint:allow names no rule");
        else if (!ALLOWABLE_RULE_IDS.has(ruleId)) invalid(`-- lint:allow names unknown rule "${ruleId}" (rule ids: ${[...ALLOWABLE_RULE_IDS].join(", ")})`);
        else if (reason === "") invalid(`-- lint:allow ${ruleId} gives no reason, so it allows nothing`);
        else allows.push({ line: token.line, targetLine: codeLines.next(token.line), ruleId, reason, used: false });
    }
    return allows;
}

/**
 * Lints one parsed migration file: every statement of every batch, including statements inside IF/WHILE blocks,
 * dynamic SQL built from literals, and procedures created and run in the same file. Findings are sorted by line.
 * The file is read one batch at a time (migrator/tsql/batches.ts), so memory follows the largest batch, and the rows
 * of a bulk `INSERT … VALUES` cost nothing. Throws {@link MigrationFileError} if the file's SQL cannot be tokenized
 * or a batch is too large to hold.
 */
export function lintMigration(file: MigrationFile): Finding[] {
    const ctx: Context = {
        file,
        created: { tables: new Set(), columns: new Set(), routines: new Set(), indexes: new Set(), constraints: new Set(), objects: new Set() },
        bodies: new Map(),
        findings: [],
        reported: new Set(),
        statementOf: new Map(),
        synonyms: new Map(),
    };
    const comments: Token[] = [];
    const codeLines = new CodeLines();
    try {
        streamBatches(file.text, {
            dialect: file.dialect,
            onBatch: (batch) => lintStatements(ctx, { prefix: "", depth: 0, conditional: false, origin: "" }, splitStatements(batch, file.dialect)),
            onLineComment: (token) => {
                if (ALLOW.test(token.text)) comments.push(token);
            },
            onCodeLine: (line) => codeLines.add(line),
        });
    } catch (error) {
        if (error instanceof TsqlSyntaxError) throw new MigrationFileError(file.path, error.line, error.message.replace(/^line \d+: /, ""));
        if (error instanceof BatchTooLargeError) throw new MigrationFileError(file.path, error.line, `${error.message}.`);
        throw error;
    }
    const allows = readAllows(ctx, comments, codeLines);
    // An allow covers one statement: the first on its line with a finding of its rule (so a second statement
    // appended to that line is not allowed with it).
    const covered = new Map(allows.map((a) => {
        const offsets = ctx.findings.filter((f) => f.line === a.targetLine && f.ruleId === a.ruleId).map((f) => ctx.statementOf.get(f) ?? -1);
        return [a, Math.min(...offsets)] as const;
    }));
    const findings = ctx.findings.map((finding) => {
        const allow = allows.find((a) => a.targetLine === finding.line && a.ruleId === finding.ruleId && covered.get(a) === ctx.statementOf.get(finding));
        if (!allow) return finding;
        allow.used = true;
        return { ...finding, allowed: { reason: allow.reason } };
    });
    for (const allow of allows.filter((a) => !a.used)) {
        const rule = ruleById("LINT-ALLOW-UNUSED");
        findings.push({ path: file.path, line: allow.line, ruleId: rule.id, severity: rule.severity,
            message: `${fill(rule.problem, { name: allow.ruleId })}. Safe: ${rule.safe}` });
    }
    return findings.sort((a, b) => a.line - b.line || a.ruleId.localeCompare(b.ruleId));
}

/** Lints SQL text as if it were a migration file of the given phase (tests, docs examples, the benchmark). */
export function lintSql(sql: string, phase: MigrationPhase = "expand", options: { dialect?: Dialect; name?: string } = {}): Finding[] {
    const name = options.name ?? `0001_example.${phase}.sql`;
    return lintMigration(parseMigrationFile(name, sql, { dialect: options.dialect }));
}

export interface LintReport {
    /** Every migration file that was read. */
    readonly files: readonly string[];
    readonly findings: readonly Finding[];
    /** Files that could not be read, named or tokenized (exit code 2). */
    readonly problems: readonly MigrationFileError[];
}

/** The `.sql` files to lint for a path: the file itself, or a directory's `.sql` files (not recursive), sorted. */
function expandPath(p: string): string[] {
    const stat = fs.statSync(p);
    if (!stat.isDirectory()) return [p];
    return fs.readdirSync(p, { withFileTypes: true })
        .filter((e) => e.isFile() && e.name.toLowerCase().endsWith(".sql"))
        .map((e) => path.join(p, e.name))
        .sort();
}

/** Lints files and directories. Problems with one file do not stop the others. */
export function lintPaths(paths: readonly string[], options: { dialect?: Dialect } = {}): LintReport {
    const files: string[] = [];
    const findings: Finding[] = [];
    const problems: MigrationFileError[] = [];
    for (const p of paths) {
        let expanded: string[];
        try {
            expanded = expandPath(p);
        } catch (error) {
            problems.push(new MigrationFileError(p, undefined, `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the path.`));
            continue;
        }
        for (const file of expanded) {
            try {
                const parsed = parseMigrationFile(file, readMigrationBytes(file), options);
                files.push(file);
                findings.push(...lintMigration(parsed));
            } catch (error) {
                if (error instanceof MigrationFileError) problems.push(error);
                else problems.push(new MigrationFileError(file, undefined, `cannot read it (${(error as Error).message}).`));
            }
        }
    }
    return { files, findings, problems };
}

/** Ids of every rule, for the docs test. */
export const RULE_IDS: readonly string[] = RULES.map((r) => r.id);
