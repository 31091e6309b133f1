// Every dependency in package.json is used: imported by the code, or a named tool of the build. A dependency nothing
// uses is installed on every machine and every CI run, and is attack surface for nothing.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
};

/** Tools run by the scripts or configuration rather than imported: each with where it is used. */
const TOOLS: Record<string, string> = {
    typescript: "tsc (npm run typecheck), app/pack.ts",
    "ts-node": "npm run db / app:pack / rehearse, and the Pulumi CLI's TypeScript runtime",
    jest: "npm test",
    "ts-jest": "jest.config.js preset",
    "@types/jest": "tsconfig types",
    "@types/node": "tsconfig types",
    eslint: "npm run lint",
    azurite: "the Blob Storage emulator tests/vm-scripts/azuriteArtifact.int.test.ts starts (node_modules/.bin/azurite-blob)",
};

/** Every tracked source and configuration file's text. */
function sources(): string {
    const files = execFileSync("git", ["ls-files", "*.ts", "*.mjs", "*.js", "*.sh"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
    return files.map((f) => fs.readFileSync(path.join(ROOT, f), "utf8")).join("\n");
}

describe("package.json dependencies", () => {
    const text = sources();
    const imported = (name: string): boolean => new RegExp(`(from |require\\(|import\\()["']${name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(/[^"']*)?["']`).test(text);

    it.each([...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)])("%s is imported or a named tool", (name) => {
        const typesOf = /^@types\/(.+)$/.exec(name)?.[1];
        const used = name in TOOLS || imported(name) || (typesOf !== undefined && imported(typesOf.includes("__") ? `@${typesOf.replace("__", "/")}` : typesOf));
        expect(used ? name : `${name}: nothing imports it; remove it (npm uninstall ${name})`).toBe(name);
    });
});
