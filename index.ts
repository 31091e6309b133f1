/**
 * Blue/green on Azure: what `pulumi up` builds, in order.
 *   config → resource group → network → database → artifact store → blue → green → load balancer → outputs
 * The cut-over is `pulumi config set liveColor green && pulumi up`: it changes the load balancer only
 * (see components/loadBalancer.ts and release/colors.ts rulePools).
 */
import * as resources from "@pulumi/azure-native/resources";
import { loadStackConfig } from "./config/stackConfig";
import { Color, COLORS } from "./release/colors";
import { Network } from "./components/network";
import { Database } from "./components/database";
import { ArtifactStore } from "./components/artifactStore";
import { ColorSet } from "./components/colorSet";
import { AppDeployment } from "./components/appDeployment";
import { LoadBalancer } from "./components/loadBalancer";

// Reads and validates every config value; throws one error listing all bad keys before anything is declared.
const config = loadStackConfig();
const location = config.location;

const resourceGroup = new resources.ResourceGroup("bluegreen", { location });
const resourceGroupName = resourceGroup.name;

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
    });
    const deployment = new AppDeployment(`${color}-deploy`, {
        color,
        resourceGroupName,
        location,
        vms: vms.vms,
        version: settings.version,
        artifactUrl: settings.artifact?.url ?? artifacts.urlFor(settings.version),
        // Empty: the VM reads app-<version>.tgz.sha256 beside the program's own artifact.
        artifactSha256: settings.artifact?.sha256 ?? "",
        databaseUrl: database.appDatabaseUrl,
        forceUpdateTag: settings.forceUpdateTag,
    });
    return { vms, deployment };
}

const blue = buildColor("blue");
const green = buildColor("green");

const loadBalancer = new LoadBalancer("front", {
    resourceGroupName,
    location,
    liveColor: config.liveColor,
    poolAddresses: { blue: blue.vms.privateIps, green: green.vms.privateIps },
    virtualNetworkId: net.virtualNetworkId,
    zones: config.zones,
});

export const liveColor = config.liveColor;
export const idleColor = config.idleColor;
export const productionUrl = loadBalancer.productionUrl;
export const stagingUrl = loadBalancer.stagingUrl;
export const blueVersion = config.colors.blue.version;
export const greenVersion = config.colors.green.version;
export const sqlServerFqdn = database.serverFqdn;
export const databaseName = database.databaseName;
export const resourceGroupNameOutput = resourceGroupName;
export const egressIp = net.egressIp;
export const artifactContainerUrl = artifacts.urlFor("VERSION").apply((url) => url.replace(/app-VERSION\.tgz$/, ""));
export const vmPrivateIps = Object.fromEntries(COLORS.map((color) => [color, color === "blue" ? blue.vms.privateIps : green.vms.privateIps]));
