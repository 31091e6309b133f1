#!/usr/bin/env bash
# agent-gate.sh: the health gate as the release agent runs it (components/healthGate.ts generates the wrapper that
# exports the inputs below, writes this file, health-gate.sh, deploy-app.sh and keyvault-secret.sh into
# AGENT_WORK_DIR, and runs this file).
#
# Inputs (environment): GATE_* (see health-gate.sh: color, version, hosts of every VM of the color, port, attempts …,
#                       GATE_SMOKE_CHECKS / GATE_SMOKE_RUNNER: the user's smoke checks and their runner, written
#                       beside this file by the wrapper; empty when the stack has none)
#   APP_COLOR, APP_VERSION                                  the target color and its version
#   TOOLS_URL, TOOLS_SHA256                                 the product's tool bundle (runner + migrations/), pinned
#   KEYVAULT_URL, ADMIN_URL_SECRET (default sql-admin-url)   where the agent reads the administrator's URL
#   AGENT_WORK_DIR                                          this execution's directory on the agent
#
# What it does: fetches and verifies the tool bundle (deploy-app.sh FETCH_ONLY: nothing is switched or started on
# the agent), then runs health-gate.sh against every VM of the color, with the schema check run by the bundle's
# runner over this repository's migrations (`status --json`) as the administrator. The secret is read inside the status command, so it
# never appears in this script's environment, arguments or output.
set -euo pipefail

dir="${AGENT_WORK_DIR:?AGENT_WORK_DIR is set by the wrapper}"
home="$dir/app"
log() { printf 'agent-gate: %s\n' "$*"; }

log "fetching the tool bundle ${TOOLS_SHA256:0:12} for the schema check of ${APP_COLOR:-?} ${APP_VERSION:-?}"
export GATE_APP_DIR="$home/tools-${TOOLS_SHA256:0:12}"
FETCH_ONLY=1 FETCH_DIR="$GATE_APP_DIR" APP_HOME="$home" ARTIFACT_URL="${TOOLS_URL:?TOOLS_URL is set by the wrapper}" ARTIFACT_SHA256="$TOOLS_SHA256" bash "$dir/deploy-app.sh"

# shellcheck disable=SC2016 # expanded by health-gate.sh's `bash -c`, not here: the secret stays out of this process.
export GATE_DB_STATUS_CMD='DATABASE_URL="$(bash "$AGENT_WORK_DIR/keyvault-secret.sh" "$KEYVAULT_URL" "${ADMIN_URL_SECRET:-sql-admin-url}")" node "$GATE_APP_DIR/dist/migrator/cli.js" status --json --dir "$GATE_APP_DIR/migrations"'
exec bash "$dir/health-gate.sh"
