/**
 * The delivery project's configuration, read and validated in one place before any resource is declared.
 * `parseDeliveryConfig` is pure (tested without Pulumi); `readDeliveryConfig` feeds it from the stack.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { ALERT_WEBHOOK_FORMATS, AlertWebhookFormat, APP_STACKS, AppStack, AzureIdentity, DeliveryConfig } from "./settings";

/** Config keys as they come from the stack file: every value is an optional string. */
export interface RawDeliveryConfig {
    readonly organization?: string;
    readonly appProject?: string;
    readonly repository?: string;
    readonly devBranch?: string;
    readonly prodBranch?: string;
    readonly azureTenantId?: string;
    readonly devAzureClientId?: string;
    readonly devAzureSubscriptionId?: string;
    readonly prodAzureClientId?: string;
    readonly prodAzureSubscriptionId?: string;
    readonly driftCron?: string;
    readonly alertWebhookFormat?: string;
}

export const CONFIG_KEYS: readonly (keyof RawDeliveryConfig)[] = [
    "organization",
    "appProject",
    "repository",
    "devBranch",
    "prodBranch",
    "azureTenantId",
    "devAzureClientId",
    "devAzureSubscriptionId",
    "prodAzureClientId",
    "prodAzureSubscriptionId",
    "driftCron",
    "alertWebhookFormat",
];

/** The secret key holding the alert webhook's URL (a Slack/Teams webhook URL is a credential). */
export const ALERT_WEBHOOK_URL_KEY = "alertWebhookUrl";

/** Values used when a key is not set. */
export const DEFAULTS = { devBranch: "main", prodBranch: "release", driftCron: "0 * * * *", alertWebhookFormat: "slack" } as const;

