#!/usr/bin/env bash
# deploy-app.sh: installs one release of the app on this VM and (re)starts it. Run as root by the Custom Script
# extension (components/appDeployment.ts wraps it: the wrapper exports the inputs below, then runs this file).
# The app is any app that follows the contract (docs/app-contract.md): a tar.gz with bluegreen.json at its root.
#
# Inputs (environment):
#   APP_COLOR         blue | green                      the color this VM belongs to
#   APP_VERSION       semver, e.g. 1.4.2                the version to run (must be the version in the artifact's bluegreen.json)
#   ARTIFACT_URL      https://<account>.blob.core.windows.net/<container>/app-<version>.tgz
#                     (fetched with the VM's managed identity; a URL carrying a SAS token (`sig=`) is fetched as is)
#   ARTIFACT_SHA256   64 hex digits                     checked BEFORE anything on the VM changes
#   KEYVAULT_URL      https://<vault>.vault.azure.net/  the Key Vault holding the app's connection URL
#   DATABASE_URL_SECRET  default app-database-url       the secret's name; its value (the app user's connection URL)
#                     is read with the VM's managed identity by keyvault-secret.sh and written to the env file only,
#                     never printed. It must not hold a single quote or a newline (URL-encode them: ' is %27).
#   APP_SETTINGS      optional: the app's own settings (config <color>AppSettings), one NAME=value a line, written to
#                     the env file as they are
#   APP_SECRETS       optional: the app's own secrets (config <color>AppSecrets), one NAME=<Key Vault secret name> a
#                     line; each value is read like the connection URL (keyvault-secret.sh, this VM's identity) and
#                     written to the env file only. A secret that cannot be read fails the deploy before anything
#                     changes, naming it and the command that puts it into the vault.
#   KEYVAULT_SCRIPT   default /var/lib/bluegreen/keyvault-secret.sh, else the copy beside this file
#   IDENTITY_CLIENT_ID  optional: a user-assigned identity's client ID (empty = system-assigned), for both tokens
#   APP_PORT, APP_STAGING_PORT                          optional (8080 / 8081): where the local proxy listens (the load
#                     balancer's production and staging backend ports); the app gets its slot's port as PORT
#   PROXY_MAX_CONNECTION_AGE_MS  default 30000          a client connection older than this is closed after its next answer
#   APP_CONTRACT      default /var/lib/bluegreen/app-contract.js, else the copy beside this file: the contract's checks
#                     (release/appContract.ts, transpiled by the program), run with the product's Node.js
#   FETCH_ONLY        1 = only download, verify and unpack a bundle of the product's (the release agent's tools,
#                     vm-scripts/run-migrations.sh) into FETCH_DIR (default releases/<version>); no manifest, no Key
#                     Vault (KEYVAULT_URL is not read), nothing switched or started
#
# What it does: connection URL and the app's secrets from Key Vault → IMDS token → download (x-ms-version) → verify
# SHA-256 → check the archive and its bluegreen.json against the contract (app-contract.js check: refused before
# anything changes) → unpack to $APP_HOME/releases/<version> → install the manifest's runtime packages and haproxy →
# start the release BESIDE the running one, in the other slot (a: port 9101, b: 9102; its own env file app-<slot>.env,
# mode 600, and unit bluegreen-app-<slot>.service written from the manifest) → wait (the manifest's
# startTimeoutSeconds) until that unit's process runs from the release directory and answers the manifest's
# healthPath with 200 on the slot's port → switch the local proxy (HAProxy on the load balancer's ports 8080/8081,
# release/localProxy.ts, docs/local-proxy.md) to that slot at run time → check the proxy answers → `current` → the
# old slot's in-flight requests finish (counted by the proxy, at most stopTimeoutSeconds), then it is stopped
# (SIGTERM, SIGKILL after stopTimeoutSeconds, without holding this run). Exit 0 when the VM serves the release,
# non-zero with the reason otherwise. Re-running with the same inputs while the app answers correctly is a no-op.
# A bad checksum, a missing artifact or a refused one leaves the running release, `current`, the units and the env
# files untouched; a release that never becomes healthy is stopped and the proxy never leaves the old one.
#
# Re-running it picks up a changed secret (a rotated password, a new version of an app secret): the env file changes,
# so the app restarts.
#
# Overridable for local tests (tests/app/deployScript.int.test.ts): every path and host below.
set -euo pipefail
set +x # holds the app's connection URL: never traced, even when started with bash -x

