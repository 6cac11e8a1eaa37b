#!/usr/bin/env bash
# client_credentials on PostgreSQL against SQLite, one node each, in the same run (docs/performance.md,
# "PostgreSQL"): starts a throwaway PostgreSQL (bench/pg/cluster.sh: fsync and synchronous_commit on,
# pg_stat_statements loaded), then for ROUNDS rounds drives client_credentials_basic against a node on
# SQLite and a node on PostgreSQL (same configuration otherwise, wrk -t2 -c16, DURATION s each, after a
# 3 s warm-up). Over each PostgreSQL run it counts, from the server's own statistics, the transactions
# committed (pg_stat_database.xact_commit), WAL flushes (pg_stat_wal.wal_sync), statements
# (pg_stat_statements) and the CPU of the database's processes, and prints them per token.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-16}
PG_PORT=${PG_PORT:-18432}
SQLITE_PORT=${SQLITE_PORT:-18090}
PG_NODE_PORT=${PG_NODE_PORT:-18091}
WORK=$(mktemp -d /tmp/tessera-pgload.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; bench/pg/cluster.sh stop "$WORK/pg"; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'echo "postgres.sh: failed at line $LINENO" >&2' ERR
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

echo "== building Release" >&2
dotnet build -c Release src/Tessera.Cli -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.LoadPrep -v q -nologo >/dev/null
TESSERA="dotnet $ROOT/src/Tessera.Cli/bin/Release/net10.0/tessera.dll"
PREP="dotnet $ROOT/bench/Tessera.LoadPrep/bin/Release/net10.0/Tessera.LoadPrep.dll"
PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/psql -X -q -t -A -h 127.0.0.1 -p $PG_PORT -U tessera -d tessera"

echo "== PostgreSQL" >&2
mkdir -p "$WORK/pg"
bench/pg/cluster.sh start "$WORK/pg" "$PG_PORT" >/dev/null
POSTMASTER=$(head -n1 "$WORK/pg/data/postmaster.pid")

$PREP config "$WORK/sqlite" "$SQLITE_PORT"
$PREP config "$WORK/postgres" "$PG_NODE_PORT"
sed -i "s|^storage: .*|storage: \"postgres://tessera@127.0.0.1:$PG_PORT/tessera\"\ncluster: { node_id: bench-pg }|" "$WORK/postgres/tessera.yaml"

wait_ready() { for _ in $(seq 1 400); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "not ready: $1" >&2; exit 1; }
ticks() { awk '{s += $14 + $15} END {print s}' "$@" 2>/dev/null; }
pg_ticks() { ticks "/proc/$POSTMASTER/stat" $(for p in $(pgrep -P "$POSTMASTER"); do echo "/proc/$p/stat"; done); }
pg_counters() { $PSQL -c "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = 'tessera'), (SELECT wal_sync FROM pg_stat_wal), (SELECT wal_records FROM pg_stat_wal), (SELECT wal_bytes FROM pg_stat_wal), (SELECT round(wal_sync_time * 1000) FROM pg_stat_wal)" | tr '|' ' '; }

# measure NAME DIR PORT: starts the node, warms up, runs wrk, stops the node; prints one line.
measure() {
  local name=$1 dir=$2 port=$3
  (cd "$dir" && exec $TESSERA serve --config "$dir/tessera.yaml") >"$dir/tessera.log" 2>&1 &
  local pid=$!; PIDS+=($pid)
  wait_ready "http://127.0.0.1:$port/readyz"
  local basic="Basic $(printf 'bench-agent:%s' "$(cat "$dir/secret")" | base64 -w0)"
  local args=(-t2 -c"$CONNECTIONS" --latency -s bench/load/fixed.lua "http://127.0.0.1:$port")
  local env=(LOAD_THREADS=2 LOAD_PATH=/oauth/token LOAD_AUTH="$basic" LOAD_BODY="grant_type=client_credentials&scope=crm%3Aread")
  env "${env[@]}" wrk -d3s "${args[@]}" >/dev/null || { echo "warm-up of the $name node failed; its log:" >&2; tail -n 20 "$dir/tessera.log" >&2; exit 1; }
  local before after pgb pga c0 c1 out
  [ "$name" = postgres ] && { $PSQL -c "SELECT pg_stat_statements_reset()" >/dev/null; c0=$(pg_counters); pgb=$(pg_ticks); }
  before=$(ticks "/proc/$pid/stat")
  out=$(env "${env[@]}" wrk -d"${DURATION}s" "${args[@]}") || { echo "wrk against the $name node failed; its log:" >&2; tail -n 20 "$dir/tessera.log" >&2; exit 1; }
  after=$(ticks "/proc/$pid/stat")
  local rps p50 p99 total hz
  hz=$(getconf CLK_TCK)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}'); p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}'); total=$(echo "$out" | awk '/requests in/ {print $1}')
  printf '%-8s %9.0f req/s  p50 %8s  p99 %8s  node cpu %4.0f µs/token  load %s\n' "$name" "$rps" "$p50" "$p99" \
    "$(awk -v t=$((after - before)) -v n="$total" -v hz="$hz" 'BEGIN { print t / hz / n * 1e6 }')" "$(cut -d' ' -f1 /proc/loadavg)"
  echo "$name $rps" >> "$WORK/results"
  if [ "$name" = postgres ]; then
    pga=$(pg_ticks); c1=$(pg_counters)
    read -r x0 s0 r0 b0 f0 <<<"$c0"; read -r x1 s1 r1 b1 f1 <<<"$c1"
    local statements
    statements=$($PSQL -c "SELECT COALESCE(SUM(calls), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'")
    awk -v n="$total" -v x=$((x1 - x0)) -v s=$((s1 - s0)) -v r=$((r1 - r0)) -v b=$((b1 - b0)) -v st="$statements" -v t=$((pga - pgb)) -v hz="$hz" -v secs="$DURATION" -v f=$((f1 - f0)) 'BEGIN {
      printf "         %d tokens: %d commits (%.1f tokens per commit, %.0f commits/s), %d WAL flushes (%.0f/s), %.2f statements, %.1f WAL records, %.0f WAL bytes and %.0f µs database CPU per token\n",
        n, x, n / x, x / secs, s, s / secs, st / n, r / n, b / n, t / hz / n * 1e6
      printf "         a commit every %.2f ms of the writer'"'"'s time; a WAL flush (fdatasync) took %.2f ms on average\n", secs * 1000 / x, f / 1000 / s }'
    echo "         statements over the run (calls, rows, query):"
    $PSQL -F ' | ' -c "SELECT calls, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%' ORDER BY calls DESC LIMIT 8" | sed 's/^/           /'
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "client_credentials_basic, one node, wrk -t2 -c$CONNECTIONS -d${DURATION}s, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
for _ in $(seq 1 "$ROUNDS"); do
  measure sqlite "$WORK/sqlite" "$SQLITE_PORT"
  measure postgres "$WORK/postgres" "$PG_NODE_PORT"
done
awk '$1 == "sqlite" { s += $2; ns++ } $1 == "postgres" { p += $2; np++ }
  END { printf "postgres / sqlite: %.0f %% (mean of %d rounds; target >= 70 %%)\n", 100 * (p / np) / (s / ns), np }' "$WORK/results"
