import { Dialect, Token, isIdentifier, isKeyword, isPunctuation, keywordOf } from "./tokenizer";
import { Statement, alterTableActionIndex, routineTypeIndex, skipName } from "./statements";

/**
 * Classifies one statement into what the migration rules need to know. Anything the rules do not care about is
 * `{ kind: "other" }`. Names are resolved to {@link ObjectName}s so `[dbo].[Goals]`, `"dbo"."goals"` and `goals`
 * compare equal (default schema `dbo`, case-insensitive as in the default SQL Server collation).
 */

export interface ObjectName {
    /** As written, e.g. `[dbo].[Goals]`. */
    readonly text: string;
    /** Comparable key, e.g. `dbo.goals`; temp tables keep their `#`, table variables their `@`. */
    readonly key: string;
    /** `#temp`, `##global` or `@tableVariable`: never part of the live schema. */
    readonly temporary: boolean;
    /** The unquoted parts as written, e.g. `["dbo", "Goals"]`. */
    readonly parts: readonly string[];
}

export type DropType = "TABLE" | "VIEW" | "PROCEDURE" | "FUNCTION" | "TRIGGER" | "INDEX" | "OTHER";
export type RoutineType = "PROCEDURE" | "FUNCTION" | "VIEW" | "TRIGGER";
export type ConstraintKind = "PRIMARY KEY" | "UNIQUE" | "FOREIGN KEY" | "CHECK" | "DEFAULT";

export interface AddedColumn {
    readonly name: string;
    readonly notNull: boolean;
    readonly hasDefault: boolean;
    readonly identity: boolean;
    readonly computed: boolean;
    /** The default calls NEWID()/NEWSEQUENTIALID()/CRYPT_GEN_RANDOM()/RAND(): every row gets its own value. */
    readonly volatileDefault: boolean;
    /** `WITH VALUES`: the default is written into every existing row. */
    readonly withValues: boolean;
}

export interface AddedConstraint {
    readonly kind: ConstraintKind;
    readonly name?: string;
    /** Declared on a column added by the same statement (it only constrains the new column). */
    readonly onNewColumn: boolean;
}

export type AlterTableAction =
    | { readonly type: "add"; readonly columns: readonly AddedColumn[]; readonly constraints: readonly AddedConstraint[] }
    | { readonly type: "drop"; readonly columns: readonly string[]; readonly constraints: readonly string[] }
    | { readonly type: "alterColumn"; readonly column: string }
    | { readonly type: "rename"; readonly what: string }
    | { readonly type: "setSchema"; readonly schema: string }
    | { readonly type: "toggleTrigger" }
    /** `SWITCH [PARTITION n] TO other`: moves the table's rows (or a partition's) out to another table. */
    | { readonly type: "switchOut" }
    | { readonly type: "other" };

export interface DynamicSql {
    /** The SQL text when every part is a literal or a variable known to hold literals; one entry per possible value. */
    readonly candidates?: readonly string[];
    /** sp_executesql's parameters (`@p`, lower-case) and their possible values, as the dynamic SQL sees them. */
    readonly parameters?: ReadonlyMap<string, readonly string[] | undefined>;
}

export type Classified =
    | { readonly kind: "drop"; readonly objectType: DropType; readonly typeWord: string; readonly names: readonly ObjectName[]; readonly table?: ObjectName }
    | { readonly kind: "alterTable"; readonly table: ObjectName; readonly withCheck?: "CHECK" | "NOCHECK"; readonly action: AlterTableAction; readonly online: boolean }
    | { readonly kind: "rename"; readonly args: readonly string[] }
    | { readonly kind: "schemaTransfer"; readonly object: ObjectName; readonly schema: string }
    | { readonly kind: "truncate"; readonly table: ObjectName }
    | { readonly kind: "createIndex"; readonly name: string; readonly table: ObjectName; readonly unique: boolean; readonly online: boolean }
    | { readonly kind: "rebuildIndex"; readonly table: ObjectName; readonly online: boolean }
    | { readonly kind: "createTable"; readonly table: ObjectName }
    /** `target`: for `CREATE SYNONYM name FOR target`, the target's name tokens. */
    | { readonly kind: "createObject"; readonly name: ObjectName; readonly target?: readonly Token[] }
    | { readonly kind: "routine"; readonly mode: "create" | "alter" | "createOrAlter"; readonly objectType: RoutineType; readonly name: ObjectName; readonly body: readonly Token[] }
    | { readonly kind: "toggleTrigger" }
    | { readonly kind: "update" | "delete"; readonly target: ObjectName; readonly hasWhere: boolean; readonly hasTop: boolean }
    | { readonly kind: "selectInto"; readonly table: ObjectName }
    | { readonly kind: "execProcedure"; readonly procedure: ObjectName; readonly args: readonly Token[] }
    | { readonly kind: "dynamicSql"; readonly sql: DynamicSql }
    | { readonly kind: "transaction"; readonly word: string }
    | { readonly kind: "use"; readonly database: string }
    | { readonly kind: "revoke"; readonly text: string }
    | { readonly kind: "assign"; readonly assignments: readonly { variable: string; value: Token[]; compound: boolean }[] }
    | { readonly kind: "other" };

