#!/usr/bin/env bash
# agent-gate.sh: the health gate as the release agent runs it (components/healthGate.ts generates the wrapper that
# exports the inputs below, writes this file, health-gate.sh, deploy-app.sh and keyvault-secret.sh into
# AGENT_WORK_DIR, and runs this file).
#
# Inputs (environment): GATE_* (see health-gate.sh: color, version, hosts of every VM of the color, port, attempts …)
#   APP_COLOR, APP_VERSION, ARTIFACT_URL, ARTIFACT_SHA256   the target color's release (its migrations and runner)
#   KEYVAULT_URL, ADMIN_URL_SECRET (default sql-admin-url)   where the agent reads the administrator's URL
#   AGENT_WORK_DIR                                          this execution's directory on the agent
#
# What it does: fetches and verifies the target color's artifact (deploy-app.sh FETCH_ONLY: nothing is switched or
# started on the agent), then runs health-gate.sh against every VM of the color, with the schema check run by that
# release's own runner (`status --json`) as the administrator. The secret is read inside the status command, so it
# never appears in this script's environment, arguments or output.
set -euo pipefail

dir="${AGENT_WORK_DIR:?AGENT_WORK_DIR is set by the wrapper}"
home="$dir/app"
log() { printf 'agent-gate: %s\n' "$*"; }

log "fetching release ${APP_VERSION:-?} of ${APP_COLOR:-?} for the schema check"
FETCH_ONLY=1 APP_HOME="$home" bash "$dir/deploy-app.sh"

export GATE_APP_DIR="$home/releases/$APP_VERSION"
# shellcheck disable=SC2016 # expanded by health-gate.sh's `bash -c`, not here: the secret stays out of this process.
export GATE_DB_STATUS_CMD='DATABASE_URL="$(bash "$AGENT_WORK_DIR/keyvault-secret.sh" "$KEYVAULT_URL" "${ADMIN_URL_SECRET:-sql-admin-url}")" node "$GATE_APP_DIR/dist/migrator/cli.js" status --json --dir "$GATE_APP_DIR/migrations"'
exec bash "$dir/health-gate.sh"
