#!/usr/bin/env bash
# Administrative methods. A non-admin (uid 65534) gets AccessDenied from AddDevice, RemoveDevice, Reload,
# CheckConfiguration, Reauthenticate, Flush and Purge, and nothing changes. AddDevice with Secret (ay) and
# SecretFd (h) writes devices/NAME.conf mode 0640 and the device publishes; bad settings (wrong type, unknown
# key, no secret, a newline inside the secret, a duplicate name) give named errors and leave no file.
# RemoveDevice fails queued messages with "device removed" (Failed signal to the publisher, GetMessage),
# deletes the file and the object. Purge returns the count ("purged"). Reauthenticate makes a new auth.
# Flush skips a 60 s backoff. CheckConfiguration lists a malformed identity file and a malformed rule with
# file and line, an empty list when all is well, and never a secret; nor do introspection and properties.
# Last: a member of AdminGroup (supplementary group) may Reload and Flush.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-admin "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

new_test_group ADM
ADM_GID=$(getent group "$ADM" | cut -d: -f3)
new_test_user ADMIN_USER

start_bus
for n in adm_dev add_ay add_fd rm_dev purge_dev flush_dev; do new_identity "$n"; done
# A port where nothing listens (for now): start a cloudsim, note its port, stop it.
start_cloudsim "$CLOUD_DEVICES"
DEAD_PORT=$CLOUDSIM_PORT
stop_cloudsim
start_cloudsim "$CLOUD_DEVICES"
LIVE_PORT=$CLOUDSIM_PORT
configure_identity adm_dev
configure_identity rm_dev "$DEAD_PORT"
configure_identity purge_dev "$DEAD_PORT"
configure_identity flush_dev "$DEAD_PORT"
printf '[Daemon]\nAdminGroup=%s\nBackoffMinSec=60\nBackoffMaxSec=120\n' "$ADM" >"$CONFDIR/iotpubd.conf"
start_daemon
M=/org/iotpub1
MI=org.iotpub1.Manager
DI=org.iotpub1.Device

devices_list() { bctl --json=short call org.iotpub1 $M $MI ListDevices | python3 -c \
        'import json,sys; print(" ".join(sorted(d[0] for d in json.load(sys.stdin)["data"][0])))'; }
conf_files() { (cd "$CONFDIR/devices" && ls -A | sort | tr '\n' ' '); }
queued_of() { device_prop "$1" QueueMessages; }
# defer_fail MSG: a failure reported at the end, so that the later sections still run.
DEFERRED=()
defer_fail() { harness_log "FAILED (reported at the end): $*"; DEFERRED+=("$*"); }
# add_device_fd NAME SECRET-FILE KEY=VALUE...: AddDevice with SecretFd (busctl 252 cannot pass an fd, python3-dbus
# can: the system python3 with python3-dbus); on failure the last line printed is the D-Bus error name.
add_device_fd() {
        /usr/bin/python3 - "$BUS" "$@" <<'EOF'
import dbus.bus, dbus.types, os, sys
bus = dbus.bus.BusConnection(sys.argv[1])
settings = dict(a.split("=", 1) for a in sys.argv[4:])
fd = os.open(sys.argv[3], os.O_RDONLY)
settings["SecretFd"] = dbus.types.UnixFd(fd)
try:
    print(bus.call_blocking("org.iotpub1", "/org/iotpub1", "org.iotpub1.Manager", "AddDevice", "sa{sv}",
                            (sys.argv[2], settings)))
except dbus.exceptions.DBusException as e:
    print(e.get_dbus_message())
    print(e.get_dbus_name())
    sys.exit(1)
EOF
}
# gv_bytes STRING: a GVariant text byte array (gdbus's b'...' would add a NUL).
gv_bytes() { printf '%s' "$1" | od -An -v -tx1 | tr -s ' \n' ' ' | sed -e 's/^ //' -e 's/ $//' -e 's/ /, 0x/g' \
        -e 's/^/[byte 0x/' -e 's/$/]/'; }

# Messages that stay queued: two on purge_dev (dead port) before the non-admin tries anything.
harness_next
pubclient "$LOGDIR/purge-pub.json" --device=purge_dev --topic="$(topic_of purge_dev)" --count=3 --no-wait \
        --prefix=purge || fail "publishing to purge_dev failed"
