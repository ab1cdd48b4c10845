# Sourced by the scripts that build or install something once into a cache directory outside
# the clone and reuse it after (collector.sh, goreleaser.sh, agents.sh). Each builds into a fresh
# work directory beside the final one and moves it into place when complete, so that an
# interrupted build or two builds at once never leave a half-written result.

# cache_root prints the cache directory: OUTAGEWATCH_CACHE, else $XDG_CACHE_HOME/outagewatch,
# else ~/.cache/outagewatch.
cache_root() {
  echo "${OUTAGEWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outagewatch}"
}

# cache_publish NAME WORK DIR CHECK...: moves WORK into place as DIR. When another build got
# there first (DIR exists), its result is as good as ours if the command CHECK... holds; else
# NAME says so and the script exits 1.
cache_publish() {
  local name=$1 work=$2 dir=$3
  shift 3
  if ! mv -T "$work" "$dir" 2>/dev/null; then
    "$@" || { echo "$name: could not move the build into $dir" >&2; exit 1; }
  fi
}
