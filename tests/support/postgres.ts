/**
 * A real, throw-away PostgreSQL server for tests. The code lives in rehearsal/postgres.ts (the local rehearsal starts
 * one too); this module keeps the import path the test suites use.
 *
 *   const pg = await startPostgres();      // { url, stop() }
 *   const url = await pg.createDatabase("runner_test");
 *   ...
 *   await pg.stop();
 */
import { Client } from "pg";

export { findPostgresBin, freePort, startPostgres } from "../../rehearsal/postgres";
export type { LocalPostgres, TestPostgres } from "../../rehearsal/postgres";

/** Runs one statement on a connection of its own and returns its rows. */
export async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
        return (await c.query<T>(sql)).rows;
    } finally {
        await c.end();
    }
}
