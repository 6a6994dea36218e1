#!/usr/bin/env bash
# Files others could write are not believed. Access rules (acl.conf, acl.d/ and those directories), iotpubd.conf,
# identity files (and devices/) and secret files that are writable by others or by a group other than root's,
# or owned by someone else, are refused with the chmod/chown fix in the message, at start and on Reload; a secret
# file readable by others or by a foreign group (SecretFile=/etc/shadow) is refused for that, not its length.
# Once fixed, the same files work. (A world-writable acl.conf used to let any user add rules for themselves.)
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-file-trust "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

M=/org/iotpub1 MI=org.iotpub1.Manager
NOBODY=65534 # nobody:nogroup
new_test_user U
mkdir -p "$CONFDIR/acl.d"
mkdir -m 0700 "$HARNESS_DIR/secrets"

start_bus
for d in good_dev ww_dev gw_dev nb_dev sf_dev; do new_identity "$d"; done
start_cloudsim "$CLOUD_DEVICES"
configure_identity good_dev
T=$(topic_of good_dev)
ACL=$CONFDIR/acl.conf
printf 'allow user:%s good_dev #\n' "$U" >"$ACL"
chmod 0666 "$ACL"

log_has() { grep -qF -- "$1" "$DAEMON_LOG"; }
expect_log() { log_has "$1" || fail "$2: no line with '$1' in ${DAEMON_LOG#"$HARNESS_DIR"/}"; harness_log "ok: $2"; }
has_device() { bctl --timeout=5 get-property org.iotpub1 "$(device_path "$1")" org.iotpub1.Device Name >/dev/null 2>&1; }
u_denied() { expect_publish_error_as "$U" org.iotpub1.Error.AccessDenied "$1" --device=good_dev --topic="$T/x"; }
u_allowed() { harness_next; expect_publish_ok_as "$U" "$LOGDIR/u.$HARNESS_SEQ.json" "$1" --device=good_dev --topic="$T/x"; }
# reload_refused FIX WHAT: Reload fails with InvalidConfiguration and its message holds FIX.
reload_refused() {
        expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with $2" $M $MI.Reload
        grep -qF -- "$1" "$GCALL_ERR" || fail "Reload with $2: the error lacks '$1': $(cat "$GCALL_ERR")"
        harness_log "ok: Reload with $2 says: $1"
}
# secret_file_for NAME PATH: NAME's identity file, its secret read from PATH.
secret_file_for() {
        (umask 077 && printf '[Device]\nProductKey=%s\nDeviceName=%s\nSecretFile=%s\nEndpoint=127.0.0.1:%s\n' \
                "${ID_PK[$1]}" "$1" "$2" "$CLOUDSIM_PORT" >"$CONFDIR/devices/$1.conf")
}

# --- at start: a world-writable acl.conf is refused, and nobody but root may publish
start_daemon
expect_log "$ACL is writable by others; run: chmod o-w $ACL" "world-writable acl.conf refused at start, with the fix"
expect_log "Starting without access rules" "started without access rules"
u_denied "$U's own rule in a world-writable acl.conf is not applied"
chmod 0644 "$ACL"
expect_gcall_ok "Reload after chmod o-w acl.conf" $M $MI.Reload
u_allowed "the fixed acl.conf is applied"

# --- on Reload: each refused, the previous rules stay
chmod 0664 "$ACL" && chgrp "$NOBODY" "$ACL"
reload_refused "$ACL is writable by group 'nogroup'; run: chmod g-w $ACL" "a group-writable acl.conf"
chmod 0644 "$ACL" && chown "$NOBODY:0" "$ACL"
reload_refused "$ACL is owned by user 'nobody', not by root; run: chown root $ACL" "acl.conf owned by nobody"
chown 0:0 "$ACL"
printf 'allow * * #\n' >"$CONFDIR/acl.d/50-open.conf"
chmod 0666 "$CONFDIR/acl.d/50-open.conf"
reload_refused "run: chmod o-w $CONFDIR/acl.d/50-open.conf" "a world-writable acl.d file"
rm "$CONFDIR/acl.d/50-open.conf"
chmod 0777 "$CONFDIR/acl.d"
reload_refused "$CONFDIR/acl.d is writable by others; run: chmod o-w $CONFDIR/acl.d" "a world-writable acl.d/"
chmod 0755 "$CONFDIR/acl.d"
printf '[Daemon]\nAdminGroup=%s\n' "$U" >"$CONFDIR/iotpubd.conf"
chmod 0666 "$CONFDIR/iotpubd.conf"
reload_refused "run: chmod o-w $CONFDIR/iotpubd.conf" "a world-writable iotpubd.conf (AdminGroup=)"
rm "$CONFDIR/iotpubd.conf"
u_allowed "the rules in force before the refused Reloads still apply"

