/**
 * The Debian packages the rehearsal needs (HAProxy, PostgreSQL, curl for the health gate): installed with apt-get
 * when missing and running as root, otherwise a clear error with the exact command.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { findHaproxy } from "./haproxy";
import { findPostgresBin } from "./postgres";

/** A Debian package and how to tell it is installed. */
export interface Prerequisite {
    readonly pkg: string;
    readonly installed: () => boolean;
}

export const PREREQUISITES: readonly Prerequisite[] = [
    { pkg: "haproxy", installed: () => findHaproxy() !== undefined },
    { pkg: "postgresql", installed: () => findPostgresBin() !== undefined },
    { pkg: "curl", installed: () => ["/usr/bin/curl", "/bin/curl", "/usr/local/bin/curl"].some((p) => fs.existsSync(p)) },
];

/** The command that installs `pkgs` (with sudo when not root). */
export function installCommand(pkgs: readonly string[], isRoot: boolean): string {
    const sudo = isRoot ? "" : "sudo ";
    return `${sudo}apt-get update && ${sudo}apt-get install -y ${pkgs.join(" ")}`;
}

/**
 * Installs what is missing when root (printing what it does); throws with the exact command otherwise.
 * Does nothing when everything is there.
 */
export function ensurePrerequisites(print: (line: string) => void, prerequisites = PREREQUISITES): void {
    const missing = prerequisites.filter((p) => !p.installed()).map((p) => p.pkg);
    if (missing.length === 0) return;
    const isRoot = process.getuid?.() === 0;
    const command = installCommand(missing, isRoot);
    if (!isRoot) {
        throw new Error(`The rehearsal needs the Debian package(s) ${missing.join(", ")}, which are not installed. Install them with:\n  ${command}`);
    }
    print(`installing ${missing.join(", ")}: ${command}`);
    for (const args of [["update", "-qq"], ["install", "-y", "-qq", ...missing]]) {
        const r = spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
        if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${r.status}); run it yourself: ${command}`);
    }
    const still = prerequisites.filter((p) => !p.installed()).map((p) => p.pkg);
    if (still.length > 0) throw new Error(`${still.join(", ")} still missing after apt-get install; install by hand: ${command}`);
}
