import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, LOCATION_KEY, RawConfig, StackConfig, validateConfig } from "./validate";

/**
 * Reads every project key and `azure-native:location` from the stack, as raw strings, and validates them.
 * The ONLY place the program reads `pulumi.Config`. Throws a ConfigError listing every bad key before
 * any resource is declared.
 */
export function loadStackConfig(): StackConfig {
    const project = new pulumi.Config();
    const azure = new pulumi.Config("azure-native");
    const raw: Record<string, string | undefined> = {};
    for (const { key } of CONFIG_KEYS) raw[key] = project.get(key);
    raw[LOCATION_KEY] = azure.get("location");
    return validateConfig(raw as RawConfig);
}
