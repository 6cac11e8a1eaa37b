#!/usr/bin/env bash
# The HTTP load harness (docs/performance.md): builds Release, starts Tessera and the signing ceiling
# on loopback, drives each path with wrk (2 threads, 16 connections) and prints requests/s, p50, p99,
# server CPU per request, and every figure as a ratio to the ceiling measured in the same run. The
# proxy is measured against calling its upstream (bench/Tessera.Upstream) directly, in the same run,
# and against proxy_ceiling: the ceiling app forwarding the same request with YARP and nothing else.
# proxy_dpop is the proxy again with a DPoP-bound token and a fresh proof per request (RFC 9449).
# proxy_telemetry_off / proxy_telemetry_on are the proxy again, each in a freshly restarted Tessera: without
# a telemetry section, and with traces and metrics exported over OTLP (sample_ratio 1) to a local sink
# that accepts and drops them (TELEMETRY=0 skips both).
# PROXY_ONLY=1 skips the ceiling and the token paths and measures only upstream_direct, proxy_ceiling,
# proxy, proxy_dpop and the two telemetry lines. TOKEN_ONLY=1 measures only the ceiling, client_credentials_basic and
# token_exchange_mission_to_tool (the targets in docs/performance.md) and client_credentials_basic_file_sink
# (the first with an audit file sink), and skips the proxy and MCP.
# The MCP gateway is measured against an MCP server of the official C# SDK (bench/Tessera.McpUpstream,
# stateless, 202 tools): mcp_call_direct / mcp_call_ceiling / mcp_call are tools/call get_issue straight
# to it, through the ceiling app's YARP forwarding alone, and through /proxy/issues with an issues:read
# token; mcp_list_direct / mcp_list_ceiling / mcp_list the same for tools/list (202 tools; Tessera
# filters the answer to the 2 the token may call); mcp_*_1c repeat direct and Tessera on one connection
# (no queueing: each message's own latency). MCP_ONLY=1 measures only these; MCP_JSON=1 makes the MCP
# server answer application/json instead of the SDK's text/event-stream.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}   # THREADS=1 CONNECTIONS=1: each request's own latency, no queueing
TESSERA_PORT=${TESSERA_PORT:-18080}
CEILING_PORT=${CEILING_PORT:-18081}
UPSTREAM_PORT=${UPSTREAM_PORT:-18082}
WORK_UPSTREAM_PORT=${WORK_UPSTREAM_PORT:-18083}
WORK_DELAY_MS=${WORK_DELAY_MS:-2}   # the working upstream's delay before it answers (a real API does work)
PROXY_ONLY=${PROXY_ONLY:-0}
TOKEN_ONLY=${TOKEN_ONLY:-0}
MCP_ONLY=${MCP_ONLY:-0}
MCP_UPSTREAM_PORT=${MCP_UPSTREAM_PORT:-18084}
MCP_JSON=${MCP_JSON:-0}
TELEMETRY=${TELEMETRY:-1}
OTLP_SINK_PORT=${OTLP_SINK_PORT:-18085}
# Throughput is compared at saturation too: with 16 connections a path that waits for a durable
# commit before forwarding is bounded by that wait (16 / latency), not by CPU; mcp_call_ceiling_sat
# and mcp_call_sat drive the same call with MCP_SATURATION connections until both are CPU-bound.
MCP_SATURATION=${MCP_SATURATION:-64}
RUN_TOKENS=1; RUN_PROXY=1; RUN_MCP=1
[ "$PROXY_ONLY" = 1 ] && { RUN_TOKENS=0; RUN_MCP=0; }
[ "$TOKEN_ONLY" = 1 ] && { RUN_PROXY=0; RUN_MCP=0; }
[ "$MCP_ONLY" = 1 ] && { RUN_TOKENS=0; RUN_PROXY=0; }
UPSTREAM_KEY="bench-upstream-key-7c41e0a9d3b2"
MCP_KEY="bench-mcp-key-51d2f08e6a93"
WORK=$(mktemp -d /tmp/tessera-load.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }

echo "== building Release" >&2
dotnet build -c Release src/Tessera.Cli -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.Ceiling -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.LoadPrep -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.Upstream -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.McpUpstream -v q -nologo >/dev/null
TESSERA="dotnet $ROOT/src/Tessera.Cli/bin/Release/net10.0/tessera.dll"
CEILING="dotnet $ROOT/bench/Tessera.Ceiling/bin/Release/net10.0/Tessera.Ceiling.dll"
PREP="dotnet $ROOT/bench/Tessera.LoadPrep/bin/Release/net10.0/Tessera.LoadPrep.dll"
UPSTREAM="dotnet $ROOT/bench/Tessera.Upstream/bin/Release/net10.0/Tessera.Upstream.dll"
MCP_UPSTREAM="dotnet $ROOT/bench/Tessera.McpUpstream/bin/Release/net10.0/Tessera.McpUpstream.dll"
MCP_ENDPOINT="http://127.0.0.1:$MCP_UPSTREAM_PORT/mcp"
ADDR="http://127.0.0.1:$TESSERA_PORT"

