// An interrupted `npm run app:pack` removes its staging directory (and .partial archive): a signal skips `finally`.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

describe("npm run app:pack, interrupted", () => {
    it.each([["SIGINT", 130], ["SIGHUP", 129]] as const)("on %s leaves no staging directory behind and exits %d", async (signal, code) => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bg-pack-int-"));
        try {
            const child = spawn(
                process.execPath,
                ["-r", "ts-node/register/transpile-only", "app/pack.ts", `0.0.1-int.${process.pid}.${signal.toLowerCase()}`, "--allow-dirty"],
                { cwd: ROOT, env: { ...process.env, TMPDIR: tmp }, stdio: ["ignore", "ignore", "pipe"] },
            );
            let stderr = "";
            child.stderr.on("data", (d) => (stderr += String(d)));
            const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
            const staging = () => fs.readdirSync(tmp).filter((f) => f.startsWith("bg-pack-"));
            for (let i = 0; i < 600 && staging().length === 0 && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
            expect(staging()).toHaveLength(1);
            child.kill(signal);
            expect(await exited).toBe(code);
            expect(stderr).toContain(`app:pack: ${signal}: stopped`);
            expect(staging()).toEqual([]);
            const dist = path.join(ROOT, "dist");
            expect(fs.existsSync(dist) ? fs.readdirSync(dist).filter((f) => f.includes(`0.0.1-int.${process.pid}`)) : []).toEqual([]);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    }, 120_000);
});
