/**
 * An existing Azure SQL database (config existingSqlDatabaseId): the program declares no server or database, adds the
 * VNet rule on the existing server, keeps the login's password secret, and the release guard refuses switching
 * between a created and an existing database (a sequence of updates carrying state, tests/support/pulumiProgram.ts).
 */
import { baseConfig, isSecretValue, ofType, ProgramRun, reveal, runProgram } from "../support/pulumiProgram";

const T = {
    sqlServer: "azure-native:sql:Server",
    sqlDb: "azure-native:sql:Database",
    vnetRule: "azure-native:sql:VirtualNetworkRule",
    secret: "azure-native:keyvault:Secret",
    password: "random:index/randomPassword:RandomPassword",
} as const;

const SUB = "11111111-2222-3333-4444-555555555555";
const ID = `/subscriptions/${SUB}/resourceGroups/legacy-rg/providers/Microsoft.Sql/servers/contoso-sql/databases/goals`;
const PASSWORD = "Adm1n-S3cret-Value";

const existing = (id = ID) => ({
    "azure-bluegreen:existingSqlDatabaseId": id,
    "azure-bluegreen:existingSqlAdminLogin": "sqladmin",
    "azure-bluegreen:existingSqlAdminPassword": PASSWORD,
});

const declaresNoServerOrDatabase = (run: ProgramRun): void => {
    expect(ofType(run, T.sqlServer)).toEqual([]);
    expect(ofType(run, T.sqlDb)).toEqual([]);
};

let onExisting: Promise<ProgramRun> | undefined;
/** The first deploy on an existing database, run once for the tests that start from it. */
function firstDeployOnExisting(): Promise<ProgramRun> {
    onExisting ??= runProgram(baseConfig(existing()));
    return onExisting;
}

describe("an existing Azure SQL database", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await firstDeployOnExisting();
    }, 60_000);

    it("declares no sql:Server, no sql:Database and no administrator password", () => {
        expect(run.error).toBeUndefined();
        expect(run.failures).toEqual([]);
        declaresNoServerOrDatabase(run);
        expect(ofType(run, T.password).map((r) => r.name)).toEqual(["sql-app-password"]);
    });

    it("adds the VNet rule for the app subnet on the existing server, in its resource group", () => {
        const [rule] = ofType(run, T.vnetRule);
        expect(rule.inputs).toMatchObject({ serverName: "contoso-sql", resourceGroupName: "legacy-rg", ignoreMissingVnetServiceEndpoint: false });
        expect(String(rule.inputs.virtualNetworkSubnetId)).toMatch(/net-app-subnet$/);
    });

    it("points the release agent at it with the configured login, the password only as a secret, and says so in the outputs", () => {
        const admin = ofType(run, T.secret).find((s) => s.inputs.secretName === "sql-admin-url");
        expect(admin).toBeDefined();
        const properties = admin!.inputs.properties as Record<string, unknown>;
        expect(isSecretValue(properties) || isSecretValue(properties.value)).toBe(true);
        expect(String((reveal(properties) as { value: unknown }).value)).toMatch(/^mssql:\/\/sqladmin:.+@contoso-sql\.database\.windows\.net:1433\/goals\?encrypt=true/);
        expect(JSON.stringify(run.outputs)).not.toContain(PASSWORD);
        expect(run.outputs).toMatchObject({ sqlServerFqdn: "contoso-sql.database.windows.net", databaseName: "goals", databaseSource: `existing:${ID}` });
    });
});

describe("existing-database config", () => {
    it.each([
        ["a login without a database", { "azure-bluegreen:existingSqlAdminLogin": "sqladmin" }, /existingSqlAdminLogin = "sqladmin" is set but existingSqlDatabaseId is not[\s\S]*pulumi config rm existingSqlAdminLogin/],
        ["a database without its password", { "azure-bluegreen:existingSqlDatabaseId": ID, "azure-bluegreen:existingSqlAdminLogin": "sqladmin" }, /existingSqlAdminPassword is not set, and existingSqlDatabaseId is[\s\S]*pulumi config set --secret existingSqlAdminPassword/],
        ["a server ID instead of a database ID", { ...existing(ID.replace("/databases/goals", "")) }, /existingSqlDatabaseId = ".*contoso-sql" is not an Azure SQL database resource ID[\s\S]*az sql db show/],
        ["the master database", { ...existing(ID.replace("/goals", "/master")) }, /names the master database/],
    ])("refuses %s, naming the key and the fix, before declaring anything", async (_label, values, message) => {
        const bad = await runProgram(baseConfig(values));
        expect(bad.error?.message).toMatch(message);
        expect(bad.error?.message).not.toContain(PASSWORD);
        expect(bad.resources).toEqual([]);
    });
});

describe("switching between a created and an existing database (updates carrying state)", () => {
    it("refuses created → existing in the guard, before the plan could delete the created server and database", async () => {
        const created = await runProgram(baseConfig());
        expect(created.failures).toEqual([]);
        expect(ofType(created, T.sqlServer)).toHaveLength(1);
        const toExisting = await runProgram(baseConfig(existing()), { previous: created });
        expect(toExisting.failures?.join("\n")).toMatch(/created its Azure SQL server and database; the config now names an existing one[\s\S]*refused, nothing was changed[\s\S]*pulumi config rm existingSqlDatabaseId/);
    }, 120_000);

    it("lets release steps through on an existing database, and refuses going back to a created one", async () => {
        const first = await firstDeployOnExisting();
        expect(first.failures).toEqual([]);
        const bumped = { ...existing(), greenVersion: "1.1.0", greenArtifactSha256: "c".repeat(64) };
        const bump = await runProgram(baseConfig(bumped), { previous: first });
        expect(bump.failures).toEqual([]);
        declaresNoServerOrDatabase(bump);
        const { "azure-bluegreen:existingSqlDatabaseId": _id, "azure-bluegreen:existingSqlAdminLogin": _login, "azure-bluegreen:existingSqlAdminPassword": _pw, ...withoutExisting } = bumped;
        const toCreated = await runProgram(baseConfig(withoutExisting), { previous: bump });
        const escaped = ID.replace(/[/.]/g, "\\$&");
        expect(toCreated.failures?.join("\n")).toMatch(new RegExp(`uses the existing database ${escaped}; without existingSqlDatabaseId[\\s\\S]*pulumi config set existingSqlDatabaseId ${escaped}`));
    }, 120_000);
});
