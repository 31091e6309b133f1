/**
 * What Pulumi Deployments should do for each stack of the app project: pure decisions, no Pulumi calls.
 * delivery/index.ts only turns these plain objects into `pulumiservice` resources.
 */
import type { WebhookFilters, WebhookFormat } from "@pulumi/pulumiservice/types/enums";
import { KEY_VAULT_SECRETS_USER_ROLE, STORAGE_BLOB_DATA_READER_ROLE } from "../components/lib/artifacts";
import { FLIP_BACK_GRANTS, flipBackRoleGuid } from "../components/lib/flipBackAccess";

/** The app stacks that are delivered from git. */
export type AppStack = "dev" | "prod";

export const APP_STACKS: readonly AppStack[] = ["dev", "prod"];

/** Azure workload identity (an Entra app with federated credentials) that one stack's deployments log in as. */
export interface AzureIdentity {
    readonly tenantId: string;
    readonly clientId: string;
    readonly subscriptionId: string;
}

/** Validated input for the delivery project (see delivery/config.ts). */
export interface DeliveryConfig {
    /** Pulumi organization that owns the app stacks. */
    readonly organization: string;
    /** Name of the app's Pulumi project (the `name:` in the root Pulumi.yaml). */
    readonly appProject: string;
    /** GitHub repository, `owner/name`. */
    readonly repository: string;
    /** Branch each stack deploys from. */
    readonly branches: Readonly<Record<AppStack, string>>;
    /** Azure identity per stack (prod normally has its own, scoped to the prod resource group). */
    readonly azure: Readonly<Record<AppStack, AzureIdentity>>;
    /** Cron expression for drift detection on prod. */
    readonly driftCron: string;
    /** Payload format of the alert webhook (its URL is a secret, read separately). */
    readonly alertWebhookFormat: AlertWebhookFormat;
}

/** Webhook payload formats an alert can be sent in. */
export const ALERT_WEBHOOK_FORMATS = ["slack", "ms_teams", "raw"] as const satisfies readonly WebhookFormat[];
export type AlertWebhookFormat = (typeof ALERT_WEBHOOK_FORMATS)[number];

/** The stack name of a stack file path (`Pulumi.prod.yaml` → `prod`), or undefined for any other file. */
export function stackNameOf(fileName: string): string | undefined {
    const match = /^Pulumi\.([^/]+)\.ya?ml$/.exec(fileName);
    return match ? match[1] : undefined;
}

/**
 * The stacks that a branch deploys (`main` → dev, `release` → prod with the default branches): the only stacks a
 * change into that branch can deploy, so the only ones its checks and previews judge. A stack file that is not
 * an app stack, or a branch no stack deploys from, yields nothing.
 */
export function stacksDeployedFrom(branch: string, branches: Readonly<Record<AppStack, string>>): AppStack[] {
    return APP_STACKS.filter((stack) => branches[stack] === branch);
}

/**
 * The branch a git ref names, from its full symbolic name: `refs/heads/release` and `refs/remotes/origin/release`
 * → `release`; a commit id or a tag → undefined (its target branch cannot be known).
 */
export function branchOfSymbolicRef(fullName: string): string | undefined {
    const heads = /^refs\/heads\/(.+)$/.exec(fullName);
    if (heads) return heads[1];
    const remote = /^refs\/remotes\/[^/]+\/(.+)$/.exec(fullName);
    return remote && remote[1] !== "HEAD" ? remote[1] : undefined;
}

/**
 * Repository paths whose change can alter what a stack deploys. Anything else (docs/, README.md, tests/, .github/)
 * does not start a deployment. Each stack watches its own stack file only, so a prod config commit does not
 * redeploy dev and the reverse.
 */
export function deployPathsFor(stack: string): string[] {
    return [
        "Pulumi.yaml",
        `Pulumi.${stack}.yaml`,
        "index.ts",
        "components/**",
        "config/**",
        "release/**",
        "migrations/**",
        "migrator/**",
        "app/**",
        "vm-scripts/**",
        "package.json",
        "package-lock.json",
        "tsconfig.json",
    ];
}

/**
 * True when `file` (a repository path with `/`) matches a pattern of {@link deployPathsFor}: an exact path, or
 * `dir/**` for everything under `dir`. Only the forms this module writes are supported.
 */
export function matchesDeployPath(file: string, pattern: string): boolean {
    return pattern.endsWith("/**") ? file.startsWith(pattern.slice(0, -2)) : file === pattern;
}

/** The stacks a change to these files deploys (and so should preview): those with a changed deploy path. */
export function stacksAffectedBy(changedFiles: readonly string[], stacks: readonly string[]): string[] {
    return stacks.filter((stack) => changedFiles.some((f) => deployPathsFor(stack).some((p) => matchesDeployPath(f, p))));
}

/**
 * Commands Deployments runs before `pulumi preview`/`up`. The default dependency install (`npm install`) is
 * skipped so the runner installs exactly the lock file (`npm ci`), as CI does.
 */
