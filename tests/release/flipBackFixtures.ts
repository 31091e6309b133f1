/** The flip-back record the flip-back's tests write: green failed the watch of the flip at 10:00, back to blue. */
import type { FlipBackRecord } from "../../release/watchContract";

export const record: FlipBackRecord = {
    flipId: "2026-12-01T10:00:00.000Z",
    at: "2026-12-01T10:00:25.000Z",
    from: "green",
    to: "blue",
    reason: "green: error ratio 20% over 3 intervals in a row (threshold 5%)",
};