# --- identity files: skipped on Reload with the fix; fixed, they load
configure_identity ww_dev && chmod 0666 "$CONFDIR/devices/ww_dev.conf"
configure_identity gw_dev && chmod 0660 "$CONFDIR/devices/gw_dev.conf" && chgrp "$NOBODY" "$CONFDIR/devices/gw_dev.conf"
configure_identity nb_dev && chown "$NOBODY" "$CONFDIR/devices/nb_dev.conf"
expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with untrusted identity files" $M $MI.Reload
D=$CONFDIR/devices
expect_log "$D/ww_dev.conf is writable by others; run: chmod o-w $D/ww_dev.conf" "world-writable identity refused"
expect_log "$D/gw_dev.conf is writable by group 'nogroup'; run: chmod g-w $D/gw_dev.conf" "group-writable identity refused"
expect_log "$D/nb_dev.conf is owned by user 'nobody', not by root; run: chown root $D/nb_dev.conf" \
        "identity owned by nobody refused"
for d in ww_dev gw_dev nb_dev; do ! has_device "$d" || fail "$d was loaded from an untrusted file"; done
chmod 0600 "$D"/*.conf && chown 0:0 "$D"/*.conf
expect_gcall_ok "Reload with the identity files fixed" $M $MI.Reload
for d in ww_dev gw_dev nb_dev; do has_device "$d" || fail "$d did not load once its file was fixed"; done
harness_log "ok: fixed identity files load"

# A devices/ others may write is refused as a whole; the running devices stay.
rm "$D/nb_dev.conf"
chmod 0777 "$D"
expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with a world-writable devices/" $M $MI.Reload
expect_log "$D is writable by others; run: chmod o-w $D; nothing in it is loaded" "world-writable devices/ refused"
has_device nb_dev || fail "a running device was removed because devices/ was refused"
chmod 0755 "$D"

# --- secret files
SF=$HARNESS_DIR/secrets/sf
(umask 077 && printf '%s\n' "${ID_SECRET[sf_dev]}" >"$SF")
secret_file_for sf_dev "$SF"
sf_case() { # sf_case CHMOD CHOWN FIX WHAT
        chmod "$1" "$SF" && chown "$2" "$SF"
        expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with a secret file $4" $M $MI.Reload
        expect_log "$3" "secret file $4 refused"
        ! has_device sf_dev || fail "sf_dev was loaded from a secret file $4"
}
sf_case 0644 0:0 "$SF holds a secret and others may access it (mode 0644); run: chmod o-rwx $SF" "readable by others"
sf_case 0640 "0:$NOBODY" "$SF holds a secret and is readable by group 'nogroup'; run: chmod g-r $SF" \
        "readable by group nogroup"
sf_case 0620 "0:$NOBODY" "$SF is writable by group 'nogroup'; run: chmod g-w $SF" "writable by group nogroup"
sf_case 0600 "$NOBODY:0" "$SF is owned by user 'nobody', not by root; run: chown root $SF" "owned by nobody"
chown 0:0 "$SF"
expect_gcall_ok "Reload with the secret file fixed" $M $MI.Reload
has_device sf_dev || fail "sf_dev did not load from a good secret file"
harness_log "ok: a secret file owned by root, mode 0600, works"

# /etc/shadow (root:shadow 0640 on Debian): refused for its group's access, before its length is looked at.
shadow_group=$(stat -c %G /etc/shadow)
secret_file_for sf_dev /etc/shadow
expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with SecretFile=/etc/shadow" $M $MI.Reload
if [[ $(stat -c %a /etc/shadow) == 640 ]]; then
        expect_log "/etc/shadow holds a secret and is readable by group '$shadow_group'" "SecretFile=/etc/shadow refused for its mode"
fi
! grep -F "/etc/shadow must hold 1-64" "$DAEMON_LOG" || fail "SecretFile=/etc/shadow was refused for its length"

# --- at start: the same refusals
stop_daemon
chmod 0666 "$D/ww_dev.conf"
chmod 0777 "$CONFDIR/acl.d"
start_daemon
expect_log "$D/ww_dev.conf is writable by others; run: chmod o-w $D/ww_dev.conf" "world-writable identity refused at start"
expect_log "$CONFDIR/acl.d is writable by others; run: chmod o-w $CONFDIR/acl.d" "world-writable acl.d/ refused at start"
! has_device ww_dev || fail "ww_dev was loaded from a world-writable file at start"
has_device good_dev || fail "good_dev is missing at start"
u_denied "no rules at start while acl.d/ is world-writable"
