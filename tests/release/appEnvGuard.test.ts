import { RawConfig, validateConfig } from "../../config/validate";
import { colorStateOf } from "../../components/releaseGuard";
import { evaluateRelease, ReleaseState } from "../../release/guard";
import { baseConfig } from "../support/pulumiProgram";

/** What index.ts hands the guard for a config (blue is live in baseConfig). */
function stateOf(values: Record<string, string>): ReleaseState {
    const config = validateConfig(values as unknown as RawConfig);
    return { liveColor: config.liveColor, blue: colorStateOf(config.colors.blue, "0123456789ab", config), green: colorStateOf(config.colors.green, "0123456789ab", config) };
}

function verdict(before: Record<string, string>, after: Record<string, string>): ReturnType<typeof evaluateRelease> {
    return evaluateRelease(stateOf(baseConfig(before)), stateOf(baseConfig(after)), { now: new Date(), rollbackWindowMinutes: 60 });
}

describe("the release guard and the app's own settings and secrets (per color)", () => {
    it("refuses a change of the live color's settings like a version change, naming the key", () => {
        const v = verdict({}, { blueAppSettings: JSON.stringify(["LOG_LEVEL=debug"]) });
        expect(v.allowed).toBe(false);
        expect(v.reasons.join("\n")).toMatch(/refusing to change blue, the live color \(settings.appSettings \(unset\) → LOG_LEVEL=debug\)/);
    });

    it("refuses pointing the live color at another secret", () => {
        const v = verdict({ blueAppSecrets: JSON.stringify(["KEY=key-1"]) }, { blueAppSecrets: JSON.stringify(["KEY=key-2"]) });
        expect(v.allowed).toBe(false);
        expect(v.reasons.join("\n")).toMatch(/refusing to change blue, the live color \(settings.appSecrets KEY=key-1 → KEY=key-2\)/);
    });

    it("allows settings and secrets on the idle color, as a deploy to it", () => {
        const v = verdict({}, { greenAppSettings: JSON.stringify(["LOG_LEVEL=debug"]), greenAppSecrets: JSON.stringify(["KEY=key-1"]) });
        expect(v.reasons).toEqual([]);
        expect(v.allowed).toBe(true);
        expect(v.step).toBe("deploy-idle");
    });

    it("records secrets by name only, in name order", () => {
        const config = validateConfig(baseConfig({ greenAppSecrets: JSON.stringify(["B=b-secret", "A=a-secret"]) }) as unknown as RawConfig);
        expect(colorStateOf(config.colors.green).settings?.appSecrets).toBe("A=a-secret,B=b-secret");
    });
});
