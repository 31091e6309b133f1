/**
 * The stack's smoke checks file (config `smokeChecksFile`, docs/smoke-checks.md): a YAML list of requests with
 * expected answers, read from the repository when the program starts and checked with release/smokeChecks.ts before
 * any resource is declared. Pulumi's project config cannot declare a list of maps (its item types are string,
 * integer, boolean and array), so the checks live in a file the stack names: structured, with comments, reviewed with
 * the code, and the same file the local rehearsal reads.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { parseSmokeChecks, showValue, SmokeCheck } from "../release/smokeChecks";
import type { ConfigProblem } from "./validate";

/** Where config files are read from: the repository (the directory of Pulumi.yaml). */
export interface ConfigFiles {
    /** The text of a file given relative to the repository, or undefined when there is none. */
    read(relativePath: string): string | undefined;
}

/** The repository's files as the program sees them (`root`: the directory of Pulumi.yaml). */
export function repositoryFiles(root: string = path.resolve(__dirname, "..")): ConfigFiles {
    return {
        read: (relativePath) => {
            const file = path.resolve(root, relativePath);
            return fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, "utf8") : undefined;
        },
    };
}

/** Why `value` is not a path of a smoke checks file in the repository, or undefined when it is one. */
export function smokeChecksPathProblem(value: string): string | undefined {
    if (value.startsWith("/") || /^[A-Za-z]:/.test(value)) return "is an absolute path (Pulumi Deployments and CI run in a checkout: name a file of the repository)";
    if (value.split(/[\\/]/).includes("..")) return "leaves the repository (..)";
    if (!/\.(ya?ml|json)$/.test(value)) return "is not a .yaml, .yml or .json file";
    return undefined;
}

/**
 * The checks of the file `file` (relative to the repository), or the problems found, each a config problem naming
 * `smokeChecksFile`, the file, the check's field, the value and the fix.
 */
export function readSmokeChecksFile(file: string, files: ConfigFiles): { checks: SmokeCheck[]; problems: ConfigProblem[] } {
    const key = `smokeChecksFile (${file})`;
    const docs = "docs/smoke-checks.md";
    const text = files.read(file);
    if (text === undefined) {
        return { checks: [], problems: [{ key, value: file, reason: "names a file that does not exist in the repository", allowed: `a YAML file of smoke checks, relative to the directory of Pulumi.yaml (${docs})`, fix: `create ${file} (e.g. copy app/smoke-checks.yaml), or pulumi config rm smokeChecksFile` }] };
    }
    const doc = parseDocument(text, { prettyErrors: false });
    if (doc.errors.length > 0) {
        const e = doc.errors[0];
        return { checks: [], problems: [{ key, value: file, reason: `is not valid YAML: ${e.message.split("\n")[0]}`, allowed: `a YAML list of smoke checks (${docs})`, fix: `edit ${file} (line ${e.linePos?.[0]?.line ?? "?"})` }] };
    }
    const { checks, issues } = parseSmokeChecks(doc.toJS() as unknown);
    const problems: ConfigProblem[] = issues.map((i) => ({
        key: `${key}${i.at}${i.check !== undefined ? ` (check "${i.check}")` : ""}`,
        value: i.value === undefined ? undefined : typeof i.value === "string" ? i.value : showValue(i.value),
        reason: i.value === undefined ? "is not set" : i.reason,
        allowed: i.allowed,
        fix: `edit ${file}: ${i.example.replace(/\n/g, "; ")} (${docs})`,
    }));
    return { checks, problems };
}
