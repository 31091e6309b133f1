import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/azure-native/compute";
import { Color } from "../release/colors";
import { ColorVm } from "./colorSet";
import { deploymentUpdateTag, deploymentWrapperScript } from "./lib/deployScript";
import { readVmScript } from "./lib/vmScripts";
import { childOptions, withDependsOn } from "./lib/childOptions";
import { releaseProofProblems } from "../release/readBack";

export interface AppDeploymentArgs {
    /** The color deployed to. */
    readonly color: Color;
    /** Resource group of the VMs. */
    readonly resourceGroupName: pulumi.Input<string>;
    /** Azure region. */
    readonly location: pulumi.Input<string>;
    /** The VMs of the color (from ColorSet). */
    readonly vms: readonly ColorVm[];
    /** App version (semver) to run. */
    readonly version: string;
    /** URL of the artifact (`app-<version>.tgz`), fetched by the VM with its managed identity. */
    readonly artifactUrl: pulumi.Input<string>;
    /** SHA-256 (hex) the artifact must have; the VM refuses anything else. */
    readonly artifactSha256: pulumi.Input<string>;
    /** The vault each VM reads the app's connection URL from, with its own identity. */
    readonly keyvaultUrl: pulumi.Input<string>;
    /**
     * Name of the secret holding the app user's connection URL (never the administrator's).
     * @default "app-database-url"
     */
    readonly databaseUrlSecret?: string;
    /**
     * The app's own settings (config `<color>AppSettings`): environment variable → value, written to the env file.
     * @default {} (none)
     */
    readonly appSettings?: Readonly<Record<string, string>>;
    /**
     * The app's own secrets (config `<color>AppSecrets`): environment variable → Key Vault secret name. Each VM reads
     * them with its identity (it needs a grant on each: `vmGrants`); only the names are in the deployment.
     * @default {} (none)
     */
    readonly appSecrets?: Readonly<Record<string, string>>;
    /**
     * What must have passed before the app is deployed (the color's migration runs, read back from Azure): the VM
     * names reach the extensions through it, so when it rejects, no extension changes.
     * @default undefined (nothing to wait for)
     */
    readonly after?: pulumi.Input<unknown>;
    /**
     * Per VM (by logical name, e.g. `blue-vm-0`): the grants its identity needs first (reading the app's secret).
     * @default {} (none)
     */
    readonly vmGrants?: Readonly<Record<string, readonly pulumi.Resource[]>>;
    /**
     * Operator's retry tag: changing it re-runs the deployment on every VM of the color.
     * @default undefined (the extension re-runs only when the version or another input changes)
     */
    readonly forceUpdateTag?: string;
    /**
     * The stack's retry tag (config `retryTag`): changing it re-runs the deployment too. deploy-app.sh is a no-op on a
     * VM that already runs this release healthy with these settings, so the live color is not restarted.
     * @default undefined
     */
    readonly retryTag?: string;
    /**
     * Text of the script that installs the artifact on a VM.
     * @default the text of vm-scripts/deploy-app.sh
     */
    readonly deployScript?: string;
    /**
     * Text of the script that reads a Key Vault secret on a VM.
     * @default the text of vm-scripts/keyvault-secret.sh
     */
    readonly keyvaultScript?: string;
    /**
     * Text of the app contract's checks (release/appContract.ts as JavaScript), run by deploy-app.sh on the VM.
     * @default readVmScript("app-contract.js")
     */
    readonly appContractScript?: string;
    /**
     * Text of the local proxy's tool (release/localProxy.ts as JavaScript), run by deploy-app.sh on the VM.
     * @default readVmScript("local-proxy.js")
     */
    readonly localProxyScript?: string;
    /**
     * The command that re-runs a deployment, for messages (`pulumi config set retryTag <n> && pulumi up`).
     * @default "pulumi config set <color>ForceUpdateTag <new value> && pulumi up"
     */
    readonly retry?: string;
    /**
     * Keep what is deployed: the color is pinned to older VM tools (components/lib/vmTools.ts), which the program cannot
     * send, so its extensions keep the script they have (the release guard refuses any other deployment change on it).
     * @default false
     */
    readonly keepDeployed?: boolean;
}

/**
 * Deploys one version of the app to every VM of one color: one Custom Script extension per VM
 * (`<color>-deploy-<n>`). A new version changes the extension's inputs, which Azure applies in place by
 * re-running the script; the VM is neither replaced nor rebooted. The extension has a fixed name (`deploy-app`):
 * when its VM is replaced it is deleted before its replacement is created. No secret is in its settings.
 */
