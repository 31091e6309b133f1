// The user's smoke checks: which lists are valid (each problem naming the field, the value and an example), and the
// judgement of one answer. The runner against a real server: tests/release/smokeChecks.int.test.ts.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { judgeSmokeAnswer, parseSmokeChecks, runSmokeChecks, SmokeAnswer, SmokeCheck, smokeCheckProblems, smokeChecksWorstSeconds, smokeReport } from "../../release/smokeChecks";

const check = (over: Partial<SmokeCheck> = {}): SmokeCheck => ({ name: "home", path: "/", method: "GET", headers: {}, expectStatus: 200, expectBodyContains: [], expectHeaders: {}, timeoutMs: 5000, ...over });

describe("parseSmokeChecks on valid lists", () => {
    it("fills the defaults: GET, status 200, 5 s, no headers, no body expectations", () => {
        expect(parseSmokeChecks([{ name: "home", path: "/" }])).toEqual({ checks: [check()], issues: [] });
    });

    it("takes every field; one expected text as a list, header names to match in lowercase, a structured body as JSON", () => {
        const { checks, issues } = parseSmokeChecks([{
            name: "create goal", path: "/goals", method: "POST", headers: { Authorization: "Bearer smoke" }, body: { title: "smoke" },
            expectStatus: 201, expectBodyContains: '"id"', expectHeaders: { "Content-Type": "application/json" }, timeoutMs: 2000,
        }]);
        expect(issues).toEqual([]);
        expect(checks[0]).toEqual({
            name: "create goal", path: "/goals", method: "POST", headers: { Authorization: "Bearer smoke" }, body: '{"title":"smoke"}',
            expectStatus: 201, expectBodyContains: ['"id"'], expectHeaders: { "content-type": "application/json" }, timeoutMs: 2000,
        });
    });

    it("accepts an empty list (no checks)", () => {
        expect(parseSmokeChecks([])).toEqual({ checks: [], issues: [] });
    });

    it.each(["app/smoke-checks.yaml", "app-python/smoke-checks.yaml"])("accepts the sample's %s", (file) => {
        const value: unknown = parse(fs.readFileSync(path.join(__dirname, "..", "..", file), "utf8"));
        expect(parseSmokeChecks(value).issues).toEqual([]);
        expect(parseSmokeChecks(value).checks.map((c) => c.name)).toEqual(["home", "goals list"]);
    });
});

describe("smokeCheckProblems: invalid checks are refused, each problem naming where, the value, why and an example", () => {
    it.each([
        ["not a list", { name: "home", path: "/" }, 'checks.yaml is {"name":"home","path":"/"}: is not a list of checks'],
        ["a check that is a string", ["GET /"], 'checks.yaml[0] is "GET /": is not a check'],
        ["no name", [{ path: "/" }], "checks.yaml[0].name is undefined: is not a check name"],
        ["a duplicate name", [{ name: "a", path: "/" }, { name: "a", path: "/x" }], 'checks.yaml[1].name (check "a") is "a": names another check too'],
        ["a full URL for a path", [{ name: "home", path: "https://example.org/" }], 'checks.yaml[0].path (check "home") is "https://example.org/": is not a request path; allowed: a path and query starting with /'],
        ["a path with a space", [{ name: "home", path: "/a b" }], "is not a request path"],
        ["an unknown method", [{ name: "home", path: "/", method: "get" }], 'checks.yaml[0].method (check "home") is "get": is not an HTTP method the checks use; allowed: GET | HEAD | POST'],
        ["a misspelt field", [{ name: "home", path: "/", expectedStatus: 200 }], 'checks.yaml[0].expectedStatus (check "home") is 200: is not a field of a smoke check; allowed: name, path, method'],
        ["a quoted status", [{ name: "home", path: "/", expectStatus: "200" }], 'checks.yaml[0].expectStatus (check "home") is "200": is not an HTTP status; allowed: a whole number from 100 to 599 (not quoted); e.g. expectStatus: 200'],
        ["a status out of range", [{ name: "home", path: "/", expectStatus: 99 }], "is 99: is not an HTTP status"],
        ["a body on a GET", [{ name: "home", path: "/", body: "x" }], 'checks.yaml[0].body (check "home") is "x": is set on a GET request; allowed: a body only with POST'],
        ["a Host header", [{ name: "home", path: "/", headers: { Host: "example.org" } }], 'checks.yaml[0].headers.Host (check "home") is "Host": is not a header a check may set'],
        ["a header value with a line break", [{ name: "home", path: "/", headers: { "X-A": "a\r\nX-B: b" } }], "is not a header value"],
        ["a number as header value", [{ name: "home", path: "/", headers: { "X-Count": 3 } }], "headers.X-Count (check \"home\") is 3: is not a header value; allowed: a string without line breaks (quote numbers)"],
        ["an empty expected text", [{ name: "home", path: "/", expectBodyContains: "" }], "is not a text or a list of texts"],
        ["a body expectation on HEAD", [{ name: "home", path: "/", method: "HEAD", expectBodyContains: "x" }], "is set on a HEAD request, which has no body"],
        ["expected headers as a list", [{ name: "home", path: "/", expectHeaders: ["content-type"] }], "is not a map of header names to expected texts"],
        ["a timeout of 0", [{ name: "home", path: "/", timeoutMs: 0 }], 'checks.yaml[0].timeoutMs (check "home") is 0: is not a timeout; allowed: a whole number of ms from 1 to 60000; e.g. timeoutMs: 5000'],
        ["a timeout in seconds as text", [{ name: "home", path: "/", timeoutMs: "5s" }], "is not a timeout"],
    ])("%s", (_label, value, message) => {
        const problems = smokeCheckProblems(value, "checks.yaml");
        expect(problems).toHaveLength(1);
        expect(problems[0]).toContain(message);
        expect(problems[0]).toMatch(/; e\.g\. \S/);
        expect(parseSmokeChecks(value).checks).toEqual([]);
    });

    it("refuses more than 20 checks (each one may hold the gate up for its timeout)", () => {
        const many = Array.from({ length: 21 }, (_, i) => ({ name: `c${i}`, path: "/" }));
        expect(smokeCheckProblems(many, "checks.yaml")).toEqual([expect.stringContaining("has more than 20 checks")]);
    });

    it("lists every problem of every check, not just the first, and accepts none of the checks", () => {
        const problems = smokeCheckProblems([{ name: "ok", path: "/" }, { name: "bad", path: "x", expectStatus: 0 }, { name: "worse" }], "f");
        expect(problems.map((p) => p.split(" is ")[0])).toEqual(['f[1].path (check "bad")', 'f[1].expectStatus (check "bad")', 'f[2].path (check "worse")']);
    });
});

