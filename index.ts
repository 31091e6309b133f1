/**
 * Blue/green on Azure: what `pulumi up` builds, in order.
 *   config → release guard → resource group → network → database → artifact store → blue → green
 *     (each color: VMs → its schema migrations, run from its VM 0 → its app deployment)
 *     → health gate (the live color) → load balancer → outputs
 * The cut-over is `pulumi config set liveColor green && pulumi up`: it changes the load balancer only
 * (see components/loadBalancer.ts and release/colors.ts rulePools), after the release guard has said yes and
 * the health gate has passed on green (docs/release-guard.md).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as resources from "@pulumi/azure-native/resources";
import { loadStackConfig } from "./config/stackConfig";
import { Color, COLORS } from "./release/colors";
import { Network } from "./components/network";
import { Database } from "./components/database";
import { ArtifactStore } from "./components/artifactStore";
import { ColorSet } from "./components/colorSet";
import { AppDeployment } from "./components/appDeployment";
import { LoadBalancer } from "./components/loadBalancer";
import { colorStateOf, contractMigrationsIn, ReleaseGuard } from "./components/releaseGuard";
import { HealthGate } from "./components/healthGate";
import { MigrationRun } from "./components/migrationRun";
import { checkPulumiWorkingTree } from "./delivery/workingTree";

// The VM scripts and migrations this update ships must be committed ones: an uncommitted change would reach the VMs
// unreviewed. Refused (naming the files) unless BLUEGREEN_ALLOW_DIRTY=1, which then warns with the files.
const shippedTree = checkPulumiWorkingTree(__dirname, process.env);
if (shippedTree.dirty.length > 0 || shippedTree.commit === undefined) {
    pulumi.log.warn(`BLUEGREEN_ALLOW_DIRTY=1: shipping uncommitted files: ${shippedTree.dirty.join(", ") || "(not a git checkout)"}`);
}

// Reads and validates every config value; throws one error listing all bad keys before anything is declared.
const config = loadStackConfig();
const location = config.location;

// The release guard compares this update with the last one and refuses unsafe release steps (changing the live
// color, deploying onto the rollback target inside the window, a flip mixed with other changes, an early contract)
// before anything changes: every resource a release step changes depends on it.
const guard = new ReleaseGuard("release-guard", {
    liveColor: config.liveColor,
    blue: colorStateOf(config.colors.blue),
    green: colorStateOf(config.colors.green),
    rollbackWindowMinutes: config.rollbackWindowMinutes,
    allowDeployIntoRollbackWindow: config.allowDeployIntoRollbackWindow,
    runContractMigrations: config.runContractMigrations,
    contractMigrations: contractMigrationsIn(path.join(__dirname, "migrations")),
});

const resourceGroup = new resources.ResourceGroup("bluegreen", { location });
/** Stack output too: the resource group everything lives in (for az commands). */
export const resourceGroupName = resourceGroup.name;

const net = new Network("net", { resourceGroupName, location, stagingAllowedCidrs: config.stagingAllowedCidrs });

const database = new Database("sql", {
    resourceGroupName,
    location,
    appSubnetId: net.appSubnetId,
    skuName: config.sqlSku,
    protect: config.protectDatabase,
});

const artifacts = new ArtifactStore("artifacts", { resourceGroupName, location });

/** One color: its VMs, then its app deployment (the only thing a release of this color changes). */
function buildColor(color: Color): { vms: ColorSet; deployment: AppDeployment } {
    const settings = config.colors[color];
    const vms = new ColorSet(color, {
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
        sshPublicKey: config.sshPublicKey,
        artifactContainerId: artifacts.containerId,
    }, { dependsOn: [guard] });
    const artifactUrl = settings.artifact?.url ?? artifacts.urlFor(settings.version);
    const artifactSha256 = settings.artifactSha256 ?? ""; // always set by validateConfig
    // The color's schema migrations (expand; contract with runContractMigrations), run from its VM 0 inside the VNet
    // with its own artifact, before its app is deployed (components/migrationRun.ts, docs/migrations.md).
    const migrations = new MigrationRun(`${color}-migrate`, {
        color,
        version: settings.version,
        resourceGroupName,
        location,
        vm: vms.vms[0],
        artifactUrl,
        artifactSha256,
        adminDatabaseUrl: database.adminDatabaseUrl,
        appUser: database.appUser,
        appPassword: database.appPassword,
        runContractMigrations: config.runContractMigrations,
        runningVersions: COLORS.map((c) => config.colors[c].version),
    }, { dependsOn: [guard] });
    const deployment = new AppDeployment(`${color}-deploy`, {
        color,
        resourceGroupName,
        location,
        vms: vms.vms,
        version: settings.version,
        artifactUrl,
        artifactSha256,
        databaseUrl: database.appDatabaseUrl,
        forceUpdateTag: settings.forceUpdateTag,
    }, { dependsOn: [guard, migrations] });
    return { vms, deployment };
}

const blue = buildColor("blue");
const green = buildColor("green");

// The health gate: from inside the VNet, every VM of the live color must be healthy at its version and the schema
// must fit it, before the load balancer may send it production traffic. Named after the live color, so it runs on a
// flip (and on the first deploy), not on a deploy to the idle color. No cycle: the pools are IP-based, so NICs do
// not reference the load balancer (VMs → deployment → gate → load balancer).
const live = config.liveColor === "blue" ? blue : green;
const gate = new HealthGate(`${config.liveColor}-gate`, {
    color: config.liveColor,
    version: config.colors[config.liveColor].version,
    resourceGroupName,
    location,
    vms: live.vms.vms,
}, { dependsOn: [guard, live.deployment] });

// Depends on the gate: children register only after their parent, and the parent only once the gate has passed.
const loadBalancer = new LoadBalancer("front", {
    resourceGroupName,
    location,
    liveColor: config.liveColor,
    poolAddresses: { blue: blue.vms.privateIps, green: green.vms.privateIps },
    virtualNetworkId: net.virtualNetworkId,
    zones: config.zones,
}, { dependsOn: [guard, gate] });

export const liveColor = config.liveColor;
export const idleColor = config.idleColor;
export const productionUrl = loadBalancer.productionUrl;
export const stagingUrl = loadBalancer.stagingUrl;
export const blueVersion = config.colors.blue.version;
export const greenVersion = config.colors.green.version;
export const sqlServerFqdn = database.serverFqdn;
export const databaseName = database.databaseName;
/** The static public IP all outbound traffic of the VMs leaves from (for allow-lists elsewhere). */
export const egressIp = net.egressIp;
/** Where artifacts are uploaded: `https://<account>.blob.core.windows.net/artifacts/`. */
export const artifactContainerUrl = artifacts.containerUrl;
/** Static private IPs of each color's VMs (the load balancer's pools). */
export const vmPrivateIps = { blue: blue.vms.privateIps, green: green.vms.privateIps };
/** Which release step this update was (first-deploy, deploy-idle, flip, rollback, contract, ...). */
export const releaseStep = guard.step;
/** What the release guard wants the operator to know (an override in use, a rollback). */
export const releaseNotices = guard.notices;