export const PRE_RUN_COMMANDS: readonly string[] = ["npm ci --no-audit --no-fund"];

/**
 * Environment of every deployment. azure-native's type definitions are large: ts-node needs more than Node's
 * default heap to load the program.
 */
export const DEPLOYMENT_ENVIRONMENT: Readonly<Record<string, string>> = {
    NODE_OPTIONS: "--max-old-space-size=4096",
};

/** The Node.js major version CI tests with (`.github/workflows/*.yml` setup-node) and the VMs run (Debian's). */
export const NODE_MAJOR = 20;

/**
 * The Deployments executor image: Pulumi's Node.js image of {@link NODE_MAJOR}. The default `pulumi/pulumi` image
 * carries the newest Node LTS (24), which CI never tests the program with.
 */
export const EXECUTOR_IMAGE = `pulumi/pulumi-nodejs-${NODE_MAJOR}:latest`;

/** The plain-object form of one stack's `pulumiservice.DeploymentSettings` arguments. */
export interface DeploymentSettingsPlan {
    readonly organization: string;
    readonly project: string;
    readonly stack: AppStack;
    readonly sourceContext: { readonly git: { readonly branch: string } };
    readonly executorContext: { readonly executorImage: string };
    readonly vcs: {
        readonly provider: "github";
        readonly repository: string;
        readonly deployCommits: boolean;
        readonly previewPullRequests: boolean;
        readonly pullRequestTemplate: boolean;
        readonly paths: string[];
    };
    readonly operationContext: {
        readonly preRunCommands: string[];
        readonly environmentVariables: Record<string, string>;
        readonly options: {
            readonly skipInstallDependencies: boolean;
            readonly skipIntermediateDeployments: boolean;
            readonly deleteAfterDestroy: boolean;
        };
        readonly oidc: { readonly azure: AzureIdentity };
    };
}

/**
 * Whether pull requests into a stack's branch are previewed (by Deployments and by CI). A preview runs the pull
 * request's code — unreviewed — with the stack's credentials. Dev: yes (its identity reaches dev only). Prod: no.
 * Deployments runs a preview with the stack's one OIDC identity, which for prod can write prod and assign roles;
 * the code a pull request into `release` brings has been reviewed and deployed on dev already, and release:check
 * judges its prod step without credentials.
 */
export function previewsPullRequests(stack: AppStack): boolean {
    return stack !== "prod";
}

/**
 * Deployment settings for one app stack.
 *
 * - Source: the stack's branch of the repository (dev: `main`, prod: `release` by default). Prod is protected by
 *   deploying only from the `release` branch, which GitHub branch protection restricts to reviewed pull requests
 *   whose CI (including `release:check`) passed; a push to `main` never reaches prod.
 * - `pulumi up` on every push to that branch that touches {@link deployPathsFor}; `pulumi preview` on pull
 *   requests into it.
 * - `skipIntermediateDeployments` is **off**: a release is a series of commits (bump idle, then flip). Folding two
 *   queued commits into one update would make "deploy + flip" a single step, which the guard refuses.
 * - Azure credentials by OIDC: no secret is stored anywhere.
 */
export function deploymentSettingsFor(stack: AppStack, config: DeliveryConfig): DeploymentSettingsPlan {
    return {
        organization: config.organization,
        project: config.appProject,
        stack,
        sourceContext: { git: { branch: `refs/heads/${config.branches[stack]}` } },
        executorContext: { executorImage: EXECUTOR_IMAGE },
        vcs: {
            provider: "github",
            repository: config.repository,
            deployCommits: true,
            previewPullRequests: previewsPullRequests(stack),
            pullRequestTemplate: false,
            paths: deployPathsFor(stack),
        },
        operationContext: {
            preRunCommands: [...PRE_RUN_COMMANDS],
            environmentVariables: { ...DEPLOYMENT_ENVIRONMENT },
            options: { skipInstallDependencies: true, skipIntermediateDeployments: false, deleteAfterDestroy: false },
            oidc: { azure: { ...config.azure[stack] } },
        },
    };
}

/** The plain-object form of a `pulumiservice.DriftSchedule`. */
export interface DriftSchedulePlan {
    readonly organization: string;
    readonly project: string;
    readonly stack: AppStack;
    readonly scheduleCron: string;
    readonly autoRemediate: false;
}

/**
 * Drift detection for a stack, or `undefined` when the stack gets none (dev: it is rebuilt freely).
 *
 * Prod is checked on `config.driftCron` and **never auto-remediated**: the likeliest drift on prod is an operator's
 * emergency flip of the load balancer in the portal while GitHub or Pulumi Cloud was down. Remediating would
 * silently flip traffic back to the color that was just taken out of service. Drift is reported; a human
 * reconciles it (docs/delivery.md, "Reconcile after break-glass").
 */
