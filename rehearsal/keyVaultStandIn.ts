/**
 * A stand-in for IMDS (tokens for https://vault.azure.net) and Azure Key Vault (GET /secrets/<name>?api-version=7.4),
 * for running vm-scripts/keyvault-secret.sh and the scripts that call it against 127.0.0.1. `handle` plugs into a
 * larger stand-in server (tests/app/deployScript.int.test.ts and rehearsal/localVm.ts add blob storage); `startKeyVaultStandIn` serves alone.
 */
import * as http from "http";

export const VAULT_TOKEN = "token-for-key-vault";
export const VAULT_RESOURCE = "https://vault.azure.net";

export interface VaultRequest {
    readonly secret: string;
    readonly apiVersion: string | null;
    readonly authorization?: string;
}

export interface TokenRequest {
    readonly resource: string | null;
    readonly metadata?: string | string[];
    readonly clientId: string | null;
}

export class KeyVaultStandIn {
    /** secret name → value; a name not here answers 404 SecretNotFound. */
    readonly secrets = new Map<string, string>();
    readonly tokenRequests: TokenRequest[] = [];
    readonly vaultRequests: VaultRequest[] = [];
    /** How many secret requests still answer 403, as Key Vault does until a new role assignment applies. */
    denyNext = 0;
    /** secret name → an error status Key Vault answers for it (e.g. 400 BadParameter). */
    readonly failures = new Map<string, number>();

    reset(): void {
        this.secrets.clear();
        this.tokenRequests.length = 0;
        this.vaultRequests.length = 0;
        this.denyNext = 0;
        this.failures.clear();
    }

    /** Answers IMDS token requests for Key Vault and Key Vault secret requests; false for anything else. */
    handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
        const url = new URL(req.url ?? "/", "http://standin");
        if (url.pathname === "/metadata/identity/oauth2/token" && url.searchParams.get("resource") === VAULT_RESOURCE) {
            this.tokenRequests.push({ resource: url.searchParams.get("resource"), metadata: req.headers.metadata, clientId: url.searchParams.get("client_id") });
            const ok = req.headers.metadata === "true";
            res.writeHead(ok ? 200 : 400, { "content-type": "application/json" });
            res.end(ok ? JSON.stringify({ access_token: VAULT_TOKEN, expires_in: "3599", resource: VAULT_RESOURCE, token_type: "Bearer" }) : '{"error":"invalid_request","error_description":"Required metadata header not specified"}');
            return true;
        }
        const secret = /^\/secrets\/([^/]+)$/.exec(url.pathname)?.[1];
        if (secret === undefined) return false;
        this.vaultRequests.push({ secret, apiVersion: url.searchParams.get("api-version"), authorization: req.headers.authorization });
        const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
        if (req.headers.authorization !== `Bearer ${VAULT_TOKEN}`) {
            json(401, { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } });
        } else if (this.denyNext > 0) {
            this.denyNext--;
            json(403, { error: { code: "Forbidden", message: "Caller is not authorized to perform action on resource.", innererror: { code: "ForbiddenByRbac" } } });
        } else if (this.failures.has(secret)) {
            json(this.failures.get(secret) ?? 500, { error: { code: "BadParameter", message: "The request was refused by the stand-in." } });
        } else if (url.searchParams.get("api-version") !== "7.4" || !this.secrets.has(secret)) {
            json(404, { error: { code: "SecretNotFound", message: `A secret with (name/id) ${secret} was not found in this key vault.` } });
        } else {
            json(200, { value: this.secrets.get(secret), id: `https://kv-test.vault.azure.net/secrets/${secret}/0123456789abcdef`, attributes: { enabled: true } });
        }
        return true;
    }
}

export interface RunningKeyVaultStandIn {
    readonly standIn: KeyVaultStandIn;
    /** http://127.0.0.1:<port>: both the IMDS_URL and the vault URL. */
    readonly url: string;
    close(): Promise<void>;
}

export async function startKeyVaultStandIn(): Promise<RunningKeyVaultStandIn> {
    const standIn = new KeyVaultStandIn();
    const server = http.createServer((req, res) => {
        if (!standIn.handle(req, res)) res.writeHead(404).end("not a Key Vault or IMDS path");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    return { standIn, url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
