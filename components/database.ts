import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as sql from "@pulumi/azure-native/sql";
import { PASSWORD_SPECIALS, sqlServerUrl, sqlSkuTier } from "./lib/sql";
import { childOptions } from "./lib/childOptions";

export interface DatabaseArgs {
    /** Resource group of the server and database. */
    readonly resourceGroupName: pulumi.Input<string>;
    /** Azure region. */
    readonly location: pulumi.Input<string>;
    /** The app subnet: the only network admitted (VNet rule; the subnet has the Microsoft.Sql service endpoint). */
    readonly appSubnetId: pulumi.Input<string>;
    /**
     * Azure SQL Database SKU name, e.g. `S0`, `GP_Gen5_2`.
     * @default "S0"
     */
    readonly skuName?: string;
    /**
     * Protect the database from deletion by Pulumi (`protect: true`).
     * @default true
     */
    readonly protect?: boolean;
    /**
     * SQL administrator login (set at creation; used only by migrations, never by the app).
     * @default "sqladmin"
     */
    readonly administratorLogin?: string;
    /**
     * Name of the least-privilege contained database user the app logs in as (created by the migration step).
     * @default "app_user"
     */
    readonly appUser?: string;
    /**
     * Use this existing Azure SQL database instead of creating a server and database: no `sql:Server`,
     * `sql:Database` or administrator password is declared (so none is ever created, replaced or deleted, on
     * `pulumi destroy` either); the VNet rule is added to its server. `skuName`, `protect` and
     * `administratorLogin` do not apply.
     * @default undefined (create them)
     */
    readonly existing?: ExistingDatabaseArgs;
}

/** An existing database (config `existingSqlDatabaseId`) and the login migrations run as. */
export interface ExistingDatabaseArgs {
    /** The database's resource ID (shown in the plan). */
    readonly id: string;
    readonly resourceGroupName: string;
    readonly serverName: string;
    readonly databaseName: string;
    readonly administratorLogin: string;
    /** Secret. */
    readonly administratorPassword: pulumi.Input<string>;
}

/** The public-cloud host name of an Azure SQL server (what `fullyQualifiedDomainName` is for a created one). */
export function sqlServerFqdn(serverName: string): string {
    return `${serverName}.database.windows.net`;
}

/**
 * The shared Azure SQL server and database of both colors. Reachable only from the app subnet (VNet rule,
 * no IP firewall rule at all), TLS 1.2 minimum. Generates the administrator password and the password of the
 * app's contained user; both are secret outputs of this component and are NOT exported from the stack.
 * With `existing`, declares neither server nor database (an existing one is used as it is): only the VNet rule on
 * its server and the app's password; the administrator password is the one given.
 */
export class Database extends pulumi.ComponentResource {
    public readonly serverName: pulumi.Output<string>;
    public readonly serverFqdn: pulumi.Output<string>;
    public readonly databaseName: pulumi.Output<string>;
    public readonly administratorLogin: string;
    /** Secret. */
    public readonly administratorPassword: pulumi.Output<string>;
    public readonly appUser: string;
    /** Secret. */
    public readonly appPassword: pulumi.Output<string>;
    /** Secret: `mssql://` URL of the app user (what the VMs get as DATABASE_URL). */
    public readonly appDatabaseUrl: pulumi.Output<string>;
    /** Secret: `mssql://` URL of the administrator (for the migration step only). */
    public readonly adminDatabaseUrl: pulumi.Output<string>;
    /**
     * The VNet rule that admits the app subnet: until Azure has it, a login from a VM is refused for its address.
     * Everything that connects to the database (migration runs, app deployments, the gate) depends on it.
     */
    public readonly reachable: pulumi.Resource;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("bluegreen:database:Database", name, {}, opts);
        const childOpts = childOptions(this, opts);
        this.administratorLogin = args.existing?.administratorLogin ?? args.administratorLogin ?? "sqladmin";
        this.appUser = args.appUser ?? "app_user";
        const skuName = args.skuName ?? "S0";

        const passwordRules = { length: 32, minUpper: 2, minLower: 2, minNumeric: 2, minSpecial: 2, overrideSpecial: PASSWORD_SPECIALS };
        const appPassword = new random.RandomPassword(`${name}-app-password`, passwordRules, childOpts);

        let serverName: pulumi.Output<string>;
        let serverFqdn: pulumi.Output<string>;
        let databaseName: pulumi.Output<string>;
        let adminPasswordValue: pulumi.Input<string>;
        const existing = args.existing;
        if (existing) {
            // Nothing of the server or database is declared: the plan lists only the VNet rule below.
            pulumi.log.info(
                `Database: using the existing Azure SQL database ${existing.id}. This stack declares no sql:Server or sql:Database, ` +
                    "so it never creates, replaces or deletes them (pulumi destroy removes only the VNet rule it added); it adds the " +
                    "VNet rule for the app subnet, and the release agent adds the app's user and the migration journal.",
                this,
            );
            serverName = pulumi.output(existing.serverName);
            serverFqdn = pulumi.output(sqlServerFqdn(existing.serverName));
            databaseName = pulumi.output(existing.databaseName);
            adminPasswordValue = existing.administratorPassword;
        } else {
            const adminPassword = new random.RandomPassword(`${name}-admin-password`, passwordRules, childOpts);
            const server = new sql.Server(`${name}-server`, {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                version: "12.0",
                administratorLogin: this.administratorLogin,
                administratorLoginPassword: pulumi.secret(adminPassword.result),
                minimalTlsVersion: "1.2",
                // Service-endpoint (VNet rule) traffic uses the public endpoint, so it must stay "Enabled";
                // with no IP firewall rule declared, the VNet rule below is the only way in.
                publicNetworkAccess: "Enabled",
                restrictOutboundNetworkAccess: "Disabled",
            }, { ...childOpts, additionalSecretOutputs: ["administratorLoginPassword"] });
            const db = new sql.Database(`${name}-db`, {
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                serverName: server.name,
                sku: { name: skuName, tier: sqlSkuTier(skuName) },
            }, { ...childOpts, protect: args.protect ?? true });
            serverName = server.name;
            serverFqdn = server.fullyQualifiedDomainName;
            databaseName = db.name;
            adminPasswordValue = adminPassword.result;
        }

        this.reachable = new sql.VirtualNetworkRule(`${name}-app-subnet-rule`, {
            resourceGroupName: existing?.resourceGroupName ?? args.resourceGroupName,
            serverName,
            virtualNetworkSubnetId: args.appSubnetId,
            ignoreMissingVnetServiceEndpoint: false,
        }, childOpts);

        this.serverName = serverName;
        this.serverFqdn = serverFqdn;
        this.databaseName = databaseName;
        this.administratorPassword = pulumi.secret(adminPasswordValue);
        this.appPassword = pulumi.secret(appPassword.result);
        this.appDatabaseUrl = pulumi.secret(pulumi.all([serverFqdn, databaseName, appPassword.result])
            .apply(([host, database, password]) => sqlServerUrl({ host, database, user: this.appUser, password })));
        this.adminDatabaseUrl = pulumi.secret(pulumi.all([serverFqdn, databaseName, adminPasswordValue])
            .apply(([host, database, password]) => sqlServerUrl({ host, database, user: this.administratorLogin, password })));
        this.registerOutputs({
            serverName: this.serverName,
            serverFqdn: this.serverFqdn,
            databaseName: this.databaseName,
            administratorPassword: this.administratorPassword,
            appPassword: this.appPassword,
        });
    }
}
