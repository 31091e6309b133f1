/**
 * The user's smoke checks (issue 16, point 3): requests with expected answers that the health gate sends to every VM
 * of the color about to go live, besides `/health`, so a flip is refused for what a person would have tried by hand
 * on the staging endpoint. Declared in a YAML file the stack names (`smokeChecksFile`, docs/smoke-checks.md).
 *
 * - {@link smokeCheckIssues} / {@link smokeCheckProblems}: is this list of checks valid? Each problem names the check,
 *   the field, the value, what is allowed and an example. {@link parseSmokeChecks}: the checks with their defaults.
 * - {@link judgeSmokeAnswer}: did one answer meet one check's expectations? (pure)
 * - {@link runSmokeChecks}: sends every check to every VM (the VMs in parallel, each VM's checks one after the other,
 *   as a person would) and judges the answers; {@link smokeReport} prints them, one line per check and VM.
 *
 * Node built-ins only: the program ships this file transpiled (components/lib/vmScripts.ts) and the gate runs it on
 * the release agent (`node smoke-checks.js --checks <file.json> --targets <host:port,...>`, vm-scripts/health-gate.sh).
 */
import * as fs from "node:fs";
import * as http from "node:http";

/** The methods a check may use. */
export const SMOKE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type SmokeMethod = (typeof SMOKE_METHODS)[number];

/** The fields a check may have; anything else is refused (a misspelt `expectStatus` would otherwise check nothing). */
export const SMOKE_CHECK_FIELDS = ["name", "path", "method", "headers", "body", "expectStatus", "expectBodyContains", "expectHeaders", "timeoutMs"] as const;

/** Defaults of the optional fields. */
export const SMOKE_DEFAULTS = { method: "GET" as SmokeMethod, expectStatus: 200, timeoutMs: 5000 } as const;

/** Limits: the checks travel in the gate's run command, and each one may hold the gate up for its timeout. */
export const SMOKE_LIMITS = { checks: 20, timeoutMs: 60000, bodyChars: 16384, pathChars: 2048 } as const;

/** One smoke check, defaults applied. */
export interface SmokeCheck {
    /** Names the check in the gate's output: letters, digits, space, `. _ -`; unique in the list. */
    readonly name: string;
    /** The request's path and query, starting with `/` (sent to each VM's host and port, like `/health`). */
    readonly path: string;
    /** @default "GET" */
    readonly method: SmokeMethod;
    /** Request headers. @default {} */
    readonly headers: Readonly<Record<string, string>>;
    /** Request body: a string, or YAML/JSON structure sent as JSON (content-type application/json unless given). */
    readonly body?: string;
    /** The status the answer must have. @default 200 */
    readonly expectStatus: number;
    /** Texts the answer's body must each contain (case-sensitive). @default [] */
    readonly expectBodyContains: readonly string[];
    /** Headers the answer must have, each containing the given text (names case-insensitive, stored lowercase). @default {} */
    readonly expectHeaders: Readonly<Record<string, string>>;
    /** How long the answer may take, ms. @default 5000 */
    readonly timeoutMs: number;
}

