// The smoke checks' runner (release/smokeChecks.ts) against a real HTTP server on 127.0.0.1, and its command as the
// gate runs it (`node smoke-checks.js`, transpiled as the program ships it).
import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { readVmScript } from "../../components/lib/vmScripts";
import { main, parseSmokeChecks, sendSmokeCheck, SmokeCheck } from "../../release/smokeChecks";

const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
let server: http.Server;
let target: string;
let port: number;
let tmp: string;

beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smoke-checks-"));
    server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d)).on("end", () => {
            seen.push({ method: req.method, url: req.url, headers: req.headers, body });
            if (req.url === "/hang") return; // accepts, never answers
            if (req.url === "/goals" && req.method === "POST") {
                res.writeHead(201, { "content-type": "application/json", location: "/goals/7" });
                res.end(JSON.stringify({ id: 7, ...JSON.parse(body || "{}") }));
            } else if (req.url === "/") {
                res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
                res.end('{"version":"2.0.0","color":"green"}');
            } else {
                res.writeHead(404, { "content-type": "text/plain" });
                res.end("no route");
            }
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
    target = `127.0.0.1:${port}`;
});

afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    fs.rmSync(tmp, { recursive: true, force: true });
});

const checks = (value: unknown): SmokeCheck[] => {
    const parsed = parseSmokeChecks(value);
    expect(parsed.issues).toEqual([]);
    return parsed.checks;
};

describe("sendSmokeCheck", () => {
    it("sends the method, path, headers and a structured body as JSON, and returns the answer", async () => {
        const [c] = checks([{ name: "create", path: "/goals", method: "POST", headers: { Authorization: "Bearer smoke" }, body: { title: "smoke" }, expectStatus: 201 }]);
        const a = await sendSmokeCheck(c, "127.0.0.1", port);
        expect(a).toMatchObject({ status: 201, body: '{"id":7,"title":"smoke"}' });
        expect("headers" in a && a.headers.location).toBe("/goals/7");
        const request = seen[seen.length - 1];
        expect(request).toMatchObject({ method: "POST", url: "/goals", body: '{"title":"smoke"}' });
        expect(request.headers).toMatchObject({ authorization: "Bearer smoke", "content-type": "application/json", "user-agent": "bluegreen-smoke-check" });
    });

    it("gives up after the check's timeout when the VM accepts but never answers", async () => {
        const [c] = checks([{ name: "hang", path: "/hang", timeoutMs: 200 }]);
        const started = Date.now();
        expect(await sendSmokeCheck(c, "127.0.0.1", port)).toMatchObject({ error: "no answer within 200 ms" });
        expect(Date.now() - started).toBeLessThan(2000);
    });

    it("says why when nothing listens", async () => {
        const closed = http.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
        const deadPort = (closed.address() as AddressInfo).port;
        await new Promise((r) => closed.close(r));
        const [c] = checks([{ name: "home", path: "/" }]);
        expect(await sendSmokeCheck(c, "127.0.0.1", deadPort)).toMatchObject({ error: expect.stringContaining("ECONNREFUSED") });
    });
});

describe("main: the command the gate runs", () => {
    const run = async (value: unknown, targets = target): Promise<{ code: number; out: string[]; err: string[] }> => {
        const file = path.join(tmp, `checks-${Math.random().toString(36).slice(2)}.json`);
        fs.writeFileSync(file, JSON.stringify(value));
        const out: string[] = [];
        const err: string[] = [];
        const code = await main(["--checks", file, "--targets", targets], (s) => out.push(s), (s) => err.push(s));
        return { code, out, err };
    };

    it("exits 0 when every check gets its expected answer", async () => {
        const r = await run(checks([{ name: "home", path: "/", expectBodyContains: '"version"', expectHeaders: { "content-type": "application/json" } }]));
        expect(r.code).toBe(0);
        expect(r.out[0]).toMatch(new RegExp(`^${target} {2}smoke check "home" GET / → 200 in \\d+ ms {2}OK$`));
        expect(r.out[1]).toBe("smoke checks passed: 1 check(s) on 1 VM(s)");
    });

    it("exits 1 on a wrong expectation, naming the check, the VM, what was expected and what came back", async () => {
        const r = await run(checks([{ name: "about", path: "/about" }]));
        expect(r.code).toBe(1);
        expect(r.out[0]).toMatch(new RegExp(`^${target} {2}smoke check "about" GET /about → 404 in \\d+ ms {2}FAIL: expected status 200, got 404 \\(body: "no route"\\)$`));
        expect(r.out[1]).toBe("smoke checks FAILED: 1 of 1 (check, VM) pairs did not get the expected answer");
    });

    it("exits 2 on a checks file that is not valid, naming the problem", async () => {
        const r = await run([{ name: "home" }]);
        expect(r.code).toBe(2);
        expect(r.err.join("\n")).toContain("[0].path (check \"home\") is undefined: is not a request path");
    });

    it("runs alone with node, transpiled as the program ships it", async () => {
        const js = path.join(tmp, "smoke-checks.js");
        fs.writeFileSync(js, readVmScript("smoke-checks.js"));
        const file = path.join(tmp, "one.json");
        fs.writeFileSync(file, JSON.stringify(checks([{ name: "home", path: "/", expectStatus: 204 }])));
        const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
            execFile(process.execPath, [js, "--checks", file, "--targets", target], { cwd: tmp }, (e, stdout) => resolve({ code: e ? (e.code as number) : 0, stdout }));
        });
        expect(result.code).toBe(1);
        expect(result.stdout).toContain('smoke check "home" GET / → 200');
        expect(result.stdout).toContain("FAIL: expected status 204, got 200");
    });
});
