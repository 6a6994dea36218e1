#!/usr/bin/env bash
# Special files never stop the daemon. A symlink to /dev/zero, a FIFO and a directory, in each place iotpubd
# reads a file from (iotpubd.conf, acl.conf, acl.d/, devices/, SecretFile=, CAFile=), are refused with their
# name and type, at start and on Reload, and the daemon answers D-Bus calls throughout. The outcome is the one
# a malformed file gets there: iotpubd.conf and the access rules start the daemon without access rules (and
# a Reload is refused, the previous configuration staying); an identity is skipped (on Reload, the running
# device stays as it was).
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-special-files "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

M=/org/iotpub1 MI=org.iotpub1.Manager
SPECIAL=$HARNESS_DIR/special
mkdir -p "$SPECIAL" "$CONFDIR/acl.d"

start_bus
for d in good_dev sec_dev ca_dev new_dev; do new_identity "$d"; done
start_cloudsim "$CLOUD_DEVICES"
configure_identity good_dev
(umask 077 && printf '%s\n' "${ID_SECRET[sec_dev]}" >"$SPECIAL/secret.ok")
printf 'not read by coap-aes, only checked\n' >"$SPECIAL/ca.ok"

# The identities whose SecretFile= and CAFile= point into $SPECIAL; secret and ca are the names used.
write_sec_dev() {
        (umask 077 && printf '[Device]\nProductKey=%s\nDeviceName=sec_dev\nSecretFile=%s\nEndpoint=127.0.0.1:%s\n' \
                "${ID_PK[sec_dev]}" "$SPECIAL/$1" "$CLOUDSIM_PORT" >"$CONFDIR/devices/sec_dev.conf")
}
write_ca_dev() {
        configure_identity ca_dev "$CLOUDSIM_PORT" "CAFile=$SPECIAL/$1"
}

# make_special KIND PATH: a symlink to /dev/zero, a FIFO or a directory at PATH.
make_special() {
        rm -rf "$2"
        case $1 in
        zero) ln -s /dev/zero "$2" ;;
        fifo) mkfifo -m 0600 "$2" ;;
        dir) mkdir -m 0755 "$2" ;;
        esac
}
# The type the refusal must name.
type_of() {
        case $1 in
        zero) echo "character device" ;;
        fifo) echo "FIFO" ;;
        dir) echo "directory" ;;
        esac
}

log_has() { grep -qF -- "$1" "$DAEMON_LOG"; }
expect_log() { log_has "$1" || fail "$2: no line with '$1' in ${DAEMON_LOG#"$HARNESS_DIR"/}"; harness_log "ok: $2"; }
# The daemon answers a plain call at once (it used to spin or block on the file).
expect_answers() {
        bctl --timeout=5 get-property org.iotpub1 $M $MI Version >/dev/null ||
                fail "$1: iotpubd does not answer Version within 5 s"
        harness_log "ok: $1: iotpubd answers"
}
has_device() { bctl --timeout=5 get-property org.iotpub1 "$(device_path "$1")" org.iotpub1.Device Name >/dev/null 2>&1; }

# --- at start: iotpubd.conf, acl.conf and acl.d/ refuse the rules; the daemon starts without them
for kind in zero fifo dir; do
        for place in "$CONFDIR/iotpubd.conf" "$CONFDIR/acl.conf" "$CONFDIR/acl.d/50-special.conf"; do
                make_special "$kind" "$place"
                start_daemon
                expect_log "$place is a $(type_of "$kind"), not a regular file" "start with $kind at ${place#"$CONFDIR"/}"
                expect_log "Starting without access rules" "start with $kind at ${place#"$CONFDIR"/}: no rules"
                expect_answers "start with $kind at ${place#"$CONFDIR"/}"
                has_device good_dev || fail "good_dev is missing after a start with $kind at ${place#"$CONFDIR"/}"
                stop_daemon
                rm -rf "$place"
        done
done