const upper = keywordOf;
const isPunct = isPunctuation;

/** Reads the dotted name starting at `i` into an {@link ObjectName}; undefined when there is none. */
export function readName(tokens: readonly Token[], i: number): ObjectName | undefined {
    const end = skipName(tokens, i);
    if (end === i) return undefined;
    // `master..sp_rename` has an empty (default) schema part: keep it so the last two parts stay schema and object.
    const parts: string[] = [];
    let current: string | undefined;
    for (const t of tokens.slice(i, end)) {
        if (isPunct(t, ".")) {
            parts.push(current ?? "");
            current = undefined;
        } else {
            current = t.value;
        }
    }
    parts.push(current ?? "");
    const text = tokens.slice(i, end).map((t) => t.text).join("");
    return nameFromParts(text, parts);
}

/** Builds an {@link ObjectName} from its parts (`["dbo", "goals"]`): the last two count; the schema defaults to dbo. */
export function nameFromParts(text: string, parts: readonly string[]): ObjectName {
    const object = parts[parts.length - 1] ?? "";
    const temporary = object.startsWith("#") || object.startsWith("@");
    const schema = parts.length >= 2 && parts[parts.length - 2] !== "" ? parts[parts.length - 2] : "dbo";
    return { text, key: (temporary ? object : `${schema}.${object}`).toLowerCase(), temporary, parts };
}

/** Splits `tokens[from, to)` on commas at parenthesis depth 0. */
function splitOnCommas(tokens: readonly Token[], from: number, to: number): Token[][] {
    const items: Token[][] = [[]];
    let depth = 0;
    for (let i = from; i < to; i++) {
        const t = tokens[i];
        if (isPunct(t, "(")) depth++;
        if (isPunct(t, ")")) depth--;
        if (isPunct(t, ",") && depth === 0) items.push([]);
        else items[items.length - 1].push(t);
    }
    return items.filter((item) => item.length > 0);
}

/** Index of the first depth-0 keyword `word` at or after `from`, or -1. */
function findKeyword(tokens: readonly Token[], word: string, from = 0): number {
    let depth = 0;
    for (let i = from; i < tokens.length; i++) {
        if (isPunct(tokens[i], "(")) depth++;
        else if (isPunct(tokens[i], ")")) depth--;
        else if (depth === 0 && isKeyword(tokens[i], word)) return i;
    }
    return -1;
}

/** `ONLINE = ON` anywhere in the statement (index and constraint options), or PostgreSQL's `CONCURRENTLY`. */
function hasOnline(tokens: readonly Token[]): boolean {
    return tokens.some((t, i) => (isKeyword(t, "ONLINE") && isPunct(tokens[i + 1], "=") && isKeyword(tokens[i + 2], "ON"))
        || isKeyword(t, "CONCURRENTLY"));
}

const CONSTRAINT_START: Record<string, ConstraintKind> = {
    PRIMARY: "PRIMARY KEY", UNIQUE: "UNIQUE", FOREIGN: "FOREIGN KEY", CHECK: "CHECK", DEFAULT: "DEFAULT",
};
const VOLATILE = new Set(["NEWID", "NEWSEQUENTIALID", "CRYPT_GEN_RANDOM", "RAND", "GEN_RANDOM_UUID"]);

