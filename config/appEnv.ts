/**
 * The app's own settings and secrets (config `<color>AppSettings`, `<color>AppSecrets`): each a list of `NAME=value`
 * entries (Pulumi.yaml declares no map type, so a map travels as a list of strings). Pure checks, used by
 * config/validate.ts; deploy-app.sh checks the same names again on the VM.
 */
/** Variables the product sets in the app's environment (docs/app-contract.md §5): an app setting may not replace them. */
export const RESERVED_ENV_NAMES: readonly string[] = ["PORT", "STAGING_PORT", "APP_COLOR", "APP_VERSION", "DATABASE_URL"];

/**
 * The product's own Key Vault secrets (components/lib/agentPlan.ts SECRET_NAMES; a test keeps the two equal, and
 * importing it here would be circular): an app secret may not name them (a VM would then read the administrator's URL).
 */
export const PRODUCT_SECRET_NAMES: readonly string[] = ["sql-admin-url", "app-db-password", "app-database-url"];

/** At most this many settings, and as many secrets, per color; a value holds at most this many characters. */
export const MAX_APP_ENTRIES = 50;
export const MAX_APP_SETTING_LENGTH = 4096;

/** One `NAME=value` entry, split at the first `=`; undefined when there is no `=`. */
export function splitEntry(entry: string): { name: string; value: string } | undefined {
    const at = entry.indexOf("=");
    return at < 0 ? undefined : { name: entry.slice(0, at), value: entry.slice(at + 1) };
}

function nameProblem(name: string): string | undefined {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) return `names "${name}", which is not an environment variable name (a letter or _, then letters, digits, _)`;
    if (RESERVED_ENV_NAMES.includes(name)) return `names ${name}, which the product sets itself (${RESERVED_ENV_NAMES.join(", ")})`;
    return undefined;
}

/**
 * Why a `NAME=value` setting cannot reach the env file, or undefined. The env file is read by systemd and sourced by
 * bash with single-quoted values, so a value holds no single quote, backslash, newline or other control character.
 */
export function appSettingProblem(entry: string): string | undefined {
    const parts = splitEntry(entry);
    if (!parts) return "is not NAME=value";
    const bad = nameProblem(parts.name);
    if (bad) return bad;
    if (parts.value.length > MAX_APP_SETTING_LENGTH) return `has a value of ${parts.value.length} characters (at most ${MAX_APP_SETTING_LENGTH})`;
    // eslint-disable-next-line no-control-regex
    if (/['\\\u0000-\u001f\u007f]/.test(parts.value)) return "has a value with a single quote, a backslash, a newline or another control character, which the env file cannot hold";
    return undefined;
}

/** Why a `NAME=<Key Vault secret name>` app secret is not usable, or undefined. */
export function appSecretProblem(entry: string): string | undefined {
    const parts = splitEntry(entry);
    if (!parts) return "is not NAME=<Key Vault secret name>";
    const bad = nameProblem(parts.name);
    if (bad) return bad;
    if (!/^[0-9A-Za-z-]{1,127}$/.test(parts.value)) return `names the secret "${parts.value}", which is not a Key Vault secret name (1-127 letters, digits and dashes)`;
    if (PRODUCT_SECRET_NAMES.includes(parts.value)) return `names the product's own secret ${parts.value} (${PRODUCT_SECRET_NAMES.join(", ")}), which the app VMs must not read`;
    return undefined;
}

/** The entries as a map (entries already checked). */
export function entriesToMap(entries: readonly string[]): Record<string, string> {
    const map: Record<string, string> = {};
    for (const entry of entries) {
        const parts = splitEntry(entry);
        if (parts) map[parts.name] = parts.value;
    }
    return map;
}

/** Names set twice in the entries, or in both the settings and the secrets. */
export function duplicateNames(settings: readonly string[], secrets: readonly string[]): string[] {
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const entry of [...settings, ...secrets]) {
        const name = splitEntry(entry)?.name;
        if (name === undefined) continue;
        if (seen.has(name)) dup.add(name);
        seen.add(name);
    }
    return [...dup].sort();
}
