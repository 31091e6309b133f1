/**
 * An access token of the VM's managed identity from the Azure Instance Metadata Service (IMDS), as the shell scripts
 * get theirs (vm-scripts/keyvault-secret.sh, deploy-app.sh) — for code that runs on the release agent in Node (the
 * automatic flip-back, release/flipBack.ts). Node built-ins only: the agent runs it from the tool bundle.
 *
 * IMDS answers 429 when asked too often and 5xx while the identity is being set up; Microsoft's guidance is to retry
 * those with backoff, which this does a bounded number of times. A 400 (no identity on the VM, or a client id that is
 * not assigned to it) is not retried.
 */

/** Where IMDS listens on every Azure VM. */
export const IMDS_ENDPOINT = "http://169.254.169.254";
/** The resource of Azure Resource Manager's tokens (trailing slash as Azure CLI asks for it). */
export const ARM_RESOURCE = "https://management.azure.com/";

export interface ImdsTokenOptions {
    /** IMDS's base URL (a stand-in in tests and the rehearsal). @default {@link IMDS_ENDPOINT} */
    readonly endpoint?: string;
    /** A user-assigned identity's client id. @default the system-assigned identity */
    readonly clientId?: string;
    /** Tries in all (429/5xx/no answer are retried). @default 3 */
    readonly tries?: number;
    /** First backoff, doubled each retry. @default 300 */
    readonly backoffMs?: number;
    /** One request's timeout. @default 5000 */
    readonly timeoutMs?: number;
    /** @default setTimeout */
    readonly sleep?: (ms: number) => Promise<void>;
}

/** The access token for `resource` (e.g. {@link ARM_RESOURCE}); rejects with what IMDS answered and the fix. */
export async function imdsToken(resource: string, options: ImdsTokenOptions = {}): Promise<string> {
    const endpoint = (options.endpoint ?? IMDS_ENDPOINT).replace(/\/+$/, "");
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const query = new URLSearchParams({ "api-version": "2018-02-01", resource });
    if (options.clientId) query.set("client_id", options.clientId);
    const url = `${endpoint}/metadata/identity/oauth2/token?${query.toString()}`;
    const tries = Math.max(1, options.tries ?? 3);
    let last = "";
    for (let attempt = 1; attempt <= tries; attempt++) {
        let retryable: boolean;
        try {
            const res = await fetch(url, { headers: { Metadata: "true" }, signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
            const text = await res.text();
            if (res.ok) {
                const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
                if (typeof token === "string" && token) return token;
                last = `IMDS answered ${res.status} without an access_token`;
                retryable = false;
            } else {
                last = `IMDS answered ${res.status}: ${text.slice(0, 300)}`;
                retryable = res.status === 429 || res.status >= 500;
            }
        } catch (e) {
            last = `no answer from IMDS at ${endpoint}: ${(e as Error).message}`;
            retryable = true;
        }
        if (!retryable || attempt === tries) break;
        await sleep((options.backoffMs ?? 300) * 2 ** (attempt - 1));
    }
    throw new Error(`no managed-identity token for ${resource}: ${last}. Does this VM have a system-assigned identity? ` +
        `(\`az vm identity show -g <resource group> -n <agent vm>\`; the program gives the release agent one: components/releaseAgent.ts)`);
}
