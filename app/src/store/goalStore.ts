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

/** The goals table's column holding the title before the rename (initial schema). */
export const OLD_TITLE_COLUMN = "title";
/** The same data after the expand migration of the shipped example rename. */
export const NEW_TITLE_COLUMN = "name";
/** The first version that reads and writes the renamed column (any 2.0.0 pre-release included). */
export const FIRST_VERSION_ON_NEW_COLUMN = "2.0.0-0";

/**
 * Which title column this build uses. One code base plays both v1 and v2 in the rehearsal, so the choice follows the
 * stamped version: below 2.0.0 the old column (the expand migration keeps both in step), from 2.0.0 on the new one
 * (so the contract migration, `requires-version 2.0.0`, may drop the old column once no v1 can take traffic).
 * A real app would simply ship different queries in v2; this function is the only place the rehearsal needs it.
 */
export function titleColumnFor(version: string): string {
    return compareVersions(version, FIRST_VERSION_ON_NEW_COLUMN) >= 0 ? NEW_TITLE_COLUMN : OLD_TITLE_COLUMN;
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
 * decides the title column ({@link titleColumnFor}). Does not wait for the database: call `ping()` for that.
 */
export async function openGoalStore(url: string, version: string): Promise<GoalStore> {
    const column = titleColumnFor(version);
    switch (driverFor(url)) {
        case "mssql": {
            const { openMssqlGoalStore } = await import("./mssqlGoalStore");
            return openMssqlGoalStore(url, column);
        }
        case "pg": {
            const { openPgGoalStore } = await import("./pgGoalStore");
            return openPgGoalStore(url, column);
        }
        case "memory": {
            const { MemoryGoalStore } = await import("./memoryGoalStore");
            return new MemoryGoalStore();
        }
    }
}
