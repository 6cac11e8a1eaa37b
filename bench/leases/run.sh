#!/usr/bin/env bash
# Database leases on loopback PostgreSQL (docs/performance.md, "Database leases"): a throwaway PostgreSQL
# (bench/pg/cluster.sh) with a database "warehouse" set up as an operator would for a postgres tool (schema
# reporting owned by the admin role tessera_admin, LOGIN CREATEROLE only; SCRAM logins for every role but the
# cluster's superuser), `tessera serve` (Release, embedded SQLite store) on a loopback port with the admin secret
# put by `tessera secret put warehouse-admin`, then bench/Tessera.LeaseBench RUNS times (default 2), each on a
# fresh server: N leases issued one after another (default 300), the same N ended by the admin API (every
# other one with an open session), and a mission's CASCADE leases (default 1,000; SESSIONS of them, default 50,
# with an open session) ended by revoking the mission.
#   bench/leases/run.sh [N [CASCADE [SESSIONS [RUNS]]]]
# With STORAGE=postgres, Tessera's own store is the database "tessera" of the same cluster (recreated for each run).
# With LOGS=DIR, each run's server log (timestamped) and PostgreSQL's log are kept in DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PG_PORT=${PG_PORT:-18436}
PORT=${PORT:-18096}
N=${1:-300}; CASCADE=${2:-1000}; SESSIONS=${3:-50}; RUNS=${4:-2}
WORK=$(mktemp -d /tmp/tessera-leases.XXXXXX)
chmod 755 "$WORK"
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; bench/pg/cluster.sh stop "$WORK/pg"; rm -rf "$WORK"' EXIT
dotnet build -c Release src/Tessera.Cli -v q -nologo >/dev/null
dotnet build -c Release bench/Tessera.LeaseBench -v q -nologo >/dev/null
TESSERA="dotnet $ROOT/src/Tessera.Cli/bin/Release/net10.0/tessera.dll"
BENCH="dotnet $ROOT/bench/Tessera.LeaseBench/bin/Release/net10.0/Tessera.LeaseBench.dll"
mkdir -p "$WORK/pg"
bench/pg/cluster.sh start "$WORK/pg" "$PG_PORT" >/dev/null
PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/psql -X -q -t -A -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PG_PORT -U tessera"
ADMIN_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
$PSQL -d postgres -c "CREATE DATABASE warehouse TEMPLATE template0" -c "CREATE ROLE tessera_admin LOGIN CREATEROLE PASSWORD '$ADMIN_PASSWORD'" >/dev/null
$PSQL -d warehouse -c "CREATE SCHEMA reporting AUTHORIZATION tessera_admin" \
  -c "CREATE TABLE reporting.orders (id int PRIMARY KEY, item text NOT NULL)" -c "ALTER TABLE reporting.orders OWNER TO tessera_admin" \
  -c "INSERT INTO reporting.orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g" >/dev/null
# Password (SCRAM) logins for the admin and the lease roles, as the provider requires; the superuser stays trusted.
HBA=$($PSQL -d postgres -c "SHOW hba_file")
printf 'local all all trust\nhost all tessera 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$HBA"
$PSQL -d postgres -c "SELECT pg_reload_conf()" >/dev/null
SUPERUSER="Host=127.0.0.1;Port=$PG_PORT;Username=tessera;Database=warehouse;Pooling=false"
for run in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/node"
  $BENCH config "$WORK/node" "$PORT" "$PG_PORT"
  if [ "${STORAGE:-sqlite}" = postgres ]; then
    $PSQL -d postgres -c "DROP DATABASE IF EXISTS tessera" -c "CREATE DATABASE tessera" >/dev/null
    sed -i "s|^storage: .*|storage: \"postgres://tessera@127.0.0.1:$PG_PORT/tessera\"\ncluster: { node_id: bench-leases }|" "$WORK/node/tessera.yaml"
  fi
  (cd "$WORK/node" && Logging__Console__FormatterOptions__TimestampFormat='HH:mm:ss.fff ' exec $TESSERA serve --config "$WORK/node/tessera.yaml") >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; do
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
    sleep 0.05
  done
  printf '%s' "Host=127.0.0.1;Username=tessera_admin;Password=$ADMIN_PASSWORD" | (cd "$WORK/node" && $TESSERA secret put warehouse-admin --config "$WORK/node/tessera.yaml") >/dev/null
  echo "run $run, storage ${STORAGE:-sqlite} ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  $BENCH run "$WORK/node" "http://127.0.0.1:$PORT" "$SUPERUSER" "$N" "$CASCADE" "$SESSIONS" \
    || { tail -n 30 "$WORK/serve.log" >&2; grep -v "^\s*$" "$WORK/pg/server.log" | tail -n 10 >&2; exit 1; }
  echo "  load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
  [ -n "${LOGS:-}" ] && mkdir -p "$LOGS" && cp "$WORK/serve.log" "$LOGS/serve-$run.log" && cp "$WORK/pg/server.log" "$LOGS/postgres.log"
done
