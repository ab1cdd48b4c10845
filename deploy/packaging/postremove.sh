#!/bin/sh
# outagewatch package: after removal (deb postrm "remove", "purge", "upgrade ..."; rpm %postun
# with $1 = 0 on erase, 1 on upgrade). Makes a running systemd forget the removed unit. A deb
# purge also deletes the state directory (the SQLite database): with DynamicUser= it lives in
# /var/lib/private/outagewatch, which /var/lib/outagewatch links to.
set -e

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
fi
if [ "${1:-}" = purge ]; then
  rm -rf /var/lib/private/outagewatch /var/lib/outagewatch
fi
exit 0
