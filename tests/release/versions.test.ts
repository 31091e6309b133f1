import * as fc from "fast-check";
import { compareVersions, isVersion } from "../../release/versions";

describe("compareVersions", () => {
    it.each([
        ["1.0.0", "1.0.0", 0],
        ["1.0.0", "1.0.1", -1],
        ["1.10.0", "1.9.0", 1],
        ["2.0.0-rc.1", "2.0.0", -1],
        ["10.0.0", "9.99.99", 1],
    ])("compares %s with %s as %d", (a, b, expected) => {
        expect(Math.sign(compareVersions(a, b))).toBe(expected);
    });

    it("names the value that is not a version", () => {
        expect(() => compareVersions("1.0", "1.0.0")).toThrow(/"1\.0" is not a semantic version/);
        expect(() => compareVersions("1.0.0", "v2.0.0")).toThrow(/"v2\.0\.0"/);
    });

    it("is antisymmetric for any pair of versions", () => {
        const version = fc.tuple(fc.nat(50), fc.nat(50), fc.nat(50)).map(([a, b, c]) => `${a}.${b}.${c}`);
        fc.assert(fc.property(version, version, (a, b) => Math.sign(compareVersions(a, b)) === -Math.sign(compareVersions(b, a))));
    });
});

describe("isVersion", () => {
    it.each(["1.2.3", "0.0.1", "2.0.0-rc.1"])("accepts %s", (v) => expect(isVersion(v)).toBe(true));
    it.each(["v1.2.3", "1.2", "latest", "", "1.2.3 "])("rejects %p", (v) => expect(isVersion(v)).toBe(false));
});
