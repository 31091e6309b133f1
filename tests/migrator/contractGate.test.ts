import * as fc from "fast-check";
import { mayRunContract } from "../../migrator/contractGate";

describe("mayRunContract", () => {
    it.each([
        ["2.0.0", ["2.0.0", "2.0.0"], true],
        ["2.0.0", ["2.0.0", "2.3.1"], true],
        ["2.0.0", ["1.9.9", "2.0.0"], false],
        ["2.0.0", ["2.0.0", "1.0.0"], false],
        ["2.0.0", ["2.0.0-rc.1", "2.0.0"], false],
        ["2.0.0", ["3.0.0"], true],
    ])("requires-version %s with running %j → allowed %s", (requires, running, allowed) => {
        expect(mayRunContract(requires, running).allowed).toBe(allowed);
    });

    it("names the versions that are too old and the safe sequence", () => {
        const v = mayRunContract("2.0.0", ["1.4.0", "2.0.0"]);
        expect(v.tooOld).toEqual(["1.4.0"]);
        expect(v.reason).toMatch(/run 2\.0\.0 or newer, but 1\.4\.0 is still running.*deploy 2\.0\.0 or newer to that color/);
    });

    it.each([
        [undefined, ["2.0.0"], /requires-version is missing/],
        ["2.0", ["2.0.0"], /"2\.0", not a semantic version/],
        ["2.0.0", [], /no running versions were given/],
        ["2.0.0", ["2.0.0", "latest"], /"latest" are not semantic versions/],
    ])("refuses requires-version %s with running %j", (requires, running, reason) => {
        const v = mayRunContract(requires, running);
        expect(v.allowed).toBe(false);
        expect(v.reason).toMatch(reason);
    });

    it("is allowed exactly when no running version is older than requires-version", () => {
        const version = fc.tuple(fc.nat(5), fc.nat(5), fc.nat(5)).map(([a, b, c]) => `${a}.${b}.${c}`);
        const older = (a: string, b: string) => {
            const [x, y] = [a, b].map((s) => s.split(".").map(Number));
            for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
            return false;
        };
        fc.assert(
            fc.property(version, fc.array(version, { minLength: 1, maxLength: 3 }), (requires, running) => {
                expect(mayRunContract(requires, running).allowed).toBe(!running.some((v) => older(v, requires)));
            }),
        );
    });
});
