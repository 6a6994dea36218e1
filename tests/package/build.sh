#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the Debian packages from a copy of the work tree (tracked and new files, not ignored ones), so that
# dpkg-buildpackage neither cleans build/ nor writes next to the checkout.
#   tests/package/build.sh OUTDIR      -> OUTDIR/*.deb, OUTDIR/*.changes, OUTDIR/build.log
set -euo pipefail

out=${1:?usage: build.sh OUTDIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/iotpub
rm -rf "$src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r -I{} find {} -maxdepth 0 -print0 |
        tar --null -T - -cf -) | tar -xf - -C "$src"
echo "package-build: building in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
        tail -n 60 "$out/build.log" >&2
        echo "package-build: dpkg-buildpackage failed (full log: $out/build.log)" >&2
        exit 1
fi
ls "$out"/*.deb >/dev/null
echo "package-build: built $(cd "$out" && echo *.deb)"
