/**
 * The program loads the way the Pulumi CLI will load it. The CLI's Node.js language host (cmd/run/run.js of
 * @pulumi/pulumi) resolves the entry point from Pulumi.yaml `main` or package.json `main`, registers the
 * project's own ts-node with the project's TypeScript and tsconfig.json (type-checking unless `noCheck`), and
 * requires the entry point. This test does exactly that in a child process, under mocks, with the dev stack's
 * config, and checks that the program registered its resources and exports. Slow (a full type-check), hence
 * the integration tier.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { REPO_ROOT, stackFileValues } from "../support/pulumiProgram";

/** Child process: the language host's TypeScript set-up (run.js), then mocks, then the entry point. */
const CHILD = String.raw`
const tsutils = require("@pulumi/pulumi/tsutils");
const semver = require("semver");
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
const tsVersion = semver.parse(require(typescriptRequire).version);
const useNodeNext = tsVersion && tsVersion.compare(new semver.SemVer("4.7.0")) >= 0;
const tsn = require(tsnodeRequire);
tsn.register({
    compiler: typescriptRequire,
    transpileOnly: compilerOptions.noCheck,
    project: "tsconfig.json",
    skipProject: false,
    compilerOptions: { target: "ES2020", module: useNodeNext ? "nodenext" : "commonjs", moduleResolution: useNodeNext ? "nodenext" : "node", sourceMap: "true", ...compilerOptions },
});
const pulumi = require("@pulumi/pulumi");
const { firstDeployMocks } = require("./tests/support/pulumiProgram.ts");
const types = {};
const mocks = firstDeployMocks();
pulumi.runtime.setMocks({
    newResource(args) { types[args.type] = (types[args.type] || 0) + 1; return mocks.newResource(args); },
    call: mocks.call,
}, "azure-bluegreen", "cli-check", false);
pulumi.runtime.setAllConfig(JSON.parse(process.env.STACK_CONFIG));
const started = Date.now();
const program = require(process.env.ENTRY_POINT);
const loadMs = Date.now() - started;
pulumi.runtime.waitForRPCs().then(() => new Promise((r) => setTimeout(r, 200))).then(() => pulumi.runtime.waitForRPCs()).then(() => {
    process.stdout.write(JSON.stringify({ tsnode: tsn.VERSION, typescript: tsVersion.version, typeChecked: !compilerOptions.noCheck, loadMs, exports: Object.keys(program).sort(), types }));
});
`;

interface ChildReport {
    tsnode: string;
    typescript: string;
    typeChecked: boolean;
    loadMs: number;
    exports: string[];
    types: Record<string, number>;
}

describe("the program as the Pulumi CLI loads it", () => {
    const project = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { main?: string; runtime: { name: string; options?: { typescript?: boolean } } };
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { main?: string };

    it("names a TypeScript entry point the language host will find", () => {
        expect(project.runtime).toEqual({ name: "nodejs", options: { typescript: true } });
        expect(project.main).toBeUndefined(); // so the host takes package.json "main"
        expect(pkg.main).toBe("index.ts");
        expect(fs.existsSync(path.join(REPO_ROOT, pkg.main as string))).toBe(true);
    });

    it("type-checks and runs that entry point with the project's ts-node under mocks, registering every part", () => {
        const entry = path.resolve(REPO_ROOT, project.main ?? pkg.main ?? "index.ts");
        const started = Date.now();
        const out = execFileSync(process.execPath, ["-e", CHILD], {
            cwd: REPO_ROOT,
            env: { ...process.env, BLUEGREEN_ALLOW_DIRTY: "1", ENTRY_POINT: entry, STACK_CONFIG: JSON.stringify(stackFileValues("dev")) },
            timeout: 240_000,
        }).toString();
        const report = JSON.parse(out) as ChildReport;
        console.log(`CLI-style load: ts-node ${report.tsnode}, TypeScript ${report.typescript}, type-checked ${report.typeChecked}, entry point ${report.loadMs} ms, child total ${Date.now() - started} ms`);
        expect(report.typeChecked).toBe(true);
        expect(report.tsnode).toMatch(/^10\.9\./);
        expect(report.exports).toEqual(expect.arrayContaining(["liveColor", "idleColor", "productionUrl", "stagingUrl", "blueVersion", "greenVersion", "sqlServerFqdn", "databaseName"]));
        expect(report.types).toMatchObject({
            "azure-native:compute:VirtualMachine": 3, // one per color and the release agent
            "azure-native:compute:VirtualMachineExtension": 2,
            "azure-native:compute:VirtualMachineRunCommandByVirtualMachine": 4, // the gate, each color's expand migrations and the post-flip watch
            "azure-native:keyvault:Vault": 1,
            "azure-native:network:LoadBalancer": 1,
            "azure-native:sql:Server": 1,
            "azure-native:sql:Database": 1,
        });
    }, 300_000);
});