wait_for --timeout=10 device_prop_is purge_dev QueueMessages 3 || fail "purge_dev does not hold 3 queued messages"

# --- a non-admin: AccessDenied everywhere, nothing changes
before_devices=$(devices_list) before_files=$(conf_files)
before_auth=$(record_count --event=auth --device=adm_dev)
N=65534
expect_gcall_error --as=$N org.iotpub1.Error.AccessDenied "uid 65534 AddDevice" $M $MI.AddDevice nobody_dev \
        "{'ProductKey': <'a1nobody'>, 'DeviceName': <'nobody_dev'>, 'Secret': <$(gv_bytes nobodysecret1)>}"
HARNESS_SECRETS+=(nobodysecret1)
expect_gcall_error --as=$N org.iotpub1.Error.AccessDenied "uid 65534 RemoveDevice" $M $MI.RemoveDevice adm_dev
expect_gcall_error --as=$N org.iotpub1.Error.AccessDenied "uid 65534 Reload" $M $MI.Reload
expect_gcall_error --as=$N org.iotpub1.Error.AccessDenied "uid 65534 CheckConfiguration" $M $MI.CheckConfiguration
expect_gcall_error --as=$N org.iotpub1.Error.AccessDenied "uid 65534 Reauthenticate" "$(device_path adm_dev)" \
        $DI.Reauthenticate
expect_gcall_error --as=$N org.iotpub1.Error.AccessDenied "uid 65534 Flush" "$(device_path purge_dev)" $DI.Flush
expect_gcall_error --as=$N org.iotpub1.Error.AccessDenied "uid 65534 Purge" "$(device_path purge_dev)" $DI.Purge
assert_eq "$before_devices" "$(devices_list)" "devices after the refused calls"
assert_eq "$before_files" "$(conf_files)" "identity files after the refused calls"
assert_eq 3 "$(queued_of purge_dev)" "purge_dev queue after the refused Purge"
assert_eq "$before_auth" "$(record_count --event=auth --device=adm_dev)" "no auth after the refused Reauthenticate"
[[ -f $CONFDIR/devices/adm_dev.conf ]] || fail "adm_dev.conf is gone after a refused RemoveDevice"

# --- AddDevice with Secret (ay) and with SecretFd (h)
expect_gcall_ok "AddDevice add_ay with Secret ay" $M $MI.AddDevice add_ay \
        "{'ProductKey': <'${ID_PK[add_ay]}'>, 'DeviceName': <'add_ay'>, 'Endpoint': <'127.0.0.1:$LIVE_PORT'>, 'Secret': <$(gv_bytes "${ID_SECRET[add_ay]}")>}"
grep -qF "$(device_path add_ay)" "$GCALL_OUT" || fail "AddDevice returned $(cat "$GCALL_OUT")"
SECRET_FILE=$HARNESS_DIR/add_fd.secret
(umask 077 && printf '%s\n' "${ID_SECRET[add_fd]}" >"$SECRET_FILE")
add_device_fd add_fd "$SECRET_FILE" ProductKey="${ID_PK[add_fd]}" DeviceName=add_fd Endpoint="127.0.0.1:$LIVE_PORT" \
        >"$LOGDIR/add-fd.out" 2>&1 || fail "AddDevice with SecretFd failed: $(cat "$LOGDIR/add-fd.out")"
harness_log "ok: AddDevice add_fd with SecretFd h (trailing newline in the file)"
for n in add_ay add_fd; do
        f=$CONFDIR/devices/$n.conf
        [[ -f $f ]] || fail "AddDevice did not write $f"
        assert_eq 640 "$(stat -c %a "$f")" "mode of devices/$n.conf"
        harness_next
        out=$LOGDIR/pub-$n.json
        pubclient "$out" --device=$n --topic="$(topic_of $n)" --count=2 --prefix="$n" --timeout=30 ||
                fail "added device $n did not deliver: $(cat "$out")"
        check_record $n --pubclient="$out" --topic="$(topic_of $n)" || fail "record differs for $n"
done

