/**
 * A recording fake of the part of the `mssql` package that this project uses, for unit tests of code that talks to
 * SQL Server (the migration runner's SQL Server driver, the app's mssql store). No network, no server.
 *
 * It records every call (query/batch/execute text, the parameters with their values and type names, transaction
 * begin/commit/rollback, connect/close, the pool config) and lets a test script the results and errors:
 *
 *   const fake = new FakeMssql();
 *   fake.when(/sp_getapplock/, { recordset: [{ result: -1 }] });             // lock not granted
 *   fake.when(/INSERT INTO dbo\.goals/, fakeRequestError("duplicate", { number: 2627 }), { times: 1 });
 *   const pool = new fake.api.ConnectionPool({ server: "x", ... });        // or inject `fake.api` where code imports mssql
 *   ...
 *   expect(fake.sqlTexts()).toContain(...); expect(fake.calls).toEqual([...]);
 *
 * Code under test receives `fake.api` in place of the `mssql` module (dependency injection). The shape follows
 * @types/mssql: `new ConnectionPool(config)`, `pool.connect()`, `pool.close()`, `pool.request()`, `pool.query(sql)`,
 * `pool.batch(sql)`, `pool.transaction()`, `new Transaction(pool)`, `tx.begin()`, `tx.commit()`, `tx.rollback()`,
 * `tx.request()`, `new Request(poolOrTx)`, `request.input(name, [type,] value)`, `request.query(sql)`,
 * `request.batch(sql)`, `request.execute(procedure)`; the SQL type factories (`Int`, `NVarChar`, ...) are the real ones.
 */
import * as mssql from "mssql";

/** One recorded call. `tx` is the id of the transaction the call ran in (1, 2, ...), absent outside a transaction. */
export interface FakeCall {
    readonly op: "connect" | "close" | "query" | "batch" | "execute" | "begin" | "commit" | "rollback";
    /** Query or batch text, or the procedure name for `execute`. */
    readonly sql?: string;
    /** Parameters by name (without `@`). */
    readonly params?: Readonly<Record<string, unknown>>;
    /** Parameter SQL type names by name, e.g. `{ name: "NVarChar" }` (only for inputs given a type). */
    readonly types?: Readonly<Record<string, string>>;
    readonly tx?: number;
    /** Which pool (1, 2, ...) the call went through. */
    readonly pool: number;
}

/** What a scripted reply returns; missing fields default to an empty result. */
export interface FakeResult {
    readonly recordset?: Record<string, unknown>[];
    readonly recordsets?: Record<string, unknown>[][];
    readonly rowsAffected?: number[];
    readonly output?: Record<string, unknown>;
    readonly returnValue?: unknown;
}

/** A reply: a result, an error to throw, or a function of the call that returns either. */
export type FakeReply = FakeResult | Error | ((call: FakeCall) => FakeResult | Error);

type Matcher = RegExp | string | ((call: FakeCall) => boolean);

interface Rule {
    readonly match: Matcher;
    readonly reply: FakeReply;
    remaining: number;
}

/** The mssql result shape the code under test sees. */
export interface FakeIResult {
    recordset: Record<string, unknown>[];
    recordsets: Record<string, unknown>[][];
    rowsAffected: number[];
    output: Record<string, unknown>;
    returnValue?: unknown;
}

/**
 * An error shaped like mssql's `RequestError` (what a failing statement throws): `name` "RequestError",
 * `code` "EREQUEST", the SQL Server error `number` and the `lineNumber` inside the batch.
 */
export function fakeRequestError(
    message: string,
    details: { number?: number; lineNumber?: number; state?: number; class?: number; abortsTransaction?: boolean } = {},
): Error & { code: string; number?: number; lineNumber?: number; abortsTransaction?: boolean } {
    const err = new Error(message) as Error & {
        code: string;
        number?: number;
        lineNumber?: number;
        state?: number;
        class?: number;
        abortsTransaction?: boolean;
    };
    err.name = "RequestError";
    err.code = "EREQUEST";
    Object.assign(err, details);
    return err;
}

function typeName(type: unknown): string {
    if (typeof type === "function") return (type as { name?: string }).name || "unknown";
    const t = type as { type?: { name?: string } } | undefined;
    return t?.type?.name ?? "unknown";
}

/** The recording fake. `api` is what to inject in place of the `mssql` module. */
export class FakeMssql {
    /** Every call, in order. */
    readonly calls: FakeCall[] = [];
    /** The configs pools were created with, in order. */
    readonly configs: mssql.config[] = [];
    /** Set to make `connect()` fail with this error. */
    connectError?: Error;
    private readonly rules: Rule[] = [];
    private nextPool = 1;
    private nextTx = 1;

    /**
     * Scripts the reply to calls whose SQL matches (a RegExp, a substring, or a predicate on the call). Rules are
     * tried in the order they were added; `times` limits how often a rule answers (default: always). Calls no rule
     * matches get an empty result.
     */
    when(match: Matcher, reply: FakeReply, opts: { times?: number } = {}): this {
        this.rules.push({ match, reply, remaining: opts.times ?? Infinity });
        return this;
    }

    /** The SQL texts of query/batch/execute calls, in order. */
    sqlTexts(): string[] {
        return this.calls.filter((c) => c.sql !== undefined).map((c) => c.sql as string);
    }

    /** The operations in order, e.g. `["connect", "query", "begin", "batch", "commit"]`. */
    ops(): FakeCall["op"][] {
        return this.calls.map((c) => c.op);
    }