/** One problem of a list of checks: where (`[1].expectStatus`), the value, why, what is allowed, an example. */
export interface SmokeCheckIssue {
    /** Where in the list: `[1].expectStatus` (0-based, as YAML and `pulumi config --path` count). */
    readonly at: string;
    /** The check's name, when it has one. */
    readonly check?: string;
    readonly value: unknown;
    readonly reason: string;
    readonly allowed: string;
    readonly example: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/; // an HTTP header name (RFC 9110 token)
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
const show = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const safeText = (s: string): boolean => !/[\r\n\0]/.test(s);

/** The checks of `value` (a parsed list) with defaults applied, and every problem; `checks` is empty when there are problems. */
export function parseSmokeChecks(value: unknown): { readonly checks: SmokeCheck[]; readonly issues: SmokeCheckIssue[] } {
    const issues: SmokeCheckIssue[] = [];
    let current: string | undefined;
    const issue = (at: string, v: unknown, reason: string, allowed: string, example: string): void => {
        issues.push({ at, ...(current !== undefined ? { check: current } : {}), value: v, reason, allowed, example });
    };
    if (!Array.isArray(value)) {
        issue("", value, "is not a list of checks", "a YAML list of checks, each with at least name and path", "- name: home page\n  path: /");
        return { checks: [], issues };
    }
    if (value.length > SMOKE_LIMITS.checks) {
        issue("", `${value.length} checks`, `has more than ${SMOKE_LIMITS.checks} checks`, `at most ${SMOKE_LIMITS.checks} checks (each one holds the gate up to its timeout)`, "keep the checks a person would try first");
    }
    const checks: SmokeCheck[] = [];
    const names = new Set<string>();
    value.forEach((raw: unknown, i) => {
        const at = (field?: string): string => `[${i}]${field ? `.${field}` : ""}`;
        current = undefined;
        if (!isRecord(raw)) {
            issue(at(), raw, "is not a check (a map of fields)", "a map with at least name and path", "name: home page\npath: /");
            return;
        }
        current = typeof raw.name === "string" ? raw.name : undefined;
        const before = issues.length;
        for (const key of Object.keys(raw)) {
            if (!(SMOKE_CHECK_FIELDS as readonly string[]).includes(key)) {
                issue(at(key), raw[key], "is not a field of a smoke check", SMOKE_CHECK_FIELDS.join(", "), "expectStatus: 200");
            }
        }
        const name = raw.name;
        if (typeof name !== "string" || !NAME.test(name)) {
            issue(at("name"), name, "is not a check name", "1 to 64 letters, digits, spaces, . _ -, starting with a letter or digit", "name: home page");
        } else if (names.has(name)) {
            issue(at("name"), name, "names another check too", "a name unique in the list (the gate's output names checks by it)", `name: ${name} 2`);
        } else names.add(name);
        const p = raw.path;
        if (typeof p !== "string" || !p.startsWith("/") || p.startsWith("//") || /[\s#]/.test(p) || p.length > SMOKE_LIMITS.pathChars) {
            issue(at("path"), p, "is not a request path", `a path and query starting with / (no host, no spaces, no #, at most ${SMOKE_LIMITS.pathChars} characters)`, "path: /goals?limit=1");
        }
        const method = raw.method ?? SMOKE_DEFAULTS.method;
        if (typeof method !== "string" || !(SMOKE_METHODS as readonly string[]).includes(method)) {
            issue(at("method"), method, "is not an HTTP method the checks use", SMOKE_METHODS.join(" | "), "method: GET");
        }
        const headers = raw.headers ?? {};
        if (!isRecord(headers)) {
            issue(at("headers"), headers, "is not a map of header names to values", "a map, e.g. { Accept: application/json }", "headers: { Accept: application/json }");
        } else {
            for (const [h, v] of Object.entries(headers)) {
                if (!TOKEN.test(h) || h.toLowerCase() === "host" || h.toLowerCase() === "content-length") {
                    issue(at(`headers.${h}`), h, "is not a header a check may set", "an HTTP header name other than Host and Content-Length", "Accept: application/json");
                } else if (typeof v !== "string" || !safeText(v)) {
                    issue(at(`headers.${h}`), v, "is not a header value", "a string without line breaks (quote numbers)", `${h}: "text"`);
                }
            }
        }
        let body: string | undefined;
        if (raw.body !== undefined) {
            body = typeof raw.body === "string" ? raw.body : JSON.stringify(raw.body);
            if (method === "GET" || method === "HEAD") {
                issue(at("body"), raw.body, `is set on a ${String(method)} request`, "a body only with POST, PUT, PATCH, DELETE or OPTIONS", "method: POST");
            } else if (body === undefined || body.length > SMOKE_LIMITS.bodyChars) {
                issue(at("body"), raw.body, `is not a body of at most ${SMOKE_LIMITS.bodyChars} characters`, "a string, or a YAML map or list (sent as JSON)", 'body: { title: "smoke check" }');
            }
        }
        const status = raw.expectStatus ?? SMOKE_DEFAULTS.expectStatus;
        if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) {
            issue(at("expectStatus"), status, "is not an HTTP status", "a whole number from 100 to 599 (not quoted)", "expectStatus: 200");
        }
        const contains = raw.expectBodyContains === undefined ? [] : typeof raw.expectBodyContains === "string" ? [raw.expectBodyContains] : raw.expectBodyContains;
        if (!Array.isArray(contains) || !contains.every((c) => typeof c === "string" && c !== "")) {
            issue(at("expectBodyContains"), raw.expectBodyContains, "is not a text or a list of texts", "a non-empty string, or a list of them (each must appear in the body)", 'expectBodyContains: "\\"goals\\""');
        } else if (contains.length > 0 && method === "HEAD") {
            issue(at("expectBodyContains"), raw.expectBodyContains, "is set on a HEAD request, which has no body", "expectBodyContains only with methods whose answer has a body", "method: GET");
        }
        const expectHeaders = raw.expectHeaders ?? {};
        if (!isRecord(expectHeaders)) {
            issue(at("expectHeaders"), expectHeaders, "is not a map of header names to expected texts", "a map, e.g. { content-type: application/json }", "expectHeaders: { content-type: application/json }");
        } else {
            for (const [h, v] of Object.entries(expectHeaders)) {
                if (!TOKEN.test(h)) issue(at(`expectHeaders.${h}`), h, "is not an HTTP header name", "a header name such as content-type", "content-type: application/json");
                else if (typeof v !== "string" || !safeText(v)) issue(at(`expectHeaders.${h}`), v, "is not a text the header must contain", "a string (empty: the header must only be present)", `${h}: "text"`);
            }
        }
        const timeoutMs = raw.timeoutMs ?? SMOKE_DEFAULTS.timeoutMs;
        if (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > SMOKE_LIMITS.timeoutMs) {
            issue(at("timeoutMs"), timeoutMs, "is not a timeout", `a whole number of ms from 1 to ${SMOKE_LIMITS.timeoutMs}`, "timeoutMs: 5000");
        }
        if (issues.length > before) return;
        checks.push({
            name: name as string,
            path: p as string,
            method: method as SmokeMethod,
            headers: { ...(headers as Record<string, string>) },
            ...(body !== undefined ? { body } : {}),
            expectStatus: status as number,
            expectBodyContains: [...(contains as string[])],
            expectHeaders: Object.fromEntries(Object.entries(expectHeaders as Record<string, string>).map(([h, v]) => [h.toLowerCase(), v])),
            timeoutMs: timeoutMs as number,
        });
    });
    return issues.length > 0 ? { checks: [], issues } : { checks, issues };
}

/** The list's problems as sentences naming the check's field, the value, why, what is allowed and an example. */
export function smokeCheckIssues(value: unknown): SmokeCheckIssue[] {
    return parseSmokeChecks(value).issues;
}

/** The value of an issue as text (strings quoted). */
export function showValue(v: unknown): string {
    return show(v);
}

/** What is wrong with a list of checks, one sentence per problem (`source` names where they came from); empty when valid. */
export function smokeCheckProblems(value: unknown, source = "smoke checks"): string[] {
    return smokeCheckIssues(value).map((i) =>
        `${source}${i.at}${i.check !== undefined ? ` (check "${i.check}")` : ""} is ${show(i.value)}: ${i.reason}; allowed: ${i.allowed}; e.g. ${i.example.replace(/\n/g, " ")}`);
}

/** How long one VM's checks may take at worst (they run one after the other), seconds. */
export function smokeChecksWorstSeconds(checks: readonly SmokeCheck[]): number {
    return checks.reduce((s, c) => s + c.timeoutMs, 0) / 1000;
}

/** What came back for one request: an answer, or why none came. */
export type SmokeAnswer =
    | { readonly status: number; readonly headers: Readonly<Record<string, string | string[] | undefined>>; readonly body: string; readonly ms: number }
    | { readonly error: string; readonly ms: number };

/** The judgement of one answer: ok, or what was expected and what came back. */
export interface SmokeJudgement {
    readonly ok: boolean;
    /** One line per expectation missed (empty when ok). */
    readonly problems: readonly string[];
    /** What came back, short: `404 in 12 ms` or `no answer: ...`. */
    readonly got: string;
}

const BODY_SHOWN = 160;
const excerpt = (body: string): string => {
    const flat = body.replace(/\s+/g, " ").trim();
    return JSON.stringify(flat.length > BODY_SHOWN ? `${flat.slice(0, BODY_SHOWN)}…` : flat);
};

/** Did `answer` meet `check`'s expectations? */
export function judgeSmokeAnswer(check: SmokeCheck, answer: SmokeAnswer): SmokeJudgement {
    if ("error" in answer) {
        return { ok: false, problems: [`expected status ${check.expectStatus}, got no answer (${answer.error})`], got: `no answer: ${answer.error}` };
    }
    const problems: string[] = [];
    if (answer.status !== check.expectStatus) problems.push(`expected status ${check.expectStatus}, got ${answer.status} (body: ${excerpt(answer.body)})`);
    for (const text of check.expectBodyContains) {
        if (!answer.body.includes(text)) problems.push(`expected the body to contain ${JSON.stringify(text)}, got ${excerpt(answer.body)}`);
    }
    for (const [name, text] of Object.entries(check.expectHeaders)) {
        const raw = answer.headers[name.toLowerCase()];
        const value = Array.isArray(raw) ? raw.join(", ") : raw;
        if (value === undefined) problems.push(`expected header ${name}${text ? ` containing ${JSON.stringify(text)}` : ""}, got no ${name} header`);
        else if (!value.includes(text)) problems.push(`expected header ${name} containing ${JSON.stringify(text)}, got ${JSON.stringify(value)}`);
    }
    return { ok: problems.length === 0, problems, got: `${answer.status} in ${Math.round(answer.ms)} ms` };
}

/** The most of a body read for judging (a check looks for texts near the start of a page or document). */
const MAX_READ_BYTES = 1024 * 1024;

/** Sends one check to `host:port` and resolves with what came back (never rejects). */
export function sendSmokeCheck(check: SmokeCheck, host: string, port: number): Promise<SmokeAnswer> {
    const started = process.hrtime.bigint();
    const ms = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    return new Promise((resolve) => {
        let done = false;
        const finish = (a: SmokeAnswer): void => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve(a);
        };
        const headers: Record<string, string> = { "user-agent": "bluegreen-smoke-check", ...check.headers };
        if (check.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
            headers["content-type"] = /^\s*[[{]/.test(check.body) ? "application/json" : "text/plain";
        }
        const req = http.request({ host, port, path: check.path, method: check.method, headers, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on("data", (d: Buffer) => {
                if (size < MAX_READ_BYTES) chunks.push(d);
                size += d.length;
            });
            res.on("end", () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), ms: ms() }));
            res.on("error", (e) => finish({ error: e.message, ms: ms() }));
        });
        const timer = setTimeout(() => {
            finish({ error: `no answer within ${check.timeoutMs} ms`, ms: ms() });
            req.destroy();
        }, check.timeoutMs);
        req.on("error", (e: NodeJS.ErrnoException) => finish({ error: e.code && !e.message.includes(e.code) ? `${e.code} ${e.message}` : e.message, ms: ms() }));
        if (check.body !== undefined) req.write(check.body);
        req.end();
    });
}

