import * as pulumi from "@pulumi/pulumi";
import { repositoryFiles } from "./smokeChecksFile";
import { CONFIG_KEYS, LOCATION_KEY, RawConfig, SECRET_SET, StackConfig, validateConfig } from "./validate";

/** Config keys whose value is a secret: only whether they are set reaches validation, never the value. */
const SECRET_KEYS = new Set(["existingSqlAdminPassword"]);

/** The validated config, plus the secrets the program needs (as secret Outputs). */
export interface LoadedStackConfig extends StackConfig {
    /** The existing database's login password (with `existingDatabase`): a secret Output, never a plain string. */
    readonly existingDatabasePassword?: pulumi.Output<string>;
}

/**
 * Reads every project key and `azure-native:location` from the stack, as raw strings, and validates them (the smoke
 * checks file, when one is named, from the repository).
 * The ONLY place the program reads `pulumi.Config`. Throws a ConfigError listing every bad key before
 * any resource is declared.
 */
export function loadStackConfig(): LoadedStackConfig {
    const project = new pulumi.Config();
    const azure = new pulumi.Config("azure-native");
    const raw: Record<string, string | undefined> = {};
    for (const { key } of CONFIG_KEYS) {
        if (!SECRET_KEYS.has(key)) raw[key] = project.get(key);
        // Read without Config.get (which warns on a secret) and never handed on: only "set" or not.
        else raw[key] = (pulumi.runtime.getConfig(`${pulumi.getProject()}:${key}`) ?? "") === "" ? undefined : SECRET_SET;
    }
    raw[LOCATION_KEY] = azure.get("location");
    const config = validateConfig(raw as RawConfig, repositoryFiles());
    if (!config.existingDatabase) return config;
    return { ...config, existingDatabasePassword: project.requireSecret("existingSqlAdminPassword") };
}
