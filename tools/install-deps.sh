#!/usr/bin/env bash
# Installs every package iotpub needs to build, run and test on Debian 12 (bookworm). Idempotent: does
# nothing when all are present. Used by `make deps`, and so by `make check` and `make demo`.
set -euo pipefail

packages=(
        build-essential pkg-config
        libsystemd-dev libcoap3-dev libgnutls28-dev libcurl4-gnutls-dev libnl-route-3-dev libjson-c-dev
        libsqlite3-dev libinih-dev libmicrohttpd-dev libcmocka-dev libcbor-dev
        dbus-daemon dbus-bin systemd util-linux gnutls-bin sqlite3 python3 procps iproute2 strace
        # libfaketime for the wrong-clock tests (tests/lib/harness.sh with_faketime); never the machine's clock.
        faketime
        # Debian packages, man pages and their test (tests/package/run.sh): dbus for the packages' dependency on
        # a system bus, man-db for `man -w`.
        dpkg-dev debhelper lintian scdoc dbus man-db
        # make fuzz (clang with libFuzzer, whose runtime is in libclang-rt-14-dev) and make check-valgrind.
        clang libclang-rt-14-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
        echo "deps: all ${#packages[@]} packages are installed"
        exit 0
fi

echo "deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null; then
                sudo=(sudo)
        else
                echo "deps: missing packages (${missing[*]}) and not root; run 'make deps' as root" >&2
                exit 1
        fi
else
        sudo=()
fi

export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get update -qq; then
        echo "deps: 'apt-get update' failed; check the network and /etc/apt/sources.list" >&2
        exit 1
fi
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
        echo "deps: 'apt-get install ${missing[*]}' failed; the packages above are needed" >&2
        exit 1
fi
echo "deps: done"
