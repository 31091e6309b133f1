import * as fs from "fs";
import * as path from "path";
import { changedKeys, parseStackFile, rawConfigFromStackFile, SECRET_PLACEHOLDER } from "../../delivery/stackFile";

const ROOT = path.resolve(__dirname, "../..");

describe("rawConfigFromStackFile", () => {
    it("hands values over as the engine does: project prefix dropped, other namespaces kept, lists as JSON", () => {
        const raw = rawConfigFromStackFile(
            [
                "config:",
                "  azure-native:location: westeurope",
                "  azure-bluegreen:liveColor: green",
                "  azure-bluegreen:instanceCount: 2",
                "  azure-bluegreen:protectDatabase: true",
                "  azure-bluegreen:zones: ['1', '2']",
                "  azure-bluegreen:token:",
                "    secure: v1:abc",
                "  other-project:liveColor: blue",
            ].join("\n"),
            "azure-bluegreen",
        );
        expect(raw).toEqual({
            "azure-native:location": "westeurope",
            liveColor: "green",
            instanceCount: "2",
            protectDatabase: "true",
            zones: '["1","2"]',
            token: SECRET_PLACEHOLDER,
            "other-project:liveColor": "blue",
        });
    });

    it("reads an empty file as no config, and refuses a file that is not a mapping", () => {
        expect(rawConfigFromStackFile("", "p")).toEqual({});
        expect(() => rawConfigFromStackFile("- a\n- b\n", "p")).toThrow(/not a YAML mapping/);
        expect(() => rawConfigFromStackFile("config: [1]\n", "p")).toThrow(/`config:` is not a mapping/);
    });
});

describe("parseStackFile", () => {
    /** The repository's stack file with its placeholders replaced, as a user does before the first deploy. */
    const withRealValues = (text: string) =>
        text.replace(/placeholder-replace-me/g, "ops@example.org").replace(/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/g, "1a".repeat(32));

    it.each(["dev", "prod"])("refuses the repository's Pulumi.%s.yaml as committed: its SSH key and checksums are placeholders", (stack) => {
        const parsed = parseStackFile(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"), "azure-bluegreen");
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) {
            expect(parsed.error).toMatch(/sshPublicKey = .* is the placeholder key committed with this repository/);
            expect(parsed.error).toMatch(/greenArtifactSha256 = .* is the SHA-256 of an empty file/);
        }
    });

    it.each(["dev", "prod"])("accepts the repository's Pulumi.%s.yaml with real values, with the program's validation", (stack) => {
        const parsed = parseStackFile(withRealValues(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")), "azure-bluegreen");
        expect(parsed.ok ? "" : parsed.error).toBe("");
        if (parsed.ok) {
            expect(parsed.state.liveColor).toBe(parsed.config.liveColor);
            expect(parsed.state.blue.version).toBe(parsed.config.colors.blue.version);
        }
    });

    it("returns the program's own error for an invalid stack file instead of throwing", () => {
        const parsed = parseStackFile("config:\n  azure-bluegreen:liveColor: purple\n", "azure-bluegreen");
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) expect(parsed.error).toMatch(/liveColor\W+"purple" is not a color/);
    });
});

describe("changedKeys", () => {
    it("lists added, removed and changed keys, sorted", () => {
        expect(changedKeys({ a: "1", b: "2", c: "3" }, { a: "1", b: "20", d: "4" })).toEqual(["b", "c", "d"]);
    });
});
