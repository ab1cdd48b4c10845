#!/usr/bin/env bash
# Installs what examples/haproxy's test needs where it is missing (Debian packages, as root):
#
#   haproxy  TestHAProxyFailsOverOnOutagewatchVerdict runs the real HAProxy with
#            examples/haproxy/haproxy.cfg (tested with Debian 12's HAProxy 2.6)
#
# Idempotent: with haproxy present it installs nothing. It says what it does on stdout.
#
#   scripts/haproxy.sh
set -euo pipefail

if command -v haproxy >/dev/null 2>&1; then
  echo "haproxy.sh: haproxy is installed: $(haproxy -v | head -n 1)"
  exit 0
fi
echo "== installing haproxy (not found)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
echo "haproxy.sh: $(haproxy -v | head -n 1)"
