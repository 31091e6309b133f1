import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CONFIG_KEYS, LOCATION_KEY, validateConfig } from "../../config/validate";
import { PROJECT, REPO_ROOT, stackFileValues } from "../support/pulumiProgram";

interface ProjectFile {
    name: string;
    runtime: { name: string; options?: { typescript?: boolean } };
    main?: string;
    backend?: unknown;
    config: Record<string, { type: string; description: string; default?: unknown; items?: { type: string } }>;
}

const project = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as ProjectFile;

/** A stack's values without the project namespace, as validateConfig reads them. */
function rawOf(stack: string, asCommitted = false): Record<string, string> {
    const values = stackFileValues(stack, asCommitted);
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k.startsWith(`${PROJECT}:`) ? k.slice(PROJECT.length + 1) : k, v]));
}

describe("Pulumi.yaml", () => {
    it("is the azure-bluegreen project on the nodejs runtime with TypeScript, and has no backend.url", () => {
        expect(project.name).toBe(PROJECT);
        expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
        expect(project.backend).toBeUndefined();
    });

    it("declares exactly the keys the program reads, each with its type, description and default", () => {
        expect(Object.keys(project.config).sort()).toEqual(CONFIG_KEYS.map((k) => k.key).sort());
        for (const spec of CONFIG_KEYS) {
            const declared = project.config[spec.key];
            expect({ key: spec.key, type: declared.type, description: declared.description, default: declared.default }).toEqual({
                key: spec.key,
                type: spec.type,
                description: spec.description,
                default: spec.default,
            });
            if (spec.type === "array") expect(declared.items).toEqual({ type: "string" });
        }
    });

    it("gives every key a description long enough to tell a user what it does", () => {
        for (const [key, declared] of Object.entries(project.config)) expect({ key, long: declared.description.length > 20 }).toEqual({ key, long: true });
    });
});

describe.each(["dev", "prod"])("Pulumi.%s.yaml", (stack) => {
    const values = stackFileValues(stack);

    it("sets only keys the project declares (or provider keys)", () => {
        for (const key of Object.keys(values)) {
            const ok = key === LOCATION_KEY || (key.startsWith(`${PROJECT}:`) && key.slice(PROJECT.length + 1) in project.config);
            expect({ key, ok }).toEqual({ key, ok: true });
        }
    });

    it("sets every key that has no default (the CLI refuses the stack otherwise)", () => {
        const required = Object.entries(project.config).filter(([, d]) => d.default === undefined).map(([k]) => `${PROJECT}:${k}`);
        expect(required.sort()).toEqual([
            "azure-bluegreen:blueArtifactSha256", "azure-bluegreen:blueVersion", "azure-bluegreen:greenArtifactSha256",
            "azure-bluegreen:greenVersion", "azure-bluegreen:liveColor", "azure-bluegreen:sshPublicKey",
        ]);
        for (const key of required) expect(values[key]).toBeDefined();
        expect(values[LOCATION_KEY]).toBeDefined();
    });

    it("passes the program's validation once its placeholders are replaced", () => {
        expect(() => validateConfig(rawOf(stack))).not.toThrow();
    });

    it("as committed, is refused for its placeholders, each naming the command that sets a real value", () => {
        let message = "";
        try {
            validateConfig(rawOf(stack, true));
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toContain("sshPublicKey");
        expect(message).toContain('pulumi config set sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"');
        for (const color of ["blue", "green"]) {
            expect(message).toContain(`${color}ArtifactSha256`);
            expect(message).toMatch(new RegExp(`pulumi config set ${color}ArtifactSha256 "\\$\\(cut -d' ' -f1 dist/app-1\\.0\\.0\\.tgz\\.sha256\\)"`));
        }
        expect(message).toContain("SHA-256 of an empty file");
    });
});

describe("stack shapes", () => {
    it("dev is small: one VM per color, a Basic database, no delete protection", () => {
        const dev = validateConfig(rawOf("dev"));
        expect([dev.colors.blue.instanceCount, dev.colors.green.instanceCount]).toEqual([1, 1]);
        expect(dev.sqlSku).toBe("Basic");
        expect(dev.protectDatabase).toBe(false);
    });

    it("prod is production-shaped: 2+ VMs per color over several zones, a vCore database, protected", () => {
        const prod = validateConfig(rawOf("prod"));
        expect(prod.colors.blue.instanceCount).toBeGreaterThanOrEqual(2);
        expect(prod.colors.green.instanceCount).toBeGreaterThanOrEqual(2);
        expect(prod.zones.length).toBeGreaterThanOrEqual(2);
        expect(prod.sqlSku).toMatch(/^(GP|BC|HS)_/);
        expect(prod.protectDatabase).toBe(true);
    });
});
