/**
 * Ctrl-C in the middle of a rehearsal: everything it started stops and its temporary directory is deleted.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";

const ROOT = path.resolve(__dirname, "..", "..");

function portOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.createConnection({ host: "127.0.0.1", port });
        s.once("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.once("error", () => resolve(false));
    });
}

function processesMentioning(text: string): string {
    try {
        return execFileSync("pgrep", ["-af", text], { encoding: "utf8" });
    } catch {
        return ""; // pgrep exits 1 when nothing matches
    }
}

describe("npm run rehearse, interrupted", () => {
    it("stops every process it started and deletes its work directory on SIGINT, exiting 130", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "bg-rehearsal-int-"));
        const child = spawn(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "rehearsal/cli.ts", "--duration", "60", "--rate", "50", "--connections", "10", "--report", path.join(out, "r.json")],
            { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
        try {
            // Setup packs the app once: tens of seconds on a busy machine.
            for (let i = 0; i < 2400 && !stdout.includes("load started") && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
            expect(stdout).toContain("load started");
            const work = /work directory (\S+)/.exec(stdout)![1];
            const pgPort = Number(/PostgreSQL started; .*postgres:\/\/[^@]+@127\.0\.0\.1:(\d+)\//.exec(stdout)![1]);
            const prodPort = Number(/production 127\.0\.0\.1:(\d+)/.exec(stdout)![1]);
            const appPorts = [...stdout.matchAll(/(?:blue|green)-\d 127\.0\.0\.1:(\d+) \(staging (\d+)\)/g)].flatMap((m) => [Number(m[1]), Number(m[2])]);
            expect(appPorts).toHaveLength(8);
            for (const p of appPorts) expect(await portOpen(p)).toBe(true);
            expect(fs.existsSync(work)).toBe(true);
            expect(processesMentioning(work)).not.toBe(""); // HAProxy runs with its config from there
            expect(await portOpen(pgPort)).toBe(true);

            child.kill("SIGINT");
            expect(await exited).toBe(130);
            expect(stderr).toContain("SIGINT: stopping everything the rehearsal started");
            expect(fs.existsSync(work)).toBe(false);
            expect(processesMentioning(work)).toBe("");
            expect(await portOpen(pgPort)).toBe(false);
            expect(await portOpen(prodPort)).toBe(false);
            for (const p of appPorts) expect(await portOpen(p)).toBe(false);
        } finally {
            if (child.exitCode === null) child.kill("SIGKILL");
            fs.rmSync(out, { recursive: true, force: true });
        }
    }, 400_000);
});
