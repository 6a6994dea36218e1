#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian packages, end to end, on this machine (root; PID 1 need not be systemd): build them once,
# lintian (no errors, no warnings), dpkg -i, check the user, groups, owners and modes, the unit
# (systemd-analyze verify, security exposure <= 2.0), no RPATH, man pages, a program built against
# libiotpub-dev; then run the installed iotpubd as user iotpub on a private bus with the installed policy,
# against the installed iotpub-cloudsim: AddDevice writes into /etc/iotpub/devices as iotpub, a secret file
# readable by others is refused with the fix in the message, SIGHUP (the unit's ExecReload) loads a new rule,
# an unprivileged user allowed by that rule publishes (iotpubctl and envsensor), another is refused. Last
# apt-get remove keeps the state and the configuration, apt-get purge removes them.
# Everything it changes (packages, /etc/iotpub, /var/lib/iotpub, users and groups) is undone at exit, also
# on failure. Needs build/tests/bin/wait-ready (make build-tests). Packages are built from HEAD (committed
# files only); IOTPUB_PACKAGE_WORKTREE=1 builds the work tree instead.
#   tests/package/run.sh [BUILD_DIR]
set -euo pipefail
export IOTPUB_BUILD=${1:-${IOTPUB_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}}
source "$(cd "$(dirname "$0")/../.." && pwd)/tests/lib/harness.sh"

PACKAGES=(iotpubd iotpub-tools libiotpub-dev libiotpub1)
IOTPUBD=/usr/sbin/iotpubd
CLOUDSIM=/usr/bin/iotpub-cloudsim
CTL=/usr/bin/iotpubctl
ENVSENSOR=/usr/libexec/iotpub/envsensor
export DEBIAN_FRONTEND=noninteractive

[[ $(id -u) -eq 0 ]] || { echo "package test: needs root (it installs packages)" >&2; exit 1; }
for p in "${PACKAGES[@]}"; do
        if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
                echo "package test: $p is already installed here; refusing to touch it" >&2
                exit 1
        fi
done
for d in /etc/iotpub /var/lib/iotpub; do
        [[ ! -e $d ]] || { echo "package test: $d exists already; refusing to touch it" >&2; exit 1; }
done
had_user=0 had_group=0 had_admin=0
getent passwd iotpub >/dev/null && had_user=1
getent group iotpub >/dev/null && had_group=1
getent group iotpub-admin >/dev/null && had_admin=1

harness_init package-test

