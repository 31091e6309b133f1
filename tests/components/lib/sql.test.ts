import { PASSWORD_SPECIALS, sqlServerUrl, sqlSkuTier } from "../../../components/lib/sql";

describe("sqlSkuTier", () => {
    it.each([
        ["Basic", "Basic"],
        ["S0", "Standard"],
        ["P2", "Premium"],
        ["GP_Gen5_2", "GeneralPurpose"],
        ["GP_S_Gen5_1", "GeneralPurpose"],
        ["BC_Gen5_4", "BusinessCritical"],
        ["HS_Gen5_2", "Hyperscale"],
    ])("gives %s the tier %s", (sku, tier) => {
        expect(sqlSkuTier(sku)).toBe(tier);
    });
    it("refuses a name it does not know", () => {
        expect(() => sqlSkuTier("Gold")).toThrow(/"Gold" is not an Azure SQL Database SKU name/);
    });
});

describe("sqlServerUrl", () => {
    it("builds the mssql:// URL the app and the migration runner read, with TLS on", () => {
        expect(sqlServerUrl({ host: "s.database.windows.net", database: "appdb", user: "app_user", password: "Ab-1_x" })).toBe(
            "mssql://app_user:Ab-1_x@s.database.windows.net:1433/appdb?encrypt=true",
        );
    });
    it("URL-encodes a password that carries URL syntax", () => {
        const url = new URL(sqlServerUrl({ host: "h", database: "d", user: "u", password: "p@ss:/#?" }));
        expect(decodeURIComponent(url.password)).toBe("p@ss:/#?");
    });
    it("only lets generated passwords use specials that need no escaping in URLs, connection strings or shells", () => {
        for (const c of PASSWORD_SPECIALS) expect(encodeURIComponent(c)).toBe(c);
        expect(PASSWORD_SPECIALS).not.toMatch(/[;'"{}=$`\\ ]/);
    });
});
