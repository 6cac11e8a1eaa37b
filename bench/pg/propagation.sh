#!/usr/bin/env bash
# Revocation propagation across NODES nodes (default 3) on a throwaway PostgreSQL (bench/pg/cluster.sh):
#   bench/pg/propagation.sh [COUNT [NODES]]      (docs/performance.md, "PostgreSQL")
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_PORT=${PG_PORT:-18433}
WORK=$(mktemp -d /tmp/tessera-pgprop.XXXXXX)
chmod 755 "$WORK"
trap 'bench/pg/cluster.sh stop "$WORK/pg"; rm -rf "$WORK"' EXIT
dotnet build -c Release bench/Tessera.Propagation -v q -nologo >/dev/null
mkdir -p "$WORK/pg"
CONNECTION=$(bench/pg/cluster.sh start "$WORK/pg" "$PG_PORT")
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet bench/Tessera.Propagation/bin/Release/net10.0/Tessera.Propagation.dll "$CONNECTION" "${1:-2000}" "${2:-3}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
