import { FLIP_BACK_TAG, FlipBackRecord, formatFlipBackTag, parseFlipBackTag, TAG_VALUE_MAX } from "../../release/watchContract";

const record: FlipBackRecord = {
    flipId: "2026-12-01T10:00:00.000Z",
    at: "2026-12-01T10:00:20.000Z",
    from: "green",
    to: "blue",
    reason: "green: error ratio (5xx + connection errors) 20% over 3 interval(s) in a row (threshold 5%), 1,500 requests",
};

describe("the flip-back record in the load balancer's tag", () => {
    it("reads back what it wrote", () => {
        expect(parseFlipBackTag(formatFlipBackTag(record))).toEqual(record);
        expect(FLIP_BACK_TAG).toBe("bluegreen-flip-back");
    });

    it("shortens a long reason (with characters JSON escapes) to fit Azure's 256-character tag value", () => {
        const long = { ...record, reason: `"quoted" ${"x".repeat(400)} \\ end` };
        const value = formatFlipBackTag(long);
        expect(value.length).toBeLessThanOrEqual(TAG_VALUE_MAX);
        const back = parseFlipBackTag(value);
        expect(back?.reason.endsWith("…")).toBe(true);
        expect(back?.reason.startsWith('"quoted" xxx')).toBe(true);
        expect({ ...back, reason: "" }).toEqual({ ...record, reason: "" });
    });

    it.each([
        ["absent", undefined],
        ["not JSON", "flipped"],
        ["a color that is not blue or green", JSON.stringify({ flip: record.flipId, at: record.at, from: "red", to: "blue" })],
        ["from and to the same color", JSON.stringify({ flip: record.flipId, at: record.at, from: "blue", to: "blue" })],
        ["a time that is not a time", JSON.stringify({ flip: "yesterday", at: record.at, from: "green", to: "blue" })],
    ])("reads no record from a value that is %s", (_what, value) => {
        expect(parseFlipBackTag(value)).toBeUndefined();
    });
});
