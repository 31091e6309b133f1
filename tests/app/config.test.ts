import { DEFAULTS, readAppConfig } from "../../app/src/config";

const minimal = { APP_COLOR: "blue", DATABASE_URL: "postgres://app@127.0.0.1:5432/app" };

describe("readAppConfig", () => {
    it("fills in the defaults when only the color and the database are given", () => {
        expect(readAppConfig(minimal)).toEqual({
            color: "blue",
            databaseUrl: minimal.DATABASE_URL,
            host: "0.0.0.0",
            port: 8080,
            maxConnectionAgeMs: DEFAULTS.maxConnectionAgeMs,
            drainTimeoutMs: DEFAULTS.drainTimeoutMs,
            drainDelayMs: 0,
            bodyTimeoutMs: 10_000,
        });
    });

    it("opens no staging listener unless STAGING_PORT is set (on a VM the local proxy serves staging)", () => {
        expect(readAppConfig(minimal).stagingPort).toBeUndefined();
        expect(readAppConfig({ ...minimal, STAGING_PORT: "9081" }).stagingPort).toBe(9081);
    });

    it("reads every setting from the environment", () => {
        const config = readAppConfig({
            APP_COLOR: "green",
            DATABASE_URL: "mssql://u:p@db.example:1433/app",
            APP_HOST: "127.0.0.1",
            APP_PORT: "9080",
            APP_STAGING_PORT: "9081",
            MAX_CONNECTION_AGE_MS: "1500",
            DRAIN_TIMEOUT_MS: "2000",
            DRAIN_DELAY_MS: "500",
            BODY_TIMEOUT_MS: "700",
            APP_FAULT: "wrong-version",
        });
        expect(config).toMatchObject({
            color: "green",
            host: "127.0.0.1",
            port: 9080,
            stagingPort: 9081,
            maxConnectionAgeMs: 1500,
            drainTimeoutMs: 2000,
            drainDelayMs: 500,
            bodyTimeoutMs: 700,
            fault: "wrong-version",
        });
    });

    it.each([
        [{ APP_COLOR: "purple" }, /APP_COLOR="purple" must be "blue" or "green"/],
        [{ APP_COLOR: undefined }, /APP_COLOR="" must be "blue" or "green"/],
        [{ DATABASE_URL: undefined }, /DATABASE_URL is not set; set it to mssql:\/\//],
        [{ DATABASE_URL: "mysql://u:secret@h/db" }, /DATABASE_URL has scheme "mysql", which no driver handles/],
        [{ APP_PORT: "80a" }, /APP_PORT="80a" is not an integer from 0 to 65535; set e.g. APP_PORT=8080/],
        [{ APP_STAGING_PORT: "70000" }, /APP_STAGING_PORT="70000" is not an integer/],
        [{ APP_PORT: "9000", APP_STAGING_PORT: "9000" }, /APP_PORT and APP_STAGING_PORT are both 9000/],
        [{ MAX_CONNECTION_AGE_MS: "-1" }, /MAX_CONNECTION_AGE_MS="-1" is not an integer from 100/],
        [{ DRAIN_TIMEOUT_MS: "soon" }, /DRAIN_TIMEOUT_MS="soon"/],
        [{ APP_FAULT: "slow" }, /APP_FAULT="slow" is not a fault; use one of unhealthy, wrong-version, crash-on-start, errors-after-flip/],
        [{ APP_FAULT: "errors-after-flip" }, /APP_FAULT=errors-after-flip needs APP_FAULT_MARKER, the file whose existence turns the errors on; set e\.g\. APP_FAULT_MARKER=/],
    ])("refuses %j with a message naming the variable and the fix", (change, message) => {
        expect(() => readAppConfig({ ...minimal, ...change })).toThrow(message);
    });

    it("reads the marker of errors-after-flip, and only with that fault", () => {
        expect(readAppConfig({ ...minimal, APP_FAULT: "errors-after-flip", APP_FAULT_MARKER: "/run/prod" })).toMatchObject({ fault: "errors-after-flip", faultMarker: "/run/prod" });
        expect(readAppConfig({ ...minimal, APP_FAULT: "unhealthy", APP_FAULT_MARKER: "/run/prod" }).faultMarker).toBeUndefined();
    });

    it("never puts the database password in its error", () => {
        expect(() => readAppConfig({ ...minimal, DATABASE_URL: "mysql://u:hunter2@h/db" })).toThrow(/^(?!.*hunter2)/s);
    });

    it("lists every problem at once", () => {
        expect(() => readAppConfig({ APP_COLOR: "red", APP_PORT: "x" })).toThrow(/APP_COLOR[\s\S]*DATABASE_URL[\s\S]*APP_PORT/);
    });
});

describe("ports: the app contract's PORT and STAGING_PORT", () => {
    it("are read before the sample's older APP_PORT / APP_STAGING_PORT", () => {
        const base = { APP_COLOR: "blue", DATABASE_URL: "memory:" };
        expect(readAppConfig({ ...base, PORT: "9000", STAGING_PORT: "9001", APP_PORT: "1", APP_STAGING_PORT: "2" })).toMatchObject({ port: 9000, stagingPort: 9001 });
        expect(readAppConfig({ ...base, APP_PORT: "9100", APP_STAGING_PORT: "9101" })).toMatchObject({ port: 9100, stagingPort: 9101 });
        expect(() => readAppConfig({ ...base, PORT: "x" })).toThrow(/PORT="x" is not an integer/);
    });
});