BG_ROOT="${BG_ROOT:-}"                                     # prefix for /opt and /etc (a temp dir in tests)
APP_HOME="${APP_HOME:-$BG_ROOT/opt/app}"                   # releases/<version>, current -> releases/<version>
APP_ENV_DIR="${APP_ENV_DIR:-$BG_ROOT/etc/bluegreen}"      # app-a.env / app-b.env: each slot's environment (mode 600)
LEGACY_UNIT="bluegreen-app.service"                        # the unit of releases deployed before the local proxy
# The local proxy (release/localProxy.ts, docs/local-proxy.md): HAProxy on the load balancer's ports, in front of slot
# a (SLOT_PORT_A) and slot b (SLOT_PORT_B), where releases run side by side.
PROXY_DIR="${PROXY_DIR:-$BG_ROOT/etc/bluegreen/proxy}"     # haproxy.cfg, slot.map (which slot serves)
PROXY_RUN_DIR="${PROXY_RUN_DIR:-$BG_ROOT/var/lib/bluegreen/proxy}"
PROXY_SOCKET="$PROXY_RUN_DIR/admin.sock"                   # its runtime API (root only)
PROXY_MAP="$PROXY_DIR/slot.map"
PROXY_RELEASES="$PROXY_DIR/releases.map"                  # what each slot runs: the x-served-by header's <color>@<version>
PROXY_LATENCY_LUA="$PROXY_DIR/latency.lua"                # the proxy's latency histogram (/metrics/latency on the metrics port)
PROXY_UNIT="${PROXY_UNIT:-bluegreen-proxy.service}"
PROXY_PACKAGE="${PROXY_PACKAGE:-haproxy}"
HAPROXY="${HAPROXY:-/usr/sbin/haproxy}"
PROXY_USER="${PROXY_USER-haproxy}"                         # HAProxy drops to it after binding (empty: stays as started)
PROXY_MAX_CONNECTION_AGE_MS="${PROXY_MAX_CONNECTION_AGE_MS:-30000}"
PROXY_METRICS_PORT="${PROXY_METRICS_PORT:-8405}"           # GET /metrics: Prometheus text of what the proxy saw
PROXY_SERVED_BY="${PROXY_SERVED_BY-$(hostname 2>/dev/null || true)}" # the x-served-by header (empty: none)
SLOT_PORT_A="${SLOT_PORT_A:-9101}"
SLOT_PORT_B="${SLOT_PORT_B:-9102}"
UNIT_DIR="${UNIT_DIR:-$BG_ROOT/etc/systemd/system}"
APP_USER="${APP_USER:-app}"                                # the service user (vm-scripts/provision/cloud-init.yaml)
SYSTEMCTL="${SYSTEMCTL:-systemctl}"
APT_GET="${APT_GET:-apt-get}"                              # installs the manifest's runtimePackages
DPKG_QUERY="${DPKG_QUERY:-dpkg-query}"
NODE="${NODE:-node}"                                       # the product's Node.js (cloud-init), not the app's runtime
IMDS_URL="${IMDS_URL:-http://169.254.169.254}"
IDENTITY_CLIENT_ID="${IDENTITY_CLIENT_ID:-}"               # a user-assigned identity; empty = system-assigned
STORAGE_API_VERSION="${STORAGE_API_VERSION:-2021-08-06}"   # the x-ms-version header blob storage requires with OAuth
HEALTH_HOST="${HEALTH_HOST:-127.0.0.1}"
WAIT_SECONDS="${WAIT_SECONDS:-}"                           # how long the new process has to become healthy (default: the manifest's startTimeoutSeconds)
KEEP_RELEASES="${KEEP_RELEASES:-3}"                        # old releases kept besides the current one
CLOUD_INIT="${CLOUD_INIT:-cloud-init}"                     # waited for when present (provisioning may still run)
AUTH_WAIT_SECONDS="${AUTH_WAIT_SECONDS:-600}"               # how long a 401/403 is retried: a new role assignment can take up to 10 minutes to apply
AUTH_RETRY_INTERVAL="${AUTH_RETRY_INTERVAL:-15}"
DATABASE_URL_SECRET="${DATABASE_URL_SECRET:-app-database-url}"
if [ -z "${KEYVAULT_SCRIPT:-}" ]; then                       # default: the installed copy, else the one beside this file
  KEYVAULT_SCRIPT=/var/lib/bluegreen/keyvault-secret.sh
  [ -f "$KEYVAULT_SCRIPT" ] || KEYVAULT_SCRIPT="$(dirname "${BASH_SOURCE[0]}")/keyvault-secret.sh"
fi
if [ -z "${LOCAL_PROXY:-}" ]; then
  LOCAL_PROXY=/var/lib/bluegreen/local-proxy.js
  [ -f "$LOCAL_PROXY" ] || LOCAL_PROXY="$(dirname "${BASH_SOURCE[0]}")/local-proxy.js"
fi
if [ -z "${APP_CONTRACT:-}" ]; then
  APP_CONTRACT=/var/lib/bluegreen/app-contract.js
  [ -f "$APP_CONTRACT" ] || APP_CONTRACT="$(dirname "${BASH_SOURCE[0]}")/app-contract.js"
fi

log() { printf 'deploy-app: %s\n' "$*"; }
fail() {
  printf 'deploy-app: FAILED: %s\n' "$1" >&2
  exit "${2:-1}"
}