export function driftScheduleFor(stack: AppStack, config: DeliveryConfig): DriftSchedulePlan | undefined {
    if (stack !== "prod") return undefined;
    return {
        organization: config.organization,
        project: config.appProject,
        stack,
        scheduleCron: config.driftCron,
        autoRemediate: false,
    };
}

/**
 * Whether a stack's delivery resources are `protect`ed: prod's settings and drift schedule cannot be removed by
 * `pulumi -C delivery destroy` or by deleting them from the program without first unprotecting them
 * (`pulumi -C delivery state unprotect <urn>`). Dev's can come and go.
 */
export function isProtectedStack(stack: AppStack): boolean {
    return stack === "prod";
}

/** The plain-object form of a `pulumiservice.Webhook`, without its (secret) payload URL. */
export interface AlertWebhookPlan {
    readonly active: true;
    readonly displayName: string;
    readonly organizationName: string;
    readonly projectName: string;
    readonly stackName: AppStack;
    readonly format: AlertWebhookFormat;
    readonly filters: WebhookFilters[];
}

/**
 * Who hears about prod: drift found (or the drift check itself failing) and failed deployments (a refused step, a
 * failed health gate) are posted to the alert webhook, so a hand-made flip is reported within `driftCron`, not
 * discovered at the next release. Undefined for stacks without drift detection.
 */
export function alertWebhookFor(stack: AppStack, config: DeliveryConfig): AlertWebhookPlan | undefined {
    if (driftScheduleFor(stack, config) === undefined) return undefined;
    return {
        active: true,
        displayName: `${config.appProject}/${stack}: drift and failed deployments`,
        organizationName: config.organization,
        projectName: config.appProject,
        stackName: stack,
        format: config.alertWebhookFormat,
        filters: ["drift_detected", "drift_detection_failed", "deployment_failed"],
    };
}

/** Issuer of the OIDC tokens Pulumi Deployments presents to Entra ID. */
export const PULUMI_OIDC_ISSUER = "https://api.pulumi.com/oidc";

/**
 * The Entra federated-credential subjects one stack's deployments present (one credential per subject: Entra
 * matches subjects exactly). The audience is the Pulumi organization name; the issuer {@link PULUMI_OIDC_ISSUER}.
 * A stack with drift detection also runs `detect-drift` (an operation name of the Deployments REST API; that its
 * token carries it as the subject's operation is inferred, not verified against Pulumi Cloud).
 */
export function federatedSubjectsFor(stack: AppStack, config: DeliveryConfig): string[] {
    // No `preview` for a stack whose pull requests are not previewed: its write identity is then usable only by
    // operations that run its own branch (update on push, refresh, destroy, drift detection).
    const operations = [...(previewsPullRequests(stack) ? ["preview"] : []), "update", "refresh", "destroy"];
    if (driftScheduleFor(stack, config) !== undefined) operations.push("detect-drift");
    return operations.map(
        (operation) =>
            `pulumi:deploy:org:${config.organization}:project:${config.appProject}:stack:${stack}:operation:${operation}:scope:write`,
    );
}

/**
 * The built-in roles the app program assigns (components/: each VM's and the release agent's identity gets Storage Blob
 * Data Reader on the artifact container, and Key Vault Secrets User on the one secret it reads). The deploying identity's "Role Based Access Control Administrator" is limited to these by
 * {@link rbacAdministratorCondition}; a component that assigns another role must add it here (a test checks).
 */
export const ROLES_THE_PROGRAM_ASSIGNS: readonly string[] = [STORAGE_BLOB_DATA_READER_ROLE, KEY_VAULT_SECRETS_USER_ROLE];

/**
 * Every role one stack's program assigns: the built-in ones ({@link ROLES_THE_PROGRAM_ASSIGNS}) and the stack's own
 * custom roles of the release agent's flip-back (components/flipBackAccess.ts: their GUIDs derive from the stack's
 * subscription and `<project>/<stack>`, so each stack's condition lists its own).
 */
export function rolesTheStackAssigns(stack: AppStack, config: Pick<DeliveryConfig, "appProject" | "azure">): string[] {
    const flipBack = FLIP_BACK_GRANTS.map((grant) => flipBackRoleGuid(config.azure[stack].subscriptionId, `${config.appProject}/${stack}`, grant));
    return [...ROLES_THE_PROGRAM_ASSIGNS, ...flipBack];
}

/**
 * The ABAC condition (version 2.0) for the deploying identity's "Role Based Access Control Administrator"
 * assignment: it may create and delete role assignments of `roles` only — never Owner, Contributor or a role of its
 * own. Microsoft's "constrain roles" form: each action is either not the one targeted, or targets one of the roles.
 */
export function rbacAdministratorCondition(roles: readonly string[] = ROLES_THE_PROGRAM_ASSIGNS): string {
    if (roles.length === 0) throw new Error("rbacAdministratorCondition: no role to allow; without roles, grant no RBAC administrator role at all");
    const ids = roles.join(", ");
    return (
        `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR ` +
        `(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${ids}})) AND ` +
        `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR ` +
        `(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${ids}}))`
    );
}
