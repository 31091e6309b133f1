/**
 * Everything the rehearsal starts is registered here, so that it is stopped and deleted again on every way out:
 * the normal end, a failure (the caller's `finally`), Ctrl-C / SIGTERM / SIGHUP (the terminal closed) — also a second
 * one while cleaning up — and a closed stdout (`npm run rehearse | head`): handlers installed by `trap()`.
 * Clean-up actions run in reverse order of registration (last started, first stopped).
 */
import { ChildProcess, spawn, SpawnOptions } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

type Action = { readonly name: string; readonly run: () => Promise<void> | void };

export class Cleanup {
    private readonly actions: Action[] = [];
    private running: Promise<void> | undefined;
    private readonly handlers: [NodeJS.Signals, () => void][] = [];

    /** Registers an action; returns a function that runs it now (once) and unregisters it. */
    add(name: string, run: () => Promise<void> | void): () => Promise<void> {
        const action: Action = { name, run };
        this.actions.push(action);
        return async () => {
            const i = this.actions.indexOf(action);
            if (i < 0) return;
            this.actions.splice(i, 1);
            await run();
        };
    }

    /** A new temporary directory, deleted at clean-up. */
    tempDir(prefix: string): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
        this.add(`remove ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
        return dir;
    }

    /** Spawns a child process that is killed at clean-up (SIGTERM, then SIGKILL after 3 s) if still running. */
    spawn(name: string, command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
        const child = spawn(command, args, options);
        this.add(`stop ${name} (pid ${child.pid})`, () => stopProcess(child, "SIGTERM", 3000));
        return child;
    }

    /** Runs every registered action, newest first; errors are printed, not thrown. Safe to call twice. */
    run(): Promise<void> {
        this.running ??= (async () => {
            while (this.actions.length > 0) {
                const a = this.actions.pop() as Action;
                try {
                    await a.run();
                } catch (e) {
                    safeWrite(`clean-up: ${a.name} failed: ${(e as Error).message}\n`);
                }
            }
            this.untrap();
        })();
        return this.running;
    }

    /**
     * On SIGINT/SIGTERM/SIGHUP: clean up, then exit with 130/143/129. A further signal while cleaning up is noted and
     * ignored (its default action would kill the process half-way, leaving servers and directories behind). When
     * stdout or stderr is closed under it (EPIPE: `| head` exited), the run stops the same way, exit code 141.
     */
    trap(): void {
        const stop = (why: string, code: number): void => {
            if (this.running !== undefined) {
                safeWrite(`${why}: still stopping everything the rehearsal started; please wait\n`);
                return;
            }
            safeWrite(`\n${why}: stopping everything the rehearsal started...\n`);
            void this.run().then(() => process.exit(code));
        };
        for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
            const handler = (): void => stop(signal, code);
            process.on(signal, handler);
            this.handlers.push([signal, handler]);
        }
        // Stream handlers stay after clean-up: a write to a closed pipe must not crash the exit with EPIPE.
        for (const [stream, name] of [[process.stdout, "stdout"], [process.stderr, "stderr"]] as const) {
            stream.on("error", (e: NodeJS.ErrnoException) => {
                if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") stop(`${name} closed`, 141);
                else throw e;
            });
        }
    }

    private untrap(): void {
        for (const [signal, handler] of this.handlers) process.removeListener(signal, handler);
        this.handlers.length = 0;
    }
}

/** Writes to stderr, ignoring a closed stream (nothing is reading any more). */
function safeWrite(text: string): void {
    try {
        if (!process.stderr.destroyed) process.stderr.write(text);
    } catch {
        // closed
    }
}

/** True while a child process has not exited. */
export function isRunning(child: ChildProcess): boolean {
    return child.exitCode === null && child.signalCode === null;
}

/** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`. Resolves at once if it has exited. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    if (!isRunning(child)) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
}
