import { DatabaseUrlError, maskUrl, parseDatabaseUrl } from "../../migrator/databaseUrl";

describe("parseDatabaseUrl", () => {
    it.each([
        ["postgres://u:p@127.0.0.1:5432/app", "postgres"],
        ["postgresql://u:p@localhost/app", "postgres"],
        ["mssql://u:p@srv.database.windows.net:1433/app?encrypt=true", "mssql"],
        ["sqlserver://u:p@srv:1433/app", "mssql"],
    ])("takes the dialect of %s from its scheme", (url, dialect) => {
        expect(parseDatabaseUrl(url).dialect).toBe(dialect);
    });

    it("decodes a percent-encoded user and password and keeps query options", () => {
        const db = parseDatabaseUrl("mssql://app%40x:p%3Aw%2Fd@srv.database.windows.net:1433/goals?encrypt=true&trustServerCertificate=false");
        expect(db).toMatchObject({
            host: "srv.database.windows.net",
            port: 1433,
            database: "goals",
            user: "app@x",
            password: "p:w/d",
            options: { encrypt: "true", trustServerCertificate: "false" },
        });
        expect(db.masked).toBe("mssql://app%40x:***@srv.database.windows.net:1433/goals?encrypt=true&trustServerCertificate=false");
    });

    it.each([
        [undefined, /No database URL: pass --url <url> or set DATABASE_URL/],
        ["", /No database URL/],
        ["mysql://root:hunter2@db/app", /"mysql:\/\/root:\*\*\*@db\/app" has the scheme "mysql:\/\/".*use postgres:\/\/, postgresql:\/\/, mssql:\/\/ or sqlserver:\/\//],
        ["postgres://u:hunter2@h:99999/db", /"postgres:\/\/u:\*\*\*@h:99999\/db" is not a valid URL/],
        ["postgres://u:hunter2@db", /"postgres:\/\/u:\*\*\*@db" must name a host and one database/],
        ["postgres://u:hun%ter2@h/db", /"postgres:\/\/u:\*\*\*@h\/db" has a % that does not start a percent-encoded character: write % itself as %25/],
        ["sqlserver://h:1433;user=u;password=hunter2;database=db", /"sqlserver:\/\/h:1433;user=u;password=\*\*\*;database=db" is not a valid URL/],
    ])("refuses %s with a clear error that never shows the password", (url, message) => {
        let err: unknown;
        try {
            parseDatabaseUrl(url);
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(DatabaseUrlError);
        expect((err as Error).message).toMatch(message);
        expect((err as Error).message).not.toContain("hunter2");
    });
});

describe("maskUrl", () => {
    it.each([
        ["postgres://u:secret@h/db", "postgres://u:***@h/db"],
        ["postgres://u:se@cret@h/db", "postgres://u:***@h/db"],
        ["postgres://u@h/db", "postgres://u@h/db"],
        ["postgres://h/db", "postgres://h/db"],
        ["postgres://h/db?sslmode=require&password=secret", "postgres://h/db?sslmode=require&password=***"],
        ["postgres://u@h/db?PASSWORD=secret&x=1", "postgres://u@h/db?PASSWORD=***&x=1"],
        ["sqlserver://h;user=u;pwd=secret;database=db", "sqlserver://h;user=u;pwd=***;database=db"],
    ])("masks %s as %s", (url, masked) => {
        expect(maskUrl(url)).toBe(masked);
    });
});
