#!/usr/bin/env bash
# The health gate: may the load balancer send production traffic to this color?
#
# Runs inside the virtual network (an Azure run command on VM 0 of the target color; see components/healthGate.ts),
# because the VMs' backend ports and the database are private and Pulumi Deployments' runners have no fixed IP.
# It passes (exit 0) only when
#   1. every VM of the color answers GET /health with 200 — and, when --version-path is given (the local rehearsal,
#      which runs the sample without the product's deploy), that path with {"version": <version>, "color": <color>} —
#      retried a bounded number of times (VMs may still be starting or deploying). In Azure no app endpoint proves the
#      version: the program reads each VM's release proof back from its deployment (release/readBack.ts), and
#      the load balancer waits for both;
#   2. when --smoke-checks is given: every VM answers the user's smoke checks as they expect (release/smokeChecks.ts,
#      run once with node after every VM is healthy, at the same host and port; docs/smoke-checks.md); and
#   3. the database's migrations fit that version: the command given by --db-status-cmd (the target color's own
#      runner: `db status --json`) shows no expand migration that is pending or failed, no failed migration, no
#      changed checksum, and no applied contract migration whose requires-version is newer than the version.
# On failure it prints what EACH VM answered (or the schema problems) and exits non-zero, which fails `pulumi up`
# (treatFailureAsDeploymentFailure) before the load balancer changes.
#
# Usage: health-gate.sh --color green --version 2.0.0 --hosts 10.0.1.20,10.0.1.21 [--port 8080]
#                       [--attempts 30] [--interval 10] [--timeout 5] [--db-status-cmd '<command>'] [--app-dir <dir>]
#                       [--health-path /health] [--version-path /version]
#                       [--smoke-checks <checks.json> --smoke-runner <smoke-checks.js>]
# Every option can also come from the environment: GATE_COLOR, GATE_VERSION, GATE_HOSTS, GATE_PORT, GATE_ATTEMPTS,
# GATE_INTERVAL, GATE_TIMEOUT, GATE_DB_STATUS_CMD, GATE_APP_DIR, GATE_HEALTH_PATH, GATE_VERSION_PATH,
# GATE_SMOKE_CHECKS, GATE_SMOKE_RUNNER (the Pulumi program sets them at the top of the script).
# A host may carry its own port (127.0.0.1:4001). Exit codes: 0 pass, 1 a VM failed, 3 the schema does not fit,
# 4 a smoke check failed, 2 usage error. Needs bash, curl and node (the app's runtime, present on every app VM).
# Secrets: the status command should read its credentials itself (vm-scripts/keyvault-secret.sh), not carry them;
# whatever the gate prints of it (its text, its output) has URL passwords and password=/pwd= options masked as ***.
set -euo pipefail

color="${GATE_COLOR:-}"
version="${GATE_VERSION:-}"
hosts="${GATE_HOSTS:-}"
port="${GATE_PORT:-80}"
attempts="${GATE_ATTEMPTS:-30}"
interval="${GATE_INTERVAL:-10}"
timeout="${GATE_TIMEOUT:-5}"
db_status_cmd="${GATE_DB_STATUS_CMD:-}"
app_dir="${GATE_APP_DIR:-}"
health_path="${GATE_HEALTH_PATH:-/health}"
version_path="${GATE_VERSION_PATH:-}"
smoke_checks="${GATE_SMOKE_CHECKS:-}"
smoke_runner="${GATE_SMOKE_RUNNER:-}"

usage() {
  echo "usage: health-gate.sh --color <blue|green> --version <semver> --hosts <ip[:port],...> [--port <n>]" \
    "[--attempts <n>] [--interval <s>] [--timeout <s>] [--db-status-cmd <command>] [--app-dir <dir>]" \
    "[--health-path <path>] [--version-path <path>] [--smoke-checks <checks.json> --smoke-runner <smoke-checks.js>]" >&2
  echo "health-gate: $1" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --color) color="${2:-}"; shift 2 ;;
    --version) version="${2:-}"; shift 2 ;;
    --hosts) hosts="${2:-}"; shift 2 ;;
    --port) port="${2:-}"; shift 2 ;;
    --attempts) attempts="${2:-}"; shift 2 ;;
    --interval) interval="${2:-}"; shift 2 ;;
    --timeout) timeout="${2:-}"; shift 2 ;;
    --db-status-cmd) db_status_cmd="${2:-}"; shift 2 ;;
    --app-dir) app_dir="${2:-}"; shift 2 ;;
    --health-path) health_path="${2:-}"; shift 2 ;;
    --version-path) version_path="${2:-}"; shift 2 ;;
    --smoke-checks) smoke_checks="${2:-}"; shift 2 ;;
    --smoke-runner) smoke_runner="${2:-}"; shift 2 ;;
    *) usage "unknown argument \"$1\"" ;;
  esac
done