/** One check on one VM, judged. */
export interface SmokeOutcome {
    readonly check: string;
    /** The VM, as `host:port` (the gate's name for it). */
    readonly target: string;
    readonly request: string;
    readonly judgement: SmokeJudgement;
}

/** Splits `host:port` (`[v6]:port` too); `defaultPort` when no port is given. */
export function parseTarget(target: string, defaultPort = 80): { host: string; port: number } {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(target) ?? /^([^:]+)(?::(\d+))?$/.exec(target);
    if (!m) throw new Error(`"${target}" is not host[:port]`);
    return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

/** Sends every check to every target: the targets in parallel, each target's checks in order. */
export async function runSmokeChecks(checks: readonly SmokeCheck[], targets: readonly string[], send = sendSmokeCheck): Promise<SmokeOutcome[]> {
    const perTarget = await Promise.all(targets.map(async (target) => {
        const { host, port } = parseTarget(target);
        const outcomes: SmokeOutcome[] = [];
        for (const check of checks) {
            const judgement = judgeSmokeAnswer(check, await send(check, host, port));
            outcomes.push({ check: check.name, target, request: `${check.method} ${check.path}`, judgement });
        }
        return outcomes;
    }));
    return perTarget.flat();
}

/** The outcomes, one line each (`<target>  smoke "<check>" GET / → 200 in 3 ms  OK|FAIL: ...`). */
export function smokeReport(outcomes: readonly SmokeOutcome[]): string[] {
    return outcomes.map((o) => {
        const head = `${o.target}  smoke check "${o.check}" ${o.request} → ${o.judgement.got}`;
        return o.judgement.ok ? `${head}  OK` : `${head}  FAIL: ${o.judgement.problems.join("; ")}`;
    });
}

const USAGE = "usage: node smoke-checks.js --checks <checks.json> --targets <host:port>[,<host:port>...]";

/** The command the gate runs: exit 0 every check passed on every target, 1 one failed, 2 usage or a bad checks file. */
export async function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
    const opts: Record<string, string> = {};
    for (let i = 0; i < argv.length; i += 2) {
        if (argv[i] !== "--checks" && argv[i] !== "--targets") {
            err(USAGE);
            return 2;
        }
        opts[argv[i].slice(2)] = argv[i + 1] ?? "";
    }
    if (!opts.checks || !opts.targets) {
        err(USAGE);
        return 2;
    }
    let value: unknown;
    try {
        value = JSON.parse(fs.readFileSync(opts.checks, "utf8"));
    } catch (e) {
        err(`smoke-checks: cannot read ${opts.checks}: ${(e as Error).message}`);
        return 2;
    }
    const { checks, issues } = parseSmokeChecks(value);
    if (issues.length > 0) {
        for (const p of smokeCheckProblems(value, opts.checks)) err(`smoke-checks: ${p}`);
        return 2;
    }
    const targets = opts.targets.split(",").map((t) => t.trim()).filter((t) => t !== "");
    const outcomes = await runSmokeChecks(checks, targets);
    for (const line of smokeReport(outcomes)) out(line);
    const failed = outcomes.filter((o) => !o.judgement.ok);
    out(failed.length === 0
        ? `smoke checks passed: ${checks.length} check(s) on ${targets.length} VM(s)`
        : `smoke checks FAILED: ${failed.length} of ${outcomes.length} (check, VM) pairs did not get the expected answer`);
    return failed.length === 0 ? 0 : 1;
}

if (require.main === module) {
    void main(process.argv.slice(2), (s) => console.log(s), (s) => console.error(s)).then((code) => {
        process.exitCode = code;
    });
}
