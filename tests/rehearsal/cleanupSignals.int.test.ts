/**
 * Every way the rehearsal can end removes what it started: a second Ctrl-C during clean-up, SIGHUP (the terminal
 * closed) and a closed stdout (`npm run rehearse | head`). Run on a small stand-in that traps exactly like
 * rehearsal/cli.ts (tests/rehearsal/support/cleanupTarget.ts); the full rehearsal's Ctrl-C is interrupt.int.test.ts.
 */
import { ChildProcessWithoutNullStreams, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

async function startTarget(): Promise<{ child: ChildProcessWithoutNullStreams; dir: string; pid: number; exited: Promise<number | null> }> {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "tests/rehearsal/support/cleanupTarget.ts"], { cwd: ROOT });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    let out = "";
    child.stderr.on("data", () => undefined);
    const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
        const onData = (d: Buffer): void => {
            out += String(d);
            const m = /ready (\S+) (\d+)\n/.exec(out);
            if (m) {
                child.stdout.off("data", onData);
                resolve(m);
            }
        };
        child.stdout.on("data", onData);
        void exited.then(() => reject(new Error(`the target exited before it was ready: ${out}`)));
    });
    return { child, dir: ready[1], pid: Number(ready[2]), exited };
}

const leftovers: number[] = [];
afterAll(() => {
    for (const pid of leftovers) if (alive(pid)) process.kill(pid, "SIGKILL");
});

describe("the rehearsal's clean-up on every way out", () => {
    it.each([
        ["a second Ctrl-C during clean-up (exit 130)", ["SIGINT", "SIGINT"], 130],
        ["SIGHUP, the terminal was closed (exit 129)", ["SIGHUP"], 129],
        ["SIGHUP then Ctrl-C (exit 129)", ["SIGHUP", "SIGINT"], 129],
    ] as const)("%s: stops the child and deletes the directory", async (_what, signals, code) => {
        const t = await startTarget();
        leftovers.push(t.pid);
        t.child.stdout.resume();
        expect(alive(t.pid)).toBe(true);
        expect(fs.existsSync(t.dir)).toBe(true);
        for (const [i, signal] of signals.entries()) {
            if (i > 0) await new Promise((r) => setTimeout(r, 300)); // during the slow stop
            t.child.kill(signal);
        }
        expect(await t.exited).toBe(code);
        expect(alive(t.pid)).toBe(false);
        expect(fs.existsSync(t.dir)).toBe(false);
    }, 30_000);

    it("a closed stdout (| head): stops the child, deletes the directory, exits 141", async () => {
        const t = await startTarget();
        leftovers.push(t.pid);
        t.child.stdout.destroy();
        expect(await t.exited).toBe(141);
        expect(alive(t.pid)).toBe(false);
        expect(fs.existsSync(t.dir)).toBe(false);
    }, 30_000);
});
