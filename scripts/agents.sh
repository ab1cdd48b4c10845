#!/usr/bin/env bash
# Installs the coding-agent CLIs of agents/package.json (Claude Code, Gemini CLI, Codex; exact
# versions, locked in agents/package-lock.json) with `npm ci` into a cache directory outside the
# clone:
#
#   ${OUTAGEWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outagewatch}/agents-<sha256 of package.json and package-lock.json, first 12>
#
# An installation already there is reused (changed pins get a new directory). The last line on
# stdout is the directory of the CLIs' executables (node_modules/.bin: claude, gemini, codex);
# npm's own output goes to stderr. Needs the npm registry the first time. e2e/agents_test.go and
# cmd/agentrecord read that directory from OUTAGEWATCH_AGENTS_BIN:
#
#   export OUTAGEWATCH_AGENTS_BIN=$(scripts/agents.sh | tail -n 1)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pins="$root/agents"

. scripts/lib/cache.sh
cache=$(cache_root)
sum=$(cat "$pins/package.json" "$pins/package-lock.json" | sha256sum | cut -c1-12)
dir="$cache/agents-$sum"
bin="$dir/node_modules/.bin"

if [ -x "$bin/claude" ] && [ -x "$bin/gemini" ] && [ -x "$bin/codex" ]; then
  echo "agents.sh: reusing $dir" >&2
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.agents-$sum.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$pins/package.json" "$pins/package-lock.json" "$work/"

echo "agents.sh: installing the CLIs of $pins/package-lock.json into $dir" >&2
start=$(date +%s)
# --no-audit --no-fund: no extra registry calls; the CLIs' install scripts (native binaries) run.
npm ci --prefix "$work" --no-audit --no-fund --loglevel=warn >&2
for tool in claude gemini codex; do
  [ -x "$work/node_modules/.bin/$tool" ] || { echo "agents.sh: npm ci installed no $tool" >&2; exit 1; }
done
cache_publish agents.sh "$work" "$dir" test -x "$bin/claude"
echo "agents.sh: installed in $(( $(date +%s) - start ))s" >&2
echo "$bin"
