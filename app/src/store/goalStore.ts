/**
 * The app's one database feature: the "goals" of the SocialGoal app. Handlers talk to this interface only; the
 * driver is chosen by the scheme of DATABASE_URL (see {@link openGoalStore}).
 */
import { compareVersions } from "../../../release/versions";

export interface Goal {
    readonly id: number;
    readonly title: string;
    /** ISO 8601, UTC. */
    readonly createdAt: string;
}

export interface GoalStore {
    /** Resolves when the database answers (used to decide readiness). */
    ping(): Promise<void>;
    /** The newest goals first, at most `limit`. */
    list(limit: number): Promise<Goal[]>;
    /** Adds a goal and returns it as stored. */
    add(title: string): Promise<Goal>;
    close(): Promise<void>;
}

/** Longest title the app accepts (the column is NVARCHAR(200) / varchar(200)). */
export const MAX_TITLE_LENGTH = 200;

/** The goals table's column holding the title before the rename (migrations/0001_initial_schema). */
export const OLD_TITLE_COLUMN = "title";
/** The same data after the expand migration of the shipped example rename (migrations/0002_add_goal_name). */
export const NEW_TITLE_COLUMN = "name";
/** The first version that reads and writes the renamed column (any 2.0.0 pre-release included). */
export const FIRST_VERSION_ON_NEW_COLUMN = "2.0.0-0";

/** What a build reads and writes in the goals schema. */
export interface GoalSchema {
    /** The column holding a goal's title, written by `add`. */
    readonly titleColumn: typeof OLD_TITLE_COLUMN | typeof NEW_TITLE_COLUMN;
    /**
     * The versioned read routine `list` calls (the migrations version procedures by name, so the one the live 1.x
     * uses stays unchanged while 2.x gets its own): `dbo.GetGoals_v<n>` on SQL Server, `get_goals_v<n>` on PostgreSQL.
     */
    readonly readRoutineVersion: 1 | 2;
}

/**
 * Which columns and read routine this build uses. One code base plays both v1 and v2 in the rehearsal, so the choice
 * follows the stamped version: below 2.0.0 the old column and GetGoals_v1 (the expand migration keeps title and name
 * in step with a trigger), from 2.0.0 on the new column and GetGoals_v2 (so the contract migration,
 * `requires-version 2.0.0`, may drop title and GetGoals_v1 once no 1.x can take traffic). A real app would simply
 * ship different queries in v2; this function is the only place the rehearsal needs it.
 */
export function goalSchemaFor(version: string): GoalSchema {
    return compareVersions(version, FIRST_VERSION_ON_NEW_COLUMN) >= 0
        ? { titleColumn: NEW_TITLE_COLUMN, readRoutineVersion: 2 }
        : { titleColumn: OLD_TITLE_COLUMN, readRoutineVersion: 1 };
}

/** The driver a DATABASE_URL selects, by its scheme. */
export function driverFor(url: string): "mssql" | "pg" | "memory" {
    const scheme = url.slice(0, Math.max(0, url.indexOf(":"))).toLowerCase();
    switch (scheme) {
        case "mssql":
        case "sqlserver":
            return "mssql";
        case "postgres":
        case "postgresql":
            return "pg";
        case "memory":
            return "memory";
        default:
            throw new Error(
                `DATABASE_URL has scheme "${scheme}", which no driver handles; use mssql://, sqlserver://, postgres:// or postgresql://.`,
            );
    }
}

/**
 * Opens the store for `url` (drivers are loaded only when chosen). `version` is the stamped build version, which
 * decides the columns and read routine ({@link goalSchemaFor}). Does not wait for the database: call `ping()` for that.
 */
export async function openGoalStore(url: string, version: string): Promise<GoalStore> {
    const schema = goalSchemaFor(version);
    switch (driverFor(url)) {
        case "mssql": {
            const { openMssqlGoalStore } = await import("./mssqlGoalStore");
            return openMssqlGoalStore(url, schema);
        }
        case "pg": {
            const { openPgGoalStore } = await import("./pgGoalStore");
            return openPgGoalStore(url, schema);
        }
        case "memory": {
            const { MemoryGoalStore } = await import("./memoryGoalStore");
            return new MemoryGoalStore();
        }
    }
}
