import * as fs from "node:fs";
import * as path from "node:path";

/** The repository's `vm-scripts/` folder (scripts that run on the VMs). */
export const VM_SCRIPTS_DIR = path.resolve(__dirname, "..", "..", "vm-scripts");

/**
 * The text of `vm-scripts/<relativePath>`, read when the program runs (so `pulumi up` always ships the
 * committed script). Throws naming the path when the file is missing.
 */
export function readVmScript(relativePath: string): string {
    const file = path.join(VM_SCRIPTS_DIR, relativePath);
    if (!fs.existsSync(file)) throw new Error(`VM script ${file} is missing; it is part of the repository (vm-scripts/${relativePath}).`);
    return fs.readFileSync(file, "utf8");
}
