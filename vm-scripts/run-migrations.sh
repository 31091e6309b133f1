#!/usr/bin/env bash
# run-migrations.sh: runs this repository's schema migrations, from inside the virtual network (the database is
# private). Run as root by an Azure run command on the release agent: a small VM in the VNet that runs no app code
# and whose managed identity alone may read the administrator's credential in Key Vault (components/migrationRun.ts
# generates the wrapper that exports the inputs below, writes deploy-app.sh, keyvault-secret.sh and this file, and
# runs this file). No secret is an input: they are read from Key Vault here, with the agent's identity.
#
# Inputs (environment):
#   MIGRATE_PHASE        expand | contract
#   APP_COLOR            blue | green            the color whose release is migrated for
#   APP_VERSION          semver                  that color's version (for the log; the migrations are the bundle's)
#   TOOLS_URL, TOOLS_SHA256                      the product's tool bundle (the runner and migrations/ of this
#                                                repository, components/lib/toolBundle.ts) and its SHA-256, checked
#                                                before anything in it runs
#   RUNNING_VERSIONS     <v>,<v>                 contract only: the versions both colors run
#   APP_DB_USER          e.g. app_user           expand only: the app's least-privilege database user to ensure
#   KEYVAULT_URL         https://<vault>.vault.azure.net/   the Key Vault holding the secrets below
#   ADMIN_URL_SECRET     default sql-admin-url   the secret holding the administrator's mssql:// URL
#   APP_PASSWORD_SECRET  default app-db-password expand only: the secret holding the app user's password
#   KEYVAULT_SCRIPT      default /var/lib/bluegreen/keyvault-secret.sh, else the copy beside this file
#   IDENTITY_CLIENT_ID, AUTH_WAIT_SECONDS (600)  optional, passed to keyvault-secret.sh (and to deploy-app.sh)
#   LOCK_TIMEOUT_SECONDS optional, default 1800  how long to wait for another runner (the other color's, say)
#
# What it does: the tool bundle is downloaded, verified and unpacked on the agent by deploy-app.sh itself
# (FETCH_ONLY=1: no switch, no restart, no secret), then the secrets are read from Key Vault and the bundle's
# runner runs the bundle's migrations (nothing of the app's artifact runs here): expand = `ensure-app-user` + `up --phase expand`; contract = `up --phase contract --running-versions`
# (contract reads only the administrator's URL). The secrets reach the runner as its environment (DATABASE_URL,
# APP_DB_PASSWORD), never as arguments. Exit 0 when done; non-zero with the runner's or Key Vault's message
# otherwise (the run command then fails the `pulumi up`, and the deployment that depends on it does not start).
# Secrets are never printed.
#
# Overridable for local tests (tests/migrator/runMigrationsScript.int.test.ts): DEPLOY_SCRIPT, KEYVAULT_SCRIPT,
# APP_HOME, NODE.
set -euo pipefail
set +x # holds the administrator's URL: never traced, even when started with bash -x

BG_ROOT="${BG_ROOT:-}"
APP_HOME="${APP_HOME:-$BG_ROOT/opt/app}"
DEPLOY_SCRIPT="${DEPLOY_SCRIPT:-/var/lib/bluegreen/deploy-app.sh}"
NODE="${NODE:-node}"
LOCK_TIMEOUT_SECONDS="${LOCK_TIMEOUT_SECONDS:-1800}"
ADMIN_URL_SECRET="${ADMIN_URL_SECRET:-sql-admin-url}"
APP_PASSWORD_SECRET="${APP_PASSWORD_SECRET:-app-db-password}"
if [ -z "${KEYVAULT_SCRIPT:-}" ]; then                       # default: the installed copy, else the one beside this file
  KEYVAULT_SCRIPT=/var/lib/bluegreen/keyvault-secret.sh
  [ -f "$KEYVAULT_SCRIPT" ] || KEYVAULT_SCRIPT="$(dirname "${BASH_SOURCE[0]}")/keyvault-secret.sh"
fi

log() { printf 'run-migrations: %s\n' "$*"; }
fail() {
  printf 'run-migrations: FAILED: %s\n' "$1" >&2
  exit "${2:-1}"
}

