/** The timeout of one batch (migrator/timeouts.ts): online index builds get the long one. */
import { batchTimeoutMs, buildsIndexOnline } from "../../migrator/timeouts";

describe("buildsIndexOnline", () => {
    it.each([
        ["CREATE INDEX … WITH (ONLINE = ON)", "tsql", "CREATE INDEX ix ON dbo.goals (done) WITH (ONLINE = ON);", true],
        ["ALTER INDEX … REBUILD WITH (RESUMABLE = ON)", "tsql", "ALTER INDEX ix ON dbo.goals REBUILD WITH (ONLINE = ON, RESUMABLE = ON, MAX_DURATION = 60);", true],
        ["an offline index", "tsql", "CREATE INDEX ix ON dbo.goals (done);", false],
        ["ALTER COLUMN … WITH (ONLINE = ON) (no index)", "tsql", "ALTER TABLE dbo.goals ALTER COLUMN name NVARCHAR(200) NOT NULL WITH (ONLINE = ON);", false],
        ["ONLINE = ON only in a comment", "tsql", "-- CREATE INDEX ix ON t (a) WITH (ONLINE = ON)\nSELECT 1;", false],
        ["PostgreSQL CREATE INDEX CONCURRENTLY", "postgres", "CREATE INDEX CONCURRENTLY ix ON goals (done);", true],
        ["PostgreSQL CREATE INDEX", "postgres", "CREATE INDEX ix ON goals (done);", false],
    ] as const)("%s → %s", (_, dialect, sql, expected) => {
        expect(buildsIndexOnline(sql, dialect)).toBe(expected);
    });
});

describe("batchTimeoutMs", () => {
    const timeouts = { requestMs: 1_800_000, longMs: 86_400_000 };
    it("gives an online index build the long timeout and everything else the request timeout, never less than it", () => {
        expect(batchTimeoutMs("CREATE INDEX ix ON dbo.goals (done) WITH (ONLINE = ON);", "tsql", timeouts)).toBe(86_400_000);
        expect(batchTimeoutMs("UPDATE dbo.goals SET done = 1 WHERE id = 1;", "tsql", timeouts)).toBe(1_800_000);
        expect(batchTimeoutMs("CREATE INDEX ix ON dbo.goals (done) WITH (ONLINE = ON);", "tsql", { requestMs: 5_000_000, longMs: 1_000 })).toBe(5_000_000);
    });
});
