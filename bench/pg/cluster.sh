#!/usr/bin/env bash
# A throwaway PostgreSQL for the benchmarks (as tests/Tessera.Storage.Postgres.Tests/PostgresCluster.cs
# starts one): initdb into DIR, started on 127.0.0.1:PORT with the durability Tessera relies on
# (fsync=on, synchronous_commit=on, full_page_writes=on, the defaults), pg_stat_statements loaded and
# track_wal_io_timing on (pg_stat_wal.wal_sync_time),
# database "tessera" with the extension created. As root it runs as the postgres system user.
#   bench/pg/cluster.sh start DIR PORT     prints the connection string
#   bench/pg/cluster.sh stop DIR
set -euo pipefail
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)}
cmd=$1; dir=$2
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    port=$3
    mkdir -p "$dir/socket"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    as_pg "$BIN/initdb" -D "$dir/data" -A trust -U tessera -E UTF8 --no-locale --no-sync --no-instructions >/dev/null
    as_pg "$BIN/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" -o "-c listen_addresses=127.0.0.1 -c port=$port \
      -c unix_socket_directories=$dir/socket -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
      -c max_connections=300 -c shared_buffers=128MB -c max_wal_size=1GB -c log_min_messages=warning \
      -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c track_wal_io_timing=on" start >/dev/null
    "$BIN/psql" -q -h 127.0.0.1 -p "$port" -U tessera -d postgres -c "CREATE DATABASE tessera" >/dev/null
    "$BIN/psql" -q -h 127.0.0.1 -p "$port" -U tessera -d tessera -c "CREATE EXTENSION pg_stat_statements" >/dev/null
    echo "Host=127.0.0.1;Port=$port;Username=tessera;Database=tessera"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >/dev/null || true
    ;;
esac