case "${MIGRATE_PHASE:-}" in
  expand) ;;
  contract) [[ "${RUNNING_VERSIONS:-}" =~ ^[0-9A-Za-z.+-]+(,[0-9A-Za-z.+-]+)*$ ]] ||
    fail "RUNNING_VERSIONS=\"${RUNNING_VERSIONS:-}\" must list the versions both colors run, e.g. 2.0.0,2.0.0." 2 ;;
  *) fail "MIGRATE_PHASE=\"${MIGRATE_PHASE:-}\" must be expand or contract." 2 ;;
esac
[ -n "${KEYVAULT_URL:-}" ] ||
  fail "KEYVAULT_URL is empty; the run command passes the URI of the Key Vault holding secret $ADMIN_URL_SECRET." 2
[ -n "${APP_VERSION:-}" ] || fail "APP_VERSION is empty." 2
if [ -z "${TOOLS_URL:-}" ] || [ -z "${TOOLS_SHA256:-}" ]; then
  fail "TOOLS_URL or TOOLS_SHA256 is empty; the run command passes the tool bundle's URL and SHA-256 (components/toolBundle.ts)." 2
fi
[ -f "$DEPLOY_SCRIPT" ] || fail "$DEPLOY_SCRIPT is missing; the run command's wrapper writes it." 2
[ -f "$KEYVAULT_SCRIPT" ] || fail "$KEYVAULT_SCRIPT is missing; the run command's wrapper writes it (vm-scripts/keyvault-secret.sh)." 2

# 1. The tools: downloaded, checksum-verified and unpacked by deploy-app.sh (the one copy of that code).
tools="$APP_HOME/tools-${TOOLS_SHA256:0:12}"
log "fetching the tool bundle ${TOOLS_SHA256:0:12} (deploy-app.sh, FETCH_ONLY)"
FETCH_ONLY=1 FETCH_DIR="$tools" APP_HOME="$APP_HOME" ARTIFACT_URL="$TOOLS_URL" ARTIFACT_SHA256="$TOOLS_SHA256" bash "$DEPLOY_SCRIPT"
[ -f "$tools/dist/migrator/cli.js" ] ||
  fail "$tools has no dist/migrator/cli.js: $TOOLS_URL is not a tool bundle of this product (components/lib/toolBundle.ts)."

# 2. The secrets, read with the agent's identity into the runner's environment (read keeps the exact value, and
# does not show it even under tracing). secret <variable> <secret-name>
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
secret() {
  bash "$KEYVAULT_SCRIPT" "$KEYVAULT_URL" "$2" >"$work/secret" ||
    fail "could not read $1 (secret $2) from Key Vault $KEYVAULT_URL; see above. Nothing ran against the database." "$?"
  IFS= read -r -d '' "$1" <"$work/secret" || true
  rm -f "$work/secret"
  export "${1?}"
}
log "reading the administrator's URL (secret $ADMIN_URL_SECRET) from Key Vault $KEYVAULT_URL"
secret DATABASE_URL "$ADMIN_URL_SECRET"
if [ "$MIGRATE_PHASE" = expand ]; then
  log "reading the app user's password (secret $APP_PASSWORD_SECRET) from Key Vault $KEYVAULT_URL"
  secret APP_DB_PASSWORD "$APP_PASSWORD_SECRET"
else
  unset APP_DB_PASSWORD # contract needs no password: the runner gets only what it uses
fi

# 3. The product's runner and this repository's migrations, as the administrator.
cd "$tools"
db() {
  "$NODE" dist/migrator/cli.js "$@" --dir migrations --lock-timeout "$LOCK_TIMEOUT_SECONDS"
}
if [ "$MIGRATE_PHASE" = expand ]; then
  log "ensuring the app's database user ${APP_DB_USER:-app_user}"
  db ensure-app-user --user "${APP_DB_USER:-app_user}"
  log "expand migrations of $APP_VERSION"
  db up --phase expand
else
  log "contract migrations of $APP_VERSION (running versions: $RUNNING_VERSIONS)"
  db up --phase contract --running-versions "$RUNNING_VERSIONS"
fi
db status
log "done"
