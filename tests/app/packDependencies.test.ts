import * as path from "path";
import { artifactName, dependencyClosure, requiredPackages } from "../../app/pack";

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