export class AppDeployment extends pulumi.ComponentResource {
    public readonly color: Color;
    public readonly version: string;
    public readonly artifactUrl: pulumi.Output<string>;
    /** Extension resources, one per VM (for dependsOn by later steps). */
    public readonly extensions: readonly compute.VirtualMachineExtension[];
    /**
     * The VMs' names once every VM's deployment proves, as Azure reports its last run, that it runs this version from
     * this SHA-256 (deploy-app.sh's release proof: the manifest it installed, the process it started); rejects
     * otherwise. Not required of a color pinned to older VM tools (their deploy-app.sh printed no proof).
     */
    public readonly proven: pulumi.Output<string[]>;

    constructor(name: string, args: AppDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:appDeployment:AppDeployment", name, {}, opts);
        const childOpts = childOptions(this, opts);
        this.color = args.color;
        this.version = args.version;
        this.artifactUrl = pulumi.output(args.artifactUrl);
        const deployScript = args.deployScript ?? readVmScript("deploy-app.sh");
        const keyvaultScript = args.keyvaultScript ?? readVmScript("keyvault-secret.sh");
        const appContractScript = args.appContractScript ?? readVmScript("app-contract.js");
        const localProxyScript = args.localProxyScript ?? readVmScript("local-proxy.js");
        const databaseUrlSecret = args.databaseUrlSecret ?? "app-database-url";

        const script = pulumi.all([args.artifactUrl, args.artifactSha256, args.keyvaultUrl]).apply(([artifactUrl, artifactSha256, keyvaultUrl]) =>
            Buffer.from(deploymentWrapperScript({ color: args.color, version: args.version, artifactUrl, artifactSha256, keyvaultUrl, databaseUrlSecret, appSettings: args.appSettings, appSecrets: args.appSecrets, deployScript, keyvaultScript, appContractScript, localProxyScript }), "utf8").toString("base64"),
        );

        this.extensions = args.vms.map((vm, index) => new compute.VirtualMachineExtension(`${name}-${index}`, {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            // Through `after`: the same name, but only once the color's migrations are proven in.
            vmName: pulumi.all([vm.vmName, args.after]).apply(([vmName]) => vmName),
            vmExtensionName: "deploy-app",
            publisher: "Microsoft.Azure.Extensions",
            type: "CustomScript",
            typeHandlerVersion: "2.1",
            autoUpgradeMinorVersion: true,
            forceUpdateTag: deploymentUpdateTag(args.version, args.forceUpdateTag, args.retryTag),
            settings: { skipDos2Unix: true },
            // The SDK does not mark protectedSettings secret. The script carries no secret value (secrets are read on the
            // VM), but it holds the app's settings and the vault's name.
            protectedSettings: pulumi.secret({ script }),
        }, {
            // It downloads the artifact and reads the app's secret: wait for both grants.
            ...withDependsOn(childOpts, ...(vm.artifactAccess ? [vm.artifactAccess] : []), ...(args.vmGrants?.[vm.name] ?? [])),
            deleteBeforeReplace: true, // a fixed name on its VM
            ...(args.keepDeployed ? { ignoreChanges: ["protectedSettings", "forceUpdateTag"] } : {}),
        }));

        // Read each VM's deployment back from Azure, after it (data flow through its id).
        const retry = args.retry ?? `pulumi config set ${args.color}ForceUpdateTag <new value> && pulumi up`;
        const views = this.extensions.map((ext, index) => {
            const vmName = pulumi.all([args.vms[index].vmName, ext.id]).apply(([name]) => name);
            if (args.keepDeployed) return vmName.apply((name) => ({ name, view: undefined }));
            const read = compute.getVirtualMachineExtensionOutput({ resourceGroupName: args.resourceGroupName, vmName, vmExtensionName: "deploy-app", expand: "instanceView" }, { parent: this, dependsOn: [ext] });
            return pulumi.all([vmName, read]).apply(([name, e]) => ({ name, view: e.instanceView }));
        });
        this.proven = pulumi.all([pulumi.all(views), args.artifactSha256]).apply(([read, sha256]) => {
            if (args.keepDeployed) return read.map((r) => r.name);
            const problems = releaseProofProblems(read, { color: args.color, version: args.version, sha256 }, retry);
            if (problems.length > 0) throw new Error(`the ${args.color} VMs do not all prove ${args.version}:\n${problems.join("\n")}`);
            return read.map((r) => r.name);
        });

        this.registerOutputs({ version: this.version, artifactUrl: this.artifactUrl });
    }
}
