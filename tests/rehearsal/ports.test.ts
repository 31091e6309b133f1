// Ports for the servers a rehearsal or a test starts (rehearsal/postgres.ts): one process never gets the same port
// twice, even when the OS offers a port it handed out a moment ago (CI, 2026-12-02: deploy-app.sh's proxy settings
// were refused because the production port and a slot's port were both 34741).
import { freeFixedPort, freePort } from "../../rehearsal/postgres";

describe("free ports for local servers", () => {
    it("never gives one process the same port twice from freePort, though each was closed before the next call", async () => {
        const ports: number[] = [];
        for (let i = 0; i < 400; i++) ports.push(await freePort());
        expect(new Set(ports).size).toBe(ports.length);
    });

    it("never gives a port from freeFixedPort that freePort gave, or the other way round, and keeps below the ephemeral range", async () => {
        const fixed: number[] = [];
        const any: number[] = [];
        for (let i = 0; i < 100; i++) {
            fixed.push(await freeFixedPort());
            any.push(await freePort());
        }
        expect(new Set([...fixed, ...any]).size).toBe(200);
        expect(fixed.every((p) => p >= 20000 && p < 32768)).toBe(true);
    });
});
