/**
 * A real, throw-away PostgreSQL server for tests. The code lives in rehearsal/postgres.ts (the local rehearsal starts
 * one too); this module keeps the import path the test suites use.
 *
 *   const pg = await startPostgres();      // { url, stop() }
 *   const url = await pg.createDatabase("runner_test");
 *   ...
 *   await pg.stop();
 */
export { findPostgresBin, freePort, startPostgres } from "../../rehearsal/postgres";
export type { LocalPostgres, TestPostgres } from "../../rehearsal/postgres";
