/**
 * The README is the user's manual: its config table and its commands must match the project.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const root = path.join(__dirname, "..", "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { config: Record<string, unknown> };
const scripts = Object.keys((JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);

/** Keys in the first column of the README's configuration table. */
function readmeConfigKeys(): string[] {
    const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## First deploy"));
    return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
}

describe("README", () => {
    it("documents every project config key declared in Pulumi.yaml, and no key that is not declared", () => {
        const documented = readmeConfigKeys().filter((k) => !k.includes(":"));
        expect([...documented].sort()).toEqual(Object.keys(project.config).sort());
    });

    it("names only npm scripts that exist in package.json", () => {
        const named = new Set([...readme.matchAll(/npm run (?:--silent )?([a-z][\w:-]*)/g)].map((m) => m[1]));
        expect(named.size).toBeGreaterThan(3);
        for (const script of named) expect(scripts).toContain(script);
    });

    it("links only to files that exist", () => {
        const links = [...readme.matchAll(/\]\(((?:docs|components|release)\/[^)#]+)\)/g)].map((m) => m[1]);
        expect(links.length).toBeGreaterThan(3);
        for (const link of links) expect(fs.existsSync(path.join(root, link))).toBe(true);
    });
});