# --- at start: an identity file, a SecretFile= or a CAFile= skips that device only
for kind in zero fifo dir; do
        make_special "$kind" "$CONFDIR/devices/bad_dev.conf"
        make_special "$kind" "$SPECIAL/secret.$kind"
        make_special "$kind" "$SPECIAL/ca.$kind"
        write_sec_dev "secret.$kind"
        write_ca_dev "ca.$kind"
        start_daemon
        what=$(type_of "$kind")
        expect_log "$CONFDIR/devices/bad_dev.conf is a $what" "start with $kind as devices/bad_dev.conf"
        expect_log "$SPECIAL/secret.$kind is a $what" "start with $kind as SecretFile="
        expect_log "$SPECIAL/ca.$kind is a $what" "start with $kind as CAFile="
        expect_answers "start with $kind in devices/, SecretFile= and CAFile="
        has_device good_dev || fail "good_dev is missing next to $kind files"
        for d in bad_dev sec_dev ca_dev; do
                ! has_device "$d" || fail "$d was loaded from a $kind"
        done
        stop_daemon
        rm -rf "$CONFDIR/devices/bad_dev.conf"
done

# --- on Reload, with every device running first
write_sec_dev secret.ok
write_ca_dev ca.ok
start_daemon
for d in good_dev sec_dev ca_dev; do has_device "$d" || fail "$d did not load from good files"; done

for kind in zero fifo dir; do
        what=$(type_of "$kind")
        for place in "$CONFDIR/iotpubd.conf" "$CONFDIR/acl.conf" "$CONFDIR/acl.d/50-special.conf"; do
                make_special "$kind" "$place"
                expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with $kind at ${place#"$CONFDIR"/}" \
                        $M $MI.Reload --timeout=10
                grep -qF "$place is a $what" "$GCALL_ERR" || fail "Reload's error does not name $place: $(cat "$GCALL_ERR")"
                expect_answers "after Reload with $kind at ${place#"$CONFDIR"/}"
                rm -rf "$place"
        done

        make_special "$kind" "$CONFDIR/devices/new_dev.conf"
        expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with $kind as devices/new_dev.conf" $M $MI.Reload --timeout=10
        expect_log "$CONFDIR/devices/new_dev.conf is a $what" "Reload names devices/new_dev.conf ($kind)"
        expect_answers "after Reload with $kind as devices/new_dev.conf"
        ! has_device new_dev || fail "new_dev was loaded from a $kind"
        rm -rf "$CONFDIR/devices/new_dev.conf"

        # The files an identity points to, swapped under a running device: it stays as it was.
        cp -p "$SPECIAL/secret.ok" "$SPECIAL/secret.saved"
        cp -p "$SPECIAL/ca.ok" "$SPECIAL/ca.saved"
        make_special "$kind" "$SPECIAL/secret.ok"
        make_special "$kind" "$SPECIAL/ca.ok"
        expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with $kind as SecretFile= and CAFile=" $M $MI.Reload --timeout=10
        expect_log "$SPECIAL/secret.ok is a $what" "Reload names the SecretFile= $kind"
        expect_log "$SPECIAL/ca.ok is a $what" "Reload names the CAFile= $kind"
        expect_answers "after Reload with $kind as SecretFile= and CAFile="
        has_device sec_dev && has_device ca_dev || fail "a running device went away on a Reload with a $kind"
        rm -rf "$SPECIAL/secret.ok" "$SPECIAL/ca.ok"
        mv "$SPECIAL/secret.saved" "$SPECIAL/secret.ok"
        mv "$SPECIAL/ca.saved" "$SPECIAL/ca.ok"
done

# Still serving: a message goes through.
out=$LOGDIR/pubclient-good.json
pubclient "$out" --device=good_dev --topic="$(topic_of good_dev)" --count=1 --timeout=30 ||
        fail "good_dev does not deliver after the special files: $(cat "$out")"
harness_log "ok: good_dev delivers"
