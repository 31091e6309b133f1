import { idleColor, isColor, rulePools } from "../../release/colors";

describe("colors", () => {
    it("makes the other color idle", () => {
        expect(idleColor("blue")).toBe("green");
        expect(idleColor("green")).toBe("blue");
    });

    it("sends production to the live pool and staging to the idle pool", () => {
        expect(rulePools("blue")).toEqual({ production: "blue", staging: "green" });
        expect(rulePools("green")).toEqual({ production: "green", staging: "blue" });
    });

    it.each(["purple", "Blue", "", undefined, 1])("rejects %p as a color", (v) => expect(isColor(v)).toBe(false));
});