function constraintKind(item: readonly Token[], at: number): ConstraintKind | undefined {
    const word = upper(item[at]);
    if (word === "REFERENCES") return "FOREIGN KEY";
    return CONSTRAINT_START[word];
}

function classifyAddItem(item: Token[], columns: AddedColumn[], constraints: AddedConstraint[]): void {
    let i = 0;
    if (isKeyword(item[0], "COLUMN")) i = 1; // PostgreSQL: ADD COLUMN name …
    if (isKeyword(item[i], "IF") && isKeyword(item[i + 1], "NOT") && isKeyword(item[i + 2], "EXISTS")) i += 3;
    if (isKeyword(item[i], "CONSTRAINT")) {
        const kind = constraintKind(item, i + 2);
        if (kind) constraints.push({ kind, name: item[i + 1]?.value, onNewColumn: false });
        return;
    }
    const tableLevel = constraintKind(item, i);
    if (tableLevel && !(tableLevel === "DEFAULT")) {
        constraints.push({ kind: tableLevel, onNewColumn: false });
        return;
    }
    if (!isIdentifier(item[i])) return;
    const name = item[i].value;
    let notNull = false;
    let hasDefault = false;
    let identity = false;
    let volatileDefault = false;
    let withValues = false;
    const computed = isKeyword(item[i + 1], "AS") || isKeyword(item[i + 1], "GENERATED");
    let depth = 0;
    for (let j = i + 1; j < item.length; j++) {
        const t = item[j];
        if (isPunct(t, "(")) depth++;
        else if (isPunct(t, ")")) depth--;
        if (depth > 0 && !(hasDefault && VOLATILE.has(upper(t)))) continue;
        const word = upper(t);
        if (word === "NOT" && isKeyword(item[j + 1], "NULL")) notNull = true;
        else if (word === "PRIMARY") notNull = true;
        else if (word === "DEFAULT") hasDefault = true;
        else if (word === "IDENTITY" || word === "SERIAL" || word === "BIGSERIAL") identity = true;
        else if (hasDefault && VOLATILE.has(word)) volatileDefault = true;
        else if (word === "WITH" && isKeyword(item[j + 1], "VALUES")) withValues = true;
        const kind = depth === 0 ? constraintKind(item, j) : undefined;
        if (kind && kind !== "DEFAULT") {
            const named = isKeyword(item[j - 2], "CONSTRAINT") ? item[j - 1].value : undefined;
            constraints.push({ kind, name: named, onNewColumn: true });
        }
    }
    columns.push({ name, notNull, hasDefault, identity, computed, volatileDefault, withValues });
}

