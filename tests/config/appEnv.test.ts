import { validateConfig } from "../../config/validate";
import { PRODUCT_SECRET_NAMES, RESERVED_ENV_NAMES } from "../../config/appEnv";
import { SECRET_NAMES } from "../../components/lib/agentPlan";
import { problemsOf, raw } from "../support/configInput";

describe("the app's own settings and secrets in config", () => {
    it("reads <color>AppSettings and <color>AppSecrets as maps, per color; a value may hold = and spaces", () => {
        const config = validateConfig(raw({
            greenAppSettings: JSON.stringify(["LOG_LEVEL=debug", "GREETING=a = b c"]),
            greenAppSecrets: JSON.stringify(["STRIPE_KEY=stripe-key"]),
        }));
        expect(config.colors.green.appSettings).toEqual({ LOG_LEVEL: "debug", GREETING: "a = b c" });
        expect(config.colors.green.appSecrets).toEqual({ STRIPE_KEY: "stripe-key" });
        expect(config.colors.blue.appSettings).toBeUndefined();
        expect(config.colors.blue.appSecrets).toBeUndefined();
    });

    it.each([
        ["blueAppSettings", "PORT=9090", /blueAppSettings\[0\] = "PORT=9090" names PORT, which the product sets itself/],
        ["blueAppSettings", "DATABASE_URL=x", /names DATABASE_URL, which the product sets itself/],
        ["blueAppSettings", "1BAD=x", /names "1BAD", which is not an environment variable name/],
        ["blueAppSettings", "LOG-LEVEL=x", /names "LOG-LEVEL", which is not an environment variable name/],
        ["blueAppSettings", "NOEQUALS", /blueAppSettings\[0\] = "NOEQUALS" is not NAME=value/],
        ["blueAppSettings", "MSG=it's", /has a value with a single quote, a backslash, a newline/],
        ["blueAppSettings", "MSG=a\nb", /has a value with a single quote, a backslash, a newline/],
        ["blueAppSettings", "DIR=C:\\temp", /has a value with a single quote, a backslash/],
        ["greenAppSecrets", "STRIPE_KEY=stripe_key", /greenAppSecrets\[0\] = "STRIPE_KEY=stripe_key" names the secret "stripe_key", which is not a Key Vault secret name/],
        ["greenAppSecrets", "ADMIN=sql-admin-url", /names the product's own secret sql-admin-url/],
        ["greenAppSecrets", "APP_VERSION=v", /names APP_VERSION, which the product sets itself/],
    ])("refuses %s entry %j with the key, the value, why and the fix", (key, entry, message) => {
        const error = problemsOf(raw({ [key]: JSON.stringify([entry]) }));
        expect(error.message).toMatch(message);
        expect(error.message).toContain(`fix:     pulumi config set --path '${key}[0]'`);
    });

    it("refuses a name set both as a setting and as a secret of the same color", () => {
        const error = problemsOf(raw({ blueAppSettings: JSON.stringify(["TOKEN=plain"]), blueAppSecrets: JSON.stringify(["TOKEN=token"]) }));
        expect(error.message).toMatch(/blueAppSettings = "TOKEN" and blueAppSecrets set TOKEN more than once/);
    });

    it("accepts the same name on both colors (each color has its own)", () => {
        const config = validateConfig(raw({ blueAppSettings: JSON.stringify(["MODE=a"]), greenAppSettings: JSON.stringify(["MODE=b"]) }));
        expect([config.colors.blue.appSettings?.MODE, config.colors.green.appSettings?.MODE]).toEqual(["a", "b"]);
    });

    it("refuses more than 50 settings", () => {
        const many = Array.from({ length: 51 }, (_, i) => `S${i}=x`);
        expect(problemsOf(raw({ blueAppSettings: JSON.stringify(many) })).message).toMatch(/blueAppSettings = "51 entries" has more than 50 entries/);
    });

    it("knows the product's secrets and environment exactly", () => {
        expect([...PRODUCT_SECRET_NAMES].sort()).toEqual(Object.values(SECRET_NAMES).sort());
        expect(RESERVED_ENV_NAMES).toEqual(["PORT", "STAGING_PORT", "APP_COLOR", "APP_VERSION", "DATABASE_URL"]);
    });
});