wait_ready() { for _ in $(seq 1 200); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "not ready: $1" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run NAME PID SCRIPT [env...]: one wrk run; prints a result line and records it.
RESULTS="$WORK/results"
run() {
  local name=$1 pid=$2 script=$3; shift 3
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(env "$@" LOAD_THREADS=$THREADS wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s "bench/load/$script" "${URL}")
  after=$(cpu_ticks "$pid")
  local rps p50 p99 total non2xx cpu
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  cpu=$(awk -v t=$((after - before)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (t / hz) / n * 1e6 }')
  echo "$name $rps $p50 $p99 $cpu ${non2xx:-0}" >> "$RESULTS"
  echo "$name: $rps req/s, p50 $p50, p99 $p99, server CPU ${cpu} µs/req, non-2xx ${non2xx:-0}" >&2
}

: > "$RESULTS"
if [ "$RUN_TOKENS" = 1 ]; then
echo "== ceiling" >&2
ASPNETCORE_URLS="http://127.0.0.1:$CEILING_PORT" $CEILING >"$WORK/ceiling.log" 2>&1 &
CEILING_PID=$!; PIDS+=($CEILING_PID)
sleep 0.5; wait_ready_ceiling() { for _ in $(seq 1 200); do curl -sf -X POST -d scope=crm:read "http://127.0.0.1:$CEILING_PORT/token" >/dev/null 2>&1 && return 0; sleep 0.05; done; exit 1; }
wait_ready_ceiling
URL="http://127.0.0.1:$CEILING_PORT"
DURATION=3 run warmup "$CEILING_PID" fixed.lua LOAD_PATH=/token LOAD_BODY="scope=crm%3Aread" >/dev/null 2>&1 || true
: > "$RESULTS"
run ceiling "$CEILING_PID" fixed.lua LOAD_PATH=/token LOAD_BODY="grant_type=client_credentials&scope=crm%3Aread"
kill "$CEILING_PID"; wait "$CEILING_PID" 2>/dev/null || true
fi

echo "== tessera" >&2
if [ "$RUN_PROXY" = 1 ]; then
UPSTREAM_API_KEY="$UPSTREAM_KEY" ASPNETCORE_URLS="http://127.0.0.1:$UPSTREAM_PORT" $UPSTREAM >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!; PIDS+=($UPSTREAM_PID)
UPSTREAM_DELAY_MS=$WORK_DELAY_MS UPSTREAM_API_KEY="$UPSTREAM_KEY" ASPNETCORE_URLS="http://127.0.0.1:$WORK_UPSTREAM_PORT" $UPSTREAM >"$WORK/work-upstream.log" 2>&1 &
WORK_UPSTREAM_PID=$!; PIDS+=($WORK_UPSTREAM_PID)
fi
if [ "$RUN_MCP" = 1 ]; then
MCP_UPSTREAM_JSON=$MCP_JSON MCP_UPSTREAM_AUTH="Bearer $MCP_KEY" ASPNETCORE_URLS="http://127.0.0.1:$MCP_UPSTREAM_PORT" $MCP_UPSTREAM >"$WORK/mcp-upstream.log" 2>&1 &
MCP_UPSTREAM_PID=$!; PIDS+=($MCP_UPSTREAM_PID)
fi
$PREP config "$WORK" "$TESSERA_PORT" "http://127.0.0.1:$UPSTREAM_PORT" "http://127.0.0.1:$WORK_UPSTREAM_PORT" "$MCP_ENDPOINT"
$TESSERA serve --config "$WORK/tessera.yaml" >"$WORK/tessera.log" 2>&1 &
SERVER_PID=$!; PIDS+=($SERVER_PID)
wait_ready "$ADDR/readyz"
URL=$ADDR
SECRET=$(cat "$WORK/secret")
BASIC="Basic $(printf 'bench-agent:%s' "$SECRET" | base64 -w0)"
token() { curl -sf -H "Authorization: $BASIC" -d grant_type=client_credentials -d "scope=$1" "$ADDR/oauth/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/'; }

if [ "$RUN_TOKENS" = 1 ]; then
EXPECTED=$(( DURATION * 12000 ))
if [ "$TOKEN_ONLY" != 1 ]; then
$PREP assertions "$WORK" "$ADDR" 12000 && mv "$WORK/assertions.txt" "$WORK/warm-assertions.txt"
$PREP assertions "$WORK" "$ADDR" "$EXPECTED"
fi
PRINCIPAL=$($PREP principal "$WORK")
MISSION=$(curl -s -H "Authorization: $BASIC" -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
  -d subject_token_type=urn:ietf:params:oauth:token-type:jwt -d "subject_token=$PRINCIPAL" -d purpose=load "$ADDR/oauth/token" \
  | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
TOKEN=$(curl -s -H "Authorization: $BASIC" -d grant_type=client_credentials -d scope=crm:read "$ADDR/oauth/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

# Warm every path first, so tiered compilation is done before anything is measured.
EXCHANGE_BODY="grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&resource=urn%3Atessera%3Atool%3Acrm&subject_token=$MISSION"
for body in "grant_type=client_credentials&scope=crm%3Aread" "$EXCHANGE_BODY"; do
  DURATION=3 run warmup "$SERVER_PID" fixed.lua LOAD_PATH=/oauth/token LOAD_AUTH="$BASIC" LOAD_BODY="$body" >/dev/null 2>&1 || true
done
if [ "$TOKEN_ONLY" != 1 ]; then
DURATION=3 run warmup "$SERVER_PID" fixed.lua LOAD_PATH=/oauth/introspect LOAD_AUTH="$BASIC" LOAD_BODY="token=$TOKEN" >/dev/null 2>&1 || true
DURATION=3 run warmup "$SERVER_PID" lines.lua LOAD_PATH=/oauth/token LOAD_LINES="$WORK/warm-assertions.txt" \
  LOAD_PREFIX="grant_type=client_credentials&scope=crm%3Aread&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" >/dev/null 2>&1 || true
fi
sed -i '/^warmup /d' "$RESULTS"
run client_credentials_basic "$SERVER_PID" fixed.lua LOAD_PATH=/oauth/token LOAD_AUTH="$BASIC" LOAD_BODY="grant_type=client_credentials&scope=crm%3Aread"
if [ "$TOKEN_ONLY" != 1 ]; then
run client_credentials_private_key_jwt "$SERVER_PID" lines.lua LOAD_PATH=/oauth/token LOAD_LINES="$WORK/assertions.txt" \
  LOAD_PREFIX="grant_type=client_credentials&scope=crm%3Aread&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
fi
run token_exchange_mission_to_tool "$SERVER_PID" fixed.lua LOAD_PATH=/oauth/token LOAD_AUTH="$BASIC" LOAD_BODY="$EXCHANGE_BODY"

# client_credentials_basic_file_sink: the same request to a second Tessera, the same configuration
# with its own database and an audit sink to a file (audit.sinks, docs/audit-sinks.md), run after
# the first, so the two lines side by side give what the sink costs (its CPU is the server's).
SINK_PORT=${SINK_PORT:-18085}
mkdir -p "$WORK/sink"
cp "$WORK"/*.jwks.json "$WORK/sink/"
sed "s#127.0.0.1:$TESSERA_PORT#127.0.0.1:$SINK_PORT#" "$WORK/tessera.yaml" > "$WORK/sink/tessera.yaml"
printf '\naudit:\n  sinks:\n    - { type: file, path: audit.jsonl }\n' >> "$WORK/sink/tessera.yaml"
$TESSERA serve --config "$WORK/sink/tessera.yaml" >"$WORK/sink/tessera.log" 2>&1 &
SINK_PID=$!; PIDS+=($SINK_PID)
wait_ready "http://127.0.0.1:$SINK_PORT/readyz"
URL="http://127.0.0.1:$SINK_PORT"
DURATION=3 run warmup "$SINK_PID" fixed.lua LOAD_PATH=/oauth/token LOAD_AUTH="$BASIC" LOAD_BODY="grant_type=client_credentials&scope=crm%3Aread" >/dev/null 2>&1 || true
sed -i '/^warmup /d' "$RESULTS"
run client_credentials_basic_file_sink "$SINK_PID" fixed.lua LOAD_PATH=/oauth/token LOAD_AUTH="$BASIC" LOAD_BODY="grant_type=client_credentials&scope=crm%3Aread"
echo "file sink: $(wc -l < "$WORK/sink/audit.jsonl") lines written, $(curl -s "$URL/metrics" | grep '^tessera_audit_sink_lag_events' || echo 'no lag metric')" >&2
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true
URL=$ADDR
if [ "$TOKEN_ONLY" != 1 ]; then
run introspection "$SERVER_PID" fixed.lua LOAD_PATH=/oauth/introspect LOAD_AUTH="$BASIC" LOAD_BODY="token=$TOKEN"
$PREP tokens "$WORK" "$ADDR" "$(( DURATION * 4000 ))"
run revocation "$SERVER_PID" lines.lua LOAD_PATH=/oauth/revoke LOAD_AUTH="$BASIC" LOAD_LINES="$WORK/tokens.txt" LOAD_PREFIX="token="
fi
fi

if [ "$RUN_PROXY" = 1 ]; then
# The proxy against its upstream called directly: the same GET, once straight to the upstream with
# the key, once through /proxy/crm with a crm:read token (Tessera injects the key from the vault).
echo "== proxy" >&2
wait_ready_upstream() {
  for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$UPSTREAM_PORT/contacts/42")" = 401 ] && return 0; sleep 0.05
  done
  echo "upstream not ready" >&2; exit 1
}
wait_ready_upstream
curl -sf -X PUT -H "Authorization: Bearer $(cat "$WORK/data/admin.token")" -H "Content-Type: application/json" \
  --data "{\"value\":\"$UPSTREAM_KEY\"}" "$ADDR/admin/v1/secrets/crm-key" >/dev/null
PROXY_TOKEN=$(token crm:read)
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PROXY_TOKEN" "$ADDR/proxy/crm/contacts/42")
[ "$status" = 200 ] || { echo "proxy answered $status, expected 200" >&2; exit 1; }
DIRECT_URL="http://127.0.0.1:$UPSTREAM_PORT"
URL=$DIRECT_URL DURATION=3 run warmup "$UPSTREAM_PID" get.lua LOAD_PATH=/contacts/42 LOAD_API_KEY="$UPSTREAM_KEY" >/dev/null 2>&1 || true
DURATION=3 run warmup "$SERVER_PID" get.lua LOAD_PATH=/proxy/crm/contacts/42 LOAD_AUTH="Bearer $PROXY_TOKEN" >/dev/null 2>&1 || true
sed -i '/^warmup /d' "$RESULTS"
URL=$DIRECT_URL run upstream_direct "$UPSTREAM_PID" get.lua LOAD_PATH=/contacts/42 LOAD_API_KEY="$UPSTREAM_KEY"

CEILING_UPSTREAM=$DIRECT_URL CEILING_UPSTREAM_KEY="$UPSTREAM_KEY" ASPNETCORE_URLS="http://127.0.0.1:$CEILING_PORT" $CEILING >"$WORK/proxy-ceiling.log" 2>&1 &
CEILING_PID=$!; PIDS+=($CEILING_PID)
FORWARD_URL="http://127.0.0.1:$CEILING_PORT"
for _ in $(seq 1 200); do curl -sf -H "Authorization: Bearer $PROXY_TOKEN" "$FORWARD_URL/proxy/crm/contacts/42" >/dev/null 2>&1 && break; sleep 0.05; done
URL=$FORWARD_URL DURATION=3 run warmup "$CEILING_PID" get.lua LOAD_PATH=/proxy/crm/contacts/42 LOAD_AUTH="Bearer $PROXY_TOKEN" >/dev/null 2>&1 || true
sed -i '/^warmup /d' "$RESULTS"
URL=$FORWARD_URL run proxy_ceiling "$CEILING_PID" get.lua LOAD_PATH=/proxy/crm/contacts/42 LOAD_AUTH="Bearer $PROXY_TOKEN"
kill "$CEILING_PID"; wait "$CEILING_PID" 2>/dev/null || true

run proxy "$SERVER_PID" get.lua LOAD_PATH=/proxy/crm/contacts/42 LOAD_AUTH="Bearer $PROXY_TOKEN"

# The same comparison against an upstream that does some work (WORK_DELAY_MS before it answers, as
# a real API would): against the free upstream above any forwarder's own cost dominates the ratio.
echo "== proxy to a working upstream (${WORK_DELAY_MS} ms)" >&2
WORK_TOKEN=$(token crmwork:read)
WORK_URL="http://127.0.0.1:$WORK_UPSTREAM_PORT"
for _ in $(seq 1 200); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $WORK_TOKEN" "$ADDR/proxy/crmwork/contacts/42")" = 200 ] && break; sleep 0.05
done
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $WORK_TOKEN" "$ADDR/proxy/crmwork/contacts/42")
[ "$status" = 200 ] || { echo "proxy to the working upstream answered $status, expected 200" >&2; exit 1; }
URL=$WORK_URL DURATION=3 run warmup "$WORK_UPSTREAM_PID" get.lua LOAD_PATH=/contacts/42 LOAD_API_KEY="$UPSTREAM_KEY" >/dev/null 2>&1 || true
DURATION=3 run warmup "$SERVER_PID" get.lua LOAD_PATH=/proxy/crmwork/contacts/42 LOAD_AUTH="Bearer $WORK_TOKEN" >/dev/null 2>&1 || true
sed -i '/^warmup /d' "$RESULTS"
URL=$WORK_URL run working_upstream_direct "$WORK_UPSTREAM_PID" get.lua LOAD_PATH=/contacts/42 LOAD_API_KEY="$UPSTREAM_KEY"
run proxy_to_working_upstream "$SERVER_PID" get.lua LOAD_PATH=/proxy/crmwork/contacts/42 LOAD_AUTH="Bearer $WORK_TOKEN"

# The same GET with a DPoP-bound token: every request carries its own proof (unique jti, ath of the
# token), signed beforehand, so the run measures what verifying them costs the server. A proof is
# accepted for proof_max_age (60 s) + 60 s skew after its iat, so they are signed right before the
# warm-up; with DURATION above ~100 s the last ones would be refused as stale (non-2xx).
echo "== proxy with DPoP" >&2
[ "$DURATION" -le 100 ] || echo "DURATION=$DURATION: DPoP proofs older than 120 s are refused, expect non-2xx in proxy_dpop" >&2
$PREP dpop "$WORK" "$ADDR" "$(( DURATION * 12000 ))" 12000
DPOP_TOKEN=$(cat "$WORK/dpop-token.txt")
DURATION=3 run warmup "$SERVER_PID" lines.lua LOAD_PATH=/proxy/crm/contacts/42 LOAD_AUTH="DPoP $DPOP_TOKEN" \
  LOAD_LINE_HEADER=DPoP LOAD_LINES="$WORK/dpop-warm-proofs.txt" >/dev/null 2>&1 || true
sed -i '/^warmup /d' "$RESULTS"
run proxy_dpop "$SERVER_PID" lines.lua LOAD_PATH=/proxy/crm/contacts/42 LOAD_AUTH="DPoP $DPOP_TOKEN" \
  LOAD_LINE_HEADER=DPoP LOAD_LINES="$WORK/dpop-proofs.txt"
fi

if [ "$RUN_MCP" = 1 ]; then
# The MCP gateway against its MCP server called directly, in the 2026-07-28 form (no initialize, no
# session: MCP-Protocol-Version, Mcp-Method and Mcp-Name headers, the version and the client's
# capabilities in params._meta). The server gets its credential from the harness when called
# directly, from the vault (issues-key) through Tessera, from the environment through the ceiling.
echo "== MCP gateway" >&2
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1.0"},"io.modelcontextprotocol/clientCapabilities":{}}'
CALL_BODY='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_issue","arguments":{"number":42},'"$META"'}}'
LIST_BODY='{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{'"$META"'}}'
mcp_post() { # URL AUTH METHOD NAME BODY: prints the status and the body
  curl -s -w '\n%{http_code}' -X POST -H "Authorization: $2" -H "Content-Type: application/json" \
    -H "Accept: application/json, text/event-stream" -H "MCP-Protocol-Version: 2026-07-28" -H "Mcp-Method: $3" \
    ${4:+-H "Mcp-Name: $4"} --data "$5" "$1"
}
for _ in $(seq 1 200); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$MCP_ENDPOINT")" = 401 ] && break; sleep 0.05
done
curl -sf -X PUT -H "Authorization: Bearer $(cat "$WORK/data/admin.token")" -H "Content-Type: application/json" \
  --data "{\"value\":\"$MCP_KEY\"}" "$ADDR/admin/v1/secrets/issues-key" >/dev/null
MCP_TOKEN=$(token issues:read)
# Each path answers before anything is measured: the call with the issue, the lists with 202 tools
# direct and the 2 the token may call (get_issue, search_issues) through Tessera.
check_mcp() { # LABEL EXPECTED-TOOLS OUTPUT
  local status=${3##*$'\n'} tools
  tools=$( { grep -o '"name":"[a-z_0-9]*","description"' <<<"$3" || true; } | wc -l)
  [ "$status" = 200 ] && [ "$tools" = "$2" ] || { echo "$1 answered $status with $tools tools, expected 200 with $2" >&2; exit 1; }
}
check_mcp "tools/call direct" 0 "$(mcp_post "$MCP_ENDPOINT" "Bearer $MCP_KEY" tools/call get_issue "$CALL_BODY")"
check_mcp "tools/call through Tessera" 0 "$(mcp_post "$ADDR/proxy/issues" "Bearer $MCP_TOKEN" tools/call get_issue "$CALL_BODY")"
check_mcp "tools/list direct" 202 "$(mcp_post "$MCP_ENDPOINT" "Bearer $MCP_KEY" tools/list "" "$LIST_BODY")"
check_mcp "tools/list through Tessera" 2 "$(mcp_post "$ADDR/proxy/issues" "Bearer $MCP_TOKEN" tools/list "" "$LIST_BODY")"
MCP_DIRECT="http://127.0.0.1:$MCP_UPSTREAM_PORT"
URL=$MCP_DIRECT DURATION=3 run warmup "$MCP_UPSTREAM_PID" mcp.lua LOAD_PATH=/mcp LOAD_AUTH="Bearer $MCP_KEY" LOAD_MCP_METHOD=tools/call LOAD_MCP_NAME=get_issue LOAD_BODY="$CALL_BODY" >/dev/null 2>&1 || true
URL=$MCP_DIRECT DURATION=3 run warmup "$MCP_UPSTREAM_PID" mcp.lua LOAD_PATH=/mcp LOAD_AUTH="Bearer $MCP_KEY" LOAD_MCP_METHOD=tools/list LOAD_MCP_NAME= LOAD_BODY="$LIST_BODY" >/dev/null 2>&1 || true
DURATION=3 run warmup "$SERVER_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/call LOAD_MCP_NAME=get_issue LOAD_BODY="$CALL_BODY" >/dev/null 2>&1 || true
DURATION=3 run warmup "$SERVER_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/list LOAD_MCP_NAME= LOAD_BODY="$LIST_BODY" >/dev/null 2>&1 || true
sed -i '/^warmup /d' "$RESULTS"
URL=$MCP_DIRECT run mcp_call_direct "$MCP_UPSTREAM_PID" mcp.lua LOAD_PATH=/mcp LOAD_AUTH="Bearer $MCP_KEY" LOAD_MCP_METHOD=tools/call LOAD_MCP_NAME=get_issue LOAD_BODY="$CALL_BODY"
URL=$MCP_DIRECT run mcp_list_direct "$MCP_UPSTREAM_PID" mcp.lua LOAD_PATH=/mcp LOAD_AUTH="Bearer $MCP_KEY" LOAD_MCP_METHOD=tools/list LOAD_MCP_NAME= LOAD_BODY="$LIST_BODY"

CEILING_MCP_UPSTREAM=$MCP_ENDPOINT CEILING_MCP_AUTH="Bearer $MCP_KEY" ASPNETCORE_URLS="http://127.0.0.1:$CEILING_PORT" $CEILING >"$WORK/mcp-ceiling.log" 2>&1 &
CEILING_PID=$!; PIDS+=($CEILING_PID)
FORWARD_URL="http://127.0.0.1:$CEILING_PORT"
for _ in $(seq 1 200); do
  [ "$(mcp_post "$FORWARD_URL/proxy/issues" "Bearer $MCP_TOKEN" tools/call get_issue "$CALL_BODY" 2>/dev/null | tail -n1)" = 200 ] && break; sleep 0.05
done
check_mcp "tools/list through the ceiling" 202 "$(mcp_post "$FORWARD_URL/proxy/issues" "Bearer $MCP_TOKEN" tools/list "" "$LIST_BODY")"
URL=$FORWARD_URL DURATION=3 run warmup "$CEILING_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/call LOAD_MCP_NAME=get_issue LOAD_BODY="$CALL_BODY" >/dev/null 2>&1 || true
URL=$FORWARD_URL DURATION=3 run warmup "$CEILING_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/list LOAD_MCP_NAME= LOAD_BODY="$LIST_BODY" >/dev/null 2>&1 || true
sed -i '/^warmup /d' "$RESULTS"
URL=$FORWARD_URL run mcp_call_ceiling "$CEILING_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/call LOAD_MCP_NAME=get_issue LOAD_BODY="$CALL_BODY"
URL=$FORWARD_URL run mcp_list_ceiling "$CEILING_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/list LOAD_MCP_NAME= LOAD_BODY="$LIST_BODY"
URL=$FORWARD_URL CONNECTIONS=$MCP_SATURATION run mcp_call_ceiling_sat "$CEILING_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/call LOAD_MCP_NAME=get_issue LOAD_BODY="$CALL_BODY"
kill "$CEILING_PID"; wait "$CEILING_PID" 2>/dev/null || true

run mcp_call "$SERVER_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/call LOAD_MCP_NAME=get_issue LOAD_BODY="$CALL_BODY"
run mcp_list "$SERVER_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/list LOAD_MCP_NAME= LOAD_BODY="$LIST_BODY"
CONNECTIONS=$MCP_SATURATION run mcp_call_sat "$SERVER_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD=tools/call LOAD_MCP_NAME=get_issue LOAD_BODY="$CALL_BODY"

# The same four without load (one connection, one request at a time): with 16 connections on two
# shared cores p50 is mostly queueing (≈ 16 / throughput); here it is each message's own latency.
for line in "call tools/call get_issue" "list tools/list -"; do
  read -r what method name <<<"$line"; [ "$name" = - ] && name=""
  [ "$what" = call ] && body=$CALL_BODY || body=$LIST_BODY
  URL=$MCP_DIRECT THREADS=1 CONNECTIONS=1 run "mcp_${what}_direct_1c" "$MCP_UPSTREAM_PID" mcp.lua LOAD_PATH=/mcp LOAD_AUTH="Bearer $MCP_KEY" LOAD_MCP_METHOD="$method" LOAD_MCP_NAME="$name" LOAD_BODY="$body"
  THREADS=1 CONNECTIONS=1 run "mcp_${what}_1c" "$SERVER_PID" mcp.lua LOAD_PATH=/proxy/issues LOAD_AUTH="Bearer $MCP_TOKEN" LOAD_MCP_METHOD="$method" LOAD_MCP_NAME="$name" LOAD_BODY="$body"
done
fi

if [ "$RUN_PROXY" = 1 ] && [ "$TELEMETRY" = 1 ]; then
# The proxy with OpenTelemetry on and off, each in a Tessera restarted on the same data, so the two
# differ in the telemetry section alone. The sink answers every OTLP export 200 and keeps nothing.
echo "== proxy with telemetry off and on" >&2
python3 - "$OTLP_SINK_PORT" >"$WORK/otlp-sink.log" 2>&1 <<'PY' &
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break
        else:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
        print(self.path, flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
PIDS+=($!)
cp "$WORK/tessera.yaml" "$WORK/tessera-traced.yaml"
printf '\ntelemetry:\n  otlp: { endpoint: "http://127.0.0.1:%s", protocol: http/protobuf }\n  sample_ratio: 1.0\n' "$OTLP_SINK_PORT" >> "$WORK/tessera-traced.yaml"
restart_tessera() { # CONFIG
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  $TESSERA serve --config "$1" >>"$WORK/tessera.log" 2>&1 &
  SERVER_PID=$!; PIDS+=($SERVER_PID)
  wait_ready "$ADDR/readyz"
}
for mode in off on; do
  [ "$mode" = on ] && restart_tessera "$WORK/tessera-traced.yaml" || restart_tessera "$WORK/tessera.yaml"
  TRACE_TOKEN=$(token crm:read)
  DURATION=3 run warmup "$SERVER_PID" get.lua LOAD_PATH=/proxy/crm/contacts/42 LOAD_AUTH="Bearer $TRACE_TOKEN" >/dev/null 2>&1 || true
  sed -i '/^warmup /d' "$RESULTS"
  run "proxy_telemetry_$mode" "$SERVER_PID" get.lua LOAD_PATH=/proxy/crm/contacts/42 LOAD_AUTH="Bearer $TRACE_TOKEN"
done
traces=$(grep -c '^/v1/traces' "$WORK/otlp-sink.log" || true)
echo "OTLP sink: $traces trace exports, $(grep -c '^/v1/metrics' "$WORK/otlp-sink.log" || true) metric exports" >&2
[ "$traces" -gt 0 ] || { echo "the traced Tessera exported no traces" >&2; exit 1; }
fi

echo
echo "Tessera load harness — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $(date -u +%Y-%m-%dT%H:%MZ)"
# upstream_direct, proxy_ceiling, proxy and proxy_dpop are given as a share of upstream_direct, the MCP lines
# of mcp_call_direct or mcp_list_direct, everything else of the ceiling; the cpu of the proxy, MCP and
# ceiling forwarding lines is the forwarder's alone (not the upstream's).
awk '
  function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; return v * 1000 }
  { base = "" }
  $1 == "ceiling" { ceiling = $2 }
  $1 == "upstream_direct" { direct = $2; direct50 = ms($3); direct99 = ms($4) }
  $1 == "proxy" { proxy = $2; proxy50 = ms($3); proxy99 = ms($4) }
  $1 == "proxy_ceiling" { floor = $2; floor50 = ms($3) }
  $1 == "proxy_dpop" { dpop = $2; dpop50 = ms($3); dpop99 = ms($4); dpopcpu = $5; dpopbad = $6 }
  $1 == "proxy_telemetry_off" { toff = $2; toff50 = ms($3); toff99 = ms($4); toffcpu = $5 }
  $1 == "proxy_telemetry_on" { ton = $2; ton50 = ms($3); ton99 = ms($4); toncpu = $5 }
  $1 == "proxy" { proxycpu = $5 }
  $1 == "client_credentials_basic" { cc = $2; cc50 = ms($3); cccpu = $5 }
  $1 == "client_credentials_basic_file_sink" { ccs = $2; ccs50 = ms($3); ccscpu = $5 }
  $1 == "working_upstream_direct" { wdirect = $2; wdirect50 = ms($3); wdirect99 = ms($4) }
  $1 == "proxy_to_working_upstream" { wproxy = $2; wproxy50 = ms($3); wproxy99 = ms($4) }
  $1 == "mcp_call_direct" { mcd = $2; mcd50 = ms($3); mcd99 = ms($4) }
  $1 == "mcp_call_ceiling" { mcc = $2; mcc50 = ms($3) }
  $1 == "mcp_call_ceiling_sat" { mccs = $2 }
  $1 == "mcp_call_sat" { mcs = $2 }
  $1 == "mcp_call" { mc = $2; mc50 = ms($3); mc99 = ms($4) }
  $1 == "mcp_list_direct" { mld = $2; mld50 = ms($3); mld99 = ms($4) }
  $1 == "mcp_list_ceiling" { mlc = $2; mlc50 = ms($3) }
  $1 == "mcp_list" { ml = $2; ml50 = ms($3); ml99 = ms($4) }
  $1 == "mcp_call_direct_1c" { mcd1 = $2; mcd150 = ms($3); mcd199 = ms($4) }
  $1 == "mcp_call_1c" { mc1 = $2; mc150 = ms($3); mc199 = ms($4) }
  $1 == "mcp_list_direct_1c" { mld1 = $2; mld150 = ms($3); mld199 = ms($4) }
  $1 == "mcp_list_1c" { ml1 = $2; ml150 = ms($3); ml199 = ms($4) }
  $1 ~ /^mcp_call.*_1c$/ { if (mcd1) base = sprintf("%5.0f%% of mcp_call_direct_1c", 100 * $2 / mcd1) }
  $1 ~ /^mcp_list.*_1c$/ { if (mld1) base = sprintf("%5.0f%% of mcp_list_direct_1c", 100 * $2 / mld1) }
  $1 ~ /^mcp_call/ && base == "" { if (mcd) base = sprintf("%5.0f%% of mcp_call_direct", 100 * $2 / mcd) }
  $1 ~ /^mcp_list/ && base == "" { if (mld) base = sprintf("%5.0f%% of mcp_list_direct", 100 * $2 / mld) }
  $1 == "working_upstream_direct" || $1 == "proxy_to_working_upstream" { if (wdirect) base = sprintf("%5.0f%% of working direct", 100 * $2 / wdirect) }
  $1 == "upstream_direct" || $1 == "proxy" || $1 == "proxy_ceiling" || $1 == "proxy_dpop" || $1 ~ /^proxy_telemetry_/ { if (direct) base = sprintf("%5.0f%% of direct", 100 * $2 / direct) }
  base == "" && ceiling { base = sprintf("%5.0f%% of ceiling", 100 * $2 / ceiling) }
  { printf "%-36s %10.0f req/s  p50 %8s  p99 %8s  cpu %5s µs/req  non-2xx %6s  %s\n", $1, $2, $3, $4, $5, $6, base }
  END {
    if (direct && proxy)
      printf "proxy vs upstream_direct: throughput %.0f%% of direct (target >= 50%%), added p50 %.2f ms (target <= 0.5 ms), added p99 %.2f ms\n",
        100 * proxy / direct, proxy50 - direct50, proxy99 - direct99
    if (wdirect && wproxy)
      printf "proxy_to_working_upstream vs working_upstream_direct: throughput %.0f%% of direct (target >= 50%%), added p50 %.2f ms (target <= 0.5 ms), added p99 %.2f ms\n",
        100 * wproxy / wdirect, wproxy50 - wdirect50, wproxy99 - wdirect99
    if (direct && floor)
      printf "proxy_ceiling vs upstream_direct: throughput %.0f%% of direct, added p50 %.2f ms (YARP forwarding alone, same machine)\n",
        100 * floor / direct, floor50 - direct50
    if (direct && dpop)
      printf "proxy_dpop vs upstream_direct: throughput %.0f%% of direct, added p50 %.2f ms, added p99 %.2f ms\n",
        100 * dpop / direct, dpop50 - direct50, dpop99 - direct99
    if (proxy && dpop)
      printf "proxy_dpop vs proxy: throughput %.0f%% of proxy, p50 %+.2f ms, server cpu %+d µs/req (what DPoP adds)\n",
        100 * dpop / proxy, dpop50 - proxy50, dpopcpu - proxycpu
    if (toff && ton)
      printf "proxy_telemetry_on vs proxy_telemetry_off: throughput %.0f%% of off, p50 %+.2f ms, p99 %+.2f ms, server cpu %+d µs/req (what tracing every request costs)\n",
        100 * ton / toff, ton50 - toff50, ton99 - toff99, toncpu - toffcpu
    if (mcd && mc)
      printf "mcp_call vs mcp_call_direct: throughput %.0f%% of direct, added p50 %.2f ms (with queueing; the target is mcp_call_1c), added p99 %.2f ms\n",
        100 * mc / mcd, mc50 - mcd50, mc99 - mcd99
    if (mcc && mc)
      printf "mcp_call vs mcp_call_ceiling: throughput %.0f%% of YARP forwarding alone (16 connections: bounded by the durable record wait), p50 %+.2f ms; the ceiling adds %.2f ms p50 to direct\n",
        100 * mc / mcc, mc50 - mcc50, mcc50 - mcd50
    if (mccs && mcs)
      printf "mcp_call_sat vs mcp_call_ceiling_sat (saturated, '"$MCP_SATURATION"' connections): throughput %.0f%% of YARP forwarding alone (target >= 60%%)\n",
        100 * mcs / mccs
    if (mld && ml)
      printf "mcp_list vs mcp_list_direct: throughput %.0f%% of direct, added p50 %.2f ms, added p99 %.2f ms\n",
        100 * ml / mld, ml50 - mld50, ml99 - mld99
    if (mld && ml && mcd && mc)
      printf "tools/list filtering (202 tools -> 2): p50 added by mcp_list minus p50 added by mcp_call = %.2f ms (with queueing; the target is mcp_list_1c)\n",
        (ml50 - mld50) - (mc50 - mcd50)
    if (mlc && ml)
      printf "mcp_list vs mcp_list_ceiling: throughput %.0f%% of YARP forwarding alone, p50 %+.2f ms\n",
        100 * ml / mlc, ml50 - mlc50
    if (mcd1 && mc1)
      printf "mcp_call_1c vs mcp_call_direct_1c (no load): added p50 %.2f ms (target <= 0.5 ms), added p99 %.2f ms\n",
        mc150 - mcd150, mc199 - mcd199
    if (mld1 && ml1)
      printf "mcp_list_1c vs mcp_list_direct_1c (no load): added p50 %.2f ms, added p99 %.2f ms; filtering alone (minus the call'"'"'s) %.2f ms p50 (target <= 0.3 ms)\n",
        ml150 - mld150, ml199 - mld199, (ml150 - mld150) - (mc150 - mcd150)
    if (cc && ccs)
      printf "client_credentials_basic_file_sink vs client_credentials_basic: throughput %.0f%%, p50 %+.2f ms, server cpu %+d µs/req (what an audit file sink adds)\n",
        100 * ccs / cc, ccs50 - cc50, ccscpu - cccpu
    if (dpopbad > 0)
      printf "WARNING: proxy_dpop had %d non-2xx responses (proofs ran out and were replayed, or went stale)\n", dpopbad
  }' "$RESULTS"
