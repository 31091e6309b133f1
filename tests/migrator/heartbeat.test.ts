import { heartbeat } from "../../migrator/heartbeat";

describe("heartbeat", () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it("says every interval that the work is still running, with the seconds elapsed, until stopped", () => {
        const lines: string[] = [];
        let t = 0;
        const stop = heartbeat((l) => lines.push(l), "applying 0005_backfill.expand.sql", 30_000, () => t);
        t = 30_000;
        jest.advanceTimersByTime(30_000);
        t = 60_000;
        jest.advanceTimersByTime(30_000);
        stop();
        jest.advanceTimersByTime(90_000);
        expect(lines).toEqual(["still applying 0005_backfill.expand.sql (30 s)", "still applying 0005_backfill.expand.sql (60 s)"]);
    });
});