case "$color" in blue | green) ;; *) usage "--color is \"$color\"; it must be blue or green" ;; esac
[ -n "$version" ] || usage "--version is missing (the version this color must report, e.g. 2.0.0)"
[ -n "$hosts" ] || usage "--hosts is missing (the private IPs of every VM of the $color color, comma-separated)"
for n in "$port" "$attempts" "$timeout"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || usage "\"$n\" is not a positive whole number (--port, --attempts, --timeout)"
done
[[ "$interval" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage "--interval \"$interval\" is not a number of seconds"
command -v curl >/dev/null || usage "curl is not installed on this VM"
command -v node >/dev/null || usage "node is not installed on this VM (the app's runtime)"
if [ -n "$smoke_checks" ]; then
  [ -f "$smoke_checks" ] || usage "--smoke-checks \"$smoke_checks\" is not a file"
  [ -f "$smoke_runner" ] || usage "--smoke-runner \"$smoke_runner\" is not a file (smoke-checks.js, written by the program)"
fi

IFS=',' read -r -a targets <<<"$hosts"
for i in "${!targets[@]}"; do
  t="${targets[$i]// /}"
  [[ "$t" == *:* ]] || t="$t:$port"
  targets[i]="$t"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# mask: stdin to stdout with the password of any URL (scheme://user:password@) and any password=/pwd= option as ***.
mask() { sed -E 's#(://[^/:@[:space:]]*:)[^@[:space:]]*@#\1***@#g; s#((password|pwd)=)[^;&[:space:]]*#\1***#Ig'; }

# check_vm <host:port> <index> → prints one line "<host:port>  <what it answered>  OK|FAIL: <why>", returns 0 when OK.
# Each VM's check uses its own files (<index>.*): the VMs are checked in parallel.
check_vm() {
  local target="$1" f="$work/$2" code body health version_code answer
  code="$(curl -sS -o "$f.health" -w '%{http_code}' --max-time "$timeout" "http://$target$health_path" 2>"$f.err")" || true
  if [ "$code" = "000" ] || [ -z "$code" ]; then
    printf '%s  no answer (%s)  FAIL: %s did not answer\n' "$target" "$(tr -d '\n' <"$f.err" | cut -c1-120)" "$health_path"
    return 1
  fi
  health="$health_path $code"
  if [ -z "$version_path" ]; then
    if [ "$code" != "200" ]; then
      printf '%s  %s  FAIL: %s answered %s, not 200\n' "$target" "$health" "$health_path" "$code"
      return 1
    fi
    printf '%s  %s  OK\n' "$target" "$health"
    return 0
  fi
  version_code="$(curl -sS -o "$f.version" -w '%{http_code}' --max-time "$timeout" "http://$target$version_path" 2>"$f.err")" || true
  body="$(head -c 120 "$f.version" 2>/dev/null | tr -d '\n' || true)"
  # Parse /version with node: prints "<version> <color>", or "unparseable".
  # shellcheck disable=SC2016 # JavaScript, not shell: the template literal must reach node unexpanded.
  answer="$(node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      try { const j = JSON.parse(s); process.stdout.write(`${j.version} ${j.color}`); }
      catch { process.stdout.write("unparseable"); }
    });' <"$f.version")"
  local seen="$health, $version_path $version_code $body"
  if [ "$code" != "200" ]; then
    printf '%s  %s  FAIL: %s answered %s, not 200\n' "$target" "$seen" "$health_path" "$code"
    return 1
  fi
  if [ "$version_code" != "200" ] || [ "$answer" = "unparseable" ]; then
    printf '%s  %s  FAIL: %s did not answer 200 with {"version","color"}\n' "$target" "$seen" "$version_path"
    return 1
  fi
  if [ "$answer" != "$version $color" ]; then
    printf '%s  %s  FAIL: reports version %s color %s, expected version %s color %s\n' \
      "$target" "$seen" "${answer%% *}" "${answer#* }" "$version" "$color"
    return 1
  fi
  printf '%s  %s  OK\n' "$target" "$seen"
}

echo "health gate: $color must run $version on ${#targets[@]} VM(s): ${targets[*]} (up to $attempts attempts, ${interval}s apart)"
if [ -z "$version_path" ]; then echo "checking $health_path on each VM; which release each runs is proven by its deployment (read back by the program)"; fi
attempt=1
while :; do
  failed=0
  : >"$work/report"
  # Every VM at once (one attempt takes two request timeouts, whatever the number of VMs), then the report in VM order.
  pids=()
  for i in "${!targets[@]}"; do
    check_vm "${targets[$i]}" "$i" >"$work/$i.line" &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed=$((failed + 1))
    cat "$work/$i.line" >>"$work/report"
  done
  if [ "$failed" -eq 0 ]; then
    echo "attempt $attempt/$attempts: all ${#targets[@]} VM(s) healthy at $version"
    cat "$work/report"
    break
  fi
  echo "attempt $attempt/$attempts: $failed of ${#targets[@]} VM(s) not ready ($(grep -m1 FAIL "$work/report" | cut -c1-160))"
  if [ "$attempt" -ge "$attempts" ]; then
    {
      echo "HEALTH GATE FAILED: $color is not ready to take production traffic. What each VM answered:"
      sed 's/^/  /' "$work/report"
      echo "The load balancer was not changed. Fix the color (see docs/release-guard.md, 'When the gate fails'),"
      echo "or keep the current live color: pulumi config set liveColor <the live color> && pulumi up"
    } >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  echo "  waiting ${interval}s before attempt $attempt/$attempts ($SECONDS s since the gate started)"
  sleep "$interval"
