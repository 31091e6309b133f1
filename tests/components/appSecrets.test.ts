/**
 * The app's own secrets and settings through the whole program under mocks: who is granted which secret, what the
 * deployments carry (names, never a value), and a secret the user has not put into the vault.
 */
import { appSecretReaders, missingAppSecretMessage } from "../../components/lib/appSecrets";
import { AzureStandIn } from "../support/azureStandIn";
import { baseConfig, byName, ofType, ProgramRun, RegisteredResource, reveal, runProgram } from "../support/pulumiProgram";

const ROLE = "azure-native:authorization:RoleAssignment";
const EXT = "azure-native:compute:VirtualMachineExtension";
const SECRET_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6";

function deploymentScript(ext: RegisteredResource): string {
    const protectedSettings = reveal(ext.inputs.protectedSettings) as { script: string };
    return Buffer.from(protectedSettings.script, "base64").toString("utf8");
}

const OWN = {
    blueInstanceCount: "2",
    greenInstanceCount: "2",
    greenAppSettings: JSON.stringify(["LOG_LEVEL=debug", "FEATURE_X=on"]),
    greenAppSecrets: JSON.stringify(["STRIPE_KEY=stripe-key", "MAIL_PASSWORD=mail-password"]),
    blueAppSecrets: JSON.stringify(["STRIPE_KEY=stripe-key-old"]),
};

describe("the app's own secrets in the program", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram(baseConfig(OWN));
        if (run.error) throw run.error;
    });

    it("grants each color's VMs 'Key Vault Secrets User' on exactly the secrets of its color, each on that one secret", () => {
        const grants = ofType(run, ROLE).filter((r) => /-reads-(stripe|mail)/.test(r.name)).map((r) => r.name).sort();
        expect(grants).toEqual([
            "blue-vm-0-reads-stripe-key-old", "blue-vm-1-reads-stripe-key-old",
            "green-vm-0-reads-mail-password", "green-vm-0-reads-stripe-key",
            "green-vm-1-reads-mail-password", "green-vm-1-reads-stripe-key",
        ]);
        const grant = byName(run, "green-vm-1-reads-stripe-key");
        expect(grant.inputs.scope).toMatch(/\/providers\/Microsoft.KeyVault\/vaults\/[^/]+\/secrets\/stripe-key$/);
        expect(grant.inputs.roleDefinitionId).toMatch(new RegExp(`/roleDefinitions/${SECRET_USER_ROLE}$`));
        // The same identity that reads the app's connection URL on that VM, not another VM's.
        expect(grant.inputs.principalId).toBe(byName(run, "green-vm-1-reads-app-database-url").inputs.principalId);
        expect(grant.inputs.principalId).not.toBe(byName(run, "green-vm-0-reads-app-database-url").inputs.principalId);
        expect(grant.inputs.principalType).toBe("ServicePrincipal");
    });

    it("never holds a value of the app's secrets: no Key Vault secret is declared for them", () => {
        const declared = ofType(run, "azure-native:keyvault:Secret").map((r) => r.inputs.secretName).sort();
        expect(declared).toEqual(["app-database-url", "app-db-password", "sql-admin-url"]);
    });

    it("hands each color's deployment its own settings and the secrets' names, nothing of the other color's", () => {
        const green = deploymentScript(byName(run, "green-deploy-1"));
        expect(green).toContain("export APP_SETTINGS='FEATURE_X=on\nLOG_LEVEL=debug'\n");
        expect(green).toContain("export APP_SECRETS='MAIL_PASSWORD=mail-password\nSTRIPE_KEY=stripe-key'\n");
        const blue = deploymentScript(byName(run, "blue-deploy-0"));
        expect(blue).not.toContain("APP_SETTINGS"); // unset: the wrapper stays as it was before the feature
        expect(blue).toContain("export APP_SECRETS='STRIPE_KEY=stripe-key-old'\n");
        expect(blue).not.toContain("LOG_LEVEL");
    });

    it("makes each deployment wait for its VM's grants on the app's secrets", () => {
        const ext = byName(run, "green-deploy-0");
        const grantUrns = ["green-vm-0-reads-stripe-key", "green-vm-0-reads-mail-password"].map((n) => byName(run, n).urn);
        expect(ext.dependencies).toEqual(expect.arrayContaining(grantUrns));
    });
});

describe("an app secret the user has not put into the vault", () => {
    it("stops the update with the secret, its readers and the command that puts it there; no grant, no deployment of that color", async () => {
        const azure = new AzureStandIn();
        azure.missingSecrets.add("mail-password");
        const run = await runProgram(baseConfig(OWN), { azure });
        const failures = (run.failures ?? []).join("\n");
        expect(failures).toContain("the app secret mail-password is not in Key Vault");
        expect(failures).toContain("green-vm-0, green-vm-1 should read it");
        expect(failures).toMatch(/az rest --method put --url "https:\/\/management.azure.com\$\(az keyvault show --name [^ ]+ --query id -o tsv\)\/secrets\/mail-password\?api-version=2023-07-01"/);
        expect(ofType(run, ROLE).filter((r) => r.name.endsWith("-reads-mail-password"))).toEqual([]);
        expect(ofType(run, EXT).filter((r) => r.name.startsWith("green-deploy"))).toEqual([]);
    });
});

describe("appSecretReaders (pure)", () => {
    it("gives each secret the VMs of the colors that name it, a shared secret both", () => {
        const vms = { blue: [{ name: "blue-vm-0", principalId: "b0" }], green: [{ name: "green-vm-0", principalId: "g0" }, { name: "green-vm-1", principalId: "g1" }] };
        expect(appSecretReaders({ blue: { A: "shared", B: "blue-only" }, green: { A: "shared" } }, vms)).toEqual({
            "blue-only": [{ name: "blue-vm-0", principalId: "b0" }],
            shared: [{ name: "blue-vm-0", principalId: "b0" }, { name: "green-vm-0", principalId: "g0" }, { name: "green-vm-1", principalId: "g1" }],
        });
        expect(appSecretReaders({ blue: undefined, green: undefined }, vms)).toEqual({});
    });

    it("names the fix in its message", () => {
        expect(missingAppSecretMessage("kv1", "s1", ["blue-vm-0"], "404 Not\nFound")).toContain("(404 Not Found), and blue-vm-0 should read it");
    });
});
