#!/usr/bin/env bash
# Floods (docs/performance.md, "Floods"): a legitimate agent's client_credentials throughput alone and
# while SOURCES attackers send invalid credentials as fast as they can, side by side in one run.
# The agent is wrk from 127.0.0.1 (-t2 -c16, client_secret_basic, as client_credentials_basic in
# run.sh); each attacker is one connection from its own loopback address (127.0.0.11, .12, ..: the
# rate limits count per source address) sending client_credentials with a wrong secret for a client id
# nobody has, back to back (bench/Tessera.LoadPrep flood). ROUNDS times (default 3): DURATION seconds
# alone, then DURATION seconds flooded. For each flood it prints the agent's requests/s, its ratio to
# the unflooded run just before, the attackers' requests/s by status, and the audit events the attack
# added (token.denied and ratelimit.*, read with `tessera audit query`) per source per second.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
SOURCES=${SOURCES:-10}
PORT=${PORT:-18085}
# ATTACKER_NICE=19 runs the attackers at the lowest priority: on a machine shared with its attackers the
# server loses CPU to the attacking client itself; this separates that from what the server spends on them.
ATTACKER_NICE=${ATTACKER_NICE:-0}
WORK=$(mktemp -d /tmp/tessera-flood.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

echo "== building Release" >&2
dotnet build -c Release src/Tessera.Cli -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.LoadPrep -v q -nologo >/dev/null
TESSERA="dotnet $ROOT/src/Tessera.Cli/bin/Release/net10.0/tessera.dll"
PREP="dotnet $ROOT/bench/Tessera.LoadPrep/bin/Release/net10.0/Tessera.LoadPrep.dll"
ADDR="http://127.0.0.1:$PORT"

$PREP config "$WORK" "$PORT"
$TESSERA serve --config "$WORK/tessera.yaml" >"$WORK/tessera.log" 2>&1 &
SERVER_PID=$!; PIDS+=($SERVER_PID)
for _ in $(seq 1 400); do curl -sf "$ADDR/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
curl -sf "$ADDR/readyz" >/dev/null || { echo "not ready" >&2; cat "$WORK/tessera.log" >&2; exit 1; }
BASIC="Basic $(printf 'bench-agent:%s' "$(cat "$WORK/secret")" | base64 -w0)"
BODY="grant_type=client_credentials&scope=crm%3Aread"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
agent() { # SECONDS: the agent's wrk run; prints requests/s, non-2xx, the server's CPU seconds during it
  local out before after
  before=$(cpu_ticks "$SERVER_PID")
  out=$(LOAD_PATH=/oauth/token LOAD_AUTH="$BASIC" LOAD_BODY="$BODY" wrk -t2 -c16 -d"${1}s" -s bench/load/fixed.lua "$ADDR")
  after=$(cpu_ticks "$SERVER_PID")
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '/Non-2xx/ {n=$5} END {print n+0}') $(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz}')"
}
attack_events() { # SINCE: the attack's audit events since then
  local n=0 t
  for t in token.denied ratelimit.exceeded ratelimit.summary; do
    n=$(( n + $($TESSERA audit query --config "$WORK/tessera.yaml" --type "$t" --since "$1" --json | wc -l) ))
  done
  echo "$n"
}

# Warm up the token path and the attackers' path (an attacker from 127.0.0.250, which is not measured).
agent 3 >/dev/null
$PREP flood "$ADDR" 3 1 250 >/dev/null
echo "Floods — $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $SOURCES attackers (nice $ATTACKER_NICE), ${DURATION} s per run"
for round in $(seq 1 "$ROUNDS"); do
  read -r alone alone_non2xx alone_cpu <<<"$(agent "$DURATION")"
  since=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  nice -n "$ATTACKER_NICE" $PREP flood "$ADDR" $(( DURATION + 2 )) "$SOURCES" 11 >"$WORK/flood.out" &
  FLOOD_PID=$!
  sleep 1   # the attackers connect and are flooding before the agent is measured
  read -r flooded flooded_non2xx flooded_cpu <<<"$(agent "$DURATION")"
  wait "$FLOOD_PID"
  sleep 0.5  # the last refusals' events are written
  read -r attempts attack_cpu statuses <<<"$(cat "$WORK/flood.out")"
  events=$(attack_events "$since")
  awk -v r="$round" -v a="$alone" -v f="$flooded" -v an="$alone_non2xx" -v fn="$flooded_non2xx" -v n="$attempts" -v s="$statuses" \
      -v d="$(( DURATION + 2 ))" -v src="$SOURCES" -v e="$events" -v ac="$alone_cpu" -v fc="$flooded_cpu" -v xc="$attack_cpu" -v dur="$DURATION" 'BEGIN {
    printf "round %d: agent alone %.0f/s (non-2xx %d), flooded %.0f/s (non-2xx %d), ratio %.0f %%; attackers %.0f/s (%s); audit %d events, %.2f per source per second; CPU cores: server %.2f alone, %.2f flooded, attackers %.2f\n",
      r, a, an, f, fn, 100 * f / a, n / d, s, e, e / src / d, ac / dur, fc / dur, xc / d }'
done
