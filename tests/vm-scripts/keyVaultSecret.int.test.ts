/**
 * vm-scripts/keyvault-secret.sh run with real bash and curl against a stand-in on 127.0.0.1 playing IMDS and Key Vault
 * (tests/support/keyVaultStandIn.ts): what it asks for, what it prints, and that the secret reaches stdout only.
 */
import { execFileSync, spawn } from "child_process";
import * as path from "path";
import { RunningKeyVaultStandIn, startKeyVaultStandIn, VAULT_RESOURCE, VAULT_TOKEN } from "../../rehearsal/keyVaultStandIn";

const SCRIPT = path.resolve(__dirname, "..", "..", "vm-scripts", "keyvault-secret.sh");
const VALUE = "mssql://admin:Pa55-w0rd-value@sql.example:1433/app";

let kv: RunningKeyVaultStandIn;
beforeAll(async () => (kv = await startKeyVaultStandIn()));
afterAll(() => kv.close());
beforeEach(() => kv.standIn.reset());

interface Run {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

function secret(args: string[], env: Record<string, string> = {}, bashOptions: string[] = []): Promise<Run> {
    const started = Date.now();
    return new Promise((resolve) => {
        const child = spawn("bash", [...bashOptions, SCRIPT, ...args], {
            env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`, IMDS_URL: kv.url, AUTH_RETRY_INTERVAL: "1", ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
    });
}

describe("vm-scripts/keyvault-secret.sh", () => {
    it.each([
        ["with", "/"],
        ["without", ""],
    ])("prints only the value, read with an IMDS token for Key Vault sent as Bearer (vault URL %s a trailing slash)", async (_, slash) => {
        kv.standIn.secrets.set("sql-admin-url", VALUE);
        const r = await secret([`${kv.url}${slash}`, "sql-admin-url"]);
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: VALUE, stderr: "" });
        expect(kv.standIn.tokenRequests).toEqual([{ resource: VAULT_RESOURCE, metadata: "true", clientId: null }]);
        expect(kv.standIn.vaultRequests).toEqual([{ secret: "sql-admin-url", apiVersion: "7.4", authorization: `Bearer ${VAULT_TOKEN}` }]);
    });

    it("asks IMDS for a user-assigned identity's token when IDENTITY_CLIENT_ID is set", async () => {
        kv.standIn.secrets.set("app-database-url", VALUE);
        const r = await secret([kv.url, "app-database-url"], { IDENTITY_CLIENT_ID: "11111111-2222-3333-4444-555555555555" });
        expect(r.code).toBe(0);
        expect(kv.standIn.tokenRequests.map((t) => t.clientId)).toEqual(["11111111-2222-3333-4444-555555555555"]);
    });

    it("passes a value with quotes, shell metacharacters and a newline through byte for byte", async () => {
        const nasty = `a'b"c $(touch /tmp/kv-pwned) \`id\` ;|&<>*?\\ \n second line`;
        kv.standIn.secrets.set("app-db-password", nasty);
        const r = await secret([kv.url, "app-db-password"]);
        expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: nasty });
    });

    it("waits while Key Vault answers 403 (role assignment propagating), saying so without the value, then prints it", async () => {
        kv.standIn.secrets.set("sql-admin-url", VALUE);
        kv.standIn.denyNext = 2;
        const r = await secret([kv.url, "sql-admin-url"], { AUTH_WAIT_SECONDS: "20" });
        expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: VALUE });
        expect(kv.standIn.vaultRequests).toHaveLength(3);
        const waits = r.stderr.trim().split("\n");
        expect(waits).toHaveLength(2);
        expect(waits[0]).toContain(`Key Vault ${kv.url}/ answered 403 for secret sql-admin-url (Forbidden: Caller is not authorized`);
        expect(waits[0]).toContain("role assignment on the vault to propagate (it can take up to 10 minutes); retrying in 1s, for up to 20s");
        expect(r.stderr).not.toContain("Pa55-w0rd-value");
    });

    it("gives up on a 403 after AUTH_WAIT_SECONDS, naming the role to grant", async () => {
        kv.standIn.secrets.set("sql-admin-url", VALUE);
        kv.standIn.denyNext = 1000;
        const r = await secret([kv.url, "sql-admin-url"], { AUTH_WAIT_SECONDS: "2" });
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/still answered 403 for secret sql-admin-url after 2s .*Grant it 'Key Vault Secrets User' on the secret \(or the vault\)/);
        expect(r.ms).toBeLessThan(15_000);
    });

    it("fails at once on a 404, naming the secret and how to create it", async () => {
        const r = await secret([kv.url, "app-database-url"], { AUTH_WAIT_SECONDS: "60" });
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/secret app-database-url is not in Key Vault http:\/\/127\.0\.0\.1:\d+\/ \(404: SecretNotFound: .*\)\. Create it \(az keyvault secret set --vault-name <vault> --name app-database-url/);
        expect(kv.standIn.vaultRequests).toHaveLength(1);
        expect(r.ms).toBeLessThan(10_000);
    });

    it("fails on any other status, naming it and Key Vault's error", async () => {
        kv.standIn.failures.set("odd", 400);
        const r = await secret([kv.url, "odd"]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/Key Vault http:\/\/127\.0\.0\.1:\d+\/ answered HTTP 400 for secret odd \(BadParameter: /);
    });

    it("fails, naming IMDS's error, when IMDS gives no token", async () => {
        const r = await secret([kv.url, "x"], { IMDS_URL: `${kv.url}/no-imds` });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("IMDS answered without an access_token for https://vault.azure.net");
        expect(kv.standIn.vaultRequests).toEqual([]);
    });

    it("prints neither the value nor the token when started with bash -x", async () => {
        kv.standIn.secrets.set("sql-admin-url", VALUE);
        const r = await secret([kv.url, "sql-admin-url"], {}, ["-x"]);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(VALUE);
        expect(r.stderr).not.toContain("Pa55-w0rd-value");
        expect(r.stderr).not.toContain(VAULT_TOKEN);
    });

    it.each([
        [["only-one"], /usage: keyvault-secret.sh <vault-url> <secret-name> \(got 1 arguments\)/],
        [["http://kv-abc.vault.azure.net/", "s"], /vault URL "http:\/\/kv-abc.vault.azure.net\/" is not a Key Vault URI like https:\/\/kv-abc.vault.azure.net\//],
        [["https://kv-abc.vault.azure.net/secrets/x", "s"], /is not a Key Vault URI/],
        [["https://kv-abc.vault.azure.net/", "bad_name"], /secret name "bad_name" is not a Key Vault secret name \(1-127 letters, digits and dashes\)/],
    ])("refuses the arguments %j with exit 2, asking nothing of IMDS", async (args, message) => {
        const r = await secret(args);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(kv.standIn.tokenRequests).toEqual([]);
    });

    it("is clean under shellcheck", () => {
        expect(() => execFileSync("shellcheck", [SCRIPT], { encoding: "utf8" })).not.toThrow();
    });
});