/** Values that come from the environment rather than the stack file. */
export interface ContextDefaults {
    /** The Pulumi organization of the delivery stack (`pulumi.getOrganization()`). */
    readonly organization: string;
    /** The `name:` of the app's Pulumi.yaml, or undefined when it could not be read. */
    readonly appProject?: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CRON_FIELD = /^[0-9*/,-]+$/;

function fix(key: string, example: string): string {
    return `Fix: pulumi -C delivery config set ${key} ${example}`;
}

/** A git branch name git itself would accept (`git check-ref-format --branch`, the common rules). */
export function isBranchName(value: string): boolean {
    return (
        value.length > 0 &&
        !/[\s~^:?*[\\]/.test(value) &&
        !value.includes("..") &&
        !value.includes("@{") &&
        !value.startsWith("-") &&
        !value.startsWith("/") &&
        !value.endsWith("/") &&
        !value.endsWith(".lock") &&
        !value.endsWith(".") &&
        !value.includes("//")
    );
}

/** A five-field cron expression (minute hour day-of-month month day-of-week) of digits, `*`, `/`, `,`, `-`. */
export function isCronExpression(value: string): boolean {
    const fields = value.trim().split(/\s+/);
    return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}

/**
 * Validates raw config and returns the delivery settings' input. Every problem is reported at once, each naming
 * the key, the bad value, what is allowed and the command that fixes it; throws when there is any.
 */
export function parseDeliveryConfig(raw: RawDeliveryConfig, context: ContextDefaults): DeliveryConfig {
    const errors: string[] = [];

    const organization = raw.organization ?? context.organization;
    if (!NAME.test(organization)) {
        errors.push(`organization "${organization}" is not a Pulumi organization name (letters, digits, ".", "_", "-"). ${fix("organization", "my-org")}`);
    }

    const appProject = raw.appProject ?? context.appProject;
    if (appProject === undefined) {
        errors.push(`appProject is not set and the app's Pulumi.yaml (one folder up) has no readable name. ${fix("appProject", "azure-bluegreen")}`);
    } else if (!NAME.test(appProject)) {
        errors.push(`appProject "${appProject}" is not a Pulumi project name (letters, digits, ".", "_", "-"). ${fix("appProject", "azure-bluegreen")}`);
    }

    const repository = raw.repository;
    if (repository === undefined) {
        errors.push(`repository is required: the GitHub repository Deployments pulls from, as owner/name. ${fix("repository", "my-org/azure-bluegreen")}`);
    } else if (!REPOSITORY.test(repository)) {
        errors.push(`repository "${repository}" is not a GitHub repository in the form owner/name (no URL, no .git). ${fix("repository", "my-org/azure-bluegreen")}`);
    }

    const branches = { dev: raw.devBranch ?? DEFAULTS.devBranch, prod: raw.prodBranch ?? DEFAULTS.prodBranch };
    for (const stack of APP_STACKS) {
        const key = `${stack}Branch`;
        if (!isBranchName(branches[stack])) {
            errors.push(`${key} "${branches[stack]}" is not a valid git branch name. ${fix(key, DEFAULTS[key as "devBranch" | "prodBranch"])}`);
        }
    }
    if (branches.dev === branches.prod) {
        errors.push(
            `devBranch and prodBranch are both "${branches.dev}": every push would deploy to prod without review. ` +
                `Prod must deploy from its own protected branch. ${fix("prodBranch", DEFAULTS.prodBranch)}`,
        );
    }

    const guid = (key: keyof RawDeliveryConfig, what: string): string => {
        const value = raw[key];
        if (value === undefined) {
            errors.push(`${key} is required: ${what}. ${fix(key, "00000000-0000-0000-0000-000000000000")}`);
        } else if (!GUID.test(value)) {
            errors.push(`${key} "${value}" is not a GUID (${what}). ${fix(key, "00000000-0000-0000-0000-000000000000")}`);
        }
        return value ?? "";
    };
    const tenantId = guid("azureTenantId", "the Entra tenant (Directory) ID");
    const identity = (stack: AppStack): AzureIdentity => ({
        tenantId,
        clientId: guid(`${stack}AzureClientId`, `the Application (client) ID of the Entra app ${stack} deploys as`),
        subscriptionId: guid(`${stack}AzureSubscriptionId`, `the Azure subscription the ${stack} stack deploys into`),
    });
    const azure = { dev: identity("dev"), prod: identity("prod") };

    const driftCron = raw.driftCron ?? DEFAULTS.driftCron;
    if (!isCronExpression(driftCron)) {
        errors.push(`driftCron "${driftCron}" is not a five-field cron expression (minute hour day month weekday). ${fix("driftCron", `"${DEFAULTS.driftCron}"`)}`);
    }

    const alertWebhookFormat = raw.alertWebhookFormat ?? DEFAULTS.alertWebhookFormat;
    if (!(ALERT_WEBHOOK_FORMATS as readonly string[]).includes(alertWebhookFormat)) {
        errors.push(
            `alertWebhookFormat "${alertWebhookFormat}" is not one of ${ALERT_WEBHOOK_FORMATS.join(", ")}. ${fix("alertWebhookFormat", DEFAULTS.alertWebhookFormat)}`,
        );
    }

    if (errors.length > 0) {
        throw new Error(`Invalid delivery config (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n  - ${errors.join("\n  - ")}`);
    }
    return {
        organization,
        appProject: appProject as string,
        repository: repository as string,
        branches,
        azure,
        driftCron,
        alertWebhookFormat: alertWebhookFormat as AlertWebhookFormat,
    };
}

/** The delivery stack file (`delivery/Pulumi.main.yaml`), relative to the repository root. */
export const DELIVERY_STACK_FILE = "delivery/Pulumi.main.yaml";

/**
 * The branch each app stack deploys from, as a delivery stack file's text sets it (`<project>:devBranch`,
 * `<project>:prodBranch`), with the defaults for what it does not set or when there is no file. Throws, naming the
 * key, when a branch is not a valid branch name or both stacks name the same branch.
 */
export function deployBranchesOf(deliveryStackFile: string | undefined, project = "bluegreen-delivery"): Record<AppStack, string> {
    const doc: unknown = deliveryStackFile === undefined ? undefined : YAML.parse(deliveryStackFile);
    const config = (typeof doc === "object" && doc !== null ? (doc as { config?: unknown }).config : undefined) ?? {};
    const value = (key: "devBranch" | "prodBranch"): string => {
        const v = (config as Record<string, unknown>)[`${project}:${key}`];
        return v === undefined || v === null ? DEFAULTS[key] : String(v);
    };
    const branches = { dev: value("devBranch"), prod: value("prodBranch") };
    for (const stack of APP_STACKS) {
        if (!isBranchName(branches[stack])) {
            throw new Error(`${DELIVERY_STACK_FILE}: ${stack}Branch "${branches[stack]}" is not a valid git branch name. ${fix(`${stack}Branch`, DEFAULTS[`${stack}Branch`])}`);
        }
    }
    if (branches.dev === branches.prod) {
        throw new Error(`${DELIVERY_STACK_FILE}: devBranch and prodBranch are both "${branches.dev}"; prod must deploy from its own branch. ${fix("prodBranch", DEFAULTS.prodBranch)}`);
    }
    return branches;
}

/** The `name:` of a Pulumi.yaml text, or undefined when there is none. */
export function projectNameOf(pulumiYaml: string): string | undefined {
    const doc: unknown = YAML.parse(pulumiYaml);
    if (typeof doc === "object" && doc !== null && typeof (doc as { name?: unknown }).name === "string") {
        return (doc as { name: string }).name;
    }
    return undefined;
}

/** Reads the app's project name from the Pulumi.yaml one folder above this project. */
export function readAppProjectName(file = path.join(__dirname, "..", "Pulumi.yaml")): string | undefined {
    try {
        return projectNameOf(fs.readFileSync(file, "utf8"));
    } catch {
        return undefined;
    }
}

/** Reads this stack's config and validates it (throws before any resource is declared). */
export function readDeliveryConfig(): DeliveryConfig {
    const config = new pulumi.Config();
    const raw: Record<string, string | undefined> = {};
    for (const key of CONFIG_KEYS) raw[key] = config.get(key);
    return parseDeliveryConfig(raw, { organization: pulumi.getOrganization(), appProject: readAppProjectName() });
}

/**
 * The alert webhook's URL, kept secret, or undefined when none is set (then drift is reported in Pulumi Cloud only).
 * Set it with `pulumi -C delivery config set --secret alertWebhookUrl https://hooks.slack.com/services/…`.
 */
export function readAlertWebhookUrl(): pulumi.Output<string> | undefined {
    return new pulumi.Config().getSecret(ALERT_WEBHOOK_URL_KEY);
}
