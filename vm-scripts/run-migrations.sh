#!/usr/bin/env bash
# run-migrations.sh: runs the schema migrations a release carries, from inside the virtual network (the database is
# private). Run as root by an Azure run command on VM 0 of a color (components/migrationRun.ts generates the wrapper
# that exports the inputs below, writes deploy-app.sh and this file, and runs this file).
#
# Inputs (environment):
#   MIGRATE_PHASE        expand | contract
#   APP_COLOR            blue | green            the color whose VM runs this (deploy-app.sh checks it)
#   APP_VERSION          semver                  the release whose artifact carries the migrations and the runner
#   ARTIFACT_URL, ARTIFACT_SHA256                where that artifact is, and its SHA-256 (checked before use)
#   RUNNING_VERSIONS     <v>,<v>                 contract only: the versions both colors run
#   APP_DB_USER          e.g. app_user           expand only: the app's least-privilege database user to ensure
#   ADMIN_DATABASE_URL   secret                  the administrator's mssql:// URL (a protected parameter)
#   APP_DB_PASSWORD      secret                  expand only: the app user's password (a protected parameter)
#   LOCK_TIMEOUT_SECONDS optional, default 1800  how long to wait for another runner (the other color's, say)
#
# What it does: the artifact is downloaded, verified and unpacked by deploy-app.sh itself (FETCH_ONLY=1: no switch,
# no restart; the later deployment of this version on this VM reuses the verified release), then the release's own
# runner runs: expand = `ensure-app-user` + `up --phase expand`; contract = `up --phase contract --running-versions`.
# Exit 0 when done; non-zero with the runner's message otherwise (the run command then fails the `pulumi up`, and the
# deployment that depends on it does not start). Secrets are never printed.
#
# Overridable for local tests (tests/migrator/runMigrationsScript.int.test.ts): DEPLOY_SCRIPT, APP_HOME, NODE.
set -euo pipefail

BG_ROOT="${BG_ROOT:-}"
APP_HOME="${APP_HOME:-$BG_ROOT/opt/app}"
DEPLOY_SCRIPT="${DEPLOY_SCRIPT:-/var/lib/bluegreen/deploy-app.sh}"
NODE="${NODE:-node}"
LOCK_TIMEOUT_SECONDS="${LOCK_TIMEOUT_SECONDS:-1800}"

log() { printf 'run-migrations: %s\n' "$*"; }
fail() {
  printf 'run-migrations: FAILED: %s\n' "$1" >&2
  exit "${2:-1}"
}

case "${MIGRATE_PHASE:-}" in
  expand) [ -n "${APP_DB_PASSWORD:-}" ] || fail "APP_DB_PASSWORD is empty; components/migrationRun.ts passes it as a protected parameter." 2 ;;
  contract) [[ "${RUNNING_VERSIONS:-}" =~ ^[0-9A-Za-z.+-]+(,[0-9A-Za-z.+-]+)*$ ]] ||
    fail "RUNNING_VERSIONS=\"${RUNNING_VERSIONS:-}\" must list the versions both colors run, e.g. 2.0.0,2.0.0." 2 ;;
  *) fail "MIGRATE_PHASE=\"${MIGRATE_PHASE:-}\" must be expand or contract." 2 ;;
esac
[ -n "${ADMIN_DATABASE_URL:-}" ] || fail "ADMIN_DATABASE_URL is empty; components/migrationRun.ts passes it as a protected parameter." 2
[ -n "${APP_VERSION:-}" ] || fail "APP_VERSION is empty." 2
[ -f "$DEPLOY_SCRIPT" ] || fail "$DEPLOY_SCRIPT is missing; the run command's wrapper writes it." 2

# 1. The release: downloaded, checksum-verified and unpacked by deploy-app.sh (the one copy of that code).
log "fetching release $APP_VERSION (deploy-app.sh, FETCH_ONLY)"
FETCH_ONLY=1 DATABASE_URL=fetch-only APP_HOME="$APP_HOME" bash "$DEPLOY_SCRIPT"
release="$APP_HOME/releases/$APP_VERSION"
[ -f "$release/dist/migrator/cli.js" ] ||
  fail "$release has no dist/migrator/cli.js: the artifact of $APP_VERSION was not built with npm run app:pack (it carries the runner)."

# 2. The release's own runner and migrations, as the administrator.
cd "$release"
db() {
  DATABASE_URL="$ADMIN_DATABASE_URL" "$NODE" dist/migrator/cli.js "$@" --dir migrations --lock-timeout "$LOCK_TIMEOUT_SECONDS"
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
