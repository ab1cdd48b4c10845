#!/usr/bin/env bash
# Installs, from Debian's packages, the tools the deploy package's tests run (deploy/*_test.go,
# see docs/deploy.md), where they are missing:
#
#   systemd-analyze  (package systemd)  verifies deploy/systemd/outagewatch.service
#   dpkg-deb         (package dpkg)     lists the deb that nfpm builds
#   rpm              (package rpm)      lists the rpm that nfpm builds (rpm -qlp, --configfiles)
#
# Idempotent: a tool already on PATH is left alone, and apt-get runs only when something is
# missing. Installing the systemd package does not start systemd (nothing here needs it running).
# nfpm itself is a Go tool of the root module (go tool nfpm) and GoReleaser is built by
# scripts/goreleaser.sh: neither is installed here.
set -euo pipefail

missing=()
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)
command -v rpm >/dev/null 2>&1 || missing+=(rpm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "packaging-tools.sh: systemd-analyze, dpkg-deb and rpm are present"
  exit 0
fi

echo "packaging-tools.sh: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for tool in systemd-analyze dpkg-deb rpm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "packaging-tools.sh: $tool still missing after the install" >&2; exit 1; }
done
echo "packaging-tools.sh: installed ${missing[*]}"
