#!/usr/bin/env bash
# Builds GoReleaser (see docs/deploy.md) from the tools module tools/release (its go.mod:
# tool github.com/goreleaser/goreleaser/v2; kept out of the root go.mod, it is large) into a cache
# directory outside the clone:
#
#   ${OUTAGEWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outagewatch}/goreleaser-<sha256 of tools/release/go.sum, first 12>/goreleaser
#
# A binary already there is reused (a changed go.sum gets a new directory). The last line on
# stdout is the binary's path; everything else goes to stderr. Needs the Go module proxy the
# first time (GoReleaser's modules are only in tools/release/go.sum). The deploy package's test
# reads the path from OUTAGEWATCH_GORELEASER:
#
#   OUTAGEWATCH_GORELEASER=$(scripts/goreleaser.sh | tail -n 1)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sumfile="$root/tools/release/go.sum"

. scripts/lib/cache.sh
cache=$(cache_root)
sum=$(sha256sum "$sumfile" | cut -c1-12)
dir="$cache/goreleaser-$sum"
bin="$dir/goreleaser"

if [ -x "$bin" ]; then
  echo "goreleaser.sh: reusing $bin" >&2
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.goreleaser-$sum.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "goreleaser.sh: building GoReleaser of tools/release/go.mod into $dir" >&2
start=$(date +%s)
# The tools module is its own module: no go.work may capture it, and no VCS stamp is wanted.
GOWORK=off GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  go -C "$root/tools/release" build -trimpath -o "$work/goreleaser" github.com/goreleaser/goreleaser/v2 >&2
"$work/goreleaser" --version >/dev/null
cache_publish goreleaser.sh "$work" "$dir" test -x "$bin"
echo "goreleaser.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
