#!/usr/bin/env bash
# Configuration reload (docs/performance.md, "Configuration reload"), two comparisons in one run:
#  1. client_credentials tokens/s and proxied calls/s (as client_credentials_basic and proxy in run.sh:
#     wrk -t2 -c16, client_secret_basic, GET /proxy/crm/contacts/42 with a crm:read token) with no reload,
#     and while a loop rewrites tessera.yaml (alternating between two versions that differ in the
#     crm:export rule, which the load never uses; written aside and renamed, so never read half-written)
#     and calls POST /admin/v1/config/reload every RELOAD_EVERY seconds (default 0.1; a python3 loop on one
#     keep-alive connection). Also what one reload costs the server alone, before and after the rounds.
#  2. With BEFORE=DIR (a checkout of another commit, e.g. `git worktree add /tmp/before 2baada6`, the commit
#     before reloadable configuration): the same two loads, without reloads, against this build and against
#     DIR's (built Release there), both running at once on their own data, so the difference is what the
#     reload machinery costs every request (the pin of the configuration per request, narrowing scopes
#     on every token validation).
# ROUNDS times (default 3), each measurement DURATION seconds (default 10) after a 3 s warm-up, in
# alternating order (round 1 A then B, round 2 B then A, ..); prints every run and the medians. Every
# load request must answer 200 and every reload 200: the script fails otherwise. COMPARE_ONLY=1 (with
# BEFORE) measures only the second comparison, in servers that have never reloaded. RELOAD_UNCHANGED=1
# reloads without rewriting the file (the same work in the server, nothing written to the disk).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
RELOAD_EVERY=${RELOAD_EVERY:-0.1}
BEFORE=${BEFORE:-}
COMPARE_ONLY=${COMPARE_ONLY:-0}
RELOAD_UNCHANGED=${RELOAD_UNCHANGED:-0}
PORT=${PORT:-18086}
BEFORE_PORT=${BEFORE_PORT:-18087}
UPSTREAM_PORT=${UPSTREAM_PORT:-18088}
UPSTREAM_KEY="bench-upstream-key-7c41e0a9d3b2"
WORK=$(mktemp -d /tmp/tessera-reload.XXXXXX)
PIDS=()
cleanup() { touch "$WORK/stop"; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

echo "== building Release" >&2
dotnet build -c Release src/Tessera.Cli -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.LoadPrep -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.Upstream -v q -nologo >/dev/null
TESSERA="dotnet $ROOT/src/Tessera.Cli/bin/Release/net10.0/tessera.dll"
PREP="dotnet $ROOT/bench/Tessera.LoadPrep/bin/Release/net10.0/Tessera.LoadPrep.dll"
UPSTREAM="dotnet $ROOT/bench/Tessera.Upstream/bin/Release/net10.0/Tessera.Upstream.dll"
if [ -n "$BEFORE" ]; then
  (cd "$BEFORE" && dotnet build -c Release src/Tessera.Cli -v q -nologo >/dev/null)
  TESSERA_BEFORE="dotnet $BEFORE/src/Tessera.Cli/bin/Release/net10.0/tessera.dll"
fi

wait_ready() { for _ in $(seq 1 400); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "not ready: $1" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

UPSTREAM_API_KEY="$UPSTREAM_KEY" ASPNETCORE_URLS="http://127.0.0.1:$UPSTREAM_PORT" $UPSTREAM >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
$PREP config "$WORK" "$PORT" "http://127.0.0.1:$UPSTREAM_PORT"
BASIC="Basic $(printf 'bench-agent:%s' "$(cat "$WORK/secret")" | base64 -w0)"
CC_BODY="grant_type=client_credentials&scope=crm%3Aread"

# start NAME TESSERA DIR PORT: a Tessera serving DIR/tessera.yaml, with crm-key in its vault; sets NAME_PID and NAME_TOKEN.
start() {
  local name=$1 tessera=$2 dir=$3 port=$4 pid token
  $tessera serve --config "$dir/tessera.yaml" >"$dir/tessera.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_ready "http://127.0.0.1:$port/readyz"
  curl -sf -X PUT -H "Authorization: Bearer $(cat "$dir/data/admin.token")" -H "Content-Type: application/json" \
    --data "{\"value\":\"$UPSTREAM_KEY\"}" "http://127.0.0.1:$port/admin/v1/secrets/crm-key" >/dev/null
  token=$(curl -sf -H "Authorization: $BASIC" -d grant_type=client_credentials -d scope=crm:read "http://127.0.0.1:$port/oauth/token" \
    | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/proxy/crm/contacts/42")" = 200 ] \
    || { echo "$name: the proxy does not answer 200" >&2; exit 1; }
  printf -v "${name}_PID" '%s' "$pid"
  printf -v "${name}_TOKEN" '%s' "$token"
}

# measure LINE PID PORT PATH: one wrk run (cc: client_credentials, proxy: the proxied GET); records "LINE rps p50 p99 cpu non2xx".
RESULTS="$WORK/results"
: > "$RESULTS"
measure() {
  local line=$1 pid=$2 port=$3 what=$4 seconds=${5:-$DURATION} before after out
  local -a load
  if [ "$what" = cc ]; then
    load=(env LOAD_PATH=/oauth/token LOAD_AUTH="$BASIC" LOAD_BODY="$CC_BODY" wrk -t2 -c16 -d"${seconds}s" --latency -s bench/load/fixed.lua)
  else
    local token_var="$6"
    load=(env LOAD_PATH=/proxy/crm/contacts/42 LOAD_AUTH="Bearer ${!token_var}" wrk -t2 -c16 -d"${seconds}s" --latency -s bench/load/get.lua)
  fi
  before=$(cpu_ticks "$pid")
  out=$("${load[@]}" "http://127.0.0.1:$port")
  after=$(cpu_ticks "$pid")
  [ "$line" = warmup ] && return 0
  echo "$out" | awk -v line="$line" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    /Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } /requests in/ { n = $1 } /Non-2xx/ { bad = $5 }
    END { printf "%s %s %s %s %.0f %d\n", line, rps, p50, p99, (t / hz) / n * 1e6, bad + 0 }' | tee -a "$RESULTS" >&2
}

# The reload loop (one python3 process on one keep-alive connection, so it takes little CPU from the
# load): the two versions in turn, each written aside and renamed over tessera.yaml (never read
# half-written), then a reload; one starts every RELOAD_EVERY seconds (at once if the last took
# longer) until WORK/stop exists. Logs every answer's status, and its own CPU seconds at the end.
cp "$WORK/tessera.yaml" "$WORK/v0.yaml"
sed 's#"POST /exports"#"POST /exports", "POST /exports/*/retry"#' "$WORK/v0.yaml" > "$WORK/v1.yaml"
cmp -s "$WORK/v0.yaml" "$WORK/v1.yaml" && { echo "the second version does not differ" >&2; exit 1; }
reloads() {
  python3 - "$WORK" "$PORT" "$RELOAD_EVERY" "$(cat "$WORK/data/admin.token")" "$RELOAD_UNCHANGED" <<'PY'
import http.client, os, shutil, sys, time
work, port, every, admin, unchanged = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
conn = http.client.HTTPConnection("127.0.0.1", port)
n, due = 0, time.monotonic()
with open(os.path.join(work, "reloads.log"), "a") as log:
    while not os.path.exists(os.path.join(work, "stop")):
        n += 1
        if not unchanged:
            shutil.copyfile(os.path.join(work, f"v{n % 2}.yaml"), os.path.join(work, "next.yaml"))
            os.replace(os.path.join(work, "next.yaml"), os.path.join(work, "tessera.yaml"))
        conn.request("POST", "/admin/v1/config/reload", headers={"Authorization": "Bearer " + admin, "Content-Length": "0"})
        answer = conn.getresponse()
        answer.read()
        log.write(f"{answer.status}\n")
        log.flush()
        due += every
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            due = time.monotonic()
with open(os.path.join(work, "reloader.cpu"), "w") as cpu:
    times = os.times()
    cpu.write(f"{times.user + times.system:.2f}\n")
PY
}
# with_reloads LINE PID PORT WHAT [TOKEN_VAR]: measure while the reload loop runs; records the reloads it made.
with_reloads() {
  : > "$WORK/reloads.log"; rm -f "$WORK/stop"
  reloads & local loop=$!
  measure "$@"
  touch "$WORK/stop"; wait "$loop"
  local done ok
  done=$(wc -l < "$WORK/reloads.log"); ok=$(grep -c '^200$' "$WORK/reloads.log" || true)
  echo "$1: $done reloads ($(awk -v n="$done" -v d="$DURATION" 'BEGIN { printf "%.1f", n / d }')/s), $ok answered 200; the reloader's CPU $(cat "$WORK/reloader.cpu") s" >&2
  echo "reloads_$1 $done $ok" >> "$WORK/reloads.total"
  [ "$done" = "$ok" ] || { echo "a reload failed: $(sort "$WORK/reloads.log" | uniq -c | tr '\n' ' ')" >&2; exit 1; }
}

echo "== starting" >&2
start NOW "$TESSERA" "$WORK" "$PORT"
measure warmup "$NOW_PID" "$PORT" cc 3
measure warmup "$NOW_PID" "$PORT" proxy 3 NOW_TOKEN
if [ -n "$BEFORE" ]; then
  mkdir -p "$WORK/before"
  cp "$WORK"/*.jwks.json "$WORK/before/"
  sed "s#127.0.0.1:$PORT#127.0.0.1:$BEFORE_PORT#" "$WORK/tessera.yaml" > "$WORK/before/tessera.yaml"
  start BEFORE "$TESSERA_BEFORE" "$WORK/before" "$BEFORE_PORT"
  measure warmup "$BEFORE_PID" "$BEFORE_PORT" cc 3
  measure warmup "$BEFORE_PID" "$BEFORE_PORT" proxy 3 BEFORE_TOKEN
fi

# What one reload costs the server, without load: RELOADS_ALONE reloads back to back, once before the
# rounds (after ten not counted) and once after them.
RELOADS_ALONE=${RELOADS_ALONE:-100}
reload_once() { # N: writes version N % 2 and reloads; fails unless 200
  cp "$WORK/v$(($1 % 2)).yaml" "$WORK/next.yaml" && mv -f "$WORK/next.yaml" "$WORK/tessera.yaml"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$WORK/data/admin.token")" "http://127.0.0.1:$PORT/admin/v1/config/reload")" = 200 ] \
    || { echo "reload $1 failed" >&2; exit 1; }
}
reloads_alone() { # LABEL
  local cpu_before cpu_after start_ns end_ns
  cpu_before=$(cpu_ticks "$NOW_PID"); start_ns=$(date +%s%N)
  for i in $(seq 1 "$RELOADS_ALONE"); do reload_once "$i"; done
  cpu_after=$(cpu_ticks "$NOW_PID"); end_ns=$(date +%s%N)
  awk -v label="$1" -v n="$RELOADS_ALONE" -v t=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" -v ns=$((end_ns - start_ns)) \
    'BEGIN { printf "%d reloads alone, %s: %.1f ms of server CPU and %.1f ms wall clock each (curl included)\n", n, label, t / hz / n * 1000, ns / n / 1e6 }' | tee -a "$WORK/alone" >&2
}
if [ "$COMPARE_ONLY" != 1 ]; then
  for i in $(seq 1 10); do reload_once "$i"; done
  reloads_alone "before the rounds"
fi

echo "Configuration reload — $(nproc) cores, wrk -t2 -c16 -d${DURATION}s, $ROUNDS rounds, reload every ${RELOAD_EVERY}s, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  for what in cc proxy; do
    pair=(steady reloading)
    [ $((round % 2)) = 0 ] && pair=(reloading steady)
    [ "$COMPARE_ONLY" = 1 ] && pair=()
    for mode in "${pair[@]}"; do
      if [ "$mode" = steady ]; then measure "${what}_steady" "$NOW_PID" "$PORT" "$what" "$DURATION" NOW_TOKEN
      else with_reloads "${what}_reloading" "$NOW_PID" "$PORT" "$what" "$DURATION" NOW_TOKEN; fi
    done
    if [ -n "$BEFORE" ]; then
      builds=(now before)
      [ $((round % 2)) = 0 ] && builds=(before now)
      for build in "${builds[@]}"; do
        if [ "$build" = now ]; then measure "${what}_this_build" "$NOW_PID" "$PORT" "$what" "$DURATION" NOW_TOKEN
        else measure "${what}_before" "$BEFORE_PID" "$BEFORE_PORT" "$what" "$DURATION" BEFORE_TOKEN; fi
      done
    fi
  done
done

[ "$COMPARE_ONLY" = 1 ] || reloads_alone "after the rounds"
bad=$(awk '$6 > 0' "$RESULTS")
[ -z "$bad" ] || { echo "non-2xx answers:" >&2; echo "$bad" >&2; exit 1; }
echo
echo "Configuration reload — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), wrk -t2 -c16 -d${DURATION}s, $ROUNDS rounds, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "line: median req/s (runs), median server CPU µs/req (runs), median p99"
for line in cc_steady cc_reloading cc_this_build cc_before proxy_steady proxy_reloading proxy_this_build proxy_before; do
  grep -q "^$line " "$RESULTS" || continue
  awk -v line="$line" '
    function median(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; return v * 1000 }
    $1 == line { n++; rps[n] = $2; cpu[n] = $5; p99[n] = ms($4); runs = runs (runs ? ", " : "") sprintf("%.0f", $2); cpus = cpus (cpus ? ", " : "") $5 }
    END { printf "%-18s %8.0f/s (%s)  %4.0f µs/req (%s)  p99 %.2f ms\n", line, median(rps, n), runs, median(cpu, n), cpus, median(p99, n) }' "$RESULTS"
done
[ -f "$WORK/alone" ] && cat "$WORK/alone"
# Each pair ran back to back in the same round: their ratio is steadier than either median on a shared machine.
awk '
function median(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
NF == 6 && $1 ~ /^(cc|proxy)_/ { k = ++count[$1]; rps[$1, k] = $2; cpu[$1, k] = $5 }
END {
  split("cc_reloading cc_steady proxy_reloading proxy_steady cc_this_build cc_before proxy_this_build proxy_before", names, " ")
  for (p = 1; p <= 8; p += 2) {
    a = names[p]; b = names[p + 1]; n = count[a] < count[b] ? count[a] : count[b]
    if (n == 0) continue
    ratios = ""; diffs = ""; delete r; delete d
    for (k = 1; k <= n; k++) {
      r[k] = 100 * rps[a, k] / rps[b, k]; d[k] = cpu[a, k] - cpu[b, k]
      ratios = ratios (k > 1 ? ", " : "") sprintf("%.0f %%", r[k]); diffs = diffs (k > 1 ? ", " : "") sprintf("%+d", d[k])
    }
    printf "%s / %s, round by round: req/s %s (median %.0f %%); server CPU µs/req %s (median %+.0f)\n", a, b, ratios, median(r, n), diffs, median(d, n)
  }
}
' "$RESULTS"
[ -f "$WORK/reloads.total" ] && awk '{ n += $2; ok += $3 } END { printf "reloads during the reloading runs: %d, %d answered 200\n", n, ok }' "$WORK/reloads.total"
