import * as fs from "fs";
import { Cleanup } from "../../rehearsal/cleanup";

describe("Cleanup", () => {
    it("runs every action once, newest first, and keeps going past a failing one", async () => {
        const c = new Cleanup();
        const order: string[] = [];
        const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
        c.add("first", () => void order.push("first"));
        c.add("broken", () => {
            throw new Error("boom");
        });
        c.add("last", async () => void order.push("last"));
        await Promise.all([c.run(), c.run()]);
        await c.run();
        expect(order).toEqual(["last", "first"]);
        expect(stderr).toHaveBeenCalledWith(expect.stringContaining("clean-up: broken failed: boom"));
        stderr.mockRestore();
    });

    it("runs an action early when asked, and not again at the end", async () => {
        const c = new Cleanup();
        const calls: string[] = [];
        const stopNow = c.add("stop", () => void calls.push("stop"));
        await stopNow();
        await stopNow();
        await c.run();
        expect(calls).toEqual(["stop"]);
    });

    it("deletes the temporary directories it made", async () => {
        const c = new Cleanup();
        const dir = c.tempDir("bg-cleanup-test-");
        fs.writeFileSync(`${dir}/file`, "x");
        expect(fs.existsSync(dir)).toBe(true);
        await c.run();
        expect(fs.existsSync(dir)).toBe(false);
    });

    it("stops a child process it spawned", async () => {
        const c = new Cleanup();
        const child = c.spawn("sleeper", "sleep", ["30"], { stdio: "ignore" });
        expect(child.exitCode).toBeNull();
        await c.run();
        expect(child.signalCode).toBe("SIGTERM");
    });
});
