#!/usr/bin/env bash
# Coverage-guided fuzzing of one Tessera target with SharpFuzz under libFuzzer (see README.md).
#
#   tools/Tessera.Fuzz/fuzz.sh <target> [runs]    fuzz; new inputs go to $TESSERA_FUZZ_WORK/corpus/<target>
#   tools/Tessera.Fuzz/fuzz.sh --merge <target>   minimize the committed corpus together with what fuzzing found
#
# Needs: the .NET SDK, and LIBFUZZER_DOTNET naming a libfuzzer-dotnet driver built from its upstream
# source (README.md says how); default $TESSERA_FUZZ_WORK/libfuzzer-dotnet.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=${TESSERA_FUZZ_WORK:-/tmp/tessera-fuzz}
driver=${LIBFUZZER_DOTNET:-$work/libfuzzer-dotnet}
targets="oauth-form proxy-path dpop-proof client-assertion mcp-message config"

usage() { echo "usage: $0 <target> [runs] | $0 --merge <target>   (targets: $targets)" >&2; exit 2; }

merge=0
if [ "${1:-}" = "--merge" ]; then merge=1; shift; fi
target=${1:-}; runs=${2:-1000000}
case " $targets " in *" $target "*) ;; *) usage ;; esac
[ -x "$driver" ] || { echo "libfuzzer-dotnet driver not found at $driver: build it (README.md) and set LIBFUZZER_DOTNET" >&2; exit 1; }

mkdir -p "$work"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# SharpFuzz's instrumentation tool, kept out of the repository's tool manifest (only fuzzing needs it).
sharpfuzz="$work/tool/sharpfuzz"
if [ ! -x "$sharpfuzz" ]; then
  dotnet tool install --tool-path "$work/tool" SharpFuzz.CommandLine --version 2.3.0
fi

# A fresh publish each time: an assembly is instrumented once, and a stale instrumented copy would hide
# changes. TESSERA_FUZZ_REUSE_BIN=1 keeps the last one (several runs of an unchanged tree, e.g. merges).
bin="$work/bin"
if [ "${TESSERA_FUZZ_REUSE_BIN:-0}" != 1 ] || [ ! -f "$bin/.instrumented" ]; then
  rm -rf "$bin"
  dotnet publish "$here/Tessera.Fuzz.csproj" -c Release -o "$bin" --nologo -v quiet

  # Coverage comes from the instrumented assemblies: all of Core, the OAuth form reader of Server, and the
  # parsers the targets hand input to (YAML for the config, JWTs for DPoP proofs and client assertions).
  "$sharpfuzz" "$bin/Tessera.Core.dll"
  "$sharpfuzz" "$bin/Tessera.Server.dll" Tessera.Server.OAuth
  "$sharpfuzz" "$bin/YamlDotNet.dll"
  "$sharpfuzz" "$bin/Microsoft.IdentityModel.JsonWebTokens.dll"
  touch "$bin/.instrumented"
fi

seeds="$here/corpus/$target"
found="$work/corpus/$target"
mkdir -p "$seeds" "$found" "$work/artifacts/$target"
dict=()
[ -f "$here/dict/$target.dict" ] && dict=(-dict="$here/dict/$target.dict")

if [ "$merge" = 1 ]; then
  # Keep only the inputs that add coverage: the committed corpus stays hundreds of files, not thousands.
  merged="$work/merged/$target"
  rm -rf "$merged" && mkdir -p "$merged"
  "$driver" -merge=1 -timeout=10 "${dict[@]}" --target_path="$bin/Tessera.Fuzz" --target_arg="$target" "$merged" "$seeds" "$found"
  rm -rf "$seeds" && mv "$merged" "$seeds"
  echo "corpus/$target: $(ls "$seeds" | wc -l) files"
  exit 0
fi

# New inputs are written to the first folder ($found), never into the committed corpus; a crash, a
# timeout (-timeout seconds on one input) or a dead child (a stack overflow) leaves the input in artifacts.
exec "$driver" -runs="$runs" -timeout=10 -print_final_stats=1 -max_len=16384 "${dict[@]}" \
  -artifact_prefix="$work/artifacts/$target/" \
  --target_path="$bin/Tessera.Fuzz" --target_arg="$target" "$found" "$seeds"
