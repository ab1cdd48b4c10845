#!/bin/sh
# outagewatch package: after removal (deb postrm "remove", "purge", "upgrade ..."; rpm %postun
# with $1 = 0 on erase, 1 on upgrade). Makes a running systemd forget the removed unit. A deb
# purge also deletes the state directory (the SQLite database): with DynamicUser= it lives in
# /var/lib/private/outagewatch, which /var/lib/outagewatch links to.
set -e
# DPKG_ROOT is set when dpkg installs into another root without a chroot (dpkg --root with
# --force-script-chrootless): then the host's systemd is left alone and paths are under it.

if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
fi
if [ "${1:-}" = purge ]; then
  rm -rf "${DPKG_ROOT:-}/var/lib/private/outagewatch" "${DPKG_ROOT:-}/var/lib/outagewatch"
fi
exit 0
