#!/bin/sh
# outagewatch package: before removal (deb prerm "remove" or "upgrade ..."; rpm %preun with
# $1 = 0 on erase, 1 on upgrade). On a removal, not an upgrade, stops and disables the service.
# Stopping needs a running systemd and is skipped without one; disabling only removes symlinks.
set -e
# DPKG_ROOT is set when dpkg installs into another root without a chroot (dpkg --root with
# --force-script-chrootless): then the host's systemd is left alone and paths are under it.

case "${1:-}" in
  remove|deconfigure|0)
    if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      systemctl stop outagewatch.service || true
    fi
    if [ -z "${DPKG_ROOT:-}" ] && command -v systemctl >/dev/null 2>&1; then
      systemctl disable outagewatch.service >/dev/null 2>&1 || true
    fi
    ;;
esac
exit 0