function classifyAlterTable(tokens: readonly Token[], dialect: Dialect): Classified {
    const table = readName(tokens, 2);
    const action = alterTableActionIndex(tokens, 0);
    if (!table || action < 0) return { kind: "other" };
    // PostgreSQL's `ADD CONSTRAINT ... NOT VALID` is T-SQL's `WITH NOCHECK ADD CONSTRAINT ...`: no scan of existing rows.
    const notValid = dialect === "postgres" && tokens.some((t, i) => i > action && isKeyword(t, "NOT") && isKeyword(tokens[i + 1], "VALID"));
    const withCheck = notValid ? "NOCHECK" : isKeyword(tokens[action - 2], "WITH") ? (upper(tokens[action - 1]) as "CHECK" | "NOCHECK") : undefined;
    const online = hasOnline(tokens);
    const base = { kind: "alterTable" as const, table, withCheck, online };
    const word = upper(tokens[action]);
    if (word === "ADD") {
        const columns: AddedColumn[] = [];
        const constraints: AddedConstraint[] = [];
        const withOptions = findKeyword(tokens, "WITH", action + 1);
        const end = withOptions >= 0 && isPunct(tokens[withOptions + 1], "(") ? withOptions : tokens.length;
        for (const item of splitOnCommas(tokens, action + 1, end)) {
            classifyAddItem(item, columns, constraints);
        }
        return { ...base, action: { type: "add", columns, constraints } };
    }
    if (word === "DROP") {
        const columnNames: string[] = [];
        const constraintNames: string[] = [];
        let current: "COLUMN" | "CONSTRAINT" = "CONSTRAINT";
        for (const item of splitOnCommas(tokens, action + 1, tokens.length)) {
            let i = 0;
            if (isKeyword(item[0], "COLUMN") || isKeyword(item[0], "CONSTRAINT")) {
                current = upper(item[0]) as "COLUMN" | "CONSTRAINT";
                i = 1;
            } else if (dialect === "postgres") {
                current = "COLUMN";
            }
            if (isKeyword(item[i], "IF") && isKeyword(item[i + 1], "EXISTS")) i += 2;
            if (isIdentifier(item[i])) (current === "COLUMN" ? columnNames : constraintNames).push(item[i].value);
        }
        return { ...base, action: { type: "drop", columns: columnNames, constraints: constraintNames } };
    }
    if (word === "ALTER") {
        const at = isKeyword(tokens[action + 1], "COLUMN") ? action + 2 : action + 1;
        // PostgreSQL's ALTER COLUMN c SET DEFAULT only sets the default of new rows: additive.
        if (isKeyword(tokens[at + 1], "SET") && isKeyword(tokens[at + 2], "DEFAULT")) return { ...base, action: { type: "other" } };
        return { ...base, action: { type: "alterColumn", column: tokens[at]?.value ?? "" } };
    }
    if (word === "RENAME") return { ...base, action: { type: "rename", what: tokens.slice(action + 1).map((t) => t.text).join(" ") } };
    if (word === "SET" && isKeyword(tokens[action + 1], "SCHEMA")) return { ...base, action: { type: "setSchema", schema: tokens[action + 2]?.value ?? "" } };
    if ((word === "ENABLE" || word === "DISABLE") && isKeyword(tokens[action + 1], "TRIGGER")) return { ...base, action: { type: "toggleTrigger" } };
    if (word === "SWITCH") return { ...base, action: { type: "switchOut" } };
    return { ...base, action: { type: "other" } };
}

const DROP_TYPES: Record<string, DropType> = {
    TABLE: "TABLE", VIEW: "VIEW", PROC: "PROCEDURE", PROCEDURE: "PROCEDURE", FUNCTION: "FUNCTION", TRIGGER: "TRIGGER", INDEX: "INDEX",
};

function classifyDrop(tokens: readonly Token[]): Classified {
    let i = 1;
    const typeWords: string[] = [];
    while (tokens[i]?.kind === "word" && !isKeyword(tokens[i], "IF") && (typeWords.length === 0 || ["SCHEMA", "COLLECTION", "FUNCTION", "SCHEME", "VIEW"].includes(upper(tokens[i])))) {
        typeWords.push(upper(tokens[i]));
        i++;
        if (typeWords.length === 1 && DROP_TYPES[typeWords[0]] && !isKeyword(tokens[i], "VIEW")) break;
    }
    const typeWord = typeWords.join(" ");
    if (typeWord === "" || typeWord === "STATISTICS") return { kind: "other" };
    if (isKeyword(tokens[i], "IF") && isKeyword(tokens[i + 1], "EXISTS")) i += 2;
    const names: ObjectName[] = [];
    let table: ObjectName | undefined;
    for (const item of splitOnCommas(tokens, i, tokens.length)) {
        const name = readName(item, 0);
        if (!name) continue;
        names.push(name);
        const on = item.findIndex((t) => isKeyword(t, "ON"));
        if (on >= 0) table = readName(item, on + 1);
    }
    const objectType = DROP_TYPES[typeWord] ?? "OTHER";
    if (objectType === "INDEX" && !table && names.length > 0) {
        // DROP INDEX table.index (old syntax): the table is the name without its last part.
        const parts = names[0].parts;
        if (parts.length >= 2) table = nameFromParts(names[0].text, parts.slice(0, -1));
    }
    return { kind: "drop", objectType, typeWord, names, ...(table ? { table } : {}) };
}