describe("judgeSmokeAnswer", () => {
    const answer = (over: Partial<{ status: number; headers: Record<string, string>; body: string }> = {}): SmokeAnswer => ({ status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: '{"version":"2.0.0"}', ms: 12.4, ...over });

    it.each([
        ["the expected status", check(), answer(), []],
        ["another status", check(), answer({ status: 404 }), ['expected status 200, got 404 (body: "{\\"version\\":\\"2.0.0\\"}")']],
        ["an expected 201", check({ expectStatus: 201 }), answer({ status: 201 }), []],
        ["every expected text", check({ expectBodyContains: ['"version"', "2.0.0"] }), answer(), []],
        ["a missing text", check({ expectBodyContains: ['"goals"'] }), answer(), ['expected the body to contain "\\"goals\\"", got "{\\"version\\":\\"2.0.0\\"}"']],
        ["a header containing the text (names case-insensitive)", check({ expectHeaders: { "content-type": "application/json" } }), answer(), []],
        ["a header with another value", check({ expectHeaders: { "content-type": "text/html" } }), answer(), ['expected header content-type containing "text/html", got "application/json; charset=utf-8"']],
        ["a missing header", check({ expectHeaders: { "cache-control": "no-store" } }), answer(), ['expected header cache-control containing "no-store", got no cache-control header']],
        ["a header that must only be present", check({ expectHeaders: { "content-type": "" } }), answer(), []],
    ] as const)("%s", (_label, c, a, problems) => {
        const j = judgeSmokeAnswer(c, a);
        expect(j).toEqual({ ok: problems.length === 0, problems, got: `${"status" in a ? a.status : ""} in 12 ms` });
    });

    it("reports every missed expectation at once", () => {
        const j = judgeSmokeAnswer(check({ expectStatus: 201, expectBodyContains: ["id"], expectHeaders: { location: "/goals/" } }), answer());
        expect(j.problems).toHaveLength(3);
    });

    it("fails on no answer, saying why", () => {
        expect(judgeSmokeAnswer(check(), { error: "no answer within 5000 ms", ms: 5001 })).toEqual({
            ok: false, problems: ["expected status 200, got no answer (no answer within 5000 ms)"], got: "no answer: no answer within 5000 ms",
        });
    });

    it("shows at most 160 characters of a long body, on one line", () => {
        const j = judgeSmokeAnswer(check(), answer({ status: 500, body: `line one\n${"x".repeat(500)}` }));
        expect(j.problems[0]).toMatch(/^expected status 200, got 500 \(body: "line one x{151}…"\)$/);
    });
});

describe("runSmokeChecks (with a stand-in sender)", () => {
    it("sends each check to each target and reports one line per pair, naming the check, the VM, what was expected and what came back", async () => {
        const sent: string[] = [];
        const outcomes = await runSmokeChecks([check(), check({ name: "goals", path: "/goals" })], ["10.0.1.20:8080", "10.0.1.21:8080"], async (c, host, port) => {
            sent.push(`${host}:${port} ${c.path}`);
            return host === "10.0.1.21" && c.path === "/goals" ? { status: 503, headers: {}, body: "down", ms: 3 } : { status: 200, headers: {}, body: "{}", ms: 2 };
        });
        expect(sent.sort()).toEqual(["10.0.1.20:8080 /", "10.0.1.20:8080 /goals", "10.0.1.21:8080 /", "10.0.1.21:8080 /goals"]);
        expect(smokeReport(outcomes)).toEqual([
            '10.0.1.20:8080  smoke check "home" GET / → 200 in 2 ms  OK',
            '10.0.1.20:8080  smoke check "goals" GET /goals → 200 in 2 ms  OK',
            '10.0.1.21:8080  smoke check "home" GET / → 200 in 2 ms  OK',
            '10.0.1.21:8080  smoke check "goals" GET /goals → 503 in 3 ms  FAIL: expected status 200, got 503 (body: "down")',
        ]);
    });

    it("bounds the gate's time by the checks' timeouts", () => {
        expect(smokeChecksWorstSeconds([check(), check({ timeoutMs: 2500 })])).toBe(7.5);
    });
});

describe("release/smokeChecks.ts", () => {
    it("imports nothing but Node's built-ins (the gate runs it alone, transpiled, on the release agent)", () => {
        const source = fs.readFileSync(path.join(__dirname, "..", "..", "release", "smokeChecks.ts"), "utf8");
        const imports = [...source.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
        expect(imports.length).toBeGreaterThan(0);
        expect(imports.every((i) => i.startsWith("node:"))).toBe(true);
    });
});
