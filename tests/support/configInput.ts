import type { ConfigFiles } from "../../config/smokeChecksFile";
import { ConfigError, RawConfig, validateConfig } from "../../config/validate";
import { baseConfig } from "./pulumiProgram";

/** The harness's valid config, as the raw strings the engine hands to the program, with `overrides` on top. */
export function raw(overrides: Record<string, string | undefined> = {}): RawConfig {
    return { ...baseConfig(), ...overrides };
}

/** The ConfigError `validateConfig` throws for `config` (fails the test when it accepts it). */
export function problemsOf(config: RawConfig, files?: ConfigFiles): ConfigError {
    try {
        validateConfig(config, files);
    } catch (e) {
        if (e instanceof ConfigError) return e;
        throw e;
    }
    throw new Error("expected a ConfigError");
}