function classifyCreate(tokens: readonly Token[]): Classified {
    const routine = routineTypeIndex(tokens);
    if (routine >= 0) {
        const mode = isKeyword(tokens[1], "OR") ? "createOrAlter" : "create";
        const word = upper(tokens[routine]);
        const objectType = (word === "PROC" ? "PROCEDURE" : word) as RoutineType;
        const name = readName(tokens, routine + 1);
        if (!name) return { kind: "other" };
        const as = findKeyword(tokens, "AS", routine + 1);
        return { kind: "routine", mode, objectType, name, body: as >= 0 ? tokens.slice(as + 1) : [] };
    }
    let i = 1;
    let unique = false;
    while (["UNIQUE", "CLUSTERED", "NONCLUSTERED", "COLUMNSTORE", "XML", "SPATIAL", "PRIMARY"].includes(upper(tokens[i]))) {
        if (isKeyword(tokens[i], "UNIQUE")) unique = true;
        i++;
    }
    if (isKeyword(tokens[i], "INDEX")) {
        let n = i + 1;
        if (isKeyword(tokens[n], "CONCURRENTLY")) n++;
        if (isKeyword(tokens[n], "IF") && isKeyword(tokens[n + 1], "NOT")) n += 3;
        const on = findKeyword(tokens, "ON", n);
        const table = on >= 0 ? readName(tokens, on + 1) : undefined;
        if (!table) return { kind: "other" };
        return { kind: "createIndex", name: tokens[n]?.value ?? "", table, unique, online: hasOnline(tokens) };
    }
    if (isKeyword(tokens[1], "TABLE")) {
        let n = 2;
        if (isKeyword(tokens[n], "IF") && isKeyword(tokens[n + 1], "NOT")) n += 3;
        const table = readName(tokens, n);
        return table ? { kind: "createTable", table } : { kind: "other" };
    }
    if (["SCHEMA", "TYPE", "SEQUENCE", "SYNONYM"].includes(upper(tokens[1]))) {
        const name = readName(tokens, 2);
        if (!name) return { kind: "other" };
        const forAt = isKeyword(tokens[1], "SYNONYM") ? findKeyword(tokens, "FOR", 3) : -1;
        return forAt >= 0 ? { kind: "createObject", name, target: tokens.slice(forAt + 1, skipName(tokens, forAt + 1)) } : { kind: "createObject", name };
    }
    return { kind: "other" };
}

function classifyUpdateDelete(tokens: readonly Token[], kind: "update" | "delete"): Classified {
    let i = 1;
    let hasTop = false;
    if (isKeyword(tokens[i], "TOP")) {
        hasTop = true;
        i++;
        if (isPunct(tokens[i], "(")) {
            while (i < tokens.length && !isPunct(tokens[i], ")")) i++;
            i++;
        } else {
            i++;
        }
        if (isKeyword(tokens[i], "PERCENT")) i++;
    }
    if (kind === "delete" && isKeyword(tokens[i], "FROM")) i++;
    if (isKeyword(tokens[i], "ONLY")) i++; // PostgreSQL
    const target = readName(tokens, i);
    if (!target) return { kind: "other" };
    const where = findKeyword(tokens, "WHERE", i);
    return { kind, target, hasWhere: where >= 0 && !isTriviallyTrue(tokens.slice(where + 1)), hasTop };
}

/** `WHERE 1 = 1` and the like filter nothing. */
function isTriviallyTrue(condition: readonly Token[]): boolean {
    const texts = condition.map((t) => t.text);
    return texts.length === 3 && texts[1] === "=" && condition[0].kind !== "word" && condition[0].kind !== "variable" && texts[0] === texts[2];
}

/** Reads `@var = expr, @var2 = expr` assignments of DECLARE/SET/SELECT. */
function readAssignments(tokens: readonly Token[], from: number): { variable: string; value: Token[]; compound: boolean }[] {
    const result: { variable: string; value: Token[]; compound: boolean }[] = [];
    for (const item of splitOnCommas(tokens, from, tokens.length)) {
        if (item[0]?.kind !== "variable") continue;
        const eq = item.findIndex((t) => t.kind === "punctuation" && (t.text === "=" || t.text === "+="));
        result.push({ variable: item[0].text.toLowerCase(), value: eq >= 0 ? item.slice(eq + 1) : [], compound: eq >= 0 && item[eq].text === "+=" });
    }
    return result;
}