# Secrets never in introspection or properties of device objects.
for n in adm_dev add_ay add_fd purge_dev; do
        p=$(device_path $n)
        bctl introspect org.iotpub1 "$p" >"$LOGDIR/introspect-$n.txt"
        bctl --json=short call org.iotpub1 "$p" org.freedesktop.DBus.Properties GetAll s $DI >"$LOGDIR/props-$n.json"
        for prop in Name ProductKey DeviceName Transport Endpoint State LastError; do
                bctl get-property org.iotpub1 "$p" $DI "$prop" >>"$LOGDIR/props-$n.txt"
        done
        for s in "${HARNESS_SECRETS[@]}"; do
                ! grep -qF -e "$s" "$LOGDIR/introspect-$n.txt" "$LOGDIR/props-$n.json" "$LOGDIR/props-$n.txt" ||
                        fail "a secret appears in the introspection or properties of $n"
        done
done
harness_log "ok: no secret in introspection or properties of device objects"

# --- AddDevice errors: named, and nothing left behind
files0=$(conf_files) devices0=$(devices_list)
add_err() { # add_err ERROR WHAT NAME SETTINGS
        expect_gcall_error "$1" "$2" $M $MI.AddDevice "$3" "$4"
        assert_eq "$files0" "$(conf_files)" "$2: no file left behind"
        assert_eq "$devices0" "$(devices_list)" "$2: no device added"
}
BADSECRET=badsecretXYZ123
HARNESS_SECRETS+=("$BADSECRET")
add_err org.iotpub1.Error.InvalidArgument "AddDevice with ProductKey of type u" bad1 \
        "{'ProductKey': <uint32 7>, 'DeviceName': <'bad1'>, 'Secret': <$(gv_bytes "$BADSECRET")>}"
grep -q ProductKey "$GCALL_ERR" || fail "the error does not name ProductKey: $(cat "$GCALL_ERR")"
add_err org.iotpub1.Error.InvalidArgument "AddDevice with Secret of type s" bad2 \
        "{'ProductKey': <'a1bad'>, 'DeviceName': <'bad2'>, 'Secret': <'$BADSECRET'>}"
add_err org.iotpub1.Error.InvalidArgument "AddDevice with an unknown setting" bad3 \
        "{'ProductKey': <'a1bad'>, 'DeviceName': <'bad3'>, 'Colour': <'red'>, 'Secret': <$(gv_bytes "$BADSECRET")>}"
grep -q Colour "$GCALL_ERR" || fail "the error does not name the unknown setting: $(cat "$GCALL_ERR")"
add_err org.iotpub1.Error.InvalidArgument "AddDevice without a secret" bad4 \
        "{'ProductKey': <'a1bad'>, 'DeviceName': <'bad4'>}"
add_err org.iotpub1.Error.InvalidArgument "AddDevice with a newline inside Secret" bad5 \
        "{'ProductKey': <'a1bad'>, 'DeviceName': <'bad5'>, 'Secret': <[byte 0x61, 0x62, 0x63, 0x0a, 0x64, 0x65]>}"
NL_FILE=$HARNESS_DIR/nl.secret
(umask 077 && printf 'abc\ndef\n' >"$NL_FILE")
add_device_fd bad6 "$NL_FILE" ProductKey=a1bad DeviceName=bad6 >"$LOGDIR/add-nl-fd.out" 2>&1 &&
        fail "AddDevice accepted a SecretFd with a newline inside"
assert_eq org.iotpub1.Error.InvalidArgument "$(tail -n1 "$LOGDIR/add-nl-fd.out")" "AddDevice with a newline inside SecretFd"
assert_eq "$files0" "$(conf_files)" "SecretFd with a newline inside: no file left behind"
add_err org.iotpub1.Error.InvalidArgument "AddDevice with Secret given twice" bad7 \
        "{'ProductKey': <'a1bad'>, 'DeviceName': <'bad7'>, 'Secret': <$(gv_bytes "$BADSECRET")>, 'Secret': <$(gv_bytes "$BADSECRET")>}"
add_err org.iotpub1.Error.DeviceExists "AddDevice with a duplicate name" add_ay \
        "{'ProductKey': <'a1other'>, 'DeviceName': <'other'>, 'Secret': <$(gv_bytes "$BADSECRET")>}"
add_err org.iotpub1.Error.InvalidArgument "AddDevice with an invalid name" "../evil" \
        "{'ProductKey': <'a1bad'>, 'DeviceName': <'evil'>, 'Secret': <$(gv_bytes "$BADSECRET")>}"
