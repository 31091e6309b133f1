import * as fs from "fs";
import * as path from "path";
import { RULES } from "../../../migrator/lint/rules";

const DOCS = fs.readFileSync(path.join(__dirname, "..", "..", "..", "docs", "migration-lint-rules.md"), "utf8");
const documentedIds = [...DOCS.matchAll(/^### ([A-Z-]+)\s*$/gm)].map((m) => m[1]);
const tableIds = [...DOCS.matchAll(/^\| \[([A-Z-]+)\]\(#/gm)].map((m) => m[1]);

function section(id: string): string {
    const start = DOCS.indexOf(`### ${id}\n`);
    const next = DOCS.indexOf("\n### ", start + 1);
    return DOCS.slice(start, next < 0 ? undefined : next);
}

describe("docs/migration-lint-rules.md", () => {
    it("documents every rule in the code, and only those", () => {
        expect([...documentedIds].sort()).toEqual(RULES.map((r) => r.id).sort());
        expect(new Set(documentedIds).size).toBe(documentedIds.length);
    });

    it("lists every rule in the summary table, with its severity", () => {
        expect([...tableIds].sort()).toEqual(RULES.map((r) => r.id).sort());
        for (const rule of RULES) expect(DOCS).toContain(`| [${rule.id}](#${rule.id.toLowerCase()}) | ${rule.severity} |`);
    });

    it.each(RULES.map((r) => [r.id, r] as const))("shows %s with its severity and the same bad and good examples the tests lint", (id, rule) => {
        const text = section(id);
        expect(text).toContain(`**${rule.severity}**`);
        expect(text).toContain("```sql\n" + rule.bad + "\n```");
        expect(text).toContain("```sql\n" + rule.good + "\n```");
    });
});
