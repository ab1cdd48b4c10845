#!/usr/bin/env bash
# Builds the OpenTelemetry Collector of collector/builder.yaml (see docs/collector.md) with the
# OpenTelemetry Collector builder, a Go tool of this module (go.mod: tool
# go.opentelemetry.io/collector/cmd/builder), into a cache directory outside the clone:
#
#   ${OUTAGEWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outagewatch}/otelcol-<sha256 of builder.yaml, first 12>/otelcol-outagewatch
#
# A binary already there is reused (a changed manifest gets a new directory). The last line on
# stdout is the binary's path; the builder's own output goes to stderr. Needs the Go module proxy
# the first time (the Collector's modules are not in go.mod).
#
#   bin=$(scripts/collector.sh | tail -n 1)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
manifest="$root/collector/builder.yaml"

. scripts/lib/cache.sh
cache=$(cache_root)
sum=$(sha256sum "$manifest" | cut -c1-12)
dir="$cache/otelcol-$sum"
bin="$dir/otelcol-outagewatch"

if [ -x "$bin" ]; then
  echo "collector.sh: reusing $bin" >&2
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.otelcol-$sum.XXXXXX")
trap 'rm -rf "$work"' EXIT
sed "s|^\(  output_path:\).*|\1 $work/src|" "$manifest" >"$work/builder.yaml"
grep -q "^  output_path: $work/src\$" "$work/builder.yaml" || { echo "collector.sh: no dist.output_path line in $manifest" >&2; exit 1; }

echo "collector.sh: building the Collector of $manifest into $dir" >&2
start=$(date +%s)
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
# The builder's generated module lives outside this module: no go.work may capture it.
GOWORK=off go tool go.opentelemetry.io/collector/cmd/builder --config "$work/builder.yaml" >&2
mkdir -p "$work/out"
mv "$work/src/otelcol-outagewatch" "$work/out/otelcol-outagewatch"
cp "$manifest" "$work/out/builder.yaml"
cache_publish collector.sh "$work/out" "$dir" test -x "$bin"
echo "collector.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
