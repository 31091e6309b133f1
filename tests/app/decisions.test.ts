import { crashIfAsked, INJECTED_ERROR_EVERY, injectsError, neverHealthy, reportedVersion, WRONG_VERSION } from "../../app/src/faults";
import { parseNewGoal, shouldCloseConnection, shouldCloseIdleConnection } from "../../app/src/server";
import { driverFor, goalSchemaFor } from "../../app/src/store/goalStore";

describe("shouldCloseConnection (Connection: close on this response?)", () => {
    it.each([
        [0, 29_999, 30_000, false, false],
        [0, 30_000, 30_000, false, true],
        [1_000, 1_500, 30_000, true, true],
    ])("opened at %d, now %d, max age %d, draining %s → %s", (openedAt, now, maxAge, draining, expected) => {
        expect(shouldCloseConnection(openedAt, now, maxAge, draining)).toBe(expected);
    });
});

describe("shouldCloseIdleConnection (may the sweep close this socket?)", () => {
    const old = { openedAt: 0, lastActiveAt: 0, inFlight: 0 };
    it.each([
        { name: "idle, past its age and its grace", state: old, expected: true },
        { name: "still serving a request", state: { ...old, inFlight: 1 }, expected: false },
        { name: "younger than the maximum age", state: { ...old, openedAt: 6_000 }, expected: false },
        { name: "answered a request within the grace period", state: { ...old, lastActiveAt: 9_500 }, expected: false },
    ])("$name → $expected", ({ state, expected }) => {
        expect(shouldCloseIdleConnection(state, 10_000, 5_000, 1_000)).toBe(expected);
    });
});

describe("goalSchemaFor (which title column and read routine a build uses)", () => {
    it.each([
        ["1.0.0", "title", 1],
        ["1.99.3", "title", 1],
        ["0.0.0-dev", "title", 1],
        ["2.0.0-rc.1", "name", 2],
        ["2.0.0", "name", 2],
        ["3.1.0", "name", 2],
    ])("%s writes %s and reads with GetGoals_v%d", (version, titleColumn, readRoutineVersion) => {
        expect(goalSchemaFor(version)).toEqual({ titleColumn, readRoutineVersion });
    });
});

describe("driverFor (DATABASE_URL scheme → driver)", () => {
    it.each([
        ["mssql://u:p@h:1433/db", "mssql"],
        ["sqlserver://u:p@h/db", "mssql"],
        ["postgres://u@h/db", "pg"],
        ["PostgreSQL://u@h/db", "pg"],
        ["memory:", "memory"],
    ])("%s → %s", (url, driver) => {
        expect(driverFor(url)).toBe(driver);
    });

    it("refuses an unknown scheme, naming it and the supported ones", () => {
        expect(() => driverFor("mysql://u:p@h/db")).toThrow(/scheme "mysql".*mssql:\/\/, sqlserver:\/\/, postgres:\/\/ or postgresql:\/\//);
    });
});

describe("faults", () => {
    it("reports the stamped version unless wrong-version is injected", () => {
        expect(reportedVersion("2.0.0", undefined)).toBe("2.0.0");
        expect(reportedVersion("2.0.0", "unhealthy")).toBe("2.0.0");
        expect(reportedVersion("2.0.0", "wrong-version")).toBe(WRONG_VERSION);
    });

    it("is never healthy only under unhealthy", () => {
        expect(neverHealthy("unhealthy")).toBe(true);
        expect(neverHealthy(undefined)).toBe(false);
        expect(neverHealthy("wrong-version")).toBe(false);
    });

    it("fails one request in five under errors-after-flip, only in production and never the health check", () => {
        const failed = (fault: Parameters<typeof injectsError>[0], inProduction: boolean, path: string): number =>
            Array.from({ length: 100 }, (_, i) => injectsError(fault, inProduction, path, i + 1)).filter(Boolean).length;
        expect(INJECTED_ERROR_EVERY).toBe(5);
        expect(failed("errors-after-flip", true, "/goals")).toBe(20);
        expect(failed("errors-after-flip", false, "/goals")).toBe(0);
        expect(failed("errors-after-flip", true, "/health")).toBe(0);
        expect(failed("unhealthy", true, "/goals")).toBe(0);
        expect(failed(undefined, true, "/goals")).toBe(0);
    });

    it("crashes on start only under crash-on-start", () => {
        expect(() => crashIfAsked("crash-on-start")).toThrow(/APP_FAULT=crash-on-start/);
        expect(() => crashIfAsked(undefined)).not.toThrow();
    });
});

describe("parseNewGoal (POST /goals body)", () => {
    it("returns the trimmed title", () => {
        expect(parseNewGoal('{"title":"  Run a marathon "}')).toBe("Run a marathon");
    });

    it.each([
        ["not json", /body is not JSON/],
        ["{}", /title is missing or empty/],
        ['{"title":"   "}', /title is missing or empty/],
        ['{"title":42}', /title is missing or empty/],
        [JSON.stringify({ title: "x".repeat(201) }), /title is 201 UTF-16 code units long; at most 200 are allowed/],
        [JSON.stringify({ title: "🏃".repeat(101) }), /title is 202 UTF-16 code units long; .*emoji .* count 2/],
        ['{"title":"Run\\u0000 a marathon"}', /title contains a NUL character \(\\u0000\) at UTF-16 code unit 4/],
        ['{"title":"Run \\ud83c a marathon"}', /title contains a lone UTF-16 surrogate \(\\ud83c\) at code unit 5/],
    ])("refuses %s", (body, message) => {
        expect(() => parseNewGoal(body)).toThrow(message);
    });

    it("counts the 200 in UTF-16 code units, as NVARCHAR(200) does: 100 emoji fit, 101 do not", () => {
        expect(parseNewGoal(JSON.stringify({ title: "🏃".repeat(100) }))).toHaveLength(200);
        expect(() => parseNewGoal(JSON.stringify({ title: "🏃".repeat(101) }))).toThrow(/202 UTF-16 code units/);
    });
});
