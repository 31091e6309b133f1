/**
 * The Python sample's decisions, as tables: which schema a version uses, which database errors are waited out, which
 * URL parts may be printed, which goal titles are accepted. One python3 process evaluates every case (Debian's
 * interpreter and drivers, as on a VM); the expectations are here.
 */
import { spawnSync } from "child_process";
import * as path from "path";

const APP_DIR = path.resolve(__dirname, "..", "..", "app-python");

/** Evaluates `expressions` (Python, with the app's modules imported) and returns their values, or the error each raised. */
function evaluate(expressions: readonly string[]): unknown[] {
    const script = [
        "import json, sys, datetime",
        "import pymssql, psycopg2",
        "from goals.config import mask_url, parse_database_url",
        "from goals.database import classify, schema_for, iso_utc",
        "from goals.server import parse_new_goal, list_limit, slow_ms, HttpError",
        "out = []",
        "for e in json.loads(sys.argv[1]):",
        "    try:",
        "        out.append({'value': eval(e)})",
        "    except HttpError as err:",
        "        out.append({'http': err.status, 'error': str(err)})",
        "    except Exception as err:",
        "        out.append({'error': f'{type(err).__name__}: {err}'})",
        "print(json.dumps(out, default=str))",
    ].join("\n");
    const result = spawnSync("/usr/bin/python3", ["-B", "-c", script, JSON.stringify(expressions)], {
        env: { PATH: "/usr/bin:/bin", PYTHONPATH: APP_DIR },
        encoding: "utf8",
    });
    if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as unknown[];
}

describe("the schema a version uses (the expand/contract example's rename)", () => {
    const cases: [string, [string, number]][] = [
        ["1.0.0", ["title", 1]],
        ["1.99.3", ["title", 1]],
        ["2.0.0-0", ["name", 2]],
        ["2.0.0-rc.1", ["name", 2]],
        ["2.0.0", ["name", 2]],
        ["10.1.0", ["name", 2]],
    ];
    const results = evaluate(cases.map(([v]) => `list(schema_for(${JSON.stringify(v)}))`));
    it.each(cases.map(([v, expected], i) => [v, expected, results[i]]))("%s → %j", (_v, expected, result) => {
        expect(result).toEqual({ value: expected });
    });
});

describe("database errors: waited out, or given up at once", () => {
    const cases: [string, string, [string, string | null]][] = [
        ["SQL Server login failed", "pymssql.OperationalError((18456, b\"Login failed for user 'app'.DB-Lib error message 20018, severity 14\"),)", ["refused", "18456"]],
        ["Azure SQL firewall", "pymssql.OperationalError((40615, b'Client with IP address is not allowed to access the server.'),)", ["refused", "40615"]],
        ["Azure SQL database not available (failover)", "pymssql.OperationalError((40613, b'Database on server is not currently available.'),)", ["transient", "40613"]],
        ["a deadlock victim", "pymssql.OperationalError((1205, b'Transaction was deadlocked'),)", ["transient", "1205"]],
        ["FreeTDS: server unavailable", "pymssql.OperationalError((20009, b'DB-Lib error message 20009, severity 9:\\nUnable to connect'),)", ["unreachable", "20009"]],
        ["SQL Server: invalid object (a bug, not the network)", "pymssql.ProgrammingError((208, b\"Invalid object name 'dbo.goals'.\"),)", ["other", null]],
        ["PostgreSQL wrong password", "psycopg2.OperationalError('connection to server at \"h\", port 5432 failed: FATAL:  password authentication failed for user \"app\"')", ["refused", "28P01"]],
        ["PostgreSQL unknown database", "psycopg2.OperationalError('connection to server at \"h\", port 5432 failed: FATAL:  database \"x\" does not exist')", ["refused", "3D000"]],
        ["PostgreSQL starting up", "psycopg2.OperationalError('connection to server at \"h\", port 5432 failed: FATAL:  the database system is starting up')", ["transient", "57P03"]],
        ["PostgreSQL connection refused", "psycopg2.OperationalError('connection to server at \"h\", port 5432 failed: Connection refused')", ["unreachable", "connection"]],
        ["PostgreSQL connection lost", "psycopg2.InterfaceError('connection already closed')", ["unreachable", "connection"]],
        ["an app bug", "KeyError('title')", ["other", null]],
    ];
    const results = evaluate(cases.map(([, err]) => `list(classify(${err}))[:2]`));
    it.each(cases.map(([what, , expected], i) => [what, expected, results[i]]))("%s → %j", (_what, expected, result) => {
        expect(result).toEqual({ value: expected });
    });
});

