/**
 * Blue/green on Azure: what `pulumi up` builds, in order.
 *   config → resource group → what the production rule serves (read from Azure) → release guard → network → database
 *     → artifact store → blue VMs, green VMs
 *     → release agent → key vault (who reads which secret) → per color: migrations (on the agent) → app deployment
 *     → health gate (on the agent, the live color, read back from Azure) → load balancer (pools read back; its name
 *     tagged on the resource group for the next update) → the agent's right to flip it back (that load balancer only)
 *     → post-flip watch (on the agent, after a flip) → outputs
 * The cut-over is `pulumi config set liveColor green && pulumi up`: it changes the load balancer only
 * (see components/loadBalancer.ts and release/colors.ts rulePools), after the release guard has said yes and
 * the health gate has passed on green, as Azure reports it (docs/release-guard.md).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as resources from "@pulumi/azure-native/resources";
import { loadStackConfig } from "./config/stackConfig";
import { Color, COLORS } from "./release/colors";
import { retryCommand } from "./release/readBack";
import { Network } from "./components/network";
import { Database } from "./components/database";
import { ArtifactStore } from "./components/artifactStore";
import { ColorSet } from "./components/colorSet";
import { AppDeployment } from "./components/appDeployment";
import { LoadBalancer } from "./components/loadBalancer";
import { FlipBackAccess } from "./components/flipBackAccess";
import { colorStateOf, contractMigrationsIn, ReleaseGuard } from "./components/releaseGuard";
import { gateScripts, HealthGate } from "./components/healthGate";
import { MigrationRun, migrationScripts } from "./components/migrationRun";
import { PostFlipWatch, watchScripts } from "./components/postFlipWatch";
import { ReleaseAgent } from "./components/releaseAgent";
import { ToolBundle } from "./components/toolBundle";
import { buildToolBundle } from "./components/lib/toolBundle";
import { SecretVault } from "./components/secretVault";
import { planAgentRuns, SECRET_NAMES } from "./components/lib/agentPlan";
import { appSecretReaders } from "./components/lib/appSecrets";
import { APP_SUBNET_CIDR } from "./components/lib/ipLayout";
import { currentVmToolsHash } from "./components/lib/vmTools";
import { loadBalancerLocator, readServingColor } from "./components/lib/servingColor";
import { packedArtifacts, sha256OfFile } from "./components/lib/artifacts";
import { checkPulumiWorkingTree } from "./delivery/workingTree";
import { databaseSourceOf } from "./release/databaseSource";

// The VM scripts and migrations this update ships must be committed ones: an uncommitted change would reach the VMs
// unreviewed. Refused (naming the files) unless BLUEGREEN_ALLOW_DIRTY=1, which then warns with the files.
const shippedTree = checkPulumiWorkingTree(__dirname, process.env);
if (shippedTree.dirty.length > 0 || shippedTree.commit === undefined) {
    pulumi.log.warn(`BLUEGREEN_ALLOW_DIRTY=1: shipping uncommitted files: ${shippedTree.dirty.join(", ") || "(not a git checkout)"}`);
}

/** The start of this update: a run the agent does in it must have started after this (release/readBack.ts). */
const updateStartedAt = new Date();

// Reads and validates every config value; throws one error listing all bad keys before anything is declared.
const config = loadStackConfig();
const location = config.location;
// The artifacts packed on this machine (`npm run app:pack -- <version>` → dist/) for a color's version are uploaded in
// this update, before anything downloads them; a runner without dist/ relies on what CI published. BLUEGREEN_DIST_DIR
// points elsewhere (tests).
const publish = packedArtifacts(
    process.env.BLUEGREEN_DIST_DIR || path.join(__dirname, "dist"),
    COLORS.filter((c) => !config.colors[c].artifact).map((c) => ({
        version: config.colors[c].version,
        sha256: config.colors[c].artifactSha256 ?? "",
        shaKey: `${c}ArtifactSha256`,
    })),
    fs.existsSync,
    sha256OfFile,
);
const contractMigrations = contractMigrationsIn(path.join(__dirname, "migrations"));
// The release agent's tools — this repository's migration runner and migrations/ — as one bundle pinned by SHA-256
// (components/lib/toolBundle.ts): a new migration is a new bundle, so the agent's runs of this update run it.
const tools = buildToolBundle(__dirname);
const retry = retryCommand(config.retryTag);
// The app-VM files of this checkout; a color pinned to another hash keeps what it runs (components/lib/vmTools.ts).
const vmTools = currentVmToolsHash();
const pinnedToOlderTools = (color: Color): boolean => (config.colors[color].vmTools ?? vmTools) !== vmTools;