[[ ! -e $CONFDIR/evil.conf ]] || fail "AddDevice wrote outside devices/"

# --- RemoveDevice with queued messages: the publisher gets Failed(id, "device removed")
RM_OUT=$LOGDIR/rm-pub.json
"$PUBCLIENT" --address="$BUS" --device=rm_dev --topic="$(topic_of rm_dev)" --count=2 --prefix=rm --timeout=30 \
        >"$RM_OUT" 2>>"$LOGDIR/pubclient.err" &
rm_pid=$!
harness_register $rm_pid pubclient-rm
wait_for --timeout=10 device_prop_is rm_dev QueueMessages 2 || fail "rm_dev does not hold 2 queued messages"
bctl call org.iotpub1 $M $MI RemoveDevice s rm_dev || fail "RemoveDevice rm_dev failed"
rc=0
wait $rm_pid || rc=$?
harness_unregister $rm_pid
assert_eq 1 "$rc" "pubclient exit status (its messages failed)"
assert_eq 2 "$(json_get "$RM_OUT" 'd["failed"]')" "Failed signals received by the publisher"
assert_eq "device removed,device removed" "$(json_get "$RM_OUT" '",".join(f["reason"] for f in d["failures"])')" \
        "Failed reasons"
rm_id=$(json_get "$RM_OUT" 'd["ids"][0]')
assert_eq '"failed" "rm_dev" "'"$(topic_of rm_dev)"'" "device removed"' \
        "$(bctl call org.iotpub1 $M $MI GetMessage t "$rm_id" | cut -d' ' -f2-)" "GetMessage of a removed device's message"
[[ ! -e $CONFDIR/devices/rm_dev.conf ]] || fail "rm_dev.conf still exists"
[[ " $(devices_list) " != *" rm_dev "* ]] || fail "rm_dev is still listed"
if bctl get-property org.iotpub1 "$(device_path rm_dev)" $DI Name >/dev/null 2>&1; then
        fail "the rm_dev object still exists"
fi
harness_log "ok: rm_dev's file, listing and object are gone"
expect_gcall_error org.iotpub1.Error.NoSuchDevice "RemoveDevice of an unknown device" $M $MI.RemoveDevice rm_dev

# --- Purge
bctl call org.iotpub1 "$(device_path purge_dev)" $DI Purge >"$LOGDIR/purge.out" || fail "Purge failed"
assert_eq "t 3" "$(cat "$LOGDIR/purge.out")" "Purge reply"
assert_eq 0 "$(queued_of purge_dev)" "purge_dev queue after Purge"
pid0=$(json_get "$LOGDIR/purge-pub.json" 'd["ids"][0]')
assert_eq '"failed" "purge_dev" "'"$(topic_of purge_dev)"'" "purged"' \
        "$(bctl call org.iotpub1 $M $MI GetMessage t "$pid0" | cut -d' ' -f2-)" "GetMessage of a purged message"
assert_eq "t 0" "$(bctl call org.iotpub1 "$(device_path purge_dev)" $DI Purge)" "Purge of an empty queue"

# --- Reauthenticate: a new auth event (the spec says "authenticate again now")
harness_next
pubclient "$LOGDIR/adm-pub.json" --device=adm_dev --topic="$(topic_of adm_dev)" --prefix=adm --timeout=30 ||
        fail "publish to adm_dev failed"
n_auth=$(record_count --event=auth --device=adm_dev)
assert_ge 1 "$n_auth" "adm_dev authenticated before"
bctl call org.iotpub1 "$(device_path adm_dev)" $DI Reauthenticate || fail "Reauthenticate failed"
if ! wait_for --timeout=10 record_has $((n_auth + 1)) --event=auth --device=adm_dev; then
        defer_fail "Reauthenticate did not authenticate 'now': no new auth within 10 s without a message to send"
fi
harness_next
pubclient "$LOGDIR/reauth-pub.json" --device=adm_dev --topic="$(topic_of adm_dev)" --prefix=reauth --timeout=30 ||
        fail "publish after Reauthenticate failed"
wait_for --timeout=10 record_has $((n_auth + 1)) --event=auth --device=adm_dev ||
        fail "no new auth event after Reauthenticate"
