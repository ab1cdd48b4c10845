#!/bin/sh
# outagewatch package: after install or upgrade (deb postinst "configure [old-version]"; rpm %post
# with $1 = 1 on install, 2 on upgrade). Makes systemd see the new unit and, on an upgrade,
# restarts the service if it was running. Nothing here needs a running systemd: a container or
# chroot without one skips it. The service is not enabled on install: see docs/deploy.md.
set -e
# DPKG_ROOT is set when dpkg installs into another root without a chroot (dpkg --root with
# --force-script-chrootless): then the host's systemd is left alone and paths are under it.

upgrade=no
case "${1:-}" in
  configure) [ -n "${2:-}" ] && upgrade=yes ;;
  [0-9]*) [ "$1" -gt 1 ] && upgrade=yes ;;
esac

if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
  if [ "$upgrade" = yes ]; then
    systemctl try-restart outagewatch.service || true
  fi
fi
exit 0
