#!/usr/bin/env bash
# A stand-in for systemctl on a machine without systemd (the rehearsal, the benchmark, the deploy tests): it runs the
# units vm-scripts/deploy-app.sh writes as plain background processes, as systemd would, for the calls the deploy
# makes. Every call is appended to $STANDIN_STATE/systemctl.log.
#
#   start|stop [--no-block]|restart|reload|is-active [--quiet]|show -p MainPID --value|enable|disable|daemon-reload
#
# start: ExecStart (after each ExecStartPre) from WorkingDirectory, with EnvironmentFile, output to
# $STANDIN_STATE/<unit>.log; stop: SIGTERM, SIGKILL after TimeoutStopSec (default 90); reload: each ExecReload with
# $MAINPID. User=, Type= and the sandboxing lines are not emulated.
set -euo pipefail
: "${STANDIN_STATE:?STANDIN_STATE must name a directory for the state of the stand-in}"
UNIT_DIR="${UNIT_DIR:-${BG_ROOT:-}/etc/systemd/system}"
echo "$*" >>"$STANDIN_STATE/systemctl.log"

no_block=false quiet=false args=()
for a in "$@"; do
  case "$a" in
    --no-block) no_block=true ;;
    --quiet) quiet=true ;;
    -p | MainPID | --value) ;;
    *) args+=("$a") ;;
  esac
done
command="${args[0]:-}"
unit="${args[1]:-}"
pid_file="$STANDIN_STATE/$unit.pid"

value() { sed -n "s/^$1=//p" "$UNIT_DIR/$unit"; }
main_pid() {
  local pid
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]; then echo "$pid"; else echo 0; fi
}
start() {
  [ -f "$UNIT_DIR/$unit" ] || { echo "Unit $unit not found." >&2; exit 5; }
  [ "$(main_pid)" = 0 ] || return 0
  local exec_start dir env_file pre
  exec_start="$(value ExecStart | tail -1)"
  dir="$(value WorkingDirectory)"
  env_file="$(value EnvironmentFile)"
  while IFS= read -r pre; do
    [ -z "$pre" ] || eval "$pre" || { echo "$unit: ExecStartPre failed: $pre" >&2; exit 1; }
  done < <(value ExecStartPre)
  # As systemd does: only the unit's environment (its EnvironmentFile) and a PATH, not the caller's.
  # shellcheck disable=SC2016 # expanded by the inner shell
  env -i PATH="$PATH" bash -c '
    if [ -n "$1" ]; then set -a; . "$1"; set +a; fi
    cd "${2:-/}"
    exec $3' unit "$env_file" "$dir" "$exec_start" </dev/null >>"$STANDIN_STATE/$unit.log" 2>&1 &
  echo $! >"$pid_file"
}
stop() {
  local pid timeout deadline
  pid="$(main_pid)"
  [ "$pid" != 0 ] || return 0
  timeout="$(value TimeoutStopSec 2>/dev/null || true)"
  deadline=$((SECONDS + ${timeout:-90}))
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.05
  done
}

case "$command" in
  start) start ;;
  stop)
    if $no_block; then (stop) </dev/null >/dev/null 2>&1 & else stop; fi ;;
  restart) stop; start ;;
  reload)
    pid="$(main_pid)"
    [ "$pid" != 0 ] || { echo "$unit is not active, cannot reload." >&2; exit 1; }
    while IFS= read -r line; do
      [ -z "$line" ] || eval "${line//\$MAINPID/$pid}"
    done < <(value ExecReload) ;;
  is-active)
    if [ "$(main_pid)" != 0 ]; then $quiet || echo active; exit 0; else $quiet || echo inactive; exit 3; fi ;;
  show) main_pid ;;
  enable | disable | daemon-reload) ;;
  *) echo "systemctl stand-in: unsupported call: $*" >&2; exit 1 ;;
esac