# Undo everything, whatever state the test stopped in (registered first, so it runs after all else).
package_cleanup() {
        local installed=()
        for p in "${PACKAGES[@]}"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv 'not-installed' && installed+=("$p")
        done
        ((${#installed[@]} == 0)) || dpkg --purge "${installed[@]}" >/dev/null 2>&1 ||
                harness_log "cleanup: dpkg --purge ${installed[*]} failed"
        rm -rf /etc/iotpub /var/lib/iotpub
        ((had_user)) || ! getent passwd iotpub >/dev/null || userdel iotpub
        ((had_group)) || ! getent group iotpub >/dev/null || groupdel iotpub
        ((had_admin)) || ! getent group iotpub-admin >/dev/null || groupdel iotpub-admin
        return 0
}
harness_at_exit package_cleanup

# --- build and lint
PKGDIR=$HARNESS_DIR/pkg
"$IOTPUB_TOP/tests/package/build.sh" ${IOTPUB_PACKAGE_WORKTREE:+--worktree} "$PKGDIR"
lintian -I --fail-on error,warning "$PKGDIR"/*.changes \
        >"$LOGDIR/lintian.log" 2>&1 || fail "lintian: $(cat "$LOGDIR/lintian.log")"
harness_log "ok: lintian reports no errors and no warnings ($(grep -c '^I:' "$LOGDIR/lintian.log") info tags, in logs/lintian.log)"

# --- install
debs=()
for p in "${PACKAGES[@]}"; do debs+=("$PKGDIR/${p}_"*_*.deb); done
dpkg -i "${debs[@]}" >"$LOGDIR/dpkg-install.log" 2>&1 || fail "dpkg -i: $(tail -n 20 "$LOGDIR/dpkg-install.log")"
harness_log "ok: dpkg -i ${PACKAGES[*]}"

# --- user, groups, owners, modes
getent passwd iotpub >/dev/null || fail "user iotpub was not created"
assert_eq /usr/sbin/nologin "$(getent passwd iotpub | cut -d: -f7)" "iotpub's shell"
[[ $(id -u iotpub) -lt 1000 ]] || fail "iotpub is not a system user (uid $(id -u iotpub))"
getent group iotpub-admin >/dev/null || fail "group iotpub-admin was not created"
expect_stat() { assert_eq "$2" "$(stat -c '%a %U:%G' "$1")" "mode and owner of $1"; }
expect_stat /etc/iotpub "750 root:iotpub"
expect_stat /etc/iotpub/devices "2770 root:iotpub"
expect_stat /etc/iotpub/acl.d "750 root:iotpub"
expect_stat /var/lib/iotpub "700 iotpub:iotpub"
expect_stat /etc/iotpub/iotpubd.conf "644 root:root"
for f in /etc/iotpub/iotpubd.conf /etc/iotpub/acl.conf; do
        dpkg-query -W -f='${Conffiles}\n' iotpubd | grep -q " $f " || fail "$f is not a conffile"
done
harness_log "ok: iotpubd.conf and acl.conf are conffiles"
# Every key of iotpubd.conf is present (commented) with the daemon's default.
for key in MaxQueueMessages=1000000 MaxQueueBytes=268435456 MaxQueueMessagesPerUser=100000 \
        MaxQueueBytesPerUser=67108864 BackoffMinSec=1 BackoffMaxSec=300 CoapAckTimeoutMSec=2000 AdminGroup=iotpub-admin Interface=; do
        grep -qx "#$key" /etc/iotpub/iotpubd.conf || fail "iotpubd.conf lacks '#$key'"
done
harness_log "ok: iotpubd.conf lists every key with its default"

# --- binaries, library, man pages
for f in $IOTPUBD $CLOUDSIM $CTL $ENVSENSOR /usr/lib/*/libiotpub.so.1; do
        ! readelf -d "$f" | grep -qE 'RPATH|RUNPATH' || fail "$f carries an RPATH"
done
harness_log "ok: no installed binary carries an RPATH"
for m in iotpubd.8 iotpubd.conf.5 iotpubctl.1 iotpub-cloudsim.1 libiotpub.3; do
        man -w "${m##*.}" "${m%.*}" >/dev/null ||
                fail "man page $m is not installed"
done
harness_log "ok: man pages iotpubd(8) iotpubd.conf(5) iotpubctl(1) iotpub-cloudsim(1) libiotpub(3)"
printf '#include <iotpub.h>\n#include <stdio.h>\nint main(void) { puts(iotpub_state_to_string(IOTPUB_STATE_DELIVERED)); return 0; }\n' \
        >"$HARNESS_DIR/dev.c"
# shellcheck disable=SC2046
cc -o "$HARNESS_DIR/dev" "$HARNESS_DIR/dev.c" $(pkg-config --cflags --libs iotpub) ||
        fail "cannot build against libiotpub-dev"
assert_eq delivered "$("$HARNESS_DIR/dev")" "a program built with pkg-config iotpub"

# --- the unit
UNIT=/lib/systemd/system/iotpubd.service
systemd-analyze verify "$UNIT" >"$LOGDIR/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$LOGDIR/verify.log")"
[[ ! -s $LOGDIR/verify.log ]] || fail "systemd-analyze verify is not clean: $(cat "$LOGDIR/verify.log")"
harness_log "ok: systemd-analyze verify $UNIT is clean"
systemd-analyze security --offline=true --no-pager "$UNIT" >"$LOGDIR/security.log" 2>&1 || true
exposure=$(sed -n 's/.*Overall exposure level for iotpubd.service: \([0-9.]*\).*/\1/p' "$LOGDIR/security.log")
[[ -n $exposure ]] || fail "no exposure level in: $(tail -n 5 "$LOGDIR/security.log")"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure level $exposure > 2.0"
harness_log "ok: systemd-analyze security --offline=true: exposure $exposure (<= 2.0)"
for k in Type=notify BusName=org.iotpub1 User=iotpub WatchdogSec= StateDirectory=iotpub \
        ConfigurationDirectory=iotpub ExecReload= Restart=on-failure "ReadWritePaths=/etc/iotpub/devices"; do
        grep -q "^$k" "$UNIT" || fail "the unit lacks $k"
done
grep -qx 'SystemdService=iotpubd.service' /usr/share/dbus-1/system-services/org.iotpub1.service ||
        fail "the D-Bus activation file does not name iotpubd.service"
harness_log "ok: unit settings and D-Bus activation file"

# --- the installed daemon as user iotpub, on a private bus with the installed policy
conf=$HARNESS_DIR/bus.conf
# @OWNER@ is root here: only the installed policy lets iotpub own org.iotpub1.
sed -e "s|@SOCKET@|$HARNESS_DIR/bus.sock|g" -e "s|@OWNER@|root|g" \
        -e "s|@POLICY@|/usr/share/dbus-1/system.d/org.iotpub1.conf|g" "$IOTPUB_TOP/dbus/test-bus.conf.in" >"$conf"
dbus-daemon --config-file="$conf" --nofork --print-address=3 3>"$HARNESS_DIR/bus.address" </dev/null \
        >>"$LOGDIR/dbus-daemon.log" 2>&1 &
harness_register $! dbus-daemon
wait_for --timeout=10 harness_bus_address_ready $! "$HARNESS_DIR/bus.address" || fail "dbus-daemon printed no address"
BUS=$(head -n1 "$HARNESS_DIR/bus.address")
export BUS IOTPUB_BUS_ADDRESS=$BUS

new_identity pkgdev
new_identity added
start_cloudsim "$CLOUD_DEVICES"
# Root writes an identity by hand: the setgid directory gives it the group iotpub.
(umask 027 && printf '[Device]\nProductKey=%s\nDeviceName=%s\nSecret=%s\nEndpoint=127.0.0.1:%s\n' \
        "${ID_PK[pkgdev]}" "${ID_DN[pkgdev]}" "${ID_SECRET[pkgdev]}" "$CLOUDSIM_PORT" >/etc/iotpub/devices/pkgdev.conf)
expect_stat /etc/iotpub/devices/pkgdev.conf "640 root:iotpub"
# A secret file that others may read is refused, with the fix in the message.
bad_secret=$(harness_random 32)
HARNESS_SECRETS+=("$bad_secret")
printf '%s\n' "$bad_secret" >/etc/iotpub/bad-secret
chmod 0644 /etc/iotpub/bad-secret
printf '[Device]\nProductKey=a1badperm00\nDeviceName=badperm\nSecretFile=/etc/iotpub/bad-secret\nEndpoint=127.0.0.1:%s\n' \
        "$CLOUDSIM_PORT" >/etc/iotpub/devices/badperm.conf

harness_next
DAEMON_LOG=$LOGDIR/iotpubd.$HARNESS_SEQ.err
# As the unit runs it: user iotpub, its groups only, umask 0077, the default directories.
DAEMON_PID=$(umask 0077 && "$WAIT_READY" --timeout=20 --stdout="$LOGDIR/iotpubd.$HARNESS_SEQ.out" --stderr="$DAEMON_LOG" \
        -- setpriv --reuid=iotpub --regid=iotpub --init-groups "$IOTPUBD" --bus-address="$BUS") ||
        fail "the installed iotpubd did not become ready as user iotpub (see ${DAEMON_LOG#"$HARNESS_DIR"/})"
harness_register "$DAEMON_PID" iotpubd
assert_eq iotpub "$(ps -o user= -p "$DAEMON_PID")" "iotpubd runs as"
# PR_SET_DUMPABLE 0: the kernel gives a non-dumpable process's /proc files to root, so user iotpub cannot read
# the daemon's memory or environment, nor attach to it.
assert_eq root "$(stat -c %U "/proc/$DAEMON_PID/environ")" "owner of iotpubd's /proc/PID/environ (non-dumpable)"
if setpriv --reuid=iotpub --regid=iotpub --init-groups head -c1 "/proc/$DAEMON_PID/environ" >/dev/null 2>&1; then
        fail "user iotpub can read iotpubd's /proc/PID/environ"
fi
owner=$(bctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetConnectionUnixUser s org.iotpub1)
assert_eq "u $(id -u iotpub)" "$owner" "uid owning org.iotpub1"
assert_grep "$DAEMON_LOG" "/etc/iotpub/bad-secret holds a secret and others may access it.*run: chmod o-rwx /etc/iotpub/bad-secret" \
        "secret file with mode 0644 refused, saying how to fix it"
expect_stat /var/lib/iotpub/outbox.db "600 iotpub:iotpub"

# AddDevice as root (an admin): the daemon, user iotpub, writes devices/added.conf.
(umask 077 && printf '%s' "${ID_SECRET[added]}" >"$HARNESS_DIR/added.secret")
"$CTL" add-device added --product-key="${ID_PK[added]}" --device-name="${ID_DN[added]}" \
        --endpoint="127.0.0.1:$CLOUDSIM_PORT" --secret-file="$HARNESS_DIR/added.secret" >"$LOGDIR/add-device.log" 2>&1 ||
        fail "add-device: $(cat "$LOGDIR/add-device.log")"
expect_stat /etc/iotpub/devices/added.conf "640 iotpub:iotpub"

# A rule for an unprivileged user, loaded by SIGHUP as ExecReload= sends it.
new_test_user PUBLISHER
printf 'allow user:%s pkgdev /${ProductKey}/${DeviceName}/user/#\nallow user:%s pkgdev /sys/${ProductKey}/${DeviceName}/thing/event/property/post\n' \
        "$PUBLISHER" "$PUBLISHER" >/etc/iotpub/acl.d/50-package-test.conf
queue_before=$(manager_prop QueueMessages)
kill -HUP "$DAEMON_PID"
rule_allows() { "$CTL" acl explain --user="$PUBLISHER" pkgdev "$(topic_of pkgdev)" 2>/dev/null | grep -q '^allowed'; }
wait_for --timeout=10 rule_allows || fail "the rule is not in force after SIGHUP: $("$CTL" acl explain --user="$PUBLISHER" pkgdev "$(topic_of pkgdev)" 2>&1)"
harness_log "ok: SIGHUP reloaded the access rules"
pid_alive "$DAEMON_PID" || fail "iotpubd exited on SIGHUP"

harness_next
as_user "$PUBLISHER" "$CTL" publish pkgdev "$(topic_of pkgdev)" '{"from":"package-test"}' --wait --timeout=30 \
        >"$LOGDIR/publish.$HARNESS_SEQ.out" 2>&1 || fail "publish as $PUBLISHER: $(cat "$LOGDIR/publish.$HARNESS_SEQ.out")"
wait_for --timeout=10 record_has 1 --device="${ID_DN[pkgdev]}" || fail "the message is not in cloudsim's record"
harness_log "ok: $PUBLISHER published through the installed iotpubctl; cloudsim has it"
as_user "$PUBLISHER" env IOTPUB_BUS_ADDRESS="$BUS" "$ENVSENSOR" --device=pkgdev --count=1 --wait --timeout=30 --simulate \
        >"$LOGDIR/envsensor.out" 2>&1 || fail "envsensor as $PUBLISHER: $(cat "$LOGDIR/envsensor.out")"
wait_for --timeout=10 record_has 2 --device="${ID_DN[pkgdev]}" || fail "envsensor's post is not in cloudsim's record"
harness_log "ok: the installed envsensor published through libiotpub"
if as_user 65534 "$CTL" publish pkgdev "$(topic_of pkgdev)" '{}' >"$LOGDIR/publish-nobody.out" 2>&1; then
        fail "uid 65534 (no rule) could publish"
fi
harness_log "ok: uid 65534 is refused: $(head -c 120 "$LOGDIR/publish-nobody.out")"

# One message left queued (cloud gone) for the state-kept check.
stop_cloudsim
"$CTL" publish pkgdev "$(topic_of pkgdev)" '{"queued":true}' >/dev/null || fail "publish while offline"
wait_for --timeout=10 manager_prop_is QueueMessages "$((queue_before + 1))" || fail "the message is not queued"
harness_stop_pid "$DAEMON_PID" iotpubd || fail "iotpubd did not exit on SIGTERM"
harness_unregister "$DAEMON_PID"
rm -f /etc/iotpub/devices/badperm.conf /etc/iotpub/bad-secret

# --- remove: state and configuration stay
apt-get remove -y "${PACKAGES[@]}" >"$LOGDIR/apt-remove.log" 2>&1 || fail "apt-get remove: $(tail -n 20 "$LOGDIR/apt-remove.log")"
[[ ! -e $IOTPUBD ]] || fail "$IOTPUBD is still there after remove"
for f in /var/lib/iotpub/outbox.db /etc/iotpub/iotpubd.conf /etc/iotpub/devices/pkgdev.conf /etc/iotpub/devices/added.conf; do
        [[ -e $f ]] || fail "$f is gone after apt-get remove"
done
[[ $(sqlite3 /var/lib/iotpub/outbox.db 'SELECT count(*) FROM sqlite_master') -gt 0 ]] || fail "outbox.db is empty after remove"
getent passwd iotpub >/dev/null || fail "user iotpub is gone after remove"
harness_log "ok: apt-get remove kept the outbox, the configuration, the identities and the user"

# --- purge: state and configuration go
# Only packages that left configuration behind are still known to apt (libiotpub1 and -dev have none).
residual=()
for p in "${PACKAGES[@]}"; do
        [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != *config-files ]] || residual+=("$p")
done
[[ " ${residual[*]} " == *" iotpubd "* ]] || fail "iotpubd left no configuration after remove"
apt-get purge -y "${residual[@]}" >"$LOGDIR/apt-purge.log" 2>&1 || fail "apt-get purge: $(tail -n 20 "$LOGDIR/apt-purge.log")"
for d in /var/lib/iotpub /etc/iotpub /etc/systemd/system/multi-user.target.wants/iotpubd.service; do
        [[ ! -e $d ]] || fail "$d is still there after purge"
done
for p in "${PACKAGES[@]}"; do
        ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv 'not-installed' || fail "$p is still known to dpkg"
done
harness_log "ok: apt-get purge removed the outbox, the configuration and the identities (the user stays, as Debian keeps system users; removed by this test)"
harness_log "PASS"
