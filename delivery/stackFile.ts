/**
 * From a stack file's text (Pulumi.<stack>.yaml) to what the release guard compares: pure functions.
 * Validation is the program's own (config/validate.ts); the release state is what release/guard.ts judges.
 */
import * as YAML from "yaml";
import { ConfigError, RawConfig, StackConfig, validateConfig } from "../config/validate";
import { ReleaseState } from "../release/guard";
import { colorStateOf } from "../components/releaseGuard";

/** Shown instead of a secure (encrypted) value, which this check cannot and need not decrypt. */
export const SECRET_PLACEHOLDER = "[secret]";

/**
 * The raw config of a stack file as the Pulumi engine would hand it to the program: keys of the project's own
 * namespace without the `<project>:` prefix, other namespaces (`azure-native:location`) in full; scalars as
 * strings, lists and maps as JSON. Throws when the text is not a YAML stack file.
 */
export function rawConfigFromStackFile(text: string, project: string): RawConfig {
    const doc: unknown = YAML.parse(text);
    if (doc === null || doc === undefined) return {};
    if (typeof doc !== "object" || Array.isArray(doc)) throw new Error("the stack file is not a YAML mapping");
    const config: unknown = (doc as { config?: unknown }).config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new Error("the stack file's `config:` is not a mapping of keys to values");
    }
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
        const name = key.startsWith(`${project}:`) ? key.slice(project.length + 1) : key;
        raw[name] = configValueToString(value);
    }
    return raw;
}

function configValueToString(value: unknown): string {
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    if (typeof value === "object" && value !== null && !Array.isArray(value) && "secure" in value) return SECRET_PLACEHOLDER;
    return JSON.stringify(value);
}

/**
 * The release state a validated stack config asks for (without the flip history, which git or the guard keeps):
 * each color as the program's guard sees it (`colorStateOf` of components/releaseGuard.ts).
 */
export function releaseStateOf(config: StackConfig): ReleaseState {
    return {
        liveColor: config.liveColor,
        blue: colorStateOf(config.colors.blue, undefined, config),
        green: colorStateOf(config.colors.green, undefined, config),
        runContractMigrations: config.runContractMigrations,
    };
}

/** A stack file read and validated: either the config and its release state, or why it is invalid. */
export type ParsedStackFile =
    | { readonly ok: true; readonly config: StackConfig; readonly state: ReleaseState; readonly raw: RawConfig }
    | { readonly ok: false; readonly error: string; readonly raw?: RawConfig };

/** Reads and validates a stack file's text with the program's own validation (config/validate.ts). */
export function parseStackFile(text: string, project: string): ParsedStackFile {
    let raw: RawConfig;
    try {
        raw = rawConfigFromStackFile(text, project);
    } catch (e) {
        return { ok: false, error: `not a valid stack file: ${(e as Error).message}` };
    }
    try {
        const config = validateConfig(raw);
        return { ok: true, config, state: releaseStateOf(config), raw };
    } catch (e) {
        if (e instanceof ConfigError) return { ok: false, error: e.message, raw };
        throw e;
    }
}

/** The keys whose raw value differs between two raw configs, sorted. */
export function changedKeys(before: RawConfig, after: RawConfig): string[] {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].filter((k) => before[k] !== after[k]).sort();
}

