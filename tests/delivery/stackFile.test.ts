import * as fs from "fs";
import * as path from "path";
import { StackConfig } from "../../config/validate";
import { changedKeys, parseStackFile, rawConfigFromStackFile, SECRET_PLACEHOLDER, staleChecksums } from "../../delivery/stackFile";

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
    it.each(["dev", "prod"])("accepts the repository's Pulumi.%s.yaml with the program's validation", (stack) => {
        const parsed = parseStackFile(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"), "azure-bluegreen");
        expect(parsed.ok).toBe(true);
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

describe("staleChecksums", () => {
    const dev = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
    const configOf = (text: string): StackConfig => {
        const parsed = parseStackFile(text, "azure-bluegreen");
        if (!parsed.ok) throw new Error(parsed.error);
        return parsed.config;
    };
    const before = configOf(dev);
    const bumped = (sha?: string) =>
        configOf(
            dev
                .replace(/(azure-bluegreen:greenVersion:).*/, "$1 1.1.0")
                .replace(/(azure-bluegreen:greenArtifactSha256:).*/, (line, key) => (sha ? `${key} ${sha}` : line)),
        );

    it("names a color whose version changed but whose checksum did not, with the fix", () => {
        expect(staleChecksums(before, bumped())).toEqual([expect.stringMatching(/^greenVersion \S+ → 1\.1\.0 but greenArtifactSha256 is still .*cut -d' ' -f1 dist\/app-1\.1\.0\.tgz\.sha256/)]);
    });

    it("is silent when the checksum moved with the version, or nothing changed", () => {
        expect(staleChecksums(before, bumped("a".repeat(64)))).toEqual([]);
        expect(staleChecksums(before, before)).toEqual([]);
    });
});
