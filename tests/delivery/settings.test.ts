import * as fs from "fs";
import * as path from "path";
import * as artifacts from "../../components/lib/artifacts";
import {
    APP_STACKS,
    DeliveryConfig,
    deployPathsFor,
    deploymentSettingsFor,
    matchesDeployPath,
    alertWebhookFor,
    stacksAffectedBy,
    driftScheduleFor,
    federatedSubjectsFor,
    stacksDeployedFrom,
    branchOfSymbolicRef,
    rbacAdministratorCondition,
    rolesTheStackAssigns,
    ROLES_THE_PROGRAM_ASSIGNS,
} from "../../delivery/settings";
import { FLIP_BACK_GRANTS, flipBackRoleGuid } from "../../components/lib/flipBackAccess";

const exampleConfig: DeliveryConfig = {
    organization: "contoso",
    appProject: "azure-bluegreen",
    repository: "contoso/azure-bluegreen",
    branches: { dev: "main", prod: "release" },
    azure: {
        dev: { tenantId: "t-dev", clientId: "c-dev", subscriptionId: "s-dev" },
        prod: { tenantId: "t-prod", clientId: "c-prod", subscriptionId: "s-prod" },
    },
    driftCron: "0 * * * *",
    alertWebhookFormat: "slack",
};

describe("deploymentSettingsFor", () => {
    it.each([
        ["dev", "refs/heads/main"],
        ["prod", "refs/heads/release"],
    ] as const)("deploys %s from %s of the configured repository", (stack, ref) => {
        const s = deploymentSettingsFor(stack, exampleConfig);
        expect(s.sourceContext.git.branch).toBe(ref);
        expect(s.vcs).toMatchObject({ provider: "github", repository: "contoso/azure-bluegreen" });
        expect(s).toMatchObject({ organization: "contoso", project: "azure-bluegreen", stack });
    });

    it.each(APP_STACKS)("runs pulumi up on push for %s", (stack) => {
        expect(deploymentSettingsFor(stack, exampleConfig).vcs.deployCommits).toBe(true);
    });

    it("previews pull requests with the stack's identity for dev only: a prod preview would run unreviewed code as prod's writer", () => {
        expect(deploymentSettingsFor("dev", exampleConfig).vcs.previewPullRequests).toBe(true);
        expect(deploymentSettingsFor("prod", exampleConfig).vcs.previewPullRequests).toBe(false);
    });

    it("logs in to Azure with the stack's own OIDC identity and carries no secret", () => {
        const prod = deploymentSettingsFor("prod", exampleConfig);
        expect(prod.operationContext.oidc.azure).toEqual({ tenantId: "t-prod", clientId: "c-prod", subscriptionId: "s-prod" });
        expect(deploymentSettingsFor("dev", exampleConfig).operationContext.oidc.azure.clientId).toBe("c-dev");
        expect(JSON.stringify(prod)).not.toMatch(/secret|password|token/i);
    });

    it.each(APP_STACKS)("runs %s in Pulumi's Node.js 20 executor image, the Node CI tests with (the default image has Node 24)", (stack) => {
        expect(deploymentSettingsFor(stack, exampleConfig).executorContext).toEqual({ executorImage: "pulumi/pulumi-nodejs-20:latest" });
    });

    it("installs the lock file with npm ci instead of the default install", () => {
        const s = deploymentSettingsFor("dev", exampleConfig);
        expect(s.operationContext.preRunCommands).toEqual([expect.stringMatching(/^npm ci\b/)]);
        expect(s.operationContext.options.skipInstallDependencies).toBe(true);
    });

    it("never folds queued commits into one update (a bump and a flip would become one refused step)", () => {
        for (const stack of APP_STACKS) {
            expect(deploymentSettingsFor(stack, exampleConfig).operationContext.options.skipIntermediateDeployments).toBe(false);
        }
    });
});

describe("deployPathsFor", () => {
    const triggers = (stack: "dev" | "prod", file: string) => deployPathsFor(stack).some((p) => path.matchesGlob(file, p));

    it.each([
        ["dev", "docs/delivery.md", false],
        ["dev", "README.md", false],
        ["dev", "tests/delivery/settings.test.ts", false],
        ["dev", ".github/workflows/ci.yml", false],
        ["dev", "Pulumi.prod.yaml", false],
        ["prod", "Pulumi.dev.yaml", false],
        ["dev", "Pulumi.dev.yaml", true],
        ["prod", "Pulumi.prod.yaml", true],
        ["prod", "Pulumi.yaml", true],
        ["prod", "index.ts", true],
        ["prod", "components/loadBalancer.ts", true],
        ["prod", "config/validate.ts", true],
        ["prod", "release/guard.ts", true],
        ["prod", "migrations/0001_goals.sql", true],
        ["prod", "migrations/postgres/0001_goals.sql", true],
        ["dev", "app/server.ts", true],
        ["dev", "vm-scripts/deploy-app.sh", true],
        ["dev", "package-lock.json", true],
    ] as const)("for %s, a push touching %s deploys: %s", (stack, file, expected) => {
        expect(triggers(stack, file)).toBe(expected);
        // CI's own matcher (used to pick the stacks to preview) agrees with glob semantics.
        expect(deployPathsFor(stack).some((p) => matchesDeployPath(file, p))).toBe(expected);
    });

    it("previews every stack for a program change, only the stack whose file changed for a config change", () => {
        expect(stacksAffectedBy(["components/colorSet.ts", "docs/x.md"], ["dev", "prod"])).toEqual(["dev", "prod"]);
        expect(stacksAffectedBy(["Pulumi.prod.yaml"], ["dev", "prod"])).toEqual(["prod"]);
        expect(stacksAffectedBy(["docs/delivery.md", "README.md"], ["dev", "prod"])).toEqual([]);
    });
});

