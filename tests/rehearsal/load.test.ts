import { isFailure, parseServedBy } from "../../rehearsal/load";

describe("parseServedBy", () => {
    it.each([
        ["blue@1.0.0", { color: "blue", version: "1.0.0" }],
        ["green@2.0.0-rc.1", { color: "green", version: "2.0.0-rc.1" }],
        [["green@2.0.0"], { color: "green", version: "2.0.0" }],
        ["purple@1.0.0", {}],
        ["blue", {}],
        [undefined, {}],
    ])("reads %j as %j", (header, expected) => {
        expect(parseServedBy(header)).toEqual(expected);
    });
});

describe("isFailure", () => {
    it.each([
        [{ status: 200 }, false],
        [{ status: 201 }, false],
        [{ status: 204 }, false],
        [{ status: 302 }, true],
        [{ status: 404 }, true],
        [{ status: 503 }, true],
        [{ status: undefined }, true],
        [{ status: 200, error: "aborted" }, true],
        [{ error: "ECONNRESET" }, true],
    ])("%j failed: %s", (r, expected) => {
        expect(isFailure(r)).toBe(expected);
    });
});