# ---- inputs ---------------------------------------------------------------------------------------------------
[ "${APP_COLOR:-}" = blue ] || [ "${APP_COLOR:-}" = green ] ||
  fail "APP_COLOR=\"${APP_COLOR:-}\" must be blue or green (set by components/appDeployment.ts)." 2
[[ "${APP_VERSION:-}" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] ||
  fail "APP_VERSION=\"${APP_VERSION:-}\" is not a semantic version (e.g. 1.4.2); set blueVersion/greenVersion with pulumi config set." 2
[[ "${ARTIFACT_SHA256:-}" =~ ^[0-9a-fA-F]{64}$ ]] ||
  fail "ARTIFACT_SHA256=\"${ARTIFACT_SHA256:-}\" is not a SHA-256 (64 hex digits); use the content of app-${APP_VERSION}.tgz.sha256." 2
[[ "${ARTIFACT_URL:-}" =~ ^https?:// ]] ||
  fail "ARTIFACT_URL=\"${ARTIFACT_URL:-}\" is not an http(s) URL of app-${APP_VERSION}.tgz." 2
fetch_only=false
if [ "${FETCH_ONLY:-}" = 1 ]; then fetch_only=true; fi
if ! $fetch_only; then
  [ -n "${KEYVAULT_URL:-}" ] ||
    fail "KEYVAULT_URL is empty; the deployment passes the URI of the Key Vault holding secret $DATABASE_URL_SECRET." 2
  [ -f "$KEYVAULT_SCRIPT" ] || fail "$KEYVAULT_SCRIPT is missing; it ships with this file (vm-scripts/keyvault-secret.sh)." 2
  [ -f "$APP_CONTRACT" ] || fail "$APP_CONTRACT is missing; it ships with this file (release/appContract.ts, transpiled by the program)." 2
  [ -f "$LOCAL_PROXY" ] || fail "$LOCAL_PROXY is missing; it ships with this file (release/localProxy.ts, transpiled by the program)." 2
fi
ARTIFACT_SHA256="$(printf '%s' "$ARTIFACT_SHA256" | tr 'A-F' 'a-f')"

# The app's own settings and secrets (config/appEnv.ts checks the same before anything is declared).
RESERVED_NAMES=" PORT STAGING_PORT APP_COLOR APP_VERSION DATABASE_URL "
setting_names=() setting_values=() secret_envs=() secret_names=() secret_values=()
seen_names=" "
env_name_ok() {
  [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail "$2 \"$1\" is not an environment variable name (a letter or _, then letters, digits, _); fix ${APP_COLOR}$3 in the stack config." 2
  [[ "$RESERVED_NAMES" != *" $1 "* ]] || fail "$2 $1 is set by the product itself (${RESERVED_NAMES# }); use another name in ${APP_COLOR}$3." 2
  [[ "$seen_names" != *" $1 "* ]] || fail "$2 $1 is set twice; keep one entry in ${APP_COLOR}AppSettings / ${APP_COLOR}AppSecrets." 2
  seen_names="$seen_names$1 "
}
while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  [[ "$entry" == *=* ]] || fail "app setting \"${entry%%=*}\" is not NAME=value; fix ${APP_COLOR}AppSettings." 2
  env_name_ok "${entry%%=*}" "app setting" AppSettings
  setting_names+=("${entry%%=*}")
  setting_values+=("${entry#*=}")
done <<<"${APP_SETTINGS:-}"
while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  [[ "$entry" =~ ^[A-Za-z_][A-Za-z0-9_]*=[0-9A-Za-z-]{1,127}$ ]] ||
    fail "app secret \"$entry\" is not NAME=<Key Vault secret name>; fix ${APP_COLOR}AppSecrets." 2
  env_name_ok "${entry%%=*}" "app secret" AppSecrets
  secret_envs+=("${entry%%=*}")
  secret_names+=("${entry#*=}")
done <<<"${APP_SECRETS:-}"
vault_name="${KEYVAULT_URL:-}"
vault_name="${vault_name#*://}"
vault_name="${vault_name%%[.:/]*}"
# The command that puts a secret into the vault: through Azure Resource Manager (the vault's data plane admits only the
# VMs' subnet), with the role docs/app-contract.md names.
put_secret_command() {
  printf '%s' "az rest --method put --url \"https://management.azure.com\$(az keyvault show --name $vault_name --query id -o tsv)/secrets/$1?api-version=2023-07-01\" --body @<file holding {\"properties\":{\"value\":\"...\"}}>"
}

# The env file is read by systemd (EnvironmentFile) and sourced by bash (the health gate): single quotes mean the
# same to both, so a value must not contain one (nor a newline). The message never shows the value.
env_line() {
  case "$2" in
    *"'"* | *$'\n'*) fail "$1${3:+ ($3)} contains a single quote or a newline, which the env file cannot hold; URL-encode it (' is %27)." 2 ;;
  esac
  printf "%s='%s'\n" "$1" "$2"
}
# The environment the app gets in a slot (docs/app-contract.md, "Environment"): $1 is the slot's port.
desired_env() {
  env_line APP_COLOR "$APP_COLOR"
  env_line APP_VERSION "$APP_VERSION"
  env_line PORT "$1"
  env_line DATABASE_URL "$DATABASE_URL" "Key Vault secret $DATABASE_URL_SECRET"
  local i
  for i in "${!setting_names[@]}"; do env_line "${setting_names[$i]}" "${setting_values[$i]}" "${APP_COLOR}AppSettings"; done
  for i in "${!secret_envs[@]}"; do env_line "${secret_envs[$i]}" "${secret_values[$i]}" "Key Vault secret ${secret_names[$i]}"; done
}

release_dir="${FETCH_DIR:-$APP_HOME/releases/$APP_VERSION}"
port="${APP_PORT:-8080}"
staging_port="${APP_STAGING_PORT:-8081}"
started_ms="${EPOCHREALTIME/./}"
active=""
mkdir -p "$APP_HOME/releases" "$(dirname "$release_dir")" "$APP_ENV_DIR"
work="$(mktemp -d "$APP_HOME/.deploy.XXXXXX")"
trap 'rm -rf "$work"' EXIT
if ! $fetch_only; then
  # The exact value (read, not $(...), keeps a trailing newline, which the env file then refuses).
  bash "$KEYVAULT_SCRIPT" "$KEYVAULT_URL" "$DATABASE_URL_SECRET" >"$work/database-url" ||
    fail "could not read the app's connection URL (secret $DATABASE_URL_SECRET) from Key Vault $KEYVAULT_URL; see above. Nothing was changed on this VM." "$?"
  IFS= read -r -d '' DATABASE_URL <"$work/database-url" || true
  rm -f "$work/database-url"
  for i in "${!secret_names[@]}"; do
    rc=0
    bash "$KEYVAULT_SCRIPT" "$KEYVAULT_URL" "${secret_names[$i]}" >"$work/secret" || rc=$?
    [ "$rc" = 0 ] ||
      fail "could not read the app's secret ${secret_envs[$i]} (Key Vault secret ${secret_names[$i]}, ${APP_COLOR}AppSecrets) from Key Vault $KEYVAULT_URL; see above. Nothing was changed on this VM: $APP_COLOR keeps running $(readlink "$APP_HOME/current" 2>/dev/null || echo 'nothing'). Put the secret into the vault ($(put_secret_command "${secret_names[$i]}")), then re-run: pulumi config set ${APP_COLOR}ForceUpdateTag <new value> && pulumi up." "$rc"
    IFS= read -r -d '' "secret_values[$i]" <"$work/secret" || true
    rm -f "$work/secret"
  done
  desired_env "$SLOT_PORT_A" >/dev/null # every value checked before anything changes
fi

# One deployment at a time on this VM (the extension may start a re-run while one is still going).
exec 9>"$APP_HOME/.deploy.lock"
flock -w 600 9 || fail "another deploy-app.sh still holds $APP_HOME/.deploy.lock after 10 minutes."

# On a new VM the extension can start while cloud-init is still installing Node and the unit: wait for it.
if command -v "$CLOUD_INIT" >/dev/null 2>&1; then
  "$CLOUD_INIT" status --wait >/dev/null 2>&1 || log "cloud-init reports an error; continuing (see /var/log/cloud-init-output.log)"
fi

# ---- health -----------------------------------------------------------------------------------------------------
last_answer=""
contract() { "$NODE" "$APP_CONTRACT" "$1" "$release_dir" "$APP_VERSION" "${@:2}"; }
proxy() { "$NODE" "$LOCAL_PROXY" "$@"; }
unit_of() { printf 'bluegreen-app-%s.service' "$1"; }
env_file_of() { printf '%s/app-%s.env' "$APP_ENV_DIR" "$1"; }
slot_port() { if [ "$1" = a ]; then echo "$SLOT_PORT_A"; else echo "$SLOT_PORT_B"; fi; }
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true; }
# A slot runs the release: the unit's main process runs from the release directory (its working directory, which the
# unit sets from the installed manifest) and the app answers the manifest's health path with 200 on the slot's port.
health_path=""
answers_correctly() {
  local slot="$1" health pid cwd
  [ -n "$health_path" ] || health_path="$(contract get healthPath 2>/dev/null || echo /health)"
  pid="$("$SYSTEMCTL" show -p MainPID --value "$(unit_of "$slot")" 2>/dev/null || true)"
  cwd="$(readlink -f "/proc/${pid:-0}/cwd" 2>/dev/null || true)"
  health="$(http_status "http://$HEALTH_HOST:$(slot_port "$slot")$health_path")"
  last_answer="slot $slot: process ${pid:-none} in ${cwd:-?}, $health_path ${health:-no answer}"
  [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$cwd" = "$(readlink -f "$release_dir")" ] && [ "$health" = 200 ]
}
# The VM serves: the local proxy answers the production port's health path with 200.
serving() { [ "$(http_status "http://$HEALTH_HOST:$port${health_path:-/health}")" = 200 ]; }

# The last line of every successful run, as Azure keeps it in the extension's status: which release this VM runs, as
# the product proved it (its manifest's version, the artifact's SHA-256, the process started from its directory).
proof() {
  printf 'deploy-app: release-proof {"color":"%s","version":"%s","sha256":"%s","release":"releases/%s","pid":%s}\n' \
    "$APP_COLOR" "$APP_VERSION" "$(cat "$release_dir/.artifact-sha256")" "$APP_VERSION" "$("$SYSTEMCTL" show -p MainPID --value "$(unit_of "$1")")"
}

# The local proxy's configuration and unit, as this run wants them (release/localProxy.ts renders the config).
proxy_files() {
  printf '{"productionPort":%s,"stagingPort":%s,"slotPorts":{"a":%s,"b":%s},"socketPath":"%s","mapPath":"%s","releasesMapPath":"%s","latencyScriptPath":"%s","maxConnectionAgeMs":%s,"metricsPort":%s%s%s}\n' \
    "$port" "$staging_port" "$SLOT_PORT_A" "$SLOT_PORT_B" "$PROXY_SOCKET" "$PROXY_MAP" "$PROXY_RELEASES" "$PROXY_LATENCY_LUA" "$PROXY_MAX_CONNECTION_AGE_MS" "$PROXY_METRICS_PORT" \
    "${PROXY_SERVED_BY:+,\"servedBy\":\"$PROXY_SERVED_BY\"}" "${PROXY_USER:+,\"runAs\":\"$PROXY_USER\"}" >"$work/proxy.json"
  proxy config "$work/proxy.json" >"$work/haproxy.cfg" || fail "the local proxy's settings were refused (see above)." 2
  proxy lua >"$work/latency.lua" || fail "could not write the local proxy's latency script (see above)." 2
  cat >"$work/proxy.service" <<UNIT
# Written by vm-scripts/deploy-app.sh: the product's local proxy in front of the app (docs/local-proxy.md).
[Unit]
Description=bluegreen local proxy (HAProxy) in front of the app
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
ExecStartPre=$HAPROXY -c -q -f $PROXY_DIR/haproxy.cfg
ExecStart=$HAPROXY -Ws -f $PROXY_DIR/haproxy.cfg
ExecReload=$HAPROXY -c -q -f $PROXY_DIR/haproxy.cfg
ExecReload=/bin/kill -USR2 \$MAINPID
KillMode=mixed
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
UNIT
}

# The proxy's files on the VM are those this run wants.
proxy_files_installed() { cmp -s "$work/haproxy.cfg" "$PROXY_DIR/haproxy.cfg" && cmp -s "$work/latency.lua" "$PROXY_LATENCY_LUA" && cmp -s "$work/proxy.service" "$UNIT_DIR/$PROXY_UNIT"; }

# ---- no-op when nothing changed ---------------------------------------------------------------------------------
if ! $fetch_only; then
  active="$(proxy active "$PROXY_MAP")"
  proxy_files
fi
if ! $fetch_only && [ -n "$active" ] && [ "$(readlink "$APP_HOME/current" 2>/dev/null || true)" = "releases/$APP_VERSION" ] &&
  desired_env "$(slot_port "$active")" | cmp -s - "$(env_file_of "$active")" &&
  contract unit "$(env_file_of "$active")" "$APP_USER" 2>/dev/null | cmp -s - "$UNIT_DIR/$(unit_of "$active")" &&
  proxy_files_installed &&
  answers_correctly "$active" && serving; then
  log "$APP_COLOR already runs $APP_VERSION with these settings in slot $active behind the local proxy, healthy: nothing to do."
  proof "$active"
  exit 0
fi

# ---- artifact: reuse a verified copy, or download and verify ----------------------------------------------------
if [ -d "$release_dir" ]; then
  installed_sha="$(cat "$release_dir/.artifact-sha256" 2>/dev/null || true)"
  [ "$installed_sha" = "$ARTIFACT_SHA256" ] ||
    fail "release $APP_VERSION is already installed from an artifact with SHA-256 ${installed_sha:-unknown}, not $ARTIFACT_SHA256. Artifacts are immutable: build and deploy a new version instead of changing $APP_VERSION."
  if ! $fetch_only && [ ! -f "$release_dir/bluegreen.json" ]; then
    fail "release $APP_VERSION is installed from an artifact without bluegreen.json (packed before the app contract, docs/app-contract.md): pack a new version (npm run app:pack -- <version> --app <directory>) and deploy that."
  fi
  log "release $APP_VERSION is already installed and verified; reusing it."
else
  auth=()
  if [[ "$ARTIFACT_URL" != *"sig="* ]]; then
    token_url="$IMDS_URL/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F"
    if [ -n "$IDENTITY_CLIENT_ID" ]; then token_url="$token_url&client_id=$IDENTITY_CLIENT_ID"; fi
    token_json="$(curl -sS --retry 5 --retry-delay 2 --retry-connrefused --max-time 30 -H 'Metadata: true' "$token_url")" ||
      fail "no managed-identity token from IMDS ($IMDS_URL). Does the VM have a system-assigned identity?"
    token="$(printf '%s' "$token_json" | sed -n 's/.*"access_token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
    [ -n "$token" ] || fail "IMDS answered without an access_token: $(printf '%s' "$token_json" | head -c 300)"
    # The token goes to curl as a header file, so it never appears in the process list.
    printf 'Authorization: Bearer %s\n' "$token" >"$work/auth-header"
    auth=(-H "@$work/auth-header")
  fi
  log "downloading $ARTIFACT_URL"
  auth_deadline=$((SECONDS + AUTH_WAIT_SECONDS))
  while :; do
    code="$(curl -sS --retry 5 --retry-delay 2 --retry-connrefused --max-time 600 -o "$work/artifact.tgz" -w '%{http_code}' \
      "${auth[@]}" -H "x-ms-version: $STORAGE_API_VERSION" "$ARTIFACT_URL")" ||
      fail "could not download $ARTIFACT_URL (network error; see above)."
    # On a first deploy the VM's 'Storage Blob Data Reader' assignment may not have reached storage yet: wait for it.
    if [ "$code" != 401 ] && [ "$code" != 403 ] || [ "$SECONDS" -ge "$auth_deadline" ]; then break; fi
    log "$ARTIFACT_URL answered $code: waiting for this VM's 'Storage Blob Data Reader' role assignment to apply (the role assignment may still be propagating: it can take up to 10 minutes); retrying in ${AUTH_RETRY_INTERVAL}s, $((auth_deadline - SECONDS))s left of ${AUTH_WAIT_SECONDS}s"
    sleep "$AUTH_RETRY_INTERVAL"
  done
  case "$code" in
    200) ;;
    404) fail "$ARTIFACT_URL answered 404: app-$APP_VERSION.tgz is not in the container. Publish it (npm run app:pack -- $APP_VERSION, then pulumi up uploads dist/app-$APP_VERSION.tgz; or from CI: git tag v$APP_VERSION && git push origin v$APP_VERSION) and re-run the deployment (pulumi config set retryTag <next> && pulumi up)." ;;
    401 | 403) fail "$ARTIFACT_URL answered $code for ${AUTH_WAIT_SECONDS}s: the VM's identity may not read the container. Grant it 'Storage Blob Data Reader' on the artifact container (components/artifactStore.ts does) and re-run." ;;
    *) fail "$ARTIFACT_URL answered HTTP $code: $(head -c 300 "$work/artifact.tgz" 2>/dev/null || true)" ;;
  esac
  actual_sha="$(sha256sum "$work/artifact.tgz" | cut -d' ' -f1)"
  [ "$actual_sha" = "$ARTIFACT_SHA256" ] ||
    fail "checksum mismatch for $ARTIFACT_URL: expected $ARTIFACT_SHA256, got $actual_sha. Nothing was changed on this VM. Use the SHA-256 from app-$APP_VERSION.tgz.sha256, or re-upload the right file."
  log "SHA-256 verified ($actual_sha)"
  # The contract, before anything is unpacked: paths inside, links inside, the manifest valid and of this version.
  if ! $fetch_only; then
    "$NODE" "$APP_CONTRACT" check "$work/artifact.tgz" "$APP_VERSION" ||
      fail "the artifact of $APP_VERSION was refused (see above); $APP_COLOR keeps running $(readlink "$APP_HOME/current" 2>/dev/null || echo 'nothing')."
  fi
  mkdir "$work/release"
  tar -xzf "$work/artifact.tgz" -C "$work/release" --no-same-owner ||
    fail "$ARTIFACT_URL has the right checksum but does not unpack as a .tgz."
  printf '%s\n' "$ARTIFACT_SHA256" >"$work/release/.artifact-sha256"
  chmod 755 "$work/release"
  mv -T "$work/release" "$release_dir"
fi

# The directories given beyond the <keep> most recently changed, leaving out <spare>: what a clean-up removes.
stale_dirs() { # <keep> <spare> <dir>...
  local keep="$1" spare="$2" dir
  shift 2
  for dir in "$@"; do
    dir="${dir%/}"
    if [ -d "$dir" ] && [ "$dir" != "$spare" ]; then printf '%s\t%s\n' "$(stat -c %Y "$dir")" "$dir"; fi
  done | sort -rn | cut -f2- | tail -n +"$((keep + 1))"
}

# FETCH_ONLY=1 (vm-scripts/run-migrations.sh): stop here, with the bundle downloaded, verified and unpacked but
# neither switched to nor started, so the agent's runs use this same download/verify code.
if $fetch_only; then
  log "bundle $APP_VERSION is ready in $release_dir (FETCH_ONLY: not switched, not restarted)"
  # The release agent's tool bundles (FETCH_DIR .../tools-<sha>): every release whose tools changed adds one. Keep
  # this one and the KEEP_RELEASES most recently used others (a bundle's own times are the reproducible archive's).
  if [[ "${release_dir##*/}" == tools-* ]]; then
    touch "$release_dir"
    stale_dirs "$KEEP_RELEASES" "$release_dir" "${release_dir%/*}"/tools-*/ | while IFS= read -r dir; do
      log "removing the old tool bundle ${dir##*/}"
      rm -rf -- "$dir"
    done
  fi
  exit 0
fi
# ---- runtime packages: the manifest's, and the local proxy's -------------------------------------------------------
read -r -a packages <<<"$(contract get runtimePackages) $PROXY_PACKAGE"
missing=()
for pkg in "${packages[@]}"; do
  # shellcheck disable=SC2016 # ${Status} is dpkg-query's format, not the shell's
  "$DPKG_QUERY" -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing the runtime packages the manifest asks for and the local proxy's: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "$APT_GET" install -y --no-install-recommends "${missing[@]}" 9>&- ||
    fail "could not install ${missing[*]} (bluegreen.json runtimePackages, and $PROXY_PACKAGE for the local proxy): are they Debian packages of this image? Nothing was switched; $APP_COLOR keeps running $(readlink "$APP_HOME/current" 2>/dev/null || echo 'nothing')."
fi
# Debian starts its own haproxy.service (an empty default configuration) when the package is installed: the product's
# proxy is bluegreen-proxy.service, so that one is stopped and disabled.
if [[ " ${missing[*]} " == *" $PROXY_PACKAGE "* ]]; then
  "$SYSTEMCTL" stop haproxy.service 9>&- >/dev/null 2>&1 || true
  "$SYSTEMCTL" disable haproxy.service 9>&- >/dev/null 2>&1 || true
fi
WAIT_SECONDS="${WAIT_SECONDS:-$(contract get startTimeoutSeconds)}"
stop_timeout="$(contract get stopTimeoutSeconds)"

# ---- the local proxy's configuration (a product upgrade may change it): reload it before anything switches ----------
mkdir -p "$PROXY_DIR" "$PROXY_RUN_DIR" "$UNIT_DIR"
proxy_changed=true
if proxy_files_installed; then proxy_changed=false; fi
# The latency script first, once: the configuration loads it (and HAProxy's check of a new configuration reads it). A
# running proxy keeps the script it loaded until it reloads, so replacing the file changes nothing before then.
install -m 644 "$work/latency.lua" "$PROXY_LATENCY_LUA.new" && mv -f "$PROXY_LATENCY_LUA.new" "$PROXY_LATENCY_LUA"
proxy_running=false
if "$SYSTEMCTL" is-active --quiet "$PROXY_UNIT" 9>&- && [ -n "$active" ]; then proxy_running=true; fi
install_proxy_files() {
  [ -f "$PROXY_RELEASES" ] || printf 'slot_a -\nslot_b -\n' >"$PROXY_RELEASES"
  install -m 644 "$work/haproxy.cfg" "$PROXY_DIR/haproxy.cfg.new" && mv -f "$PROXY_DIR/haproxy.cfg.new" "$PROXY_DIR/haproxy.cfg"
  install -m 644 "$work/proxy.service" "$UNIT_DIR/$PROXY_UNIT.new" && mv -f "$UNIT_DIR/$PROXY_UNIT.new" "$UNIT_DIR/$PROXY_UNIT"
  "$SYSTEMCTL" daemon-reload 9>&- || fail "systemctl daemon-reload failed after writing $UNIT_DIR/$PROXY_UNIT."
}
if $proxy_running && $proxy_changed; then
  "$HAPROXY" -c -q -f "$work/haproxy.cfg" || fail "HAProxy refuses the new local proxy configuration (see above); nothing was switched."
  install_proxy_files
  log "the local proxy's configuration changed: reloading it (its old process finishes what it serves; slot $active keeps the requests)"
  "$SYSTEMCTL" reload "$PROXY_UNIT" 9>&- || fail "systemctl reload $PROXY_UNIT failed; see journalctl -u $PROXY_UNIT -n 50. $APP_COLOR keeps running slot $active."
fi

# ---- start the release beside the running one, in the other slot --------------------------------------------------
if [ -n "$active" ]; then slot="$(if [ "$active" = a ]; then echo b; else echo a; fi)"; else slot=a; fi
unit="$(unit_of "$slot")"
previous="$(readlink "$APP_HOME/current" 2>/dev/null || echo none)"
# Whatever still runs in that slot (the release before the previous one) gets no request: stop it, then reuse the slot.
"$SYSTEMCTL" stop "$unit" 9>&- 2>/dev/null || true
desired_env "$(slot_port "$slot")" >"$work/app.env"
install -m 600 "$work/app.env" "$(env_file_of "$slot").new"
mv -f "$(env_file_of "$slot").new" "$(env_file_of "$slot")"
contract unit "$(env_file_of "$slot")" "$APP_USER" >"$work/unit" || fail "could not write the unit of $APP_VERSION (see above)."
install -m 644 "$work/unit" "$UNIT_DIR/$unit.new"
mv -f "$UNIT_DIR/$unit.new" "$UNIT_DIR/$unit"
"$SYSTEMCTL" daemon-reload 9>&- || fail "systemctl daemon-reload failed after writing $UNIT_DIR/$unit."
log "starting $APP_VERSION in slot $slot (port $(slot_port "$slot")) beside ${active:+slot $active (}$previous${active:+)}"
app_started_ms="${EPOCHREALTIME/./}"
# 9>&-: whatever systemctl starts must not inherit the deploy lock.
"$SYSTEMCTL" start "$unit" 9>&- || fail "systemctl start $unit failed; see journalctl -u $unit -n 50. The local proxy still sends every request to ${active:+slot $active, }$previous."
deadline=$((SECONDS + WAIT_SECONDS))
until answers_correctly "$slot"; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    "$SYSTEMCTL" stop --no-block "$unit" 9>&- || true
    fail "$APP_COLOR did not become healthy at $APP_VERSION within ${WAIT_SECONDS}s in slot $slot (last answer: $last_answer). See journalctl -u $unit -n 50. Nothing was switched: the local proxy still sends every request to ${active:+slot $active, }$previous; the health gate will refuse a flip to this color."
  fi
  sleep 0.1
done
app_ready_ms="${EPOCHREALTIME/./}"
"$SYSTEMCTL" enable "$unit" >/dev/null 2>&1 9>&- || true

# ---- switch the local proxy to it -----------------------------------------------------------------------------------
proxy release "$(if $proxy_running; then echo "$PROXY_SOCKET"; else echo -; fi)" "$PROXY_RELEASES" "$slot" "$APP_COLOR@$APP_VERSION" ||
  fail "the local proxy could not record what slot $slot runs (see above); nothing was switched."
if $proxy_running; then
  proxy switch "$PROXY_SOCKET" "$PROXY_MAP" "$slot" ||
    fail "the local proxy did not switch to slot $slot (see above); it still sends every request to slot $active ($previous). Run the deployment again."
else
  # First deploy behind the proxy. A VM deployed before the product had a local proxy runs the app on the production
  # port itself: stop it (it drains as it always did) so the proxy can take the port. A gap of about a second, once,
  # on a color that is idle (the release guard deploys only to the idle color).
  if [ -f "$UNIT_DIR/$LEGACY_UNIT" ]; then
    log "moving the app behind the local proxy: stopping $LEGACY_UNIT, which served port $port itself"
    "$SYSTEMCTL" stop "$LEGACY_UNIT" 9>&- || true
    "$SYSTEMCTL" disable "$LEGACY_UNIT" >/dev/null 2>&1 9>&- || true
    rm -f "$UNIT_DIR/$LEGACY_UNIT" "$APP_ENV_DIR/app.env"
  fi
  printf 'active slot_%s\n' "$slot" >"$PROXY_MAP.new" && mv -f "$PROXY_MAP.new" "$PROXY_MAP"
  install_proxy_files
  "$SYSTEMCTL" enable "$PROXY_UNIT" >/dev/null 2>&1 9>&- || true
  "$SYSTEMCTL" restart "$PROXY_UNIT" 9>&- || fail "systemctl restart $PROXY_UNIT failed; see journalctl -u $PROXY_UNIT -n 50."
fi
until serving; do
  if [ "$SECONDS" -ge "$((deadline + 10))" ]; then
    fail "the local proxy does not answer $health_path with 200 on port $port after switching to slot $slot (see journalctl -u $PROXY_UNIT -n 50)."
  fi
  sleep 0.05
done
switched_ms="${EPOCHREALTIME/./}"
ln -sfn "releases/$APP_VERSION" "$APP_HOME/.current.new"
mv -T "$APP_HOME/.current.new" "$APP_HOME/current"
total_ms=$(((switched_ms - started_ms) / 1000)) app_ms=$(((app_ready_ms - app_started_ms) / 1000))
log "switched to slot $slot and serving $APP_VERSION in $total_ms ms (the app's own start: $app_ms ms; the product's part: $((total_ms - app_ms)) ms)"

# ---- the old slot: its in-flight requests finish, then it stops -----------------------------------------------------
if [ -n "$active" ]; then
  proxy drain "$PROXY_SOCKET" "$active" "$stop_timeout" || true
  "$SYSTEMCTL" disable "$(unit_of "$active")" >/dev/null 2>&1 9>&- || true
  # --no-block: an app that ignores SIGTERM is killed after its stopTimeoutSeconds without holding this run.
  "$SYSTEMCTL" stop --no-block "$(unit_of "$active")" 9>&- || log "could not stop $(unit_of "$active"); it gets no request"
fi

# ---- keep a few old releases --------------------------------------------------------------------------------------
stale_dirs "$KEEP_RELEASES" "$APP_HOME/$(readlink "$APP_HOME/current")" "$APP_HOME"/releases/*/ | while IFS= read -r dir; do
  log "removing old release ${dir##*/}"
  rm -rf -- "$dir"
done
proof "$slot"
exit 0
