#!/usr/bin/env bash
# Start-up of a node on PostgreSQL with EVENTS audit events and REVOCATIONS revoked ids (defaults 1,000,000
# and 100,000) in its chain, on a throwaway PostgreSQL (bench/pg/cluster.sh): fills the database with
# bench/Tessera.LoadPrep (the audit writer's own group commits, the revocations as state changes with their
# change-log entries), then starts `tessera serve` RUNS times (default 3) and prints the time from the
# process's start to the first /readyz 200 (polled every 10 ms).   (docs/performance.md, "PostgreSQL")
#   bench/pg/startup.sh [EVENTS [REVOCATIONS [RUNS]]]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PG_PORT=${PG_PORT:-18434}
PORT=${PORT:-18092}
EVENTS=${1:-1000000}; REVOCATIONS=${2:-100000}; RUNS=${3:-3}
WORK=$(mktemp -d /tmp/tessera-pgstart.XXXXXX)
chmod 755 "$WORK"
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; bench/pg/cluster.sh stop "$WORK/pg"; rm -rf "$WORK"' EXIT
dotnet build -c Release src/Tessera.Cli -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.LoadPrep -v q -nologo >/dev/null
TESSERA="dotnet $ROOT/src/Tessera.Cli/bin/Release/net10.0/tessera.dll"
PREP="dotnet $ROOT/bench/Tessera.LoadPrep/bin/Release/net10.0/Tessera.LoadPrep.dll"
mkdir -p "$WORK/pg"
CONNECTION=$(bench/pg/cluster.sh start "$WORK/pg" "$PG_PORT")
$PREP config "$WORK/node" "$PORT"
sed -i "s|^storage: .*|storage: \"postgres://tessera@127.0.0.1:$PG_PORT/tessera\"\ncluster: { node_id: bench-pg }|" "$WORK/node/tessera.yaml"
echo "filling: $EVENTS events, $REVOCATIONS revocations" >&2
started=$(date +%s)
$PREP fill "$WORK/node" "$EVENTS" "$REVOCATIONS" "$CONNECTION" bench-pg
echo "filled in $(( $(date +%s) - started )) s" >&2
PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/psql -X -q -t -A -h 127.0.0.1 -p $PG_PORT -U tessera -d tessera"
$PSQL -c "VACUUM ANALYZE" >/dev/null
echo "audit_events: $($PSQL -c 'SELECT count(*) FROM audit_events'), revocations: $($PSQL -c 'SELECT count(*) FROM revocations'), changes: $($PSQL -c 'SELECT count(*) FROM changes')"
for run in $(seq 1 "$RUNS"); do
  begin=$(date +%s%N)
  (cd "$WORK/node" && exec $TESSERA serve --config "$WORK/node/tessera.yaml") >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
    sleep 0.01
  done
  end=$(date +%s%N)
  echo "run $run: /readyz 200 after $(( (end - begin) / 1000000 )) ms (load average $(cut -d' ' -f1 /proc/loadavg))"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
