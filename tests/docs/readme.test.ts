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

/** The names index.ts exports (the stack outputs), from its source. */
const program = fs.readFileSync(path.join(root, "index.ts"), "utf8");
const exported = [...program.matchAll(/^export const (\w+)/gm)].map((m) => m[1]);

describe("README against the program", () => {
    it("lists exactly the stack outputs index.ts exports", () => {
        const section = readme.slice(readme.indexOf("Stack outputs:"), readme.indexOf("## First deploy"));
        const listed = [...section.matchAll(/`(\w+)`/g)].map((m) => m[1]);
        expect(exported.length).toBeGreaterThan(10);
        expect([...new Set(listed)].sort()).toEqual([...exported].sort());
    });

    it("reads only stack outputs that exist, in the README and in docs/", () => {
        const texts = [readme, ...fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => fs.readFileSync(path.join(root, "docs", f), "utf8"))];
        const read = texts.flatMap((t) => [...t.matchAll(/pulumi stack output (?:--json )?(\w+)/g)].map((m) => m[1]));
        expect(read.length).toBeGreaterThan(3);
        for (const name of read) expect({ name, exported: exported.includes(name) }).toEqual({ name, exported: true });
    });

    it("never appends /path to a URL output that already ends in / (productionUrl, stagingUrl)", () => {
        const texts = [readme, ...fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => fs.readFileSync(path.join(root, "docs", f), "utf8"))];
        for (const t of texts) expect(t).not.toMatch(/stack output (?:productionUrl|stagingUrl)[^)]*\)\//);
    });

    it("gives the build order of index.ts in the order index.ts builds", () => {
        const row = readme.split("\n").find((l) => l.startsWith("| `index.ts` |")) ?? "";
        const construct: Record<string, string> = {
            "resource group": "new resources.ResourceGroup(",
            guard: "new ReleaseGuard(",
            network: "new Network(",
            database: "new Database(",
            "artifact store": "new ArtifactStore(",
            "blue and green VMs": "buildVms(\"blue\")",
            "release agent": "new ReleaseAgent(",
            "key vault": "new SecretVault(",
            "per color migrations and deployment": "buildRelease(\"blue\")",
            gate: "new HealthGate(",
            "load balancer": "new LoadBalancer(",
        };
        const steps = row.split("→").map((s) => s.replace(/\(.*?\)/g, "").replace(/[|`]/g, "").replace("composes the program: ", "").trim());
        const known = steps.filter((s) => s in construct);
        expect(known).toEqual(Object.keys(construct));
        const positions = known.map((s) => program.indexOf(construct[s]));
        for (const p of positions) expect(p).toBeGreaterThan(0);
        expect(positions).toEqual([...positions].sort((a, b) => a - b));
    });
});
