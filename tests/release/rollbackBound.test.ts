import { gateTimeoutSeconds } from "../../components/healthGate";
import { GATE_TIMING, gateWorstSeconds, ROLLBACK_ASSUMPTIONS, ROLLBACK_LIMIT_SECONDS, rollbackBound } from "../../release/rollbackBound";

describe("rollbackBound: how long a rollback (its gate included) can take", () => {
    it.each([2, 10, 30])("stays under the %s-VM limit of 15 minutes, typical and worst case", (vms) => {
        const bound = rollbackBound(vms);
        expect(bound.typicalSeconds).toBeLessThan(bound.worstSeconds);
        expect(bound.worstSeconds).toBeLessThanOrEqual(ROLLBACK_LIMIT_SECONDS);
    });

    it("hardly depends on the number of VMs, because the gate checks them in parallel", () => {
        expect(rollbackBound(30).worstSeconds - rollbackBound(2).worstSeconds).toBeLessThanOrEqual(Math.ceil(28 * ROLLBACK_ASSUMPTIONS.perVmSeconds) + 1);
    });

    it("is what the table in docs/release-guard.md says (2, 10, 30 VMs)", () => {
        expect([2, 10, 30].map((n) => rollbackBound(n))).toEqual([
            { typicalSeconds: 491, worstSeconds: 881 },
            { typicalSeconds: 492, worstSeconds: 882 },
            { typicalSeconds: 496, worstSeconds: 886 },
        ]);
    });

    it("uses the gate's own worst case, which is also the run command's timeout (so Azure never cuts a gate the bound allows)", () => {
        expect(gateTimeoutSeconds(GATE_TIMING)).toBe(gateWorstSeconds());
    });

    it("would break the limit with the old sequential checks (30 attempts, each VM in turn): the test can fail", () => {
        const sequential = 30 * (2 * 5 * 30 + 10) + 180; // 30 VMs checked one after the other
        expect(ROLLBACK_ASSUMPTIONS.engineSeconds + ROLLBACK_ASSUMPTIONS.runCommandOverheadSeconds + ROLLBACK_ASSUMPTIONS.loadBalancerUpdateSeconds + sequential).toBeGreaterThan(ROLLBACK_LIMIT_SECONDS);
    });

    it("refuses a number of VMs that is not a whole number of at least 1", () => {
        expect(() => rollbackBound(0)).toThrow(/vmsPerColor is 0/);
    });
});