/**
 * Stands for a part of dynamic SQL the linter cannot read (a function call such as `QUOTENAME(@t)`, a variable set
 * from a query). The rest of the text is still linted, so `N'DROP TABLE dbo.' + QUOTENAME(@t)` is a DROP TABLE.
 */
export const UNKNOWN_PART = "__lint_unknown__";

/** Index of the `)` that closes the `(` at `open`, or -1. */
function closingParen(tokens: readonly Token[], open: number): number {
    let depth = 0;
    for (let i = open; i < tokens.length; i++) {
        if (isPunct(tokens[i], "(")) depth++;
        else if (isPunct(tokens[i], ")") && --depth === 0) return i;
    }
    return -1;
}

/**
 * Resolves `N'a' + @b + 'c'` to its possible values. A part that is not a literal or a variable known to hold
 * literals (a function call, a number, a column, a variable of unknown value) becomes {@link UNKNOWN_PART};
 * undefined when the expression is not a `+` chain of such parts.
 */
export function evaluateStringExpression(tokens: readonly Token[], variables: ReadonlyMap<string, readonly string[] | undefined>): string[] | undefined {
    let values: string[] = [""];
    let expectOperand = true;
    const inner = isPunct(tokens[0], "(") && closingParen(tokens, 0) === tokens.length - 1 ? tokens.slice(1, -1) : tokens;
    for (let i = 0; i < inner.length; i++) {
        const t = inner[i];
        if (expectOperand) {
            let parts: readonly string[] | undefined;
            if (t.kind === "string") parts = [t.value];
            else if (t.kind === "variable") parts = variables.get(t.text.toLowerCase()) ?? [UNKNOWN_PART];
            else if (t.kind === "number") parts = [UNKNOWN_PART];
            else if (isPunct(t, "(") || (isIdentifier(t) && isPunct(inner[i + 1], "("))) {
                // A parenthesized part is evaluated on its own; a function call is unknown.
                const open = isPunct(t, "(") ? i : i + 1;
                const close = closingParen(inner, open);
                if (close < 0) return undefined;
                parts = (open === i ? evaluateStringExpression(inner.slice(i, close + 1), variables) : undefined) ?? [UNKNOWN_PART];
                i = close;
            } else if (isIdentifier(t)) parts = [UNKNOWN_PART];
            if (!parts) return undefined;
            const next: string[] = [];
            for (const v of values) for (const p of parts) next.push(v + p);
            if (next.length > 32) return undefined;
            values = next;
            expectOperand = false;
        } else if (isPunct(t, "+")) {
            expectOperand = true;
        } else {
            return undefined;
        }
    }
    return expectOperand ? undefined : values;
}

function classifyExec(tokens: readonly Token[], variables: ReadonlyMap<string, readonly string[] | undefined>, implicit: boolean): Classified {
    let i = implicit ? 0 : 1;
    if (isKeyword(tokens[i], "AS")) return { kind: "other" }; // EXECUTE AS USER
    if (isPunct(tokens[i], "(")) {
        let depth = 0;
        let end = i;
        for (; end < tokens.length; end++) {
            if (isPunct(tokens[end], "(")) depth++;
            else if (isPunct(tokens[end], ")") && --depth === 0) break;
        }
        return { kind: "dynamicSql", sql: { candidates: evaluateStringExpression(tokens.slice(i, end + 1), variables) } };
    }
    if (tokens[i]?.kind === "variable" && isPunct(tokens[i + 1], "=")) i += 2; // EXEC @rc = proc
    if (tokens[i]?.kind === "variable") return { kind: "dynamicSql", sql: {} }; // EXEC @procName: unknown procedure
    const procedure = readName(tokens, i);
    if (!procedure) return { kind: "other" };
    const args = tokens.slice(skipName(tokens, i));
    if (procedure.key.endsWith(".sp_executesql")) {
        const items = splitOnCommas(args, 0, args.length);
        const first = items[0] ?? [];
        const value = first[0]?.kind === "variable" && isPunct(first[1], "=") && first[1] !== undefined && /^@stmt$/i.test(first[0].text) ? first.slice(2) : first;
        return { kind: "dynamicSql", sql: { candidates: evaluateStringExpression(value, variables), parameters: executesqlParameters(items, variables) } };
    }
    return { kind: "execProcedure", procedure, args };
}

