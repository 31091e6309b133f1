/**
 * The goals on SQL Server / Azure SQL (`mssql://` or `sqlserver://`), through `mssql` (tedious).
 * Not run against a real SQL Server here: tests/app/mssqlGoalStore.test.ts checks query text and parameters
 * against a recording fake of the mssql API.
 */
import type * as mssql from "mssql";
import { booleanOption, parseDatabaseUrl } from "../../../migrator/databaseUrl";
import { TransientRetryOptions, withTransientRetry } from "./transient";
import { Goal, GoalSchema, GoalStore, MAX_TITLE_LENGTH } from "./goalStore";

/** The parts of the `mssql` module the store uses (a fake can stand in for it in tests). */
export type MssqlDriver = Pick<typeof mssql, "ConnectionPool" | "NVarChar" | "Int">;

interface Row {
    id: number;
    created_at: Date;
    [column: string]: unknown;
}

function toGoal(row: Row, titleColumn: string): Goal {
    return { id: Number(row.id), title: String(row[titleColumn]), createdAt: new Date(row.created_at).toISOString() };
}

/** Brackets an identifier for T-SQL (the column name comes from code, never from a request). */
function bracket(name: string): string {
    return `[${name.replace(/]/g, "]]")}]`;
}

/**
 * The mssql connection config for a URL such as
 * `mssql://app_user:p%40ss@myserver.database.windows.net:1433/appdb` (user and password URL-encoded).
 * Query parameters: `encrypt` (default true: Azure SQL requires TLS), `trustServerCertificate` (default false),
 * `authentication=azure-active-directory-msi-vm` (log in with the VM's managed identity; no password; optional
 * `clientId` for a user-assigned identity).
 */
export function mssqlConfigFromUrl(url: string): mssql.config {
    const db = parseDatabaseUrl(url); // the migration runner's parser: same URL rules, password masked in errors
    // As in the runner: true/false in any letter case (`encrypt=True` is true); anything else is refused.
    const flag = (name: string, fallback: boolean): boolean => booleanOption(db, name, fallback);
    const config: mssql.config = {
        server: db.host,
        port: db.port ?? 1433,
        database: db.database,
        options: { encrypt: flag("encrypt", true), trustServerCertificate: flag("trustServerCertificate", false), appName: "bluegreen-app" },
        pool: { max: 5, min: 0, idleTimeoutMillis: 30_000 },
        // mssql 12 validates a pooled connection before every borrow, by default with a SELECT 1 round trip per
        // request; "socket" checks the connection's state and socket instead (mssql/lib/tedious/connection-pool.js).
        validateConnection: "socket",
        connectionTimeout: 15_000,
        requestTimeout: 15_000,
    };
    const authentication = db.options.authentication;
    if (authentication === "azure-active-directory-msi-vm") {
        const clientId = db.options.clientId;
        config.authentication = { type: "azure-active-directory-msi-vm", options: clientId ? { clientId } : {} };
    } else if (authentication !== undefined) {
        throw new Error(
            `DATABASE_URL has authentication=${authentication}; only azure-active-directory-msi-vm is supported (or none, for a SQL login).`,
        );
    } else {
        config.user = db.user;
        config.password = db.password;
    }
    return config;
}

export class MssqlGoalStore implements GoalStore {
    private connecting?: Promise<mssql.ConnectionPool>;

    constructor(
        private readonly pool: mssql.ConnectionPool,
        private readonly driver: MssqlDriver,
        private readonly schema: GoalSchema,
        private readonly retry: TransientRetryOptions = {},
    ) {}

    /** The pool, connected once (a failed connect is retried on the next call). */
    private connected(): Promise<mssql.ConnectionPool> {
        if (!this.connecting) {
            this.connecting = this.pool.connect().catch((e: unknown) => {
                this.connecting = undefined;
                throw e;
            });
        }
        return this.connecting;
    }

    // Reads and pings are retried on Azure SQL's transient errors (./transient.ts); a write is not (an INSERT whose
    // answer was lost may have committed).
    async ping(): Promise<void> {
        await withTransientRetry(async () => (await this.connected()).request().query("SELECT 1 AS ok"), this.retry);
    }

    async list(limit: number): Promise<Goal[]> {
        // The versioned read procedure of this build (GetGoals_v1 returns title, GetGoals_v2 returns name).
        const result = await withTransientRetry(
            async () =>
                (await this.connected())
                    .request()
                    .input("limit", this.driver.Int, limit)
                    .execute<Row>(`dbo.GetGoals_v${this.schema.readRoutineVersion}`),
            this.retry,
        );
        return result.recordset.map((row) => toGoal(row, this.schema.titleColumn));
    }

    async add(title: string): Promise<Goal> {
        // No OUTPUT clause: SQL Server refuses OUTPUT without INTO on a table with triggers, and the expand
        // migration keeps the old and new columns in step with one (migrations/0002_add_goal_name).
        const column = bracket(this.schema.titleColumn);
        const result = await (await this.connected())
            .request()
            .input("title", this.driver.NVarChar(MAX_TITLE_LENGTH), title)
            .query<Row>(
                `INSERT INTO dbo.goals (${column}) VALUES (@title);\n` +
                    `SELECT id, ${column}, created_at FROM dbo.goals WHERE id = SCOPE_IDENTITY();`,
            );
        return toGoal(result.recordset[0], this.schema.titleColumn);
    }

    async close(): Promise<void> {
        await this.pool.close();
    }
}

/** A store on `url`; `driver` is the `mssql` module unless a test passes a fake. */
export async function openMssqlGoalStore(
    url: string,
    schema: GoalSchema,
    driver?: MssqlDriver,
    retry: TransientRetryOptions = {},
): Promise<GoalStore> {
    const d: MssqlDriver = driver ?? (await import("mssql"));
    const pool = new d.ConnectionPool(mssqlConfigFromUrl(url));
    // The real pool emits "error" when a pooled connection breaks; without a listener that would crash the process.
    // (`on` is optional so a recording fake without events can stand in.)
    (pool as Partial<Pick<mssql.ConnectionPool, "on">>).on?.("error", (e: Error) => console.error(JSON.stringify({ event: "db-error", driver: "mssql", message: e.message })));
    return new MssqlGoalStore(pool, d, schema, retry);
}
