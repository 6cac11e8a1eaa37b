#!/usr/bin/env bash
# The posture report over a large installation (docs/performance.md, "Posture"): AGENTS agents (default
# 1,000) over 20 tools, EVENTS audit events (default 1,000,000) spread over them, written through the
# audit log (so the usage counters are written as in production). Then, against `tessera serve`, times
# RUNS (default 5) reports each way: `tessera posture --json` end to end (a new CLI process each time,
# .NET start-up included) and GET /admin/v1/posture alone (curl).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
AGENTS=${AGENTS:-1000}
EVENTS=${EVENTS:-1000000}
RUNS=${RUNS:-5}
PORT=${PORT:-18090}
echo "== building Release" >&2
dotnet build -c Release src/Tessera.Cli -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.LoadPrep -v q -nologo >/dev/null
WORK=$(mktemp -d /tmp/tessera-posture.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
PREP="dotnet $ROOT/bench/Tessera.LoadPrep/bin/Release/net10.0/Tessera.LoadPrep.dll"
TESSERA="dotnet $ROOT/src/Tessera.Cli/bin/Release/net10.0/tessera.dll"

$PREP posture-config "$WORK" "$PORT" "$AGENTS"
echo "== filling $EVENTS events over $AGENTS agents" >&2
fill_start=$(date +%s%N)
$PREP fill "$WORK" "$EVENTS" 0 "$AGENTS"
echo "   $(( ($(date +%s%N) - fill_start) / 1000000 )) ms" >&2

(cd "$WORK" && exec $TESSERA serve --config "$WORK/tessera.yaml" >"$WORK/tessera.log" 2>&1) &
PIDS+=($!)
for _ in $(seq 1 400); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "not ready" >&2; cat "$WORK/tessera.log" >&2; exit 1; }
ADMIN=$(cat "$WORK/data/admin.token")

# One report to check the shape (and warm the server), then the timed ones.
report=$($TESSERA posture --config "$WORK/tessera.yaml" --json)
agents=$(echo "$report" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r["agents"]), len(r["findings"]), sum(1 for a in r["agents"] if a.get("last_token_at")))')
read -r reported findings used <<<"$agents"
[ "$reported" = "$AGENTS" ] || { echo "the report has $reported agents, not $AGENTS" >&2; exit 1; }

cli=(); api=()
for _ in $(seq 1 "$RUNS"); do
  start=$(date +%s%N)
  $TESSERA posture --config "$WORK/tessera.yaml" --json >/dev/null
  cli+=($(( ($(date +%s%N) - start) / 1000000 )))
  api+=($(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT/admin/v1/posture"))
done

echo
echo "Tessera posture — $(nproc) cores, $AGENTS agents, $EVENTS events, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "report: $reported agents ($used with a token on record), $findings findings, $(echo "$report" | wc -c) bytes of JSON"
echo "tessera posture --json (process start included), ms: ${cli[*]}"
echo "GET /admin/v1/posture, s: ${api[*]}"
