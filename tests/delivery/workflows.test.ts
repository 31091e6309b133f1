/**
 * The GitHub Actions workflows, validated without GitHub: parsed with `yaml`, their jobs and steps checked, every
 * `npm run <script>` they call exists in package.json, every file they run exists, and their shell passes shellcheck.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { EXECUTOR_IMAGE, NODE_MAJOR } from "../../delivery/settings";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github/workflows");

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
interface Concurrency {
    group: string;
    "cancel-in-progress"?: boolean | string;
    queue?: string;
}
interface Job {
    "runs-on": string;
    concurrency?: Concurrency;
    needs?: string[] | string;
    if?: string;
    permissions?: Record<string, string>;
    services?: Record<string, { image: string; env?: Record<string, string>; options?: string; ports?: string[] }>;
    env?: Record<string, string>;
    steps: Step[];
}
interface Workflow {
    name: string;
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    concurrency?: Concurrency;
    jobs: Record<string, Job>;
}

function load(file: string): Workflow {
    const doc = YAML.parseDocument(fs.readFileSync(path.join(WORKFLOWS, file), "utf8"));
    expect(doc.errors).toEqual([]);
    return doc.toJS() as Workflow;
}

const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const allSteps = files.flatMap((file) =>
    Object.entries(load(file).jobs).flatMap(([job, j]) => j.steps.map((step) => ({ file, job, step }))),
);
const runOf = (job: Job): string => job.steps.map((s) => s.run ?? "").join("\n");
/** The index of the first step whose run command contains `text`, failing the test when there is none. */
function stepIndex(job: Job, text: string): number {
    const i = job.steps.findIndex((s) => (s.run ?? "").includes(text));
    if (i < 0) throw new Error(`no step runs "${text}"`);
    return i;
}

describe("all workflows", () => {
    it("are ci.yml and release-artifact.yml", () => {
        expect(files.sort()).toEqual(["ci.yml", "release-artifact.yml"]);
    });

    it("call only npm scripts that exist in package.json", () => {
        const called = allSteps.flatMap(({ step }) => [...(step.run ?? "").matchAll(/npm run (?:--silent )?([\w:.-]+)/g)].map((m) => m[1]));
        expect(called.length).toBeGreaterThan(5);
        expect([...new Set(called)].filter((s) => !(s in scripts))).toEqual([]);
    });

    it("run only repository scripts that exist and are executable", () => {
        const paths = allSteps.flatMap(({ step }) => [...(step.run ?? "").matchAll(/(?:^|\s)((?:delivery|scripts|vm-scripts)\/[\w./-]+\.sh)/g)].map((m) => m[1]));
        expect(paths).toContain("delivery/publish-artifact.sh");
        for (const p of paths) expect(fs.statSync(path.join(ROOT, p)).mode & 0o111).not.toBe(0);
    });

    it("pin every action to a major version", () => {
        const uses = allSteps.map(({ step }) => step.uses).filter((u): u is string => u !== undefined);
        expect(uses.filter((u) => !/^[\w-]+\/[\w-]+@v\d+$/.test(u))).toEqual([]);
    });

    it("default to read-only repository permissions", () => {
        for (const file of files) expect(load(file).permissions).toEqual({ contents: "read" });
    });

    const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
    (shellcheck ? it : it.skip)("have run blocks that pass shellcheck", () => {
        for (const { file, job, step } of allSteps.filter(({ step }) => step.run)) {
            // GitHub substitutes ${{ … }} before bash runs; stand in a plain word.
            const script = `#!/usr/bin/env bash\nset -e\n${(step.run as string).replace(/\$\{\{[^}]*\}\}/g, "EXPR")}\n`;
            const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
            expect({ where: `${file} ${job} ${step.name ?? ""}`, out: r.stdout }).toEqual({ where: `${file} ${job} ${step.name ?? ""}`, out: "" });
        }
    });
});

