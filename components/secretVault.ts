import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import { KEY_VAULT_SECRETS_USER_ROLE, roleDefinitionId } from "./lib/artifacts";
import { childOptions } from "./lib/childOptions";
import { missingAppSecretMessage } from "./lib/appSecrets";

export { KEY_VAULT_SECRETS_USER_ROLE };

/** An identity that may read a secret: a name for the child resource (e.g. `agent`, `blue-vm-0`) and its object id. */
export interface SecretReader {
    readonly name: string;
    readonly principalId: pulumi.Input<string>;
}

/** One secret: its value (secret) and who may read it. */
export interface VaultSecret {
    /** The secret's value; kept secret in state. */
    readonly value: pulumi.Input<string>;
    /** The identities that may read it, each by a role assignment scoped to this one secret. */
    readonly readers: readonly SecretReader[];
}

export interface SecretVaultArgs {
    /** Resource group of the vault. */
    readonly resourceGroupName: pulumi.Input<string>;
    /** Azure region. */
    readonly location: pulumi.Input<string>;
    /** Entra tenant of the vault (the identities' tenant). */
    readonly tenantId: pulumi.Input<string>;
    /** The only subnet admitted to the vault's data plane (the VMs' and the agent's; it has the Microsoft.KeyVault endpoint). */
    readonly subnetId: pulumi.Input<string>;
    /** The secrets, by name (Key Vault secret names: letters, digits and `-`). */
    readonly secrets: Readonly<Record<string, VaultSecret>>;
    /**
     * Secrets the user puts into the vault themselves (the app's own, config `<color>AppSecrets`), by name, with who
     * may read each. The program never holds their values: it reads each secret's id through Azure Resource Manager
     * (stopping with the command that puts it there when it is missing) and grants its readers on that one secret.
     * @default {} (none)
     */
    readonly userSecrets?: Readonly<Record<string, readonly SecretReader[]>>;
    /**
     * Days a deleted secret or vault is kept recoverable (7 to 90).
     * @default 30
     */
    readonly softDeleteRetentionInDays?: number;
}

/**
 * A Key Vault for every secret of the stack, with **least privilege per identity**: RBAC authorization only (no access
 * policies), and each reader gets "Key Vault Secrets User" on one secret, not on the vault. Who reads what is declared
 * at the call site (index.ts): the release agent reads the administrator's credential, each app VM reads only its
 * app's connection string. The data plane admits only the app subnet (service endpoint); secrets are written through
 * Azure Resource Manager by `pulumi up`, so the deployer needs no data-plane role. Purge protection is on.
 *
 * Scripts on the VMs read a secret with their managed identity (vm-scripts/keyvault-secret.sh): no secret travels in
 * a run command's parameters or an extension's settings (the Linux run-command handler keeps parameters as
 * environment variables of a long-lived process).
 */
export class SecretVault extends pulumi.ComponentResource {
    /** The vault's data-plane URL, e.g. `https://<name>.vault.azure.net/`. */
    public readonly vaultUri: pulumi.Output<string>;
    public readonly vaultName: pulumi.Output<string>;
    /** The role assignments of each reader (by reader name): whatever reads a secret waits for its reader's grants. */
    public readonly grants: Readonly<Record<string, readonly authorization.RoleAssignment[]>>;

    constructor(name: string, args: SecretVaultArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:secretVault:SecretVault", name, {}, opts);
        const childOpts = childOptions(this, opts);

        const vault = new keyvault.Vault(`${name}-kv`, {
            resourceGroupName: args.resourceGroupName,
            location: args.location,
            properties: {
                tenantId: args.tenantId,
                sku: { family: "A", name: "standard" },
                enableRbacAuthorization: true,
                enableSoftDelete: true,
                softDeleteRetentionInDays: args.softDeleteRetentionInDays ?? 30,
                enablePurgeProtection: true,
                publicNetworkAccess: "Enabled", // service-endpoint traffic uses the public endpoint; the ACL below admits only the subnet
                networkAcls: {
                    defaultAction: "Deny",
                    bypass: "None",
                    ipRules: [],
                    virtualNetworkRules: [{ id: args.subnetId, ignoreMissingVnetServiceEndpoint: false }],
                },
            },
        }, childOpts);

        const grants: Record<string, authorization.RoleAssignment[]> = {};
        for (const [secretName, secret] of Object.entries(args.secrets)) {
            const stored = new keyvault.Secret(`${name}-${secretName}`, {
                resourceGroupName: args.resourceGroupName,
                vaultName: vault.name,
                secretName,
                properties: { value: pulumi.secret(secret.value), contentType: "text/plain" },
            }, { ...childOpts, additionalSecretOutputs: ["properties"] });
            for (const reader of secret.readers) {
                const grant = new authorization.RoleAssignment(`${reader.name}-reads-${secretName}`, {
                    scope: stored.id,
                    roleDefinitionId: stored.id.apply((id) => roleDefinitionId(id, KEY_VAULT_SECRETS_USER_ROLE)),
                    principalId: reader.principalId,
                    principalType: "ServicePrincipal",
                }, { ...childOpts, replaceOnChanges: ["principalId"] }); // a new identity (a replaced VM) needs a new assignment
                (grants[reader.name] ??= []).push(grant);
            }
        }

        for (const [secretName, readers] of Object.entries(args.userSecrets ?? {})) {
            // Read before any grant: a missing secret stops the update here, so no VM is deployed without it.
            const secretId = pulumi.all([args.resourceGroupName, vault.name]).apply(async ([resourceGroupName, vaultName]) => {
                try {
                    return (await keyvault.getSecret({ resourceGroupName, vaultName, secretName }, { parent: this })).id;
                } catch (e) {
                    throw new Error(missingAppSecretMessage(vaultName, secretName, readers.map((r) => r.name), e instanceof Error ? e.message : String(e)));
                }
            });
            for (const reader of readers) {
                const grant = new authorization.RoleAssignment(`${reader.name}-reads-${secretName}`, {
                    scope: secretId,
                    roleDefinitionId: secretId.apply((id) => roleDefinitionId(id, KEY_VAULT_SECRETS_USER_ROLE)),
                    principalId: reader.principalId,
                    principalType: "ServicePrincipal",
                }, { ...childOpts, replaceOnChanges: ["principalId"] });
                (grants[reader.name] ??= []).push(grant);
            }
        }

        this.vaultName = vault.name;
        this.vaultUri = vault.properties.apply((p) => p.vaultUri ?? "");
        this.grants = grants;
        this.registerOutputs({ vaultName: this.vaultName, vaultUri: this.vaultUri });
    }
}
