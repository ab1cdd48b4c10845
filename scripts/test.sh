#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this): formatting, vet, the race-
# enabled tests of every package, then a short run of every fuzz target. It installs what the
# tests need where it is missing.
#
#   FUZZTIME=30s scripts/test.sh   # longer fuzzing (default 10s per target)
set -euo pipefail
cd "$(dirname "$0")/.."

export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
fuzztime="${FUZZTIME:-10s}"

# PostgreSQL server binaries for the store tests (internal/pgtest starts a throwaway cluster).
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== installing postgresql (initdb not found)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# Chromium for the status page's browser test (statuspage drives it headless over the DevTools
# protocol).
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (/usr/bin/chromium not found)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# Prometheus and promtool for the dashboards tests (a real Prometheus evaluates every panel and
# rule). The package's post-install script tries to start a service, which fails harmlessly
# without an init system, so the install is judged by the binaries it leaves, not apt's status.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  echo "== installing prometheus (prometheus or promtool not found)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null || true
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || { echo "prometheus install failed"; exit 1; }
fi

# Alertmanager for the Alertmanager target's tests (alerts/alertmanager starts real ones: an
# outage, a restart mid-incident, an HA pair). Judged by the binary, as Prometheus is.
if ! command -v prometheus-alertmanager >/dev/null 2>&1 && ! command -v alertmanager >/dev/null 2>&1; then
  echo "== installing prometheus-alertmanager (not found)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null || true
  command -v prometheus-alertmanager >/dev/null 2>&1 || { echo "prometheus-alertmanager install failed"; exit 1; }
fi

# curl for the TLS test (cmd/watcher: curl --cacert against the API).
if ! command -v curl >/dev/null 2>&1; then
  echo "== installing curl (not found)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
fi

# The deployment artefacts' tools: podman and runc (cmd/imagebuild runs the image), systemd-analyze,
# dpkg-deb and rpm (deploy checks the unit and the packages); haproxy (examples/haproxy fails over
# on the daemon's verdict).
scripts/podman.sh
scripts/packaging-tools.sh
scripts/haproxy.sh

# Every module of go.mod into the module cache, the tools' too (grpc-health-probe, which health's
# test builds with `go tool` and the network off): set-up, not a download during a test.
echo "== go mod download"
go mod download

# The Go tools the tests run, built once into the build cache (Helm takes about 8 minutes the first
# time on 2 cores, nothing after), so that no test's time goes to building them.
echo "== go tools (helm, nfpm, grpc-health-probe)"
for t in helm nfpm grpc-health-probe; do
  go tool -n "$t" >/dev/null
done

# The coding agents' CLIs (Claude Code, Gemini CLI, Codex) from npm, pinned in agents/, into a
# cache outside the clone, for e2e's run of the real CLIs (scripts/agents.sh).
echo "== coding-agent CLIs (scripts/agents.sh)"
OUTAGEWATCH_AGENTS_BIN="$(scripts/agents.sh | tail -n 1)"
export OUTAGEWATCH_AGENTS_BIN

# GoReleaser for the release configuration's check (deploy), from its own tools module into a
# cache outside the clone (scripts/goreleaser.sh).
echo "== goreleaser (scripts/goreleaser.sh)"
OUTAGEWATCH_GORELEASER="$(scripts/goreleaser.sh | tail -n 1)"
export OUTAGEWATCH_GORELEASER

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# Every package under the race detector, the statistical tests at their -short size (the race
# detector slows the engine tenfold); then those tests at full size without it.
# The OpenTelemetry Collector the collector package's test runs (built from collector/builder.yaml
# into a cache outside the clone: about 2 minutes the first time, nothing after).
echo "== otelcol (scripts/collector.sh)"
OUTAGEWATCH_OTELCOL="$(scripts/collector.sh | tail -n 1)"
export OUTAGEWATCH_OTELCOL

# The npm reference library that verifies the webhooks' signatures (alerts/webhook); its test
# runs the same npm ci itself when the modules are missing.
echo "== alerts/webhook verifier (npm ci)"
(cd alerts/webhook/testdata/verify && npm ci --no-audit --no-fund)

echo "== go test -race -short"
go test -race -short -count=1 -timeout 15m ./...

# The packages with full-size tests are those whose tests call testing.Short() (they shrink or
# skip work under -short). The list is derived, not written by hand, so that a new package with
# a full-size test cannot be left out.
module=$(go list -m)
full_size=()
while read -r pkg dir files; do
  if [ -n "$files" ] && (cd "$dir" && grep -q 'testing\.Short()' $files); then
    rel="${pkg#"$module"}"
    full_size+=(".${rel:-/}")
  fi
done < <(go list -e -f '{{.ImportPath}} {{.Dir}} {{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' ./...)
if [ ${#full_size[@]} -eq 0 ]; then
  echo "no package calls testing.Short(): the full-size list cannot be empty"; exit 1
fi
echo "== go test (full-size simulations and end-to-end tests): ${full_size[*]}"
go test -count=1 -timeout 15m "${full_size[@]}"

# The clients in other languages, against the real daemon built from this checkout
# (docs/clients.md): TypeScript with Node's test runner and the real ai SDK (npm ci from the lock
# file), Python with unittest (standard library only).
echo "== clients/typescript (npm ci, npm test)"
(cd clients/typescript && npm ci --no-audit --no-fund && npm test)
if [ -x clients/python/test.sh ]; then
  echo "== clients/python (clients/python/test.sh)"
  clients/python/test.sh
fi

echo "== fuzz ($fuzztime per target)"
for file in $(git ls-files '*_fuzz_test.go' 2>/dev/null || find . -name '*_fuzz_test.go'); do
  pkg="./$(dirname "$file")"
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "-- $pkg $target"
    # Go minimises every new interesting input for up to a minute by default; with inputs of
    # a kilobyte that took the whole budget (a few executions a second), so it is capped.
    # Go 1.26's fuzz coordinator can report a bare "context deadline exceeded" when -fuzztime
    # ends while a worker is mid-execution (go.dev/issue/75804, fixed in Go 1.27): no input
    # failed and none is written. Such a run, and only such a run, is retried once; a failing
    # input ("Failing input written to"), a panic or a test error fails at once.
    fuzz() { go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 1s "$pkg" >/tmp/fuzz-$$.log 2>&1; }
    if ! fuzz; then
      if grep -q 'context deadline exceeded' /tmp/fuzz-$$.log && ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' /tmp/fuzz-$$.log; then
        echo "   the fuzz engine's deadline race (go.dev/issue/75804), no failing input: running it again"
        fuzz || { cat /tmp/fuzz-$$.log; exit 1; }
      else
        cat /tmp/fuzz-$$.log; exit 1
      fi
    fi
    grep '^fuzz: elapsed' /tmp/fuzz-$$.log | tail -n 1
  done
done
rm -f /tmp/fuzz-$$.log
echo "== all tests passed"
