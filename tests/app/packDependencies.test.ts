import * as path from "path";
import { artifactName, dependencyClosure, isNeededAtRunTime, requiredPackages } from "../../app/pack";

describe("requiredPackages (what compiled code needs from node_modules)", () => {
    it("keeps package names, drops built-ins and relative paths, reduces deep imports to their package", () => {
        const js = [
            'const fs = require("fs");',
            'const p = require("node:path");',
            'const pg = require("pg");',
            "const id = require('@azure/identity/dist/x');",
            'const v = require("./versions");',
            'const m = Promise.resolve().then(() => __importStar(require("mssql")));',
        ].join("\n");
        expect(requiredPackages(js)).toEqual(["@azure/identity", "mssql", "pg"]);
    });
});

describe("dependencyClosure", () => {
    const root = path.resolve(__dirname, "..", "..");

    it("includes a package's dependencies recursively", () => {
        const names = [...dependencyClosure(["pg"], root).values()].map((n) => n.replace(/@[^@]+$/, ""));
        expect(names).toEqual(expect.arrayContaining(["pg", "pg-pool", "pg-protocol", "pg-types"]));
        expect(names).not.toContain("mssql");
    });

    it("names a package that is not installed and how to fix it", () => {
        expect(() => dependencyClosure(["no-such-package-bg"], root)).toThrow(/requires "no-such-package-bg", which is not installed; run npm ci/);
    });
});

describe("artifactName", () => {
    it("is one file per version", () => {
        expect(artifactName("2.0.0")).toBe("app-2.0.0.tgz");
    });
});

describe("isNeededAtRunTime (which package files the artifact carries)", () => {
    it.each([
        ["node_modules/pg/lib/index.js", true],
        ["node_modules/tedious/lib/connection.js", true],
        ["node_modules/pg/package.json", true],
        ["node_modules/pg/LICENSE", true],
        ["node_modules/tedious/lib/connection.js.map", false],
        ["node_modules/tedious/lib/connection.d.ts", false],
        ["node_modules/@azure/identity/dist/esm/index.d.mts", false],
        ["node_modules/pg/src/index.ts", false],
        ["node_modules/pg/README.md", false],
    ])("%s → %s", (file, expected) => {
        expect(isNeededAtRunTime(file)).toBe(expected);
    });
});
