import { Color, COLORS } from "../../release/colors";

/** One VM that reads the app's own secrets of its color (its logical name carries the color, e.g. `green-vm-0`). */
export interface AppSecretReaderVm<P> {
    readonly name: string;
    readonly principalId: P;
}

/**
 * Who reads which of the app's own secrets: each color's VMs read exactly the Key Vault secrets its `<color>AppSecrets`
 * names (a secret both colors name is read by both). Secret name → readers, in name order.
 */
export function appSecretReaders<P>(
    appSecrets: Readonly<Record<Color, Readonly<Record<string, string>> | undefined>>,
    vms: Readonly<Record<Color, readonly AppSecretReaderVm<P>[]>>,
): Record<string, AppSecretReaderVm<P>[]> {
    const readers: Record<string, AppSecretReaderVm<P>[]> = {};
    for (const color of COLORS) {
        for (const secretName of [...new Set(Object.values(appSecrets[color] ?? {}))].sort()) {
            (readers[secretName] ??= []).push(...vms[color].map((vm) => ({ name: vm.name, principalId: vm.principalId })));
        }
    }
    return Object.fromEntries(Object.keys(readers).sort().map((name) => [name, readers[name]]));
}

/** The command that puts (or rotates) a secret in the stack's vault, through Azure Resource Manager. */
export function putSecretCommand(vaultName: string, secretName: string): string {
    return `az rest --method put --url "https://management.azure.com$(az keyvault show --name ${vaultName} --query id -o tsv)/secrets/${secretName}?api-version=2023-07-01" --body @secret.json  # secret.json: {"properties":{"value":"..."}}`;
}

/** Why the program stops when an app secret is not in the vault: nothing is granted or deployed to the VMs that read it. */
export function missingAppSecretMessage(vaultName: string, secretName: string, readers: readonly string[], cause: string): string {
    return `the app secret ${secretName} is not in Key Vault ${vaultName} (${cause.replace(/\s+/g, " ").slice(0, 200)}), and ${readers.join(", ")} ` +
        `should read it (<color>AppSecrets). Nothing was granted or deployed to them; the running releases keep serving. Put it into the vault: ` +
        `${putSecretCommand(vaultName, secretName)}, then run pulumi up again (or remove it from <color>AppSecrets).`;
}