describe("driftScheduleFor", () => {
    it("checks prod on the configured schedule and never auto-remediates", () => {
        expect(driftScheduleFor("prod", { ...exampleConfig, driftCron: "*/30 * * * *" })).toEqual({
            organization: "contoso",
            project: "azure-bluegreen",
            stack: "prod",
            scheduleCron: "*/30 * * * *",
            autoRemediate: false,
        });
    });

    it("gives dev no drift schedule", () => {
        expect(driftScheduleFor("dev", exampleConfig)).toBeUndefined();
    });
});

describe("federatedSubjectsFor", () => {
    it("lists one subject per operation Deployments runs on the stack: on prod drift detection, and no preview (prod's write identity is not for pull requests)", () => {
        expect(federatedSubjectsFor("prod", exampleConfig)).toEqual([
            "pulumi:deploy:org:contoso:project:azure-bluegreen:stack:prod:operation:update:scope:write",
            "pulumi:deploy:org:contoso:project:azure-bluegreen:stack:prod:operation:refresh:scope:write",
            "pulumi:deploy:org:contoso:project:azure-bluegreen:stack:prod:operation:destroy:scope:write",
            "pulumi:deploy:org:contoso:project:azure-bluegreen:stack:prod:operation:detect-drift:scope:write",
        ]);
    });

    it("adds no drift subject for a stack without drift detection", () => {
        expect(federatedSubjectsFor("dev", exampleConfig).map((s) => s.split(":operation:")[1])).toEqual([
            "preview:scope:write",
            "update:scope:write",
            "refresh:scope:write",
            "destroy:scope:write",
        ]);
    });
});

describe("alertWebhookFor", () => {
    it("posts prod's drift, failed drift checks and failed deployments in the configured format", () => {
        expect(alertWebhookFor("prod", { ...exampleConfig, alertWebhookFormat: "ms_teams" })).toEqual({
            active: true,
            displayName: "azure-bluegreen/prod: drift and failed deployments",
            organizationName: "contoso",
            projectName: "azure-bluegreen",
            stackName: "prod",
            format: "ms_teams",
            filters: ["drift_detected", "drift_detection_failed", "deployment_failed"],
        });
    });

    it("sends nothing for dev", () => {
        expect(alertWebhookFor("dev", exampleConfig)).toBeUndefined();
    });
});

describe("stacksDeployedFrom", () => {
    it.each([
        ["main", ["dev"]],
        ["release", ["prod"]],
        ["feature/x", []],
    ])("the branch %s deploys %p", (branch, stacks) => {
        expect(stacksDeployedFrom(branch, exampleConfig.branches)).toEqual(stacks);
    });
});

describe("branchOfSymbolicRef", () => {
    it.each([
        ["refs/heads/release", "release"],
        ["refs/heads/team/main", "team/main"],
        ["refs/remotes/origin/release", "release"],
        ["refs/remotes/upstream/team/main", "team/main"],
        ["refs/remotes/origin/HEAD", undefined],
        ["refs/tags/v1.0.0", undefined],
        ["", undefined],
    ])("%p names the branch %p", (ref, branch) => {
        expect(branchOfSymbolicRef(ref)).toBe(branch);
    });
});

describe("rbacAdministratorCondition", () => {
    it("lets the RBAC administrator create and delete assignments of the given roles only (Microsoft's constrain-roles form)", () => {
        const c = rbacAdministratorCondition(["2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"]);
        expect(c).toBe(
            "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR " +
                "(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {2a2b9908-6ea1-4ae2-8e65-a410df84e7d1})) AND " +
                "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR " +
                "(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {2a2b9908-6ea1-4ae2-8e65-a410df84e7d1}))",
        );
        expect(() => rbacAdministratorCondition([])).toThrow(/no role to allow/);
    });

    it("allows every role the program assigns: each roleDefinitionId(…, ROLE) in components/ is in ROLES_THE_PROGRAM_ASSIGNS", () => {
        const dir = path.resolve(__dirname, "../../components");
        const files = fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".ts"));
        const used = files.flatMap((f) => [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/roleDefinitionId\([^,()]+,\s*(\w+)\)/g)].map((m) => m[1]));
        expect(used.length).toBeGreaterThan(0);
        const constants = artifacts as unknown as Record<string, string>;
        for (const name of used) expect([name, ROLES_THE_PROGRAM_ASSIGNS.includes(constants[name])]).toEqual([name, true]);
        expect(rbacAdministratorCondition()).toContain(artifacts.STORAGE_BLOB_DATA_READER_ROLE);
        expect(rbacAdministratorCondition()).toContain(artifacts.KEY_VAULT_SECRETS_USER_ROLE);
    });

    it("lets each stack's identity assign its own flip-back roles too, and not the other stack's", () => {
        const guid = (stack: "dev" | "prod", subscription: string) => FLIP_BACK_GRANTS.map((g) => flipBackRoleGuid(subscription, `azure-bluegreen/${stack}`, g));
        expect(rolesTheStackAssigns("prod", exampleConfig)).toEqual([...ROLES_THE_PROGRAM_ASSIGNS, ...guid("prod", "s-prod")]);
        const prod = rbacAdministratorCondition(rolesTheStackAssigns("prod", exampleConfig));
        for (const id of guid("prod", "s-prod")) expect(prod).toContain(id);
        for (const id of guid("dev", "s-dev")) expect(prod).not.toContain(id);
    });
});
