#!/usr/bin/env bash
# Installs what cmd/imagebuild's tests need where it is missing (Debian packages, as root):
#
#   podman           TestPodman loads the image and runs it as a container
#   runc             the OCI runtime TestPodman asks for: Debian 12's crun refuses cgroup v1 and
#                    hybrid hierarchies ("cgroups in hybrid mode not supported"), runc runs on all
#   ca-certificates  the CA bundle the image carries (/etc/ssl/certs/ca-certificates.crt)
#
# Idempotent: with everything present it installs nothing. It says what it does on stdout.
#
#   scripts/podman.sh
set -euo pipefail

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
[ -s /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)

if [ ${#missing[@]} -eq 0 ]; then
  echo "podman.sh: podman, runc and ca-certificates are installed"
  exit 0
fi
echo "== installing ${missing[*]} (not found)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
echo "podman.sh: $(podman --version), $(runc --version | head -n 1)"