describe("ci.yml", () => {
    const ci = load("ci.yml");

    it("runs on pull requests and on pushes to the deploy branches", () => {
        expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push"]);
        expect((ci.on.push as { branches: string[] }).branches).toEqual(["main", "release"]);
    });

    it("installs, lints, typechecks, runs unit tests, migration lint and integration tests, in that order", () => {
        const job = ci.jobs.test;
        const order = ["npm ci", "npm run --silent lint", "npm run --silent typecheck", "npm run --silent test:unit", "npm run --silent db -- lint migrations", "npm run --silent test:integration"];
        const indexes = order.map((t) => stepIndex(job, t));
        expect([...indexes].sort((a, b) => a - b)).toEqual(indexes);
        expect(runOf(job)).toMatch(/apt-get install .*postgresql haproxy shellcheck/);
    });

    it("runs the SQL Server suite against a SQL Server service container, with MSSQL_URL pointing at it", () => {
        const job = ci.jobs.sqlserver;
        const mssql = job.services?.mssql;
        expect(mssql?.image).toBe("mcr.microsoft.com/mssql/server:2022-latest");
        expect(mssql?.ports).toEqual(["1433:1433"]);
        expect(mssql?.env?.ACCEPT_EULA).toBe("Y");
        const url = new URL(job.env?.MSSQL_URL ?? "");
        expect([url.protocol, url.hostname, url.port, url.username]).toEqual(["mssql:", "localhost", "1433", "sa"]);
        expect(decodeURIComponent(url.password)).toBe(mssql?.env?.MSSQL_SA_PASSWORD);
        expect(mssql?.options).toContain(`-P ${mssql?.env?.MSSQL_SA_PASSWORD}`);
        expect(runOf(job)).toMatch(/npm run --silent test:integration -- --testPathPatterns migrator/);
    });

    it("checks the release step against the pull request's base (or the commit before a push) with the full history", () => {
        const job = ci.jobs["release-check"];
        expect(job.steps[0]).toMatchObject({ uses: "actions/checkout@v4", with: { "fetch-depth": 0 } });
        const step = job.steps[stepIndex(job, "release:check")];
        expect(step.run).toContain('npm run --silent release:check -- --base "$BASE" --branch "$BRANCH"');
        expect(step.env?.BASE).toContain("github.event.pull_request.base.sha");
        expect(step.env?.BASE).toContain("github.event.before");
    });

    it("judges only the stack the target branch deploys: the pull request's base branch, or the pushed branch", () => {
        const step = ci.jobs["release-check"].steps[stepIndex(ci.jobs["release-check"], "release:check")];
        expect(step.env?.BRANCH).toBe("${{ github.event_name == 'pull_request' && github.base_ref || github.ref_name }}");
        const changes = ci.jobs.changes.steps[stepIndex(ci.jobs.changes, "preview:stacks")];
        expect(changes.run).toContain('--base "$BASE" --branch "$BRANCH"');
        expect(changes.env?.BRANCH).toBe("${{ github.base_ref }}");
    });

    it("previews each stack the pull request deploys with pulumi/actions, by OIDC, and skips with a note without credentials", () => {
        expect(runOf(ci.jobs.changes)).toContain("npm run --silent preview:stacks -- --base");
        const job = ci.jobs.preview;
        expect(job.needs).toEqual(["changes", "test"]);
        expect(job.permissions).toMatchObject({ "id-token": "write", "pull-requests": "write" });
        const preview = job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
        expect(preview?.with).toMatchObject({ command: "preview", "comment-on-pr": true });
        expect(preview?.if).toBe("env.HAS_PULUMI_TOKEN == 'true'");
        // "configured" needs the token AND the organization the stack name is built from
        expect(job.env?.HAS_PULUMI_TOKEN).toBe("${{ secrets.PULUMI_ACCESS_TOKEN != '' && vars.PULUMI_ORG != '' }}");
        expect(preview?.with?.["stack-name"]).toBe("${{ vars.PULUMI_ORG }}/${{ matrix.stack }}");
        expect(preview?.env).toMatchObject({ ARM_USE_OIDC: "true" });
        expect(JSON.stringify(preview?.env)).not.toMatch(/CLIENT_SECRET/);
        const note = job.steps.find((s) => s.if === "env.HAS_PULUMI_TOKEN != 'true'");
        expect(note?.run).toMatch(/::notice::pulumi preview skipped/);
        // every step that needs credentials is guarded
        for (const s of job.steps) expect(s.if).toMatch(/HAS_PULUMI_TOKEN/);
    });
});