describe("DATABASE_URL as the app prints it: never the password", () => {
    const cases: [string, string][] = [
        ["postgres://app:S3cret@db:5432/goals", "postgres://app:***@db:5432/goals"],
        ["mssql://app:S3cret%40x@srv.database.windows.net:1433/goals?encrypt=true", "mssql://app:***@srv.database.windows.net:1433/goals?encrypt=true"],
        ["postgres://app:S3cret@db/goals?sslmode=require&password=S3cret", "postgres://app:***@db/goals?sslmode=require&password=***"],
        ["postgres://app:S3cret", "postgres://app:***"],
        ["postgres://db:5432/goals", "postgres://db:5432/goals"],
    ];
    const results = evaluate(cases.map(([url]) => `mask_url(${JSON.stringify(url)})`));
    it.each(cases.map(([url, masked], i) => [url, masked, results[i]]))("%s → %s", (_url, masked, result) => {
        expect(result).toEqual({ value: masked });
        expect(JSON.stringify(result)).not.toContain("S3cret");
    });

    it("decodes the user, password and database of the URL", () => {
        const [parsed] = evaluate(['(lambda d: [d.user, d.password, d.database, d.port])(parse_database_url("postgresql://app%2Dx:p%40ss%3Aw%2Frd@db/go%20als"))']);
        expect(parsed).toEqual({ value: ["app-x", "p@ss:w/rd", "go als", 5432] });
    });
});

describe("POST /goals titles, GET /goals limits, /slow", () => {
    const cases: [string, string, unknown][] = [
        ["a title, trimmed", 'parse_new_goal(b\'{"title": "  Run a marathon "}\')', { value: "Run a marathon" }],
        ["200 emoji halves (100 emoji = 200 UTF-16 units)", `parse_new_goal(json.dumps({"title": "\\U0001F3C3" * 100}).encode())`, { value: "🏃".repeat(100) }],
        ["201 UTF-16 units", 'parse_new_goal(json.dumps({"title": "x" * 201}).encode())', { http: 400, error: expect.stringContaining("title is 201 UTF-16 code units long; at most 200") }],
        ["a lone surrogate", "parse_new_goal(b'{\"title\": \"a\\\\ud800b\"}')", { http: 400, error: expect.stringContaining("lone UTF-16 surrogate") }],
        ["a NUL", "parse_new_goal(b'{\"title\": \"a\\\\u0000b\"}')", { http: 400, error: expect.stringContaining("NUL character") }],
        ["no title", "parse_new_goal(b'{\"name\": \"x\"}')", { http: 400, error: expect.stringContaining("title is missing or empty") }],
        ["not JSON", "parse_new_goal(b'title=x')", { http: 400, error: expect.stringContaining("body is not JSON") }],
        ["no limit: 20", "list_limit({})", { value: 20 }],
        ["limit 100", "list_limit({'limit': ['100']})", { value: 100 }],
        ["limit 101", "list_limit({'limit': ['101']})", { http: 400, error: "limit=101 must be an integer from 1 to 100" }],
        ["/slow past 30 s", "slow_ms({'ms': ['99999']})", { value: 30000 }],
        ["/slow not a number", "slow_ms({'ms': ['soon']})", { value: 0 }],
    ];
    const results = evaluate(cases.map(([, e]) => e));
    it.each(cases.map(([what, , expected], i) => [what, expected, results[i]]))("%s", (_what, expected, result) => {
        expect(result).toEqual(expected);
    });
});
