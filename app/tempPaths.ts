/**
 * The temporary paths of a running `app:pack` (its staging directory and its `.partial` archive), so that an
 * interrupted pack removes them too: a signal ends the process without running `finally` blocks. Passive for
 * library callers (the rehearsal has its own clean-up); the `app:pack` command calls {@link removeTempPathsOnSignals}.
 */
import * as fs from "fs";

const live = new Set<string>();

/** Registers `p` as temporary and returns it. */
export function tempPath(p: string): string {
    live.add(p);
    return p;
}

/** Removes `p` (a file or directory tree) and forgets it. */
export function removeTempPath(p: string): void {
    fs.rmSync(p, { recursive: true, force: true });
    live.delete(p);
}

/**
 * Lets a signal that arrived during a long synchronous step (compile, copy) be handled now: the pack is mostly
 * synchronous, and a handler only runs when the event loop gets a turn.
 */
export function signalsHandled(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
}

/** On SIGINT/SIGTERM/SIGHUP: removes every registered path, then exits 130/143/129. */
export function removeTempPathsOnSignals(): void {
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
        process.on(signal, () => {
            for (const p of [...live]) removeTempPath(p);
            process.stderr.write(`app:pack: ${signal}: stopped; its staging directory and partial archive are removed\n`);
            process.exit(code);
        });
    }
}
