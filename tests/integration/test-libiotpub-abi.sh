#!/usr/bin/env bash
# libiotpub's ABI surface: the installed header is C89-clean (and C++-includable), build/libiotpub.so.1 has
# the right SONAME and exports only iotpub_* symbols under LIBIOTPUB_1, and iotpub.pc points at the library.
set -euo pipefail
top=${IOTPUB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IOTPUB_BUILD:-$top/build}
lib=$build/libiotpub.so.1
fail() { echo "test-libiotpub-abi: FAIL: $*" >&2; exit 1; }
ok() { echo "test-libiotpub-abi: ok: $*"; }
[[ -f "$lib" ]] || fail "$lib is missing; build it first (make)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/iotpub-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/c89.c" <<'C'
#include <iotpub.h>
int main(void) {
        iotpub_publish_options o = IOTPUB_PUBLISH_OPTIONS_INIT;
        iotpub *c = 0;
        (void) o;
        return iotpub_close(c) != 0;
}
C
gcc -std=c89 -pedantic-errors -Wall -Wextra -Werror -I"$top/lib/include" -c "$tmp/c89.c" -o "$tmp/c89.o" ||
        fail "lib/include/iotpub.h is not C89-clean"
ok "iotpub.h compiles with gcc -std=c89 -pedantic-errors -Wall -Wextra"
if command -v g++ >/dev/null; then
        g++ -std=c++11 -Wall -Wextra -Werror -I"$top/lib/include" -x c++ -c "$tmp/c89.c" -o "$tmp/cxx.o" ||
                fail "iotpub.h cannot be included from C++"
        ok "iotpub.h compiles as C++"
fi

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[[ $soname == libiotpub.so.1 ]] || fail "SONAME is '$soname'"
ok "SONAME $soname"
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v -e '^iotpub_' -e '^LIBIOTPUB_1$' || true)
[[ -z "$bad" ]] || fail "exported symbols other than iotpub_*: $(echo $bad)"
unversioned=$(nm -D --defined-only "$lib" | awk '$3 ~ /^iotpub_/ && $3 !~ /@@LIBIOTPUB_1$/ {print $3}')
[[ -z "$unversioned" ]] || fail "symbols outside the LIBIOTPUB_1 version: $unversioned"
n=$(nm -D --defined-only "$lib" | grep -c ' iotpub_')
ok "only iotpub_* exported ($n symbols, all LIBIOTPUB_1)"
# Every function declared in the header is exported, and every export is declared.
declared=$(grep -o 'IOTPUB_EXPORT [^(]*(' "$top/lib/include/iotpub.h" | grep -o 'iotpub_[a-z_]*' | sort)
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed -n 's/@@LIBIOTPUB_1$//p' | grep '^iotpub_' | sort)
[[ "$declared" == "$exported" ]] || fail "header and exports differ: $(diff <(echo "$declared") <(echo "$exported") | tr '\n' ' ')"
ok "header declarations match the exports"

[[ -f "$build/iotpub.pc" ]] || fail "$build/iotpub.pc is missing"
grep -q -- '-liotpub' "$build/iotpub.pc" || fail "iotpub.pc does not link -liotpub"
PKG_CONFIG_PATH=$build pkg-config --cflags --libs iotpub >/dev/null || fail "pkg-config cannot read iotpub.pc"
ok "iotpub.pc is valid"
