/** Azure SQL's transient errors (app/src/store/transient.ts). */
import { isTransientSqlError } from "../../app/src/store/transient";

describe("isTransientSqlError", () => {
    it.each([
        [40613, true],
        [40197, true],
        [40501, true],
        [49918, true],
        [1205, true],
        [49919, true],
        [49920, true],
        [4221, true],
        [615, true],
        [926, true],
        [4060, true],
        [18456, false],
        [40615, false],
        [208, false],
        [2627, false],
    ])("error number %i → %s", (number, expected) => {
        expect(isTransientSqlError(Object.assign(new Error("x"), { number }))).toBe(expected);
    });

    it("reads the number under tedious's originalError, and nothing from a plain error", () => {
        expect(isTransientSqlError({ originalError: { info: { number: 40197 } } })).toBe(true);
        expect(isTransientSqlError(new Error("40613"))).toBe(false);
        expect(isTransientSqlError(undefined)).toBe(false);
    });
});
