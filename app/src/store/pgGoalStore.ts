/** The goals on PostgreSQL (`postgres://` / `postgresql://`), through `pg`. Used by the local rehearsal. */
import type { Pool } from "pg";
import { Goal, GoalSchema, GoalStore } from "./goalStore";

interface Row {
    id: number | string;
    title: string;
    created_at: Date;
}

function toGoal(row: Row): Goal {
    return { id: Number(row.id), title: row.title, createdAt: row.created_at.toISOString() };
}

/** Quotes an identifier for PostgreSQL (the column name comes from code, never from a request). */
function ident(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

export class PgGoalStore implements GoalStore {
    constructor(
        private readonly pool: Pool,
        private readonly schema: GoalSchema,
    ) {}

    async ping(): Promise<void> {
        await this.pool.query("SELECT 1");
    }

    async list(limit: number): Promise<Goal[]> {
        const { titleColumn, readRoutineVersion } = this.schema;
        const { rows } = await this.pool.query<Row>(
            `SELECT id, ${ident(titleColumn)} AS title, created_at FROM get_goals_v${readRoutineVersion}($1)`,
            [limit],
        );
        return rows.map(toGoal);
    }

    async add(title: string): Promise<Goal> {
        const column = ident(this.schema.titleColumn);
        const { rows } = await this.pool.query<Row>(`INSERT INTO goals (${column}) VALUES ($1) RETURNING id, ${column} AS title, created_at`, [
            title,
        ]);
        return toGoal(rows[0]);
    }

    async close(): Promise<void> {
        await this.pool.end();
    }
}

/** A pool on `url` (small: the app is a stand-in; the rehearsal runs four instances on one PostgreSQL). */
export async function openPgGoalStore(url: string, schema: GoalSchema): Promise<GoalStore> {
    const { Pool } = await import("pg");
    const pool = new Pool({ connectionString: url, max: 5, connectionTimeoutMillis: 5_000 });
    // An idle client that loses its server (database restart) must not crash the process.
    pool.on("error", (e) => console.error(JSON.stringify({ event: "db-error", driver: "pg", message: e.message })));
    return new PgGoalStore(pool, schema);
}
