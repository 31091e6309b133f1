/**
 * The SKU tier Azure SQL Database expects next to a SKU name:
 * Basic → Basic, S<n> → Standard, P<n> → Premium, GP_… → GeneralPurpose, BC_… → BusinessCritical, HS_… → Hyperscale.
 */
export function sqlSkuTier(skuName: string): string {
    if (skuName === "Basic") return "Basic";
    if (/^S\d+$/.test(skuName)) return "Standard";
    if (/^P\d+$/.test(skuName)) return "Premium";
    if (skuName.startsWith("GP_")) return "GeneralPurpose";
    if (skuName.startsWith("BC_")) return "BusinessCritical";
    if (skuName.startsWith("HS_")) return "Hyperscale";
    throw new Error(`"${skuName}" is not an Azure SQL Database SKU name this program knows`);
}

/** Characters random passwords may use besides letters and digits: safe in URLs, ADO connection strings and shells. */
export const PASSWORD_SPECIALS = "-_";

/** Parts of a SQL Server connection URL. */
export interface DatabaseUrlParts {
    readonly host: string;
    readonly database: string;
    readonly user: string;
    readonly password: string;
}

/**
 * A `mssql://` URL as the app and the migration runner read it (dialect from the scheme):
 * `mssql://<user>:<password>@<host>:1433/<database>?encrypt=true`. User and password are URL-encoded.
 */
export function sqlServerUrl(parts: DatabaseUrlParts): string {
    const user = encodeURIComponent(parts.user);
    const password = encodeURIComponent(parts.password);
    return `mssql://${user}:${password}@${parts.host}:1433/${encodeURIComponent(parts.database)}?encrypt=true`;
}
