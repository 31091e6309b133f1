import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/azure-native/compute";
import { Color } from "../release/colors";
import { ColorVm } from "./colorSet";
import { deploymentUpdateTag, deploymentWrapperScript } from "./lib/deployScript";
import { readVmScript } from "./lib/vmScripts";
import { childOptions, withDependsOn } from "./lib/childOptions";

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
    /** Secret: connection URL of the app's least-privilege database user (never the administrator). */
    readonly databaseUrl: pulumi.Input<string>;
    /**
     * Operator's retry tag: changing it re-runs the deployment on every VM of the color.
     * @default undefined (the extension re-runs only when the version or another input changes)
     */
    readonly forceUpdateTag?: string;
    /**
     * Text of the script that installs the artifact on a VM.
     * @default the text of vm-scripts/deploy-app.sh
     */
    readonly deployScript?: string;
}

/**
 * Deploys one version of the app to every VM of one color: one Custom Script extension per VM
 * (`<color>-deploy-<n>`). A new version changes the extension's inputs, which Azure applies in place by
 * re-running the script; the VM is neither replaced nor rebooted.
 */
export class AppDeployment extends pulumi.ComponentResource {
    public readonly color: Color;
    public readonly version: string;
    public readonly artifactUrl: pulumi.Output<string>;
    /** Extension resources, one per VM (for dependsOn by later steps). */
    public readonly extensions: readonly compute.VirtualMachineExtension[];

    constructor(name: string, args: AppDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:appDeployment:AppDeployment", name, {}, opts);
        const childOpts = childOptions(this, opts);
        this.color = args.color;
        this.version = args.version;
        this.artifactUrl = pulumi.output(args.artifactUrl);
        const deployScript = args.deployScript ?? readVmScript("deploy-app.sh");

        const script = pulumi.all([args.artifactUrl, args.artifactSha256, args.databaseUrl]).apply(([artifactUrl, artifactSha256, databaseUrl]) =>
            Buffer.from(deploymentWrapperScript({ color: args.color, version: args.version, artifactUrl, artifactSha256, databaseUrl, deployScript }), "utf8").toString("base64"),
        );

        this.extensions = args.vms.map((vm, index) => new compute.VirtualMachineExtension(`${name}-${index}`, {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            vmName: vm.vmName,
            vmExtensionName: "deploy-app",
            publisher: "Microsoft.Azure.Extensions",
            type: "CustomScript",
            typeHandlerVersion: "2.1",
            autoUpgradeMinorVersion: true,
            forceUpdateTag: deploymentUpdateTag(args.version, args.forceUpdateTag),
            settings: { skipDos2Unix: true },
            // The SDK does not mark protectedSettings secret; the script carries DATABASE_URL.
            protectedSettings: pulumi.secret({ script }),
        }, withDependsOn(childOpts, ...(vm.artifactAccess ? [vm.artifactAccess] : [])))); // it downloads the artifact: wait for read access

        this.registerOutputs({ version: this.version, artifactUrl: this.artifactUrl });
    }
}
