/**
 * Which database errors are waited out (migrator/transient.ts): Microsoft's list of Azure SQL transient fault codes,
 * by number and (at login, where tedious keeps only the message) by text; refused logins and addresses never.
 */
import fc from "fast-check";
import { AZURE_SQL_TRANSIENT_ERRORS, classifyDatabaseError, CONNECT_RETRY_POLICY, decideTransientRetry } from "../../migrator/transient";
import { fakeLoginError, fakeRequestError } from "../support/fakeMssql";

const LOGIN_MESSAGES: Record<number, string> = {
    926: "Database 'replicatedmaster' cannot be opened. It has been marked SUSPECT by recovery. See the SQL Server error log for more information.",
    4060: 'Cannot open database "goals" requested by the login. The login failed.',
    40197: "The service has encountered an error processing your request. Please try again. Error code 40143.",
    40501: "The service is currently busy. Retry the request after 10 seconds. Incident ID: x. Code: 1.",
    40613: "Database 'goals' on server 'bg-sql' is not currently available. Please retry the connection later. If the problem persists, contact customer support.",
    49918: "Cannot process request. Not enough resources to process request. The service is currently busy. Please retry the request later.",
    49919: 'Cannot process create or update request. Too many create or update operations in progress for subscription "1".',
    49920: 'Cannot process request. Too many operations in progress for subscription "1".',
    4221: "Login to read-secondary failed due to long wait on 'HADR_DATABASE_WAIT_FOR_TRANSITION_TO_VERSIONING'.",
    615: "Could not find database ID 5, name 'goals'",
};

describe("classifyDatabaseError", () => {
    it("knows exactly Microsoft's ten transient fault codes", () => {
        expect(AZURE_SQL_TRANSIENT_ERRORS.map((e) => e.number).sort((a, b) => a - b)).toEqual([615, 926, 4060, 4221, 40197, 40501, 40613, 49918, 49919, 49920]);
    });

    it.each(Object.keys(LOGIN_MESSAGES).map(Number))("%i is transient by its number and, at login, by its message", (n) => {
        expect(classifyDatabaseError(fakeRequestError("x", { number: n }))).toMatchObject({ kind: "transient", code: String(n) });
        expect(classifyDatabaseError(fakeLoginError(LOGIN_MESSAGES[n]))).toMatchObject({ kind: "transient", code: String(n) });
    });

    it.each([
        ["18456 login failed", fakeLoginError("Login failed for user 'sqladmin'."), "login-refused", "18456"],
        ["40615 firewall", fakeLoginError("Cannot open server 'bg-sql' requested by the login. Client with IP address '198.51.100.7' is not allowed to access the server."), "address-refused", "40615"],
        ["40914 no VNet rule", fakeLoginError("Cannot open server 'bg-sql' requested by the login. Client is not allowed to access the server."), "address-refused", "40914"],
        ["PostgreSQL 28P01", Object.assign(new Error("password authentication failed for user \"x\""), { code: "28P01" }), "login-refused", "28P01"],
        ["PostgreSQL 28000", Object.assign(new Error("no pg_hba.conf entry"), { code: "28000" }), "address-refused", "28000"],
        ["PostgreSQL starting up", Object.assign(new Error("the database system is starting up"), { code: "57P03" }), "transient", "57P03"],
        ["connection refused", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "unreachable", "ECONNREFUSED"],
        ["a syntax error", fakeRequestError("Incorrect syntax near 'x'.", { number: 102 }), "other", "102"],
    ])("%s → %s", (_what, err, kind, code) => {
        expect(classifyDatabaseError(err)).toMatchObject({ kind, code });
    });

    it("takes a refused login for a refusal even when a transient error precedes it in the batch", () => {
        const err = fakeRequestError("Login failed for user 'x'.", { number: 18456, precedingErrors: [fakeRequestError("busy", { number: 40501 })] });
        expect(classifyDatabaseError(err).kind).toBe("login-refused");
    });
});

describe("decideTransientRetry", () => {
    const transient = fakeRequestError("not currently available", { number: 40613 });

    it("waits 5 s, then doubles up to 60 s (Microsoft's advice), saying each retry with the code", () => {
        const delays = [1, 2, 3, 4, 5].map((n) => {
            const d = decideTransientRetry("connecting to db", transient, n, CONNECT_RETRY_POLICY);
            if (!d.retry) throw new Error("expected a retry");
            return d.delayMs;
        });
        expect(delays).toEqual([5_000, 10_000, 20_000, 40_000, 60_000]);
        const first = decideTransientRetry("connecting to db", transient, 1, CONNECT_RETRY_POLICY);
        expect(first.note).toBe("connecting to db failed with 40613 (database not currently available), a transient error; retrying in 5 s (attempt 1 of 6)");
    });

    it("gives up after the last attempt with the code, the time waited and the fix", () => {
        const d = decideTransientRetry("connecting to db", transient, 6, CONNECT_RETRY_POLICY);
        expect(d.retry).toBe(false);
        expect(d.note).toBe(
            "connecting to db failed with 40613 (database not currently available) in each of 6 attempts over 135 s. Azure SQL is reconfiguring or busy for longer than usual: check the Azure status page and the database's resource limits, then run again (pulumi config set retryTag <next> && pulumi up).",
        );
    });

    it.each([
        [fakeLoginError("Login failed for user 'app_user'."), /refused with 18456 \(login failed\), which is not transient and was not retried: the user or password/],
        [fakeLoginError("Cannot open server 's' requested by the login. Client is not allowed to access the server."), /refused with 40914 .*sql-app-subnet-rule/],
    ])("never retries a refused login or address, and names the fix", (err, note) => {
        const d = decideTransientRetry("connecting to db", err, 1, CONNECT_RETRY_POLICY);
        expect(d.retry).toBe(false);
        expect(d.note).toMatch(note);
    });

    it("leaves other errors to the caller (no retry, no note)", () => {
        expect(decideTransientRetry("x", new Error("boom"), 1, CONNECT_RETRY_POLICY)).toEqual({ retry: false, class: { kind: "other" } });
    });

    it("is bounded: at most `attempts` tries, no wait above the cap", () => {
        fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 50 }), (attempts, base, max, attempt) => {
            const d = decideTransientRetry("x", transient, attempt, { attempts, baseDelayMs: base, maxDelayMs: max });
            if (attempt >= attempts) return !d.retry;
            return d.retry && d.delayMs <= max && d.delayMs >= Math.min(base, max);
        }));
    });
});