describe("Node.js version", () => {
    it("is the same in every workflow's setup-node and in the Deployments executor image (delivery/settings.ts)", () => {
        const versions = allSteps.filter(({ step }) => step.uses?.startsWith("actions/setup-node@")).map(({ step }) => String(step.with?.["node-version"]));
        expect(versions.length).toBeGreaterThan(3);
        expect([...new Set(versions)]).toEqual([String(NODE_MAJOR)]);
        expect(EXECUTOR_IMAGE).toBe(`pulumi/pulumi-nodejs-${NODE_MAJOR}:latest`);
    });
});

describe("ci.yml concurrency", () => {
    const ci = load("ci.yml");

    it("cancels superseded pull-request runs only: a push to main or release has a group of its own and is never cancelled", () => {
        expect(ci.concurrency).toEqual({
            group: "ci-${{ github.event_name == 'pull_request' && github.ref || github.run_id }}",
            "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
        });
    });
});

describe("release-artifact.yml", () => {
    const wf = load("release-artifact.yml");
    const job = wf.jobs.publish;
    const build = wf.jobs.build;

    it("runs on version tags only", () => {
        expect(wf.on).toEqual({ push: { tags: ["v*"] } });
    });

    it("builds once (npm run app:pack in one job) and every stack's leg publishes those bytes, packing nothing itself", () => {
        expect(stepIndex(build, "npm run --silent app:pack --")).toBeLessThan(build.steps.findIndex((s) => s.uses === "actions/upload-artifact@v4"));
        expect(build.permissions?.["id-token"]).toBeUndefined(); // the build holds no cloud identity
        expect(job.needs).toBe("build");
        expect(runOf(job)).not.toMatch(/app:pack|npm ci/);
        const download = job.steps.findIndex((s) => s.uses === "actions/download-artifact@v4");
        expect(job.steps[download].with).toEqual({ name: "app-${{ needs.build.outputs.version }}", path: "dist" });
        expect(download).toBeLessThan(stepIndex(job, "delivery/publish-artifact.sh"));
        const summary = job.steps[stepIndex(job, "GITHUB_STEP_SUMMARY")];
        expect(summary.env?.SHA256).toBe("${{ needs.build.outputs.sha256 }}");
    });

    it("logs in to Azure by OIDC and publishes with the refusing script", () => {
        expect(job.permissions).toMatchObject({ "id-token": "write" });
        const login = job.steps.findIndex((s) => s.uses === "azure/login@v2");
        const publish = stepIndex(job, "delivery/publish-artifact.sh");
        expect(login).toBeGreaterThan(-1);
        expect(login).toBeLessThan(publish);
        expect(Object.keys(job.steps[login].with ?? {}).sort()).toEqual(["client-id", "subscription-id", "tenant-id"]);
    });

    it("never drops a tag's publish: keyed by tag, queued, never cancelled (GitHub cancels a pending run when a newer one joins its group)", () => {
        expect(wf.concurrency).toEqual({ group: "release-artifact-${{ github.ref_name }}", "cancel-in-progress": false, queue: "max" });
        for (const j of Object.values(wf.jobs)) expect(j.concurrency).toBeUndefined();
    });

    it("never overwrites: no --overwrite anywhere, and the script it runs checks existence first", () => {
        const code = (file: string) =>
            fs.readFileSync(path.join(ROOT, file), "utf8").split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");
        expect(code(".github/workflows/release-artifact.yml")).not.toMatch(/--overwrite/);
        const script = code("delivery/publish-artifact.sh");
        expect(script).toMatch(/blob exists --name/);
        expect(script).toMatch(/blob upload --name/);
        expect(script).not.toMatch(/--overwrite/);
    });
});
