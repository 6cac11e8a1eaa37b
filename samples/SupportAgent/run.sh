#!/usr/bin/env bash
# Runs the support-agent sample against a local Tessera broker, with one command:
#   samples/SupportAgent/run.sh
# It builds tessera and the sample, writes a broker configuration into a temporary directory, starts
# `tessera serve`, runs the agent (which starts its stand-in CRM), approves the export as bob with
# `tessera approval approve` when the agent asks, and exits 0 only if the agent's plan ran to the end.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
configuration="${CONFIGURATION:-Debug}"
work="$(mktemp -d "${TMPDIR:-/tmp}/tessera-support-agent.XXXXXX")"
tessera_pid=""
agent_pid=""

cleanup() {
  [[ -n "$agent_pid" ]] && kill "$agent_pid" 2>/dev/null || true
  if [[ -n "$tessera_pid" ]]; then
    kill "$tessera_pid" 2>/dev/null || true
    wait "$tessera_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building tessera and the sample ($configuration)"
dotnet build "$root/src/Tessera.Cli/Tessera.Cli.csproj" -c "$configuration" -nologo -v q
dotnet build "$root/samples/SupportAgent/SupportAgent.csproj" -c "$configuration" -nologo -v q
tessera=(dotnet "$root/src/Tessera.Cli/bin/$configuration/net10.0/tessera.dll")
sample=(dotnet "$root/samples/SupportAgent/bin/$configuration/net10.0/SupportAgent.dll")

read -r tessera_port crm_port < <("${sample[@]}" ports)
address="http://127.0.0.1:$tessera_port"
"${sample[@]}" setup "$work" "$tessera_port" "$crm_port"

echo "== starting tessera serve at $address (configuration in $work)"
(cd "$work" && exec "${tessera[@]}" serve >"$work/tessera.log" 2>&1) &
tessera_pid=$!
for _ in $(seq 1 300); do
  if curl -fsS "$address/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$tessera_pid" 2>/dev/null; then echo "tessera exited:"; cat "$work/tessera.log"; exit 1; fi
  sleep 0.2
done
curl -fsS "$address/readyz" >/dev/null || { echo "tessera did not become ready:"; cat "$work/tessera.log"; exit 1; }

echo "== running the support agent"
(set -o pipefail; "${sample[@]}" run "$work" "$tessera_port" "$crm_port" 2>&1 | tee "$work/agent.log") &
agent_pid=$!

# Approve as bob (a member of security-oncall) once the agent prints the id it waits on.
id=""
for _ in $(seq 1 600); do
  id="$(grep -o 'auth_req_id=[A-Za-z0-9_-]*' "$work/agent.log" 2>/dev/null | head -n1 | cut -d= -f2 || true)"
  if [[ -n "$id" ]] || ! kill -0 "$agent_pid" 2>/dev/null; then break; fi
  sleep 0.2
done
if [[ -n "$id" ]]; then
  echo "== bob approves $id"
  TESSERA_ADDR="$address" TESSERA_TOKEN="$("${sample[@]}" token "$work" bob tessera-admin)" \
    "${tessera[@]}" approval approve "$id" --comment "ticket 4711: the customer asked for their data"
fi

status=0
wait "$agent_pid" || status=$?
agent_pid=""
if [[ $status -ne 0 ]]; then
  echo "== the agent failed ($status); tessera's log:"
  tail -n 50 "$work/tessera.log"
fi
exit "$status"