harness_log "ok: Reauthenticate led to a new auth event"

# --- Flush skips the backoff wait (BackoffMinSec=60)
harness_next
FL_OUT=$LOGDIR/flush-pub.json
pubclient "$FL_OUT" --device=flush_dev --topic="$(topic_of flush_dev)" --no-wait --prefix=flush ||
        fail "publish to flush_dev failed"
wait_for --timeout=20 device_prop_is flush_dev State backoff ||
        fail "flush_dev did not enter backoff (State=$(device_prop flush_dev State))"
start_cloudsim "$CLOUD_DEVICES" --coap-port="$DEAD_PORT"
t0=$SECONDS
bctl call org.iotpub1 "$(device_path flush_dev)" $DI Flush || fail "Flush failed"
wait_for --timeout=15 record_has 1 --device=flush_dev || fail "Flush did not make flush_dev deliver within 15 s"
harness_log "ok: delivered $((SECONDS - t0)) s after Flush (backoff was >= 60 s)"
check_record flush_dev --pubclient="$FL_OUT" || fail "record differs for flush_dev"

# --- CheckConfiguration
check_conf() { bctl --json=short call org.iotpub1 $M $MI CheckConfiguration >"$LOGDIR/check.$1.json" ||
        fail "CheckConfiguration failed"; }
check_conf 1
assert_eq "[]" "$(json_get "$LOGDIR/check.1.json" 'd["data"][0]')" "CheckConfiguration when all is well"
BAD_ID_SECRET=$(harness_random 32)
write_device broken a1broken broken "$BAD_ID_SECRET" "127.0.0.1:$LIVE_PORT" "Colour=red"
cp "$CONFDIR/acl.conf" "$HARNESS_DIR/acl.saved" 2>/dev/null || : >"$HARNESS_DIR/acl.saved"
printf '# rules\nallow user:root adm_dev\n' >"$CONFDIR/acl.conf"
check_conf 2
# problem_at FILE LINE: some entry's location names FILE, and FILE:LINE is in its location or problem text.
problem_at() {
        python3 - "$LOGDIR/check.2.json" "$1" "$2" <<'EOF'
import json, sys
problems = json.load(open(sys.argv[1]))["data"][0]
path, line = sys.argv[2], sys.argv[3]
sys.exit(not any(loc.startswith(path) and f"{path}:{line}" in loc + " " + text for loc, text in problems))
EOF
}
problem_at "$CONFDIR/devices/broken.conf" 7 ||
        fail "CheckConfiguration does not report devices/broken.conf:7: $(cat "$LOGDIR/check.2.json")"
harness_log "ok: CheckConfiguration names the malformed identity file and its line"
if problem_at "$CONFDIR/acl.conf" 2; then
        harness_log "ok: CheckConfiguration names the malformed rule's file and line"
else
        defer_fail "CheckConfiguration's location for the malformed rule is not acl.conf: $(cat "$LOGDIR/check.2.json")"
fi
! grep -qF "$BAD_ID_SECRET" "$LOGDIR/check.2.json" || fail "CheckConfiguration output contains a secret"
rm "$CONFDIR/devices/broken.conf"
cp "$HARNESS_DIR/acl.saved" "$CONFDIR/acl.conf"
check_conf 3
assert_eq "[]" "$(json_get "$LOGDIR/check.3.json" 'd["data"][0]')" "CheckConfiguration after the fix"

# --- a member of AdminGroup (supplementary group) may Reload and Flush; a non-member may not
expect_gcall_error --as="$ADMIN_USER" org.iotpub1.Error.AccessDenied "$ADMIN_USER without $ADM: Reload" $M $MI.Reload
for m in "$M $MI.Reload" "$(device_path adm_dev) $DI.Flush"; do
        # shellcheck disable=SC2086
        if gcall --groups="$ADM_GID" --as="$ADMIN_USER" $m; then
                harness_log "ok: member of $ADM (supplementary group): ${m##*.}"
        else
                defer_fail "a member of AdminGroup $ADM may not call ${m##*.}: $(cat "$GCALL_ERR")"
        fi
done
((${#DEFERRED[@]} == 0)) || fail "$(printf '%s; ' "${DEFERRED[@]}")"
