#!/usr/bin/env bash
# keyvault-secret.sh <vault-url> <secret-name>: prints the value of one Azure Key Vault secret on stdout, and nothing
# else there. Read with this VM's managed identity (an IMDS token for https://vault.azure.net), so no secret travels in
# a run command's parameters or an extension's settings. Used by deploy-app.sh (the app's connection URL) and
# run-migrations.sh (the administrator's URL, the app user's password).
#
#   <vault-url>    the vault's URI, e.g. https://kv-abc.vault.azure.net/ (trailing slash optional; plain http only to
#                  127.0.0.1/localhost, for tests)
#   <secret-name>  1-127 letters, digits and dashes
# Environment (all optional): IMDS_URL (default http://169.254.169.254), IDENTITY_CLIENT_ID (a user-assigned identity;
# empty = system-assigned), AUTH_WAIT_SECONDS (600: how long a 401/403 is retried, as a new role assignment can take
# up to 10 minutes to apply), AUTH_RETRY_INTERVAL (15), KEYVAULT_API_VERSION (7.4), NODE (node: parses the JSON).
#
# The value is never printed anywhere but stdout: not in errors (which name the vault, the secret and the HTTP
# status), not under bash -x (tracing is switched off below), and the token goes to curl in a header file.
# Exit 0 with the value; 1 when Key Vault refuses or fails; 2 on bad arguments.
set -euo pipefail
set +x # handles a token and a secret: never traced, even when started with bash -x
umask 077

IMDS_URL="${IMDS_URL:-http://169.254.169.254}"
IDENTITY_CLIENT_ID="${IDENTITY_CLIENT_ID:-}"
AUTH_WAIT_SECONDS="${AUTH_WAIT_SECONDS:-600}"
AUTH_RETRY_INTERVAL="${AUTH_RETRY_INTERVAL:-15}"
KEYVAULT_API_VERSION="${KEYVAULT_API_VERSION:-7.4}"
NODE="${NODE:-node}"

fail() {
  printf 'keyvault-secret: FAILED: %s\n' "$1" >&2
  exit "${2:-1}"
}

[ $# -eq 2 ] || fail "usage: keyvault-secret.sh <vault-url> <secret-name> (got $# arguments)." 2
vault="$1"
name="$2"
[[ "$vault" =~ ^https://[A-Za-z0-9.-]+(:[0-9]+)?/?$ || "$vault" =~ ^http://(127\.0\.0\.1|localhost)(:[0-9]+)?/?$ ]] ||
  fail "vault URL \"$vault\" is not a Key Vault URI like https://kv-abc.vault.azure.net/ (KEYVAULT_URL: the vault's properties.vaultUri)." 2
[[ "$name" =~ ^[0-9A-Za-z-]{1,127}$ ]] ||
  fail "secret name \"$name\" is not a Key Vault secret name (1-127 letters, digits and dashes)." 2
vault="${vault%/}/"
command -v "$NODE" >/dev/null || fail "$NODE is not installed on this VM; it parses Key Vault's JSON (cloud-init installs nodejs)."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# json <file> <key> [prefix]: prints prefix + the non-empty string at key, else exits 1 silently.
# json_error <file>: what an Azure error body says ("code: message"), never anything else of the body.
json() {
  "$NODE" -e '
    const [file, key, prefix = ""] = process.argv.slice(1);
    let v;
    try { v = JSON.parse(require("fs").readFileSync(file, "utf8"))[key]; } catch { /* not JSON */ }
    if (typeof v !== "string" || v === "") process.exit(1);
    process.stdout.write(prefix + v);' "$@"
}
json_error() {
  # shellcheck disable=SC2016 # JavaScript, not shell: the template literals must reach node unexpanded.
  "$NODE" -e '
    let j = {};
    try { j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); } catch { /* not JSON */ }
    const e = j && typeof j.error === "object" && j.error ? `${j.error.code}: ${j.error.message}` : j && j.error ? `${j.error}: ${j.error_description}` : "no error details";
    process.stdout.write(String(e).replace(/\s+/g, " ").slice(0, 300));' "$1"
}

# ---- token for Key Vault -----------------------------------------------------------------------------------------
token_url="$IMDS_URL/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
if [ -n "$IDENTITY_CLIENT_ID" ]; then token_url="$token_url&client_id=$IDENTITY_CLIENT_ID"; fi
curl -sS --retry 5 --retry-delay 2 --retry-connrefused --max-time 30 -H 'Metadata: true' -o "$work/token.json" "$token_url" ||
  fail "no managed-identity token from IMDS ($IMDS_URL) for Key Vault. Does this VM have a managed identity?"
json "$work/token.json" access_token 'Authorization: Bearer ' >"$work/auth-header" ||
  fail "IMDS answered without an access_token for https://vault.azure.net ($(json_error "$work/token.json")). Does this VM have a managed identity?"

# ---- the secret: a new role assignment can take up to 10 minutes to apply, so 401/403 are retried -------------------
url="${vault}secrets/$name?api-version=$KEYVAULT_API_VERSION"
deadline=$((SECONDS + AUTH_WAIT_SECONDS))
while :; do
  code="$(curl -sS --retry 5 --retry-delay 2 --retry-connrefused --max-time 30 -o "$work/body" -w '%{http_code}' \
    -H "@$work/auth-header" "$url")" ||
    fail "could not reach Key Vault $vault for secret $name (network error above): is the vault reachable from this VM?"
  if [ "$code" != 401 ] && [ "$code" != 403 ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
  printf 'keyvault-secret: Key Vault %s answered %s for secret %s (%s): waiting for this VM'\''s role assignment on the vault to propagate (it can take up to 10 minutes); retrying in %ss, for up to %ss in all\n' \
    "$vault" "$code" "$name" "$(json_error "$work/body")" "$AUTH_RETRY_INTERVAL" "$AUTH_WAIT_SECONDS" >&2
  sleep "$AUTH_RETRY_INTERVAL"
done
case "$code" in
  200) json "$work/body" value || fail "Key Vault $vault answered 200 for secret $name without a value (an empty secret?). Set a value: az keyvault secret set --vault-name <vault> --name $name ..." ;;
  404) fail "secret $name is not in Key Vault $vault (404: $(json_error "$work/body")). Create it (az keyvault secret set --vault-name <vault> --name $name --file <file>), or pass the right secret name, and re-run." ;;
  401 | 403) fail "Key Vault $vault still answered $code for secret $name after ${AUTH_WAIT_SECONDS}s ($(json_error "$work/body")): this VM's identity may not read it. Grant it 'Key Vault Secrets User' on the secret (or the vault) and re-run." ;;
  *) fail "Key Vault $vault answered HTTP $code for secret $name ($(json_error "$work/body"))." ;;
esac
