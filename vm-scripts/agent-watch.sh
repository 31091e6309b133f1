#!/usr/bin/env bash
# agent-watch.sh: starts the post-flip watch on the release agent (components/postFlipWatch.ts generates the wrapper
# that exports the inputs below, writes this file and deploy-app.sh into AGENT_WORK_DIR, and runs this file).
#
# Inputs (environment):
#   WATCH_ACTION               watch | stop | none (release/watchPlan.ts decides it from the release guard's state):
#                              watch = start the watch of WATCH_SPEC's flip; stop = stop the running watch (a rollback
#                              took production back: no rollback target); none = nothing (no flip yet)
#   WATCH_WHY                  the reason, for the log
#   WATCH_SPEC                 (watch) the WatchSpec as JSON (release/watchContract.ts): flip id, colors, VMs, thresholds, until
#   TOOLS_URL, TOOLS_SHA256    the product's tool bundle (dist/release/watchCli.js is in it), pinned by SHA-256
#   APP_COLOR, APP_VERSION     the watched color and its version (for deploy-app.sh's checks and the log)
#   AGENT_WORK_DIR             this execution's directory on the agent
#   WATCH_STATE_DIR            default /var/lib/bluegreen/watch: the spec, the tools and every flip's state and record
#   WATCH_UNIT                 default bluegreen-watch.service: one unit, so a new flip's watch replaces an older one
#   UNIT_DIR, SYSTEMCTL, NODE  overridable for local tests
#
# What it does: fetches and verifies the tool bundle (deploy-app.sh FETCH_ONLY) into the state directory (it must
# outlive this run command), checks the spec with the bundle's watch (`watchCli check`: a bad spec fails this run
# command and so the update, naming the problem), writes it to $WATCH_STATE_DIR/spec.json and (re)starts the watch as
# a systemd unit: it keeps running after this command ends and when the machine that ran `pulumi up` goes away, and
# survives a restart of its process or of the agent (Restart=on-failure, WantedBy=multi-user.target; its state is on
# disk, per flip). Exits 0 within seconds. See docs/post-flip-watch.md.
set -euo pipefail

dir="${AGENT_WORK_DIR:?AGENT_WORK_DIR is set by the wrapper}"
state="${WATCH_STATE_DIR:-/var/lib/bluegreen/watch}"
unit="${WATCH_UNIT:-bluegreen-watch.service}"
unit_dir="${UNIT_DIR:-/etc/systemd/system}"
systemctl="${SYSTEMCTL:-systemctl}"
node="${NODE:-node}"
log() { printf 'agent-watch: %s\n' "$*"; }
fail() {
  printf 'agent-watch: FAILED: %s\n' "$1" >&2
  exit "${2:-1}"
}

action="${WATCH_ACTION:-watch}"
case "$action" in
  none)
    log "nothing to watch: ${WATCH_WHY:-no flip}"
    exit 0
    ;;
  watch)
    [ -n "${WATCH_SPEC:-}" ] || fail "WATCH_SPEC is empty; components/postFlipWatch.ts passes the WatchSpec as JSON." 2
    ;;
  stop)
    if [ ! -f "$state/spec.json" ]; then
      log "no watch was started on this agent: nothing to stop (${WATCH_WHY:-})"
      exit 0
    fi
    ;;
  *) fail "WATCH_ACTION=\"$action\" must be watch, stop or none (components/postFlipWatch.ts)." 2 ;;
esac
[[ "${TOOLS_SHA256:-}" =~ ^[0-9a-f]{64}$ ]] || fail "TOOLS_SHA256=\"${TOOLS_SHA256:-}\" is not a SHA-256 (64 lowercase hex digits)." 2

install -d -m 0700 "$state"
tools="$state/tools-${TOOLS_SHA256:0:12}"
if [ -f "$tools/dist/release/watchCli.js" ]; then
  log "tool bundle ${TOOLS_SHA256:0:12} is already in $tools"
else
  log "fetching the tool bundle ${TOOLS_SHA256:0:12}"
  FETCH_ONLY=1 FETCH_DIR="$tools" APP_HOME="$state/app" \
    ARTIFACT_URL="${TOOLS_URL:?TOOLS_URL is set by the wrapper}" ARTIFACT_SHA256="$TOOLS_SHA256" bash "$dir/deploy-app.sh"
fi
cli="$tools/dist/release/watchCli.js"
[ -f "$cli" ] || fail "the tool bundle ${TOOLS_SHA256:0:12} has no dist/release/watchCli.js: it predates the post-flip watch." 2

if [ "$action" = stop ]; then
  log "stopping the watch: ${WATCH_WHY:-}"
  "$node" "$cli" stop --state-dir "$state"
  exit 0
fi

# The spec, checked before anything is replaced: a bad one leaves a running watch as it is.
printf '%s\n' "$WATCH_SPEC" >"$state/spec.json.new"
if ! "$node" "$cli" check --spec "$state/spec.json.new" --state-dir "$state"; then
  rm -f "$state/spec.json.new"
  fail "the watch's spec was refused (see above); nothing was started or replaced." 2
fi
mv -f "$state/spec.json.new" "$state/spec.json"
# $state/tools: the newest watch's bundle, one path for people (README's kill switch), whatever bundles are kept.
ln -sfn "${tools##*/}" "$state/tools.new" && mv -Tf "$state/tools.new" "$state/tools"

cat >"$unit_dir/$unit.new" <<EOF
# Written by vm-scripts/agent-watch.sh (components/postFlipWatch.ts): the post-flip watch of the newest flip.
[Unit]
Description=bluegreen post-flip watch (docs/post-flip-watch.md)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=$(command -v "$node" || echo "$node") $cli run --spec $state/spec.json --state-dir $state
Restart=on-failure
RestartSec=2
SyslogIdentifier=bluegreen-watch

[Install]
WantedBy=multi-user.target
EOF
mv -f "$unit_dir/$unit.new" "$unit_dir/$unit"
"$systemctl" daemon-reload
"$systemctl" enable "$unit" >/dev/null 2>&1 || true
# restart: a running watch of an older flip ends (its state stays on disk) and this flip's starts.
"$systemctl" restart "$unit"
log "watching: $("$node" "$cli" status --state-dir "$state" --brief 2>/dev/null || echo "started $unit")"
log "stop it: sudo node $state/tools/dist/release/watchCli.js stop --state-dir $state; end it early: the same with promote"
