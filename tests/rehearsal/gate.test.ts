import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { appSmokeChecks, gateResult, gateSummary } from "../../rehearsal/gate";
import { ensurePrerequisites, installCommand } from "../../rehearsal/prerequisites";

describe("gateResult", () => {
    const failed = "HEALTH GATE FAILED: green is not ready\n  127.0.0.1:4001  /health 503\n";
    it.each([
        [0, null, { passed: true, interrupted: false }],
        [1, null, { passed: false, interrupted: false, summary: expect.stringContaining("HEALTH GATE FAILED") }],
        [null, "SIGINT", { passed: false, interrupted: true, summary: "health gate interrupted (SIGINT): no verdict" }],
        [130, null, { passed: false, interrupted: true, summary: "health gate interrupted (exit 130): no verdict" }],
        [143, null, { passed: false, interrupted: true }],
    ] as const)("exit %s, signal %s → %o (Ctrl-C is no refusal)", (code, signal, expected) => {
        expect(gateResult(code, signal, failed)).toMatchObject(expected);
    });
});

describe("gateSummary", () => {
    it("keeps the failure block once (the script prints it on stdout and stderr)", () => {
        const block = [
            "HEALTH GATE FAILED: blue is not ready to take production traffic. What each VM answered:",
            "  127.0.0.1:4001  /health 503  FAIL: /health answered 503, not 200",
            "The load balancer was not changed.",
        ];
        const output = ["health gate: blue must run 3.0.0 on 1 VM(s)", "attempt 1/1: 1 of 1 VM(s) not ready", ...block, ...block].join("\n");
        expect(gateSummary(output, false)).toBe(block.join("\n"));
    });

    it("gives the last line when the gate passed", () => {
        expect(gateSummary("attempt 1/3: all 2 VM(s) healthy\nhealth gate passed: green may take production traffic\n", true)).toBe(
            "health gate passed: green may take production traffic",
        );
    });
});

describe("prerequisites", () => {
    it.each([
        [true, "apt-get update && apt-get install -y haproxy postgresql"],
        [false, "sudo apt-get update && sudo apt-get install -y haproxy postgresql"],
    ])("install command as root=%s", (root, expected) => {
        expect(installCommand(["haproxy", "postgresql"], root)).toBe(expected);
    });

    it("does nothing when every package is installed", () => {
        const print = jest.fn();
        ensurePrerequisites(print, [{ pkg: "haproxy", installed: () => true }]);
        expect(print).not.toHaveBeenCalled();
    });

    if (process.getuid?.() !== 0) {
        it("names the missing package and the command when it cannot install", () => {
            expect(() => ensurePrerequisites(() => undefined, [{ pkg: "haproxy", installed: () => false }])).toThrow(
                /needs the Debian package\(s\) haproxy.*\n {2}sudo apt-get update && sudo apt-get install -y haproxy/,
            );
        });
    }
});

describe("appSmokeChecks: the app's smoke-checks.yaml in the rehearsal", () => {
    const dirWith = (text?: string): string => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bg-app-smoke-"));
        if (text !== undefined) fs.writeFileSync(path.join(dir, "smoke-checks.yaml"), text);
        return dir;
    };

    it("has none for an app without the file", () => {
        expect(appSmokeChecks(dirWith())).toEqual({ checks: [] });
    });

    it("refuses a file that is not valid, naming the check, the field, the value and the fix", () => {
        const dir = dirWith("- name: home\n  path: /\n  expectStatus: ok\n");
        expect(() => appSmokeChecks(dir)).toThrow(/smoke-checks\.yaml is not a valid list of smoke checks[\s\S]*\[0\]\.expectStatus \(check "home"\) = "ok" is not an HTTP status; allowed: a whole number from 100 to 599 \(not quoted\); fix: edit .*smoke-checks\.yaml: expectStatus: 200/);
    });
});