// What the release agent runs in this update (the gate, each color's migrations) and the digests the guard names
// each run from: a run-command name is never used twice on the agent (release/executions.ts).
const agentPlan = planAgentRuns({
    config,
    subnetCidr: APP_SUBNET_CIDR,
    appUser: "app_user",
    contractMigrations: contractMigrations.map((m) => m.name),
    scripts: { gate: gateScripts(), migrations: migrationScripts(), watch: watchScripts() },
    toolsSha256: tools.sha256,
});

const resourceGroup = new resources.ResourceGroup("bluegreen", { location });
/** Stack output too: the resource group everything lives in (for az commands). */
export const resourceGroupName = resourceGroup.name;

// What the production rule really points at before this update (read from Azure): a recorded flip whose gate did not
// pass left it on the old color, and the guard then knows that color still serves ("pending gate").
const serving = readServingColor(resourceGroup.name);

// The release guard compares this update with the last one and refuses unsafe release steps (changing the live
// color, deploying onto the rollback target inside the window, a flip mixed with other changes, an early contract)
// before anything changes: every resource a release step changes depends on it.
const guard = new ReleaseGuard("release-guard", {
    liveColor: config.liveColor,
    blue: colorStateOf(config.colors.blue, vmTools, config),
    green: colorStateOf(config.colors.green, vmTools, config),
    rollbackWindowMinutes: config.rollbackWindowMinutes,
    allowDeployIntoRollbackWindow: config.allowDeployIntoRollbackWindow,
    runContractMigrations: config.runContractMigrations,
    contractMigrations,
    executions: [...agentPlan.requests],
    vmTools,
    database: databaseSourceOf(config.existingDatabase?.id),
    serving,
});


const net = new Network("net", { resourceGroupName, location, stagingAllowedCidrs: config.stagingAllowedCidrs });

const database = new Database("sql", {
    resourceGroupName,
    location,
    appSubnetId: net.appSubnetId,
    skuName: config.sqlSku,
    protect: config.protectDatabase,
    ...(config.existingDatabase && config.existingDatabasePassword
        ? { existing: { ...config.existingDatabase, administratorPassword: config.existingDatabasePassword } }
        : {}),
});

// The deployer's Entra ID token for storage (the account has no shared key): uploads of this update go through it.
const storageToken = authorization.getClientTokenOutput({ endpoint: "https://storage.azure.com/" }).apply((t) => t.token ?? "");
const artifacts = new ArtifactStore("artifacts", {
    resourceGroupName,
    location,
    publish,
    ...(publish.length > 0 ? { uploadToken: storageToken } : {}),
});
const toolBundle = new ToolBundle("agent-tools", { containerUrl: artifacts.containerUrl, token: storageToken, bundle: tools }, { dependsOn: [artifacts] });

/** One color's VMs (a release of the color never touches them). */
function buildVms(color: Color): ColorSet {
    const settings = config.colors[color];
    return new ColorSet(color, {
        color,
        resourceGroupName,
        location,
        subnetId: net.appSubnetId,
        subnetCidr: net.appSubnetCidr,
        instanceCount: settings.instanceCount,
        vmSize: settings.vmSize,
        image: settings.image,
        zones: config.zones,
        adminUsername: config.adminUsername,
        sshPublicKey: settings.sshPublicKey ?? config.sshPublicKey,
        artifactContainerId: artifacts.containerId,
        keepProvisioning: pinnedToOlderTools(color),
    }, { dependsOn: [guard] });
}
const vms: Record<Color, ColorSet> = { blue: buildVms("blue"), green: buildVms("green") };

// The release agent: runs the migrations and the gate inside the VNet; runs no app code (components/releaseAgent.ts).
const agent = new ReleaseAgent("agent", {
    resourceGroupName,
    location,
    subnetId: net.appSubnetId,
    subnetCidr: net.appSubnetCidr,
    vmSize: config.agentVmSize,
    image: config.agentImage,
    adminUsername: config.adminUsername,
    sshPublicKey: config.sshPublicKey,
    artifactContainerId: artifacts.containerId,
}, { dependsOn: [guard] });

