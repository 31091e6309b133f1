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
 * Sessions are modelled as mssql 12 / tedious 19 / tarn 3 behave (read from their sources): each pool lends ONE physical
 * connection (a session with its own `spid`); `connect()` opens a test connection and closes it again, the first borrow
 * opens the pool's session (calling `config.beforeConnect(conn)`, as mssql does for every new tedious connection).
 * `fake.dropConnection(pool)` ends a session the way an Azure SQL failover does: the server frees the session's
 * application locks and rolls back its open transaction; the pool's next borrow finds the connection closed and
 * SILENTLY opens a new session (no error), unless `beforeConnect` closed the new connection (then the borrow fails
 * with mssql's ConnectionError). A transaction keeps the connection it began on: a request on it after the drop fails
 * (EINVALIDSTATE), as does its commit. An error with `abortsTransaction` (XACT_ABORT) makes the server roll the
 * transaction back: later requests on it fail with ENOTBEGUN, commit/rollback with EABORT.
 * Application locks are modelled per session: `sp_getapplock` (granted, or -1 when another session holds it),
 * `sp_releaseapplock`, `APPLOCK_TEST(...) AS free` (0 when another session holds it), a `sys.dm_tran_locks` query
 * (the holder's `spid`, other columns null), and a lock guard `IF APPLOCK_MODE(N'public', N'<name>', N'Session') <> N'Exclusive' THROW n, N'msg', 1;`
 * at the start of a request (it throws when the session does not hold the lock, and nothing after it runs).
 * Scripted rules take precedence; a scripted `sp_getapplock` reply with a result >= 0 grants the lock in the model too.
 * Every call records its `session` (spid) and the application locks that session held when it ran (`locks`).
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
    /** The session (spid) the call ran on: absent for connect/close. */
    readonly session?: number;
    /** The application locks that session held when the call ran. */
    readonly locks?: readonly string[];
    /** The request's own timeout (`pool.request({ requestTimeout })`), when it set one. */
    readonly requestTimeout?: number;
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

interface AfterRule {
    readonly match: Matcher;
    readonly action: (call: FakeCall) => void;
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

/** One physical connection: a server session. */
export interface FakeSession {
    readonly spid: number;
    closed: boolean;
}

/** The stand-in for a tedious `Connection` that `config.beforeConnect` receives. */
export interface FakeTediousConnection {
    readonly spid: number;
    close(): void;
}

/**
 * An error shaped like mssql's `RequestError` (what a failing statement throws): `name` "RequestError",
 * `code` "EREQUEST", the SQL Server error `number` and the `lineNumber` inside the batch; the batch's earlier server
 * errors in `precedingErrors` (mssql throws the last one).
 */
export function fakeRequestError(
    message: string,
    details: {
        number?: number;
        lineNumber?: number;
        state?: number;
        class?: number;
        abortsTransaction?: boolean;
        code?: string;
        precedingErrors?: Error[];
    } = {},
): Error & { code: string; number?: number; lineNumber?: number; abortsTransaction?: boolean; precedingErrors?: Error[] } {
    const err = new Error(message) as Error & {
        code: string;
        number?: number;
        lineNumber?: number;
        state?: number;
        class?: number;
        abortsTransaction?: boolean;
        precedingErrors?: Error[];
    };
    err.name = "RequestError";
    err.code = "EREQUEST";
    Object.assign(err, details);
    return err;
}

/**
 * A login refused by the server as mssql reports it: a ConnectionError (code ELOGIN) around tedious's, carrying the
 * server's message but not its number (tedious/lib/token/handler.js `onErrorMessage`).
 */
export function fakeLoginError(serverMessage: string): Error & { code: string } {
    const err = mssqlError("ConnectionError", serverMessage, "ELOGIN") as Error & { code: string; originalError?: Error };
    err.originalError = mssqlError("ConnectionError", serverMessage, "ELOGIN");
    return err;
}

function mssqlError(name: string, message: string, code: string): Error & { code: string } {
    const err = new Error(message) as Error & { code: string };
    err.name = name;
    err.code = code;
    return err;
}

function typeName(type: unknown): string {
    if (typeof type === "function") return (type as { name?: string }).name || "unknown";
    const t = type as { type?: { name?: string } } | undefined;
    return t?.type?.name ?? "unknown";
}

const GUARD = /^\s*IF APPLOCK_MODE\(N'public', N'((?:[^']|'')*)', N'Session'\) <> N'Exclusive' THROW (\d+), N'((?:[^']|'')*)', 1;/;

/** The recording fake. `api` is what to inject in place of the `mssql` module. */
export class FakeMssql {
    /** Every call, in order. */
    readonly calls: FakeCall[] = [];
    /** The configs pools were created with, in order. */
    readonly configs: mssql.config[] = [];
    /** Set to make `connect()` fail with this error. */
    connectError?: Error;
    /** Errors the next `connect()` calls fail with, one each, in order (before `connectError`). */
    readonly connectErrors: Error[] = [];
    /** Every session ever opened, by spid. */
    readonly sessions = new Map<number, FakeSession>();
    /** Application locks held: resource → spid. */
    readonly applocks = new Map<string, number>();
    private readonly rules: Rule[] = [];
    private readonly afterRules: AfterRule[] = [];
    private readonly dropHandlers = new Map<number, () => void>();
    private nextPool = 1;
    private nextTx = 1;
    private nextSpid = 51;

    /**
     * Scripts the reply to calls whose SQL matches (a RegExp, a substring, or a predicate on the call — predicates also
     * see begin/commit/rollback). Rules are tried in the order they were added; `times` limits how often a rule
     * answers (default: always). Calls no rule matches get the session model's answer or an empty result.
     */
    when(match: Matcher, reply: FakeReply, opts: { times?: number } = {}): this {
        this.rules.push({ match, reply, remaining: opts.times ?? Infinity });
        return this;
    }

    /** Runs `action` after a matching call has succeeded (e.g. to drop the connection between two requests). */
    after(match: Matcher, action: (call: FakeCall) => void, opts: { times?: number } = {}): this {
        this.afterRules.push({ match, action, remaining: opts.times ?? Infinity });
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

    /** The application locks `spid` holds. */
    locksOf(spid: number): string[] {
        return [...this.applocks].filter(([, holder]) => holder === spid).map(([resource]) => resource);
    }

    /**
     * Ends pool `pool`'s current session as a failover does: its locks are freed, its open transaction is rolled back
     * by the server, and the pool will silently open a new session on its next borrow.
     */
    dropConnection(pool: number): void {
        this.dropHandlers.get(pool)?.();
    }

    /** Gives `resource` to a new session outside every pool (another runner, on another machine); returns its spid. */
    takeLockElsewhere(resource: string): number {
        const session = this.openSession();
        this.applocks.set(resource, session.spid);
        return session.spid;
    }

    /** @internal Opens a session (a physical connection). */
    openSession(): FakeSession {
        const session: FakeSession = { spid: this.nextSpid++, closed: false };
        this.sessions.set(session.spid, session);
        return session;
    }

    /** @internal Ends a session: the server frees its application locks. */
    endSession(session: FakeSession): void {
        session.closed = true;
        for (const resource of this.locksOf(session.spid)) this.applocks.delete(resource);
    }

    /** @internal */
    onDrop(pool: number, handler: () => void): void {
        this.dropHandlers.set(pool, handler);
    }

    /** @internal Records a call and produces its scripted (or modelled) reply. */
    answer(call: FakeCall): FakeIResult {
        this.calls.push(call);
        for (const rule of this.rules) {
            if (rule.remaining <= 0 || !matches(rule.match, call)) continue;
            rule.remaining -= 1;
            const reply = typeof rule.reply === "function" ? rule.reply(call) : rule.reply;
            if (reply instanceof Error) throw reply;
            const recordset = reply.recordset ?? reply.recordsets?.[0] ?? [];
            if (call.session !== undefined && call.sql?.includes("sp_getapplock") && Number(recordset[0]?.result) >= 0) {
                this.applocks.set(String(call.params?.resource), call.session);
            }
            return this.finish(call, {
                recordset,
                recordsets: reply.recordsets ?? [recordset],
                rowsAffected: reply.rowsAffected ?? [recordset.length],
                output: reply.output ?? {},
                returnValue: reply.returnValue,
            });
        }
        return this.finish(call, this.model(call));
    }

    private finish(call: FakeCall, result: FakeIResult): FakeIResult {
        for (const rule of this.afterRules) {
            if (rule.remaining <= 0 || !matches(rule.match, call)) continue;
            rule.remaining -= 1;
            rule.action(call);
        }
        return result;
    }

    /** The session model's answer to the lock statements; an empty result for everything else. */
    private model(call: FakeCall): FakeIResult {
        const empty = (recordset: Record<string, unknown>[] = []): FakeIResult => ({
            recordset,
            recordsets: [recordset],
            rowsAffected: [recordset.length],
            output: {},
        });
        const sql = call.sql ?? "";
        const spid = call.session;
        if (spid === undefined) return empty();
        const guard = GUARD.exec(sql);
        if (guard) {
            const resource = guard[1].replace(/''/g, "'");
            if (this.applocks.get(resource) !== spid) {
                throw fakeRequestError(guard[3].replace(/''/g, "'"), { number: Number(guard[2]), lineNumber: 1, class: 16 });
            }
        }
        if (sql.includes("APPLOCK_TEST(")) {
            const holder = this.applocks.get(String(call.params?.resource));
            return empty([{ free: holder === undefined || holder === spid ? 1 : 0 }]);
        }
        if (sql.includes("sys.dm_tran_locks")) {
            // Who holds the lock: the model knows only the session id; a test scripts the rest (program, login, times).
            const holder = this.applocks.get(String(call.params?.resource));
            return empty(holder === undefined ? [] : [{ spid: holder, app: null, login: null, host: null, addr: null, since: null, lastRequest: null }]);
        }
        if (sql.includes("sp_getapplock")) {
            const resource = String(call.params?.resource);
            const holder = this.applocks.get(resource);
            if (holder !== undefined && holder !== spid) return empty([{ result: -1 }]);
            this.applocks.set(resource, spid);
            return empty([{ result: 0 }]);
        }
        if (sql.includes("sp_releaseapplock")) {
            const resource = String(call.params?.resource);
            if (this.applocks.get(resource) === spid) this.applocks.delete(resource);
        }
        return empty();
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
        constructor(
            private readonly parent: ConnectionPool | Transaction,
            private readonly config: { requestTimeout?: number } = {},
        ) {}

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
            await Promise.resolve();
            const session = this.parent.borrow();
            const { pool, tx } = this.parent.where();
            const call: FakeCall = {
                op,
                sql,
                pool,
                ...(tx !== undefined ? { tx } : {}),
                session: session.spid,
                locks: fake.locksOf(session.spid),
                ...(Object.keys(this.params).length ? { params: { ...this.params } } : {}),
                ...(Object.keys(this.types).length ? { types: { ...this.types } } : {}),
                ...(this.config.requestTimeout !== undefined ? { requestTimeout: this.config.requestTimeout } : {}),
            };
            if (session.closed) {
                fake.record(call);
                throw mssqlError("RequestError", "Requests can only be made in the LoggedIn state, not the Final state", "EINVALIDSTATE");
            }
            try {
                return fake.answer(call);
            } catch (err) {
                if (this.parent instanceof Transaction && (err as { abortsTransaction?: boolean }).abortsTransaction) {
                    this.parent.serverAbort();
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
        /** The pool's one physical connection (tarn's free resource). */
        private session?: FakeSession;
        constructor(readonly config: mssql.config) {
            fake.configs.push(config);
            fake.onDrop(this.id, () => {
                if (this.session && !this.session.closed) {
                    fake.endSession(this.session);
                    this.openTx?.serverDrop();
                }
            });
        }

        /** The transaction holding the connection, if any. */
        openTx?: Transaction;

        where(): { pool: number; tx?: number } {
            return { pool: this.id };
        }

        /** Opens a new physical connection as mssql's `_poolCreate` does: `beforeConnect` may close it. */
        private create(): FakeSession {
            const session = fake.openSession();
            let closedByHook = false;
            const beforeConnect = (this.config as { beforeConnect?: (conn: FakeTediousConnection) => void }).beforeConnect;
            beforeConnect?.({
                spid: session.spid,
                close: () => {
                    closedByHook = true;
                },
            });
            if (closedByHook) {
                fake.endSession(session);
                throw mssqlError("ConnectionError", "The connection ended without ever completing the connection", "ECONNCLOSED");
            }
            return session;
        }

        /** tarn's acquire: validation finds a closed connection, destroys it and creates another — no error. */
        borrow(): FakeSession {
            if (!this.session || this.session.closed) this.session = this.create();
            return this.session;
        }

        async connect(): Promise<this> {
            fake.record({ op: "connect", pool: this.id });
            const scripted = fake.connectErrors.shift();
            if (scripted) throw scripted;
            if (fake.connectError) throw fake.connectError;
            // mssql opens one test connection, closes it, and lets tarn create the pool's connections on demand.
            fake.endSession(this.create());
            this.connected = true;
            return this;
        }

        async close(): Promise<void> {
            fake.record({ op: "close", pool: this.id });
            if (this.session && !this.session.closed) fake.endSession(this.session);
            this.session = undefined;
            this.connected = false;
        }

        request(config?: { requestTimeout?: number }): Request {
            return new Request(this, config);
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
        /** The session the transaction holds from begin to commit/rollback (mssql's `_acquiredConnection`). */
        private session?: FakeSession;
        /** True once the server rolled the transaction back (XACT_ABORT): mssql's `_aborted`. */
        aborted = false;
        constructor(private readonly pool: ConnectionPool) {}

        where(): { pool: number; tx?: number } {
            return { pool: this.pool.id, ...(this.id !== undefined ? { tx: this.id } : {}) };
        }

        borrow(): FakeSession {
            if (!this.session) throw mssqlError("TransactionError", "Transaction has not begun. Call begin() first.", "ENOTBEGUN");
            return this.session;
        }

        /** @internal The server rolled the transaction back (XACT_ABORT): mssql releases the connection. */
        serverAbort(): void {
            this.aborted = true;
            this.session = undefined;
            if (this.pool.openTx === this) this.pool.openTx = undefined;
        }

        /** @internal The session ended under the transaction: the server rolled it back; the connection is closed. */
        serverDrop(): void {
            this.dropped = true;
        }

        dropped = false;

        async begin(): Promise<this> {
            if (this.session) throw mssqlError("TransactionError", "Transaction has already begun.", "EALREADYBEGUN");
            await Promise.resolve();
            const session = this.pool.borrow();
            this.id = fake.newTxId();
            this.aborted = false;
            this.dropped = false;
            fake.answer({ op: "begin", pool: this.pool.id, tx: this.id, session: session.spid, locks: fake.locksOf(session.spid) });
            this.session = session;
            this.pool.openTx = this;
            return this;
        }

        commit(): Promise<void> {
            return this.end("commit");
        }

        rollback(): Promise<void> {
            return this.end("rollback");
        }

        private async end(op: "commit" | "rollback"): Promise<void> {
            await Promise.resolve();
            if (this.aborted) {
                fake.record({ op, pool: this.pool.id, ...(this.id !== undefined ? { tx: this.id } : {}) });
                throw mssqlError("TransactionError", "Transaction has been aborted.", "EABORT");
            }
            const session = this.borrow();
            const call: FakeCall = { op, pool: this.pool.id, tx: this.id, session: session.spid, locks: fake.locksOf(session.spid) };
            this.session = undefined;
            if (this.pool.openTx === this) this.pool.openTx = undefined;
            if (session.closed || this.dropped) {
                fake.record(call);
                throw mssqlError("TransactionError", "Requests can only be made in the LoggedIn state, not the Final state", "EINVALIDSTATE");
            }
            fake.answer(call);
        }

        request(config?: { requestTimeout?: number }): Request {
            return new Request(this, config);
        }
    }

    return {
        ...mssql,
        ConnectionPool,
        Transaction,
        Request,
    };
}