done

if [ -n "$smoke_checks" ]; then
  # The user's checks, once, on every VM (same host:port as /health): a wrong answer refuses the flip.
  echo "smoke checks: $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).length)' "$smoke_checks") check(s) on each of ${#targets[@]} VM(s)"
  smoke_code=0
  node "$smoke_runner" --checks "$smoke_checks" --targets "$(IFS=,; echo "${targets[*]}")" >"$work/smoke" 2>&1 || smoke_code=$?
  if [ "$smoke_code" -ne 0 ]; then
    {
      echo "HEALTH GATE FAILED: $color did not pass the smoke checks (docs/smoke-checks.md). What each VM answered:"
      sed 's/^/  /' "$work/smoke"
      echo "The load balancer was not changed. Fix the release or the check (smokeChecksFile), then run the release step again,"
      echo "or keep the current live color: pulumi config set liveColor <the live color> && pulumi up"
    } >&2
    exit 4
  fi
  cat "$work/smoke"
fi

if [ -z "$db_status_cmd" ]; then
  echo "schema check: skipped (no --db-status-cmd given)"
  echo "health gate passed: $color may take production traffic"
  exit 0
fi

echo "schema check: $(printf '%s' "$db_status_cmd" | mask)"
if ! bash -c "$db_status_cmd" >"$work/status.json" 2>"$work/status.err"; then
  {
    echo "HEALTH GATE FAILED: the migration status command failed:"
    sed 's/^/  /' "$work/status.err" "$work/status.json" | mask
  } >&2
  exit 3
fi

# Judge the runner's `status --json` (an array of { name, phase, state, checksumOk, fileMissing?, requiresVersion? }, or an object
# with such an array under "migrations"). Versions are compared with the artifact's own semver (the runner's
# dependency), never by hand.
# shellcheck disable=SC2016 # JavaScript, not shell: the template literals must reach node unexpanded.
if ! GATE_VERSION="$version" GATE_APP_DIR="$app_dir" node -e '
  const fs = require("fs");
  const version = process.env.GATE_VERSION;
  let semver;
  for (const base of [process.env.GATE_APP_DIR, process.cwd()].filter(Boolean)) {
    try { semver = require(require.resolve("semver", { paths: [base] })); break; } catch { /* next */ }
  }
  // The JSON may follow log lines: parse from the first line that opens an array or object.
  const text = fs.readFileSync(process.argv[1], "utf8");
  const start = text.search(/^[[{]/m);
  let parsed;
  try { parsed = JSON.parse(start >= 0 ? text.slice(start) : text); }
  catch (e) { console.log(`the status output is not JSON: ${e.message}`); process.exit(1); }
  const list = Array.isArray(parsed) ? parsed : parsed.migrations;
  if (!Array.isArray(list)) { console.log("the status output has no list of migrations"); process.exit(1); }
  const problems = [];
  for (const m of list) {
    const requires = m.requiresVersion ?? m["requires-version"];
    if (m.state === "failed") problems.push(`${m.name}: recorded as failed; resolve it first with the runner of the release: node dist/migrator/cli.js resolve ${m.name} --applied|--rolled-back (in a checkout: npm run db -- resolve …; docs/migrations.md)`);
    else if (m.phase === "expand" && m.state !== "applied") problems.push(`${m.name}: expand migration ${m.state}; version ${version} needs it (deploy ${version} to the idle color first: its expand migrations run on the release agent)`);
    if (m.checksumOk === false && !m.fileMissing) problems.push(`${m.name}: applied, but its file changed since (checksum)`);
    // Applied by a newer version, unknown to this one: an expand is compatible by design (a rollback passes);
    // a contract fits only when its requires-version is known and not newer than this version.
    if (m.fileMissing && m.phase === "contract" && !requires) problems.push(`${m.name}: contract migration applied by a newer version that ${version} does not know; it may have removed what ${version} uses`);
    if (m.phase === "contract" && m.state === "applied" && requires) {
      if (!semver) { problems.push(`${m.name}: cannot compare requires-version ${requires}: semver not found under ${process.env.GATE_APP_DIR || process.cwd()}`); continue; }
      if (!semver.valid(requires) || semver.lt(version, requires)) problems.push(`${m.name}: applied contract migration requires ${requires} or newer; ${version} is older than the schema`);
    }
  }
  for (const p of problems) console.log(p);
  process.exit(problems.length ? 1 : 0);
' "$work/status.json" >"$work/schema"; then
  {
    echo "HEALTH GATE FAILED: the database's migrations do not fit version $version:"
    sed 's/^/  /' "$work/schema" | mask
    echo "The load balancer was not changed."
  } >&2
  exit 3
fi
echo "schema check: the database fits version $version ($(node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log((Array.isArray(p)?p:p.migrations).length)' "$work/status.json") migrations)"
echo "health gate passed: $color may take production traffic"
