/**
 * A stand-in for `npm run rehearse` for tests/rehearsal/cleanupSignals.int.test.ts: traps like the rehearsal, starts
 * a child process and a temporary directory through Cleanup, registers a slow stop (as `pg_ctl stop` is), prints
 * `ready <dir> <pid>` and keeps writing a line every 50 ms, like the rehearsal's timeline.
 */
import { Cleanup } from "../../../rehearsal/cleanup";

const cleanup = new Cleanup();
cleanup.trap();
const dir = cleanup.tempDir("bg-cleanup-target-");
const child = cleanup.spawn("sleeper", "sleep", ["60"], { stdio: "ignore" });
cleanup.add("slow stop", () => new Promise<void>((r) => setTimeout(r, 1500)));
process.stdout.write(`ready ${dir} ${child.pid}\n`);
setInterval(() => process.stdout.write("tick\n"), 50);