    /** @internal Records a call and produces its scripted reply. */
    answer(call: FakeCall): FakeIResult {
        this.calls.push(call);
        for (const rule of this.rules) {
            if (rule.remaining <= 0 || !matches(rule.match, call)) continue;
            rule.remaining -= 1;
            const reply = typeof rule.reply === "function" ? rule.reply(call) : rule.reply;
            if (reply instanceof Error) throw reply;
            const recordset = reply.recordset ?? reply.recordsets?.[0] ?? [];
            return {
                recordset,
                recordsets: reply.recordsets ?? [recordset],
                rowsAffected: reply.rowsAffected ?? [recordset.length],
                output: reply.output ?? {},
                returnValue: reply.returnValue,
            };
        }
        return { recordset: [], recordsets: [[]], rowsAffected: [0], output: {} };
    }

    /** @internal */
    record(call: FakeCall): void {
        this.calls.push(call);
    }

    /** @internal */
    newPoolId(): number {
        return this.nextPool++;
    }

    /** @internal */
    newTxId(): number {
        return this.nextTx++;
    }

    /** A stand-in for the `mssql` module: pass it where the code under test expects the module. */
    readonly api = createApi(this);
}

function matches(m: Matcher, call: FakeCall): boolean {
    if (typeof m === "function") return m(call);
    if (call.sql === undefined) return false;
    return typeof m === "string" ? call.sql.includes(m) : m.test(call.sql);
}

function createApi(fake: FakeMssql) {
    class Request {
        private readonly params: Record<string, unknown> = {};
        private readonly types: Record<string, string> = {};
        constructor(private readonly parent: ConnectionPool | Transaction) {}

        input(name: string, typeOrValue: unknown, value?: unknown): this {
            if (arguments.length >= 3) {
                this.params[name] = value;
                this.types[name] = typeName(typeOrValue);
            } else {
                this.params[name] = typeOrValue;
            }
            return this;
        }

        private async run(op: "query" | "batch" | "execute", sql: string): Promise<FakeIResult> {
            const { pool, tx } = this.parent.where();
            if (tx !== undefined && this.parent instanceof Transaction) this.parent.assertOpen();
            const call: FakeCall = {
                op,
                sql,
                pool,
                ...(tx !== undefined ? { tx } : {}),
                ...(Object.keys(this.params).length ? { params: { ...this.params } } : {}),
                ...(Object.keys(this.types).length ? { types: { ...this.types } } : {}),
            };
            await Promise.resolve();
            try {
                return fake.answer(call);
            } catch (err) {
                if (this.parent instanceof Transaction && (err as { abortsTransaction?: boolean }).abortsTransaction) {
                    this.parent.aborted = true;
                }
                throw err;
            }
        }

        query(sql: string): Promise<FakeIResult> {
            return this.run("query", sql);
        }

        batch(sql: string): Promise<FakeIResult> {
            return this.run("batch", sql);
        }

        execute(procedure: string): Promise<FakeIResult> {
            return this.run("execute", procedure);
        }
    }

    class ConnectionPool {
        readonly id = fake.newPoolId();
        connected = false;
        constructor(readonly config: mssql.config) {
            fake.configs.push(config);
        }

        where(): { pool: number; tx?: number } {
            return { pool: this.id };
        }

        async connect(): Promise<this> {
            fake.record({ op: "connect", pool: this.id });
            if (fake.connectError) throw fake.connectError;
            this.connected = true;
            return this;
        }

        async close(): Promise<void> {
            fake.record({ op: "close", pool: this.id });
            this.connected = false;
        }

        request(): Request {
            return new Request(this);
        }

        query(sql: string): Promise<FakeIResult> {
            return new Request(this).query(sql);
        }

        batch(sql: string): Promise<FakeIResult> {
            return new Request(this).batch(sql);
        }

        transaction(): Transaction {
            return new Transaction(this);
        }
    }

    class Transaction {
        private id?: number;
        private open = false;
        /** True once a statement failed with `abortsTransaction` (SQL Server rolled back already, XACT_ABORT). */
        aborted = false;
        constructor(private readonly pool: ConnectionPool) {}

        where(): { pool: number; tx?: number } {
            return { pool: this.pool.id, ...(this.id !== undefined ? { tx: this.id } : {}) };
        }

        assertOpen(): void {
            if (!this.open) throw new Error("fake mssql: request on a transaction that has not begun or has ended");
        }

        async begin(): Promise<this> {
            if (this.open) throw new Error("fake mssql: transaction already begun (EALREADYBEGUN)");
            this.id = fake.newTxId();
            this.open = true;
            this.aborted = false;
            fake.record({ op: "begin", pool: this.pool.id, tx: this.id });
            return this;
        }

        commit(): Promise<void> {
            return this.end("commit");
        }

        rollback(): Promise<void> {
            return this.end("rollback");
        }

        private async end(op: "commit" | "rollback"): Promise<void> {
            this.assertOpen();
            fake.record({ op, pool: this.pool.id, tx: this.id });
            this.open = false;
            if (this.aborted) {
                const err = new Error("Transaction has been aborted.") as Error & { code: string };
                err.name = "TransactionError";
                err.code = "EABORT";
                throw err;
            }
        }

        request(): Request {
            return new Request(this);
        }
    }

    return {
        ...mssql,
        ConnectionPool,
        Transaction,
        Request,
    };
}