// Every secret in Key Vault; each identity reads only its own: the agent the administrator's URL and the app user's
// password, each app VM the app's connection URL and its color's own app secrets.
const vmReaders = (color: Color): { name: string; principalId: pulumi.Input<string> }[] => vms[color].vms.map((vm) => ({ name: vm.name, principalId: vm.principalId ?? "" }));
const appVmReaders = COLORS.flatMap(vmReaders);
const vault = new SecretVault("secrets", {
    resourceGroupName,
    location,
    tenantId: authorization.getClientConfigOutput().tenantId,
    subnetId: net.appSubnetId,
    secrets: {
        [SECRET_NAMES.adminUrl]: { value: database.adminDatabaseUrl, readers: [{ name: "agent", principalId: agent.principalId }] },
        [SECRET_NAMES.appPassword]: { value: database.appPassword, readers: [{ name: "agent", principalId: agent.principalId }] },
        [SECRET_NAMES.appDatabaseUrl]: { value: database.appDatabaseUrl, readers: appVmReaders },
    },
    // The app's own secrets (<color>AppSecrets), put into the vault by the user: each color's VMs read exactly its own.
    userSecrets: appSecretReaders(
        { blue: config.colors.blue.appSecrets, green: config.colors.green.appSecrets },
        { blue: vmReaders("blue"), green: vmReaders("green") },
    ),
});

/** What every run on the agent shares in this update. */
const agentRuns = {
    resourceGroupName,
    location,
    agentVmName: agent.vmName,
    executionNames: guard.executionNames,
    newExecutions: guard.newExecutions,
    updateStartedAt,
    retry,
};
// What every run on the agent waits for; the database's VNet rule too: the agent's migrations and gate connect to it.
const agentReady = [guard, agent.artifactAccess, ...(vault.grants.agent ?? []), database.reachable];

/** One color's release: its migrations (on the agent), then its app deployment once Azure reports them passed. */
function buildRelease(color: Color): { deployment: AppDeployment } {
    const settings = config.colors[color];
    const artifactUrl = settings.artifact?.url ?? artifacts.urlFor(settings.version);
    const plan = agentPlan.migrations[color];
    const migrations = new MigrationRun(`${color}-migrate`, {
        expand: plan.expand,
        ...(plan.contract ? { contract: plan.contract } : {}),
        toolsUrl: toolBundle.url,
        keyvaultUrl: vault.vaultUri,
        agent: agentRuns,
    }, { dependsOn: [...agentReady, toolBundle, ...artifacts.readyFor(settings.version)] });
    const deployment = new AppDeployment(`${color}-deploy`, {
        color,
        resourceGroupName,
        location,
        vms: vms[color].vms,
        version: settings.version,
        artifactUrl,
        artifactSha256: settings.artifactSha256 ?? "", // always set by validateConfig
        keyvaultUrl: vault.vaultUri,
        databaseUrlSecret: SECRET_NAMES.appDatabaseUrl,
        appSettings: settings.appSettings,
        appSecrets: settings.appSecrets,
        after: migrations.verified,
        vmGrants: vault.grants,
        forceUpdateTag: settings.forceUpdateTag,
        retryTag: config.retryTag || undefined,
        keepDeployed: pinnedToOlderTools(color),
        retry,
    }, { dependsOn: [guard, migrations, database.reachable, ...artifacts.readyFor(settings.version)] });
    return { deployment };
}
const releases: Record<Color, { deployment: AppDeployment }> = { blue: buildRelease("blue"), green: buildRelease("green") };

// The health gate, on the agent: every VM of the live color healthy at its version, the schema fitting it. Named
// after the live color, so it runs on a flip (and on the first deploy), not on a deploy to the idle color.
const gate = new HealthGate(`${config.liveColor}-gate`, {
    settings: agentPlan.gate,
    vms: vms[config.liveColor].vms,
    toolsUrl: toolBundle.url,
    keyvaultUrl: vault.vaultUri,
    agent: agentRuns,
}, { dependsOn: [...agentReady, toolBundle, releases[config.liveColor].deployment, ...artifacts.readyFor(config.colors[config.liveColor].version)] });

