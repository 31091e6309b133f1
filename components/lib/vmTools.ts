/**
 * The product's own files on the app VMs — vm-scripts/deploy-app.sh, keyvault-secret.sh, app-contract.js (the
 * app contract's checks, transpiled from release/appContract.ts) and local-proxy.js (the local proxy, from
 * release/localProxy.ts), sent with every deployment, and
 * vm-scripts/provision/cloud-init.yaml (the VMs' customData) — as one short content hash.
 *
 * A change to them reaches a color only through a release step: each color's state in the release guard records the
 * hash its VMs run (`settings.vmTools`), so a merge that changes these files is a change of every color that follows
 * the repository — and the guard refuses it on the live color, naming the pin that keeps the live color as it is
 * (`pulumi config set <live>VmTools <its hash>`). A color pinned to another hash than this checkout's keeps what it
 * has: the program does not send it the new files (components/appDeployment.ts and colorSet.ts ignore the changed
 * inputs), and the guard refuses any other deployment change on it, since the program could only send the new files.
 */
import { createHash } from "crypto";
import { readVmScript } from "./vmScripts";

/** The app-VM files whose content the hash covers (relative to vm-scripts/). */
export const VM_TOOL_FILES = ["deploy-app.sh", "keyvault-secret.sh", "provision/cloud-init.yaml", "app-contract.js", "local-proxy.js"] as const;

/** Hex digits of the hash (short enough to read in a plan and type in a command, long enough never to collide). */
export const VM_TOOLS_HASH_LENGTH = 12;

/** The hash of the given file texts (in {@link VM_TOOL_FILES} order). */
export function vmToolsHash(texts: Readonly<Record<string, string>>): string {
    const h = createHash("sha256");
    for (const file of VM_TOOL_FILES) h.update(`${file}\0${texts[file] ?? ""}\0`);
    return h.digest("hex").slice(0, VM_TOOLS_HASH_LENGTH);
}

/** The committed files' hash (this checkout's). */
export function currentVmToolsHash(): string {
    return vmToolsHash(Object.fromEntries(VM_TOOL_FILES.map((f) => [f, readVmScript(f)])));
}
