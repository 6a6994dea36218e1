#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the Debian packages from a copy of the committed tree (HEAD, as CI sees it; --worktree: the work tree's
# tracked and new files instead), so that dpkg-buildpackage neither cleans build/ nor writes next to the
# checkout.
#   tests/package/build.sh [--worktree] OUTDIR   -> OUTDIR/*.deb, OUTDIR/*.changes, OUTDIR/build.log
set -euo pipefail

worktree=0
if [[ ${1:-} == --worktree ]]; then
        worktree=1
        shift
fi
out=${1:?usage: build.sh [--worktree] OUTDIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/iotpub
rm -rf "$src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$src"
if ((worktree)); then
        (cd "$top" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r -I{} find {} -maxdepth 0 -print0 |
                tar --null -T - -cf -) | tar -xf - -C "$src"
else
        git -C "$top" archive --format=tar HEAD | tar -xf - -C "$src"
fi
echo "package-build: building $( ((worktree)) && echo "the work tree" || git -C "$top" log -1 --format='HEAD %h') in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
        tail -n 60 "$out/build.log" >&2
        echo "package-build: dpkg-buildpackage failed (full log: $out/build.log)" >&2
        exit 1
fi
ls "$out"/*.deb >/dev/null
echo "package-build: built $(cd "$out" && echo *.deb)"