/**
 * The values sp_executesql passes to its SQL: `EXEC sp_executesql N'EXEC (@s)', N'@s NVARCHAR(MAX)', @s = N'DROP …'`
 * (named) or `…, N'DROP …'` (positional, in the order the parameter list declares them).
 */
function executesqlParameters(items: readonly Token[][], variables: ReadonlyMap<string, readonly string[] | undefined>): Map<string, readonly string[] | undefined> {
    const parameters = new Map<string, readonly string[] | undefined>();
    const named = (item: readonly Token[]): boolean => item[0]?.kind === "variable" && isPunct(item[1], "=");
    const declaration = items[1] && (named(items[1]) ? items[1].slice(2) : items[1]);
    const declared = (declaration ? evaluateStringExpression(declaration, variables)?.[0] ?? "" : "").match(/@[\p{L}\p{N}_@#$]+/gu) ?? [];
    items.slice(2).forEach((item, i) => {
        const name = named(item) ? item[0].text : declared[i];
        if (name === undefined) return;
        parameters.set(name.toLowerCase(), evaluateStringExpression(named(item) ? item.slice(2) : item, variables));
    });
    return parameters;
}

/**
 * Positional and named arguments of a procedure call, e.g. sp_rename's `'dbo.t.a', 'b', 'COLUMN'`: the string
 * value for a literal, undefined for anything else (a variable, an expression).
 */
export function stringArguments(args: readonly Token[]): (string | undefined)[] {
    return splitOnCommas(args, 0, args.length).map((item) => {
        const value = item[0]?.kind === "variable" && isPunct(item[1], "=") ? item.slice(2) : item;
        return value.length === 1 && value[0].kind === "string" ? value[0].value : undefined;
    });
}

/**
 * Classifies a statement. `variables` holds what the batch's string variables are known to contain (for dynamic SQL);
 * `firstInBatch` matters because a batch may start with a bare procedure name, which SQL Server executes.
 */
export function classify(statement: Statement, variables: ReadonlyMap<string, readonly string[] | undefined>, firstInBatch: boolean, dialect: Dialect = "tsql"): Classified {
    const tokens = statement.tokens;
    const verb = upper(tokens[0]);
    switch (verb) {
        case "DROP":
            return classifyDrop(tokens);
        case "ALTER": {
            if (isKeyword(tokens[1], "TABLE")) return classifyAlterTable(tokens, dialect);
            if (routineTypeIndex(tokens) >= 0) {
                const word = upper(tokens[1]);
                const name = readName(tokens, 2);
                if (!name) return { kind: "other" };
                const as = findKeyword(tokens, "AS", 2);
                return { kind: "routine", mode: "alter", objectType: (word === "PROC" ? "PROCEDURE" : word) as RoutineType, name, body: as >= 0 ? tokens.slice(as + 1) : [] };
            }
            const modify = isKeyword(tokens[1], "DATABASE") ? findKeyword(tokens, "MODIFY", 2) : -1;
            if (modify >= 0 && isKeyword(tokens[modify + 1], "NAME")) return { kind: "rename", args: [`database ${tokens[2]?.value ?? ""}`] };
            if (isKeyword(tokens[1], "SCHEMA") && isKeyword(tokens[3], "TRANSFER")) {
                let n = 4;
                if (tokens[n + 1] && isPunct(tokens[n + 1], "::")) n += 2; // TRANSFER OBJECT::dbo.x
                const object = readName(tokens, n);
                return object ? { kind: "schemaTransfer", object, schema: tokens[2].value } : { kind: "other" };
            }
            if (["VIEW", "FUNCTION", "SEQUENCE", "TYPE", "SCHEMA", "INDEX", "TRIGGER"].includes(upper(tokens[1])) && findKeyword(tokens, "RENAME", 2) >= 0) {
                return { kind: "rename", args: [tokens.map((t) => t.text).join(" ")] };
            }
            if (isKeyword(tokens[1], "INDEX")) {
                const on = findKeyword(tokens, "ON", 2);
                const table = on >= 0 ? readName(tokens, on + 1) : undefined;
                if (table && findKeyword(tokens, "REBUILD", on) >= 0) return { kind: "rebuildIndex", table, online: hasOnline(tokens) };
                const name = readName(tokens, 2);
                // A disabled index is gone for the live version's queries (a disabled clustered index: the whole table).
                if (table && name && findKeyword(tokens, "DISABLE", on) >= 0) return { kind: "drop", objectType: "INDEX", typeWord: "INDEX (DISABLE)", names: [name], table };
                return { kind: "other" };
            }
            return { kind: "other" };
        }
        case "CREATE":
            return classifyCreate(tokens);
        case "TRUNCATE": {
            const table = readName(tokens, isKeyword(tokens[1], "TABLE") ? 2 : 1);
            return table ? { kind: "truncate", table } : { kind: "other" };
        }
        case "UPDATE":
        case "DELETE":
            return classifyUpdateDelete(tokens, verb === "UPDATE" ? "update" : "delete");
        case "SELECT": {
            const into = findKeyword(tokens, "INTO", 1);
            const table = into >= 0 ? readName(tokens, into + 1) : undefined;
            if (table) return { kind: "selectInto", table };
            const assignments = readAssignments(tokens, 1).map((a) => ({ ...a, value: a.value.length > 0 ? a.value : [tokens[0]] }));
            return assignments.length > 0 ? { kind: "assign", assignments } : { kind: "other" };
        }
        case "EXEC":
        case "EXECUTE":
            return classifyExec(tokens, variables, false);
        case "INSERT": {
            // INSERT … EXEC runs the procedure or dynamic SQL that follows.
            const exec = Math.max(findKeyword(tokens, "EXEC", 1), findKeyword(tokens, "EXECUTE", 1));
            return exec >= 0 ? classifyExec(tokens.slice(exec), variables, false) : { kind: "other" };
        }
        case "WITH": {
            // A CTE: what counts is the DML statement after it.
            const dml = tokens.findIndex((t, i) => i > 0 && ["UPDATE", "DELETE"].includes(upper(t)) && findKeyword(tokens, upper(t), 1) === i);
            return dml >= 0 ? classifyUpdateDelete(tokens.slice(dml), upper(tokens[dml]) === "UPDATE" ? "update" : "delete") : { kind: "other" };
        }
        case "DECLARE":
            return { kind: "assign", assignments: readAssignments(tokens, 1) };
        case "SET":
            if (tokens[1]?.kind === "variable") return { kind: "assign", assignments: readAssignments(tokens, 1) };
            // Turning these off/on changes how the runner's transaction behaves on an error.
            if ((isKeyword(tokens[1], "XACT_ABORT") && isKeyword(tokens[2], "OFF")) || (isKeyword(tokens[1], "IMPLICIT_TRANSACTIONS") && isKeyword(tokens[2], "ON"))) {
                return { kind: "transaction", word: tokens.slice(0, 3).map((t) => t.text.toUpperCase()).join(" ") };
            }
            return { kind: "other" };
        case "BEGIN":
            return ["TRAN", "TRANSACTION", "DISTRIBUTED"].includes(upper(tokens[1])) ? { kind: "transaction", word: tokens.slice(0, 2).map((t) => t.text.toUpperCase()).join(" ") } : { kind: "other" };
        case "COMMIT":
        case "ROLLBACK":
        case "SAVE":
            return { kind: "transaction", word: tokens.slice(0, 2).map((t) => t.text.toUpperCase()).join(" ") };
        case "USE":
            return { kind: "use", database: tokens[1]?.value ?? "" };
        case "REVOKE":
        case "DENY":
            return { kind: "revoke", text: tokens.map((t) => t.text).join(" ") };
        case "ENABLE":
        case "DISABLE":
            return isKeyword(tokens[1], "TRIGGER") ? { kind: "toggleTrigger" } : { kind: "other" };
        default:
            if (firstInBatch && isIdentifier(tokens[0]) && !isKeyword(tokens[0], "WITH") && verb !== "MERGE" && verb !== "INSERT") {
                // A batch that starts with a procedure name runs it: `sp_rename 'a', 'b'` needs no EXEC.
                return classifyExec(tokens, variables, true);
            }
            return { kind: "other" };
    }
}
