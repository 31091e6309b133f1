/** The retry decisions after a lock timeout (migrator/retry.ts): which errors, which batches, how long, how often. */
import fc from "fast-check";
import { decideRetry, isLockTimeout, RetryPolicy, retryScopeOf } from "../../migrator/retry";

const requestError = (props: Record<string, unknown>) => Object.assign(new Error("x"), props);
const policy: RetryPolicy = { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 3_000 };

describe("isLockTimeout", () => {
    it.each([
        ["SQL Server 1222", "mssql", requestError({ number: 1222 }), true],
        ["SQL Server 1222 in tedious's originalError", "mssql", requestError({ originalError: { info: { number: 1222 } } }), true],
        ["SQL Server 1222 among the batch's earlier errors", "mssql", requestError({ number: 3621, precedingErrors: [requestError({ number: 1222 })] }), true],
        ["SQL Server 1222 wrapped as the cause of the runner's error", "mssql", requestError({ cause: requestError({ number: 1222 }) }), true],
        ["SQL Server 1205 (deadlock victim)", "mssql", requestError({ number: 1205 }), false],
        ["PostgreSQL 55P03", "postgres", requestError({ code: "55P03" }), true],
        ["PostgreSQL 57014 (statement timeout)", "postgres", requestError({ code: "57014" }), false],
        ["a 55P03 code seen as SQL Server", "mssql", requestError({ code: "55P03" }), false],
        ["not an error", "mssql", "1222", false],
    ] as const)("%s (as %s) → %s", (_, dialect, err, expected) => {
        expect(isLockTimeout(dialect, err)).toBe(expected);
    });
});

describe("retryScopeOf: what may run again after a lock timeout, per batch", () => {
    it.each([
        ["a transactional migration's batch: the whole migration", false, "UPDATE dbo.a SET x = 1; UPDATE dbo.b SET y = 2;", "tsql", "migration"],
        ["one plain statement outside a transaction: that batch", true, "ALTER TABLE dbo.goals ADD name NVARCHAR(200) NULL;", "tsql", "batch"],
        ["one CREATE TRIGGER (its body runs later)", true, "CREATE TRIGGER dbo.t ON dbo.goals AFTER INSERT AS BEGIN SELECT 1; SELECT 2; END", "tsql", "batch"],
        ["two statements outside a transaction: never", true, "CREATE TABLE dbo.a (id int);\nINSERT INTO dbo.a VALUES (1);", "tsql", "none"],
        ["a WHILE loop (commits each pass): never", true, "WHILE 1 = 1 BEGIN UPDATE TOP (10) dbo.a SET x = 1; IF @@ROWCOUNT = 0 BREAK; END", "tsql", "none"],
        ["an EXEC (the procedure may commit part): never", true, "EXEC dbo.backfill;", "tsql", "none"],
        ["PostgreSQL: CREATE INDEX CONCURRENTLY alone", true, "CREATE INDEX CONCURRENTLY goals_name ON goals (name);", "postgres", "batch"],
        ["PostgreSQL: a DO block: never", true, "DO $$ BEGIN PERFORM 1; END $$;", "postgres", "none"],
    ] as const)("%s", (_, noTransaction, sql, dialect, scope) => {
        expect(retryScopeOf({ noTransaction }, sql, dialect)).toBe(scope);
    });
});

describe("decideRetry", () => {
    const lockTimeout = requestError({ number: 1222 });

    it("retries a lock timeout with doubling waits, capped, until the last attempt, then explains and points at the blocker", () => {
        const decisions = [1, 2, 3, 4].map((attempt) => decideRetry({ dialect: "mssql", err: lockTimeout, scope: "migration", attempt, policy }));
        expect(decisions.map((d) => (d.retry ? d.delayMs : "stop"))).toEqual([1_000, 2_000, 3_000, "stop"]);
        expect(decisions[0]).toMatchObject({ note: "lock timeout (attempt 1 of 4); retrying the migration in 1000 ms" });
        expect(decisions[3].note).toMatch(/in each of 4 attempts \(rolled back each time.*blocking_session_id.*pg_blocking_pids/s);
    });

    it("never retries other errors, and says why a no-transaction batch of several statements is not retried", () => {
        expect(decideRetry({ dialect: "mssql", err: requestError({ number: 208 }), scope: "migration", attempt: 1, policy })).toEqual({ retry: false });
        const notx = decideRetry({ dialect: "mssql", err: lockTimeout, scope: "none", attempt: 1, policy });
        expect(notx).toMatchObject({ retry: false, note: expect.stringMatching(/not retried.*may have committed part of its work/) });
    });

    it("property: at most attempts-1 retries, each wait within [base, max], waits never shrink", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 10 }),
                fc.integer({ min: 1, max: 5_000 }),
                fc.integer({ min: 0, max: 60_000 }),
                (attempts, baseDelayMs, extra) => {
                    const p = { attempts, baseDelayMs, maxDelayMs: baseDelayMs + extra };
                    const waits: number[] = [];
                    for (let attempt = 1; attempt <= attempts + 2; attempt++) {
                        const d = decideRetry({ dialect: "postgres", err: requestError({ code: "55P03" }), scope: "batch", attempt, policy: p });
                        if (!d.retry) break;
                        waits.push(d.delayMs);
                    }
                    expect(waits).toHaveLength(attempts - 1);
                    waits.forEach((w, i) => {
                        expect(w).toBeGreaterThanOrEqual(baseDelayMs);
                        expect(w).toBeLessThanOrEqual(p.maxDelayMs);
                        if (i > 0) expect(w).toBeGreaterThanOrEqual(waits[i - 1]);
                    });
                },
            ),
        );
    });
});