// The load balancer is sent only once the gate's result is read back as passed (its `bluegreen-gate` tag), and its
// pools are read back after it (IP-based pools: NICs never reference it, so there is no cycle).
const loadBalancer = new LoadBalancer("front", {
    resourceGroupName,
    location,
    liveColor: config.liveColor,
    poolAddresses: { blue: vms.blue.privateIps, green: vms.green.privateIps },
    virtualNetworkId: net.virtualNetworkId,
    zones: config.zones,
    // The gate's run (every VM answers /health, the schema fits) and each VM's release proof, both read back from Azure.
    gateRun: pulumi.all([gate.verified, releases[config.liveColor].deployment.proven]).apply(([run]) => run),
    retry,
}, { dependsOn: [guard, gate] });
// The load balancer's name, in a tag of the resource group: where the next update reads what really serves.
loadBalancerLocator("front-locator", { resourceGroupId: resourceGroup.id, loadBalancerName: loadBalancer.loadBalancerName }, { dependsOn: [loadBalancer] });
// The release agent may change this load balancer, and nothing else, to flip production back by itself when the
// post-flip watch fails the new color (components/flipBackAccess.ts, release/flipBack.ts).
const flipBackAccess = new FlipBackAccess("flip-back", {
    resourceGroupId: resourceGroup.id,
    stack: `${pulumi.getProject()}/${pulumi.getStack()}`,
    principalId: agent.principalId,
    loadBalancerId: loadBalancer.loadBalancerId,
    publicIpId: loadBalancer.publicIpId,
    virtualNetworkId: net.virtualNetworkId,
});

// After the load balancer moved: the release agent watches the new live color and flips production back by itself on
// a failed analysis (docs/post-flip-watch.md); only after a flip with a rollback target, decided from the guard's state.
const watch = new PostFlipWatch(`${config.liveColor}-watch`, {
    settings: agentPlan.watch,
    guardState: guard.state,
    loadBalancerId: loadBalancer.loadBalancerId,
    toolsUrl: toolBundle.url,
    agent: agentRuns,
}, { dependsOn: [...agentReady, toolBundle, loadBalancer, flipBackAccess] });

export const liveColor = config.liveColor;
export const idleColor = config.idleColor;
export const productionUrl = loadBalancer.productionUrl;
export const stagingUrl = loadBalancer.stagingUrl;
export const blueVersion = config.colors.blue.version;
export const greenVersion = config.colors.green.version;
export const sqlServerFqdn = database.serverFqdn;
export const databaseName = database.databaseName;
/** Where the database comes from: created by this stack, or an existing one it never creates, replaces or deletes. */
export const databaseSource = databaseSourceOf(config.existingDatabase?.id);
/** The static public IP all outbound traffic of the VMs leaves from (for allow-lists elsewhere). */
export const egressIp = net.egressIp;
/** Where artifacts are uploaded: `https://<account>.blob.core.windows.net/artifacts/`. */
export const artifactContainerUrl = artifacts.containerUrl;
/** Static private IPs of each color's VMs (the load balancer's pools). */
export const vmPrivateIps = { blue: vms.blue.privateIps, green: vms.green.privateIps };
/** The release agent's private IP (it runs the migrations and the gate). */
export const agentPrivateIp = agent.privateIp;
/** The Key Vault every secret lives in (`az keyvault secret show --vault-name <name> --name sql-admin-url`, break-glass). */
export const keyVaultName = vault.vaultName;
/** The gate run that approved the production rule, as read back from Azure. */
export const gateRun = gate.verified;
/** The backend pools as Azure lists them after this update (read back; the update fails when they differ). */
export const backendPools = loadBalancer.poolsReadBack;
/** The color the production rule points at, as Azure answers after this update (`liveColor` is what the config asks for). */
export const productionColor = loadBalancer.productionColor;
/** Which release step this update was (first-deploy, deploy-idle, flip, rollback, contract, ...). */
export const releaseStep = guard.step;
/** What the release guard wants the operator to know (an override in use, a rollback). */
export const releaseNotices = guard.notices;
/** The post-flip watch of this update: `watch` (a flip: the agent watches the new live color), `stop` or `none`, and why. */
export const postFlipWatch = { action: watch.action, why: watch.why };
