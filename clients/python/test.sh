#!/bin/sh
# Runs the Python client's tests against the real watcher binary, then installs the package
# into a throwaway venv (no network: the in-tree build backend needs nothing) and imports it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
python3 -m unittest discover -s clients/python/tests -v

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
# Build isolation works too (requires = []); --no-build-isolation --no-deps is the offline path.
"$tmp/venv/bin/pip" install -q --no-build-isolation --no-deps "$root/clients/python"
"$tmp/venv/bin/pip" install -q --force-reinstall --no-deps "$root/clients/python"
(cd "$tmp" && "$tmp/venv/bin/python" -c 'import outagewatch, sys; assert "site-packages" in outagewatch.__file__, outagewatch.__file__; print("installed", outagewatch.__version__, outagewatch.__file__); outagewatch.Watcher("http://127.0.0.1:1", start=False)')
echo "test.sh: OK"
