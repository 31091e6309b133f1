/**
 * No output of any tool contains the password of a database URL, whatever the URL's shape: generated well-formed
 * and malformed URLs (`postgres//`, `postgres:/`, `postgres:`, `mssql:\\`, no scheme, no host, unencoded characters)
 * go through the masking, the URL parser's errors, the migration CLI and the app's configuration check.
 */
import * as fc from "fast-check";
import { maskUrl, parseDatabaseUrl } from "../../migrator/databaseUrl";
import { main } from "../../migrator/cli";
import { createRunner } from "../../migrator/runner";
import { readAppConfig } from "../../app/src/config";

const scheme = fc.constantFrom("postgres", "postgresql", "mssql", "sqlserver", "POSTGRES", "mysql", "oracle", "");
const separator = fc.constantFrom("://", "//", ":/", ":", ":\\\\", ":\\", ":///", "/", "", "\\\\");
const user = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
/** A password that stands out in any output: a fixed marker, then URL-hostile characters. */
const password = fc
    .string({ unit: fc.constantFrom(..."abcXYZ0189!#$&*()=+,;:/?@%'\"\\ ".split("")), minLength: 0, maxLength: 8 })
    .map((tail) => `Pw9Secret${tail}`);
const after = fc.constantFrom("@127.0.0.1:1/db", "@127.0.0.1:1/db?encrypt=false", "@h", "@", "/db", "", "@[::1", "@h:99999/db");

const shapes = fc.record({ scheme, separator, user, password, after }).map((p) => ({
    url: `${p.scheme}${p.separator}${p.user}:${p.password}${p.after}`,
    password: p.password,
}));

/** The secret part that must never appear: the marker is enough (it starts every generated password). */
const leaks = (text: string) => text.includes("Pw9Secret");

function parseMessage(url: string): string {
    try {
        const db = parseDatabaseUrl(url);
        return db.masked;
    } catch (e) {
        return (e as Error).message;
    }
}

describe("a database URL's password is never printed", () => {
    it.each([
        "postgres//user:S3cret@host:5432/db",
        "postgres:/user:S3cret@host:5432/db",
        "postgres:user:S3cret@host:5432/db",
        "mssql:\\\\user:S3cret@host:1433/db",
        "user:S3cret@host/db",
        "postgres://user:S3cret",
        "postgres://user:S3cret/db",
    ])("the issue's shapes: %s", (url) => {
        expect(maskUrl(url)).not.toContain("S3cret");
        expect(parseMessage(url)).not.toContain("S3cret");
    });

    it("keeps what is not a password: user, host, port, database", () => {
        expect(maskUrl("postgres//user:S3cret@host:5432/db")).toBe("postgres//user:***@host:5432/db");
        expect(maskUrl("mssql:\\\\user:S3cret@host:1433/db")).toBe("mssql:\\\\user:***@host:1433/db");
        expect(maskUrl("postgres://host:5432/db")).toBe("postgres://host:5432/db");
        expect(maskUrl("postgres://user:S3cret/db")).toBe("postgres://user:***");
    });

    it("over generated URLs: not in the masked URL, not in the parser's errors, not in the app's config errors", () => {
        fc.assert(
            fc.property(shapes, ({ url }) => {
                expect(leaks(maskUrl(url))).toBe(false);
                expect(leaks(parseMessage(url))).toBe(false);
                try {
                    readAppConfig({ APP_COLOR: "blue", DATABASE_URL: url });
                } catch (e) {
                    expect(leaks((e as Error).message)).toBe(false);
                }
            }),
            { numRuns: 2000 },
        );
    });

    it("over generated URLs: not in anything the migration CLI writes", async () => {
        await fc.assert(
            fc.asyncProperty(shapes, async ({ url }) => {
                let out = "";
                const io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (out += t) } };
                // One quick retry of a failed connection: its retry line is output too (the default waits 135 s).
                await main(["status", "--url", url, "--lock-timeout", "1"], io, (o) =>
                    createRunner({ ...o, connectRetry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }));
                expect(leaks(out)).toBe(false);
            }),
            { numRuns: 150 },
        );
    }, 60_000);
});
