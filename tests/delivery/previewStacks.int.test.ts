import { main, previewStacks } from "../../delivery/previewStacks";
import { baseStack, TempRepo } from "./tempRepo";

describe("preview:stacks on a real git repository", () => {
    let repo: TempRepo;
    let base: string;
    beforeEach(() => {
        repo = new TempRepo();
        repo.writeStack("dev", baseStack()).writeStack("prod", baseStack());
        base = repo.commit("two stacks");
    });
    afterEach(() => repo.remove());

    it.each([
        ["a docs-only change", { "docs/runbook.md": "x" }, []],
        ["a dev stack file change", { "Pulumi.dev.yaml": "config: {}\n" }, ["dev"]],
        ["a prod stack file change (prod is never previewed from a pull request)", { "Pulumi.prod.yaml": "config: {}\n" }, []],
        ["a component change", { "components/loadBalancer.ts": "export {};\n" }, ["dev"]],
    ] as [string, Record<string, string>, string[]][])("lists the stacks to preview for %s", (_what, files, expected) => {
        for (const [name, text] of Object.entries(files)) repo.writeFile(name, text);
        repo.commit("change");
        expect(previewStacks(repo.dir, base)).toEqual(expected);
    });

    it("prints the list as JSON, and exits 2 without --base", () => {
        repo.writeFile("index.ts", "export {};\n").commit("program");
        const out: string[] = [];
        const spy = jest.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true));
        const err = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
        try {
            expect(main(["--base", base], repo.dir)).toBe(0);
            expect(JSON.parse(out.join(""))).toEqual(["dev"]);
            expect(main([], repo.dir)).toBe(2);
        } finally {
            spy.mockRestore();
            err.mockRestore();
        }
    });
});
