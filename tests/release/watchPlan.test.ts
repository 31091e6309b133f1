import { DEFAULT_WATCH_THRESHOLDS } from "../../release/postFlipAnalysis";
import { watchAction, WatchPlanSettings } from "../../release/watchPlan";

const vm = (color: string, i: number, host: string) => ({ name: `${color}-vm-${i}`, host, metricsPort: 8405, healthPort: 8080 });
const settings: WatchPlanSettings = {
    vms: { blue: [vm("blue", 0, "10.0.1.10")], green: [vm("green", 0, "10.0.1.20"), vm("green", 1, "10.0.1.21")] },
    healthPath: "/health",
    thresholds: { ...DEFAULT_WATCH_THRESHOLDS, watchMinutes: 15 },
};
const LB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/front";

describe("whether an update starts a post-flip watch, from the release guard's flip fields", () => {
    it("watches a flip: the new live color against its rollback target until the flip + watchMinutes", () => {
        const a = watchAction({ liveColor: "green", lastFlipAt: "2026-12-01T10:00:00.000Z", previousLiveColor: "blue" }, settings, LB);
        expect(a.action).toBe("watch");
        if (a.action !== "watch") return;
        expect(a.spec).toEqual({
            flipId: "2026-12-01T10:00:00.000Z",
            from: "blue",
            to: "green",
            targets: settings.vms.green,
            baseline: settings.vms.blue,
            healthPath: "/health",
            thresholds: settings.thresholds,
            until: "2026-12-01T10:15:00.000Z",
            loadBalancerId: LB,
            armEndpoint: "https://management.azure.com",
        });
        expect(a.why).toMatch(/green watched until 2026-12-01T10:15:00.000Z, blue the rollback target/);
    });

    it.each([
        ["the first deploy (no flip recorded)", { liveColor: "blue" as const }],
        ["no state at all", undefined],
    ])("does nothing on %s", (_what, state) => {
        expect(watchAction(state, settings, LB)).toEqual({ action: "none", why: expect.stringMatching(/no flip yet/) });
    });

    it("stops a running watch after a rollback (it has no rollback target; a person already moved production)", () => {
        const a = watchAction({ liveColor: "blue", lastFlipAt: "2026-12-01T10:05:00.000Z", previousLiveColor: "green", lastFlipWasRollback: true }, settings, LB);
        expect(a).toEqual({ action: "stop", why: expect.stringMatching(/was a rollback to blue/) });
    });
});
