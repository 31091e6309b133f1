/**
 * The delivery project: Pulumi Deployments settings for the app stacks, kept in their own project so that
 * destroying an app stack can never delete the settings that deploy it.
 *
 *   app stack dev  ← push to main     (preview on PRs into main)
 *   app stack prod ← push to release  (never previewed from a PR: no prod credential for unreviewed code; drift check hourly, reported — in Pulumi Cloud
 *                                      and to the alert webhook when one is set — never remediated)
 */
import * as service from "@pulumi/pulumiservice";
import { readAlertWebhookUrl, readDeliveryConfig } from "./config";
import {
    alertWebhookFor,
    APP_STACKS,
    deploymentSettingsFor,
    driftScheduleFor,
    federatedSubjectsFor,
    isProtectedStack,
    PULUMI_OIDC_ISSUER,
    rbacAdministratorCondition,
    rolesTheStackAssigns,
} from "./settings";

const config = readDeliveryConfig();
const alertWebhookUrl = readAlertWebhookUrl();

const settings = APP_STACKS.map((stack) => {
    const protect = isProtectedStack(stack);
    const deployment = new service.DeploymentSettings(`${stack}-deployment-settings`, deploymentSettingsFor(stack, config), { protect });
    const drift = driftScheduleFor(stack, config);
    if (drift !== undefined) {
        new service.DriftSchedule(`${stack}-drift-schedule`, drift, { dependsOn: [deployment], protect });
    }
    const alerts = alertWebhookFor(stack, config);
    if (alerts !== undefined && alertWebhookUrl !== undefined) {
        new service.Webhook(`${stack}-alerts`, { ...alerts, payloadUrl: alertWebhookUrl }, { protect });
    }
    return { stack, deployment };
});

/** Which branch deploys which stack. */
export const deployedFrom = Object.fromEntries(APP_STACKS.map((stack) => [stack, config.branches[stack]]));
/** The stacks whose deployment settings this project manages (`org/project/stack`). */
export const managedStacks = settings.map(({ deployment }) => deployment.id);
/** What to enter in each Entra app's federated credentials (issuer, audience, one credential per subject). */
export const federatedCredentials = Object.fromEntries(
    APP_STACKS.map((stack) => [
        stack,
        { issuer: PULUMI_OIDC_ISSUER, audience: config.organization, subjects: federatedSubjectsFor(stack, config) },
    ]),
);
/**
 * Per stack, the condition that limits its deploying identity's "Role Based Access Control Administrator" to the
 * roles that stack's program assigns (the built-in ones and its own flip-back roles):
 * `az role assignment create … --condition "<this>" --condition-version 2.0` (docs/delivery.md).
 */
export const rbacAdministratorAssignmentConditions = Object.fromEntries(
    APP_STACKS.map((stack) => [stack, rbacAdministratorCondition(rolesTheStackAssigns(stack, config))]),
);
