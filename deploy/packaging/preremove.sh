#!/bin/sh
# outagewatch package: before removal (deb prerm "remove" or "upgrade ..."; rpm %preun with
# $1 = 0 on erase, 1 on upgrade). On a removal, not an upgrade, stops and disables the service.
# Stopping needs a running systemd and is skipped without one; disabling only removes symlinks.
set -e

case "${1:-}" in
  remove|deconfigure|0)
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      systemctl stop outagewatch.service || true
    fi
    if command -v systemctl >/dev/null 2>&1; then
      systemctl disable outagewatch.service >/dev/null 2>&1 || true
    fi
    ;;
esac
exit 0
