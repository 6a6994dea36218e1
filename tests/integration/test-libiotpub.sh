#!/usr/bin/env bash
# libiotpub against a live iotpubd: publish, publish-and-wait, an asynchronous poll() loop, GetMessage states
# (queued -> delivered, failed), bad arguments, the envsensor example, and a daemon restart while a
# publish-and-wait is pending (plus a publish made while the daemon is away, which is resent once it is back).
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
LIBCLIENT=$IOTPUB_BUILD/tests/bin/libclient
ENVSENSOR=$IOTPUB_BUILD/envsensor
harness_init test-libiotpub "$IOTPUBD" "$CLOUDSIM" "$LIBCLIENT" "$ENVSENSOR"

# lc OUT CMD [ARGS...]: runs libclient; KEY=VALUE output in OUT, stderr in the logs.
lc() {
        local out=$1
        shift
        "$LIBCLIENT" "$@" >"$out" 2>>"$LOGDIR/libclient.err"
}
val() { sed -n "s/^$2=//p" "$1" | head -n1; }
b64() { printf '%s' "$1" | base64 -w0; echo; }

start_bus
export IOTPUB_BUS_ADDRESS=$BUS
new_identity lib_a
new_identity lib_off
new_identity envsensor
new_identity lib_ttl
start_cloudsim "$CLOUD_DEVICES"
OFF_PORT=$(free_port udp)
configure_identity lib_a
configure_identity envsensor
configure_identity lib_off "$OFF_PORT"
configure_identity lib_ttl "$(free_port udp)"
printf '[Daemon]\nBackoffMinSec=1\nBackoffMaxSec=2\n' >"$CONFDIR/iotpubd.conf"
start_daemon
# GetMessage is part of API v1; a daemon without it fails this test unless IOTPUB_TEST_ALLOW_NO_GETMESSAGE=1.
HAVE_GETMESSAGE=1
if ! bctl introspect org.iotpub1 /org/iotpub1 org.iotpub1.Manager | grep -q '^\.GetMessage '; then
        [[ ${IOTPUB_TEST_ALLOW_NO_GETMESSAGE:-0} == 1 ]] || fail "iotpubd has no Manager.GetMessage (API v1)"
        HAVE_GETMESSAGE=0
        harness_log "SKIP: iotpubd has no Manager.GetMessage; its checks are left out"
fi
# get_ok OUT ID: GetMessage through libiotpub, or false when the daemon lacks it.
get_ok() { ((HAVE_GETMESSAGE)) && lc "$1" get --id="$2"; }
T=$(topic_of lib_a)
TOFF=$(topic_of lib_off)
expect_a=$LOGDIR/expect-lib_a.b64
: >"$expect_a"

# 1. publish, then publish-and-wait; GetMessage agrees with the Delivered signal.
o=$LOGDIR/publish.out
lc "$o" publish --device=lib_a --topic="$T" --payload=plain-1 || fail "iotpub_publish: $(cat "$o")"
assert_ge 1 "$(val "$o" id)" "iotpub_publish returned an id"
b64 plain-1 >>"$expect_a"
o=$LOGDIR/wait.out
lc "$o" wait --device=lib_a --topic="$T" --payload=waited-1 --timeout=30 || fail "iotpub_publish_wait: $(cat "$o")"
b64 waited-1 >>"$expect_a"
id=$(val "$o" id) cloud=$(val "$o" detail)
[[ -n "$cloud" ]] || fail "publish-and-wait gave no cloud message id"
harness_log "ok: publish-and-wait delivered message $id (cloud id $cloud)"
g=$LOGDIR/get-delivered.out
if ((HAVE_GETMESSAGE)); then
        lc "$g" get --id="$id" || fail "iotpub_get_message: $(cat "$g")"
        assert_eq delivered "$(val "$g" state)" "GetMessage state of a delivered message"
        assert_eq "$cloud" "$(val "$g" detail)" "GetMessage detail is the cloud message id"
fi

# 2. 50 asynchronous publishes in a poll() loop: every completion and every Delivered callback arrives.
o=$LOGDIR/async.out
lc "$o" async --device=lib_a --topic="$T" --count=50 --prefix=async --timeout=60 || fail "async: $(cat "$o")"
assert_eq 50 "$(val "$o" accepted)" "async publishes accepted"
assert_eq 50 "$(val "$o" delivered)" "Delivered callbacks in the poll() loop"
for i in $(seq 0 49); do b64 "async-$i"; done >>"$expect_a"
wait_for --timeout=20 record_has 52 --device=lib_a || fail "only $(record_count --device=lib_a) lib_a records"
check_record lib_a --expect="$expect_a" --topic="$T" || fail "record differs for lib_a"

# 3. Bad arguments give -EINVAL without the daemon; an unknown device and message get the daemon's errors.
o=$LOGDIR/badargs.out
skip_get=()
((HAVE_GETMESSAGE)) || skip_get=(--skip-get)
lc "$o" badargs --device=lib_a --topic="$T" "${skip_get[@]}" || fail "bad arguments: $(grep WRONG "$o")"
harness_log "ok: bad arguments -> -EINVAL, unknown device -> -ENODEV ($(val "$o" no_such_device_message))"

# 4. GetMessage on a message that cannot be sent yet (its cloud is down), and a TTL that makes one fail.
o=$LOGDIR/queued.out
lc "$o" publish --device=lib_off --topic="$TOFF" --payload=queued-1 || fail "publish while offline: $(cat "$o")"
queued_id=$(val "$o" id)
g=$LOGDIR/get-queued.out
if ((HAVE_GETMESSAGE)); then
        lc "$g" get --id="$queued_id" || fail "GetMessage of a queued message: $(cat "$g")"
        [[ $(val "$g" state) == queued || $(val "$g" state) == sending ]] ||
                fail "GetMessage of an undeliverable message: state $(val "$g" state)"
        harness_log "ok: GetMessage of an undeliverable message ($(val "$g" state))"
fi
o=$LOGDIR/ttl.out
# Its own unreachable device: iotpubd expires messages at the head of a device's queue only.
if lc "$o" wait --device=lib_ttl --topic="$(topic_of lib_ttl)" --payload=expires --ttl=1 --timeout=60; then
        fail "a message with ttl=1 to an unreachable cloud was delivered"
fi
assert_eq EREMOTEIO "$(val "$o" result_name)" "publish-and-wait of an expiring message"
harness_log "ok: failure reason: $(val "$o" detail)"
g=$LOGDIR/get-failed.out
if ((HAVE_GETMESSAGE)); then
        lc "$g" get --id="$(val "$o" id)" || fail "GetMessage of a failed message: $(cat "$g")"
        assert_eq failed "$(val "$g" state)" "GetMessage state of a failed message"
        assert_eq "$(val "$o" detail)" "$(val "$g" detail)" "GetMessage detail is the failure reason"
fi

# 5. envsensor: 3 property posts, topic and JSON exact.
o=$LOGDIR/envsensor.out
IOTPUB_BUS_ADDRESS=$BUS "$ENVSENSOR" --device=envsensor --count=3 --simulate --wait --timeout=30 >"$o" \
        2>>"$LOGDIR/envsensor.err" || fail "envsensor failed: $(cat "$o" "$LOGDIR/envsensor.err")"
expect_env=$LOGDIR/expect-envsensor.b64
for n in 1 2 3; do
        b64 "{\"id\":\"$n\",\"version\":\"1.0\",\"params\":{\"CurrentTemperature\":$(((215 + 3 * n) / 10)).$(((215 + 3 * n) % 10)),\"CurrentHumidity\":$((40 + n))},\"method\":\"thing.event.property.post\"}"
done >"$expect_env"
check_record envsensor --expect="$expect_env" --topic="/sys/${ID_PK[envsensor]}/envsensor/thing/event/property/post" ||
        fail "envsensor's property posts differ"

# 6. A restart of iotpubd while a publish-and-wait is pending (its cloud unreachable), and a publish made
#    while iotpubd is away: the wait completes once the new daemon delivers, the publish is resent once.
w=$LOGDIR/restart-wait.out
"$LIBCLIENT" wait --device=lib_off --topic="$TOFF" --payload=across-restart --timeout=120 >"$w" \
        2>>"$LOGDIR/libclient.err" &
wait_pid=$!
harness_register "$wait_pid" libclient-wait
wait_for --timeout=20 device_prop_is lib_off QueueMessages 2 || fail "the pending message was not queued"
stop_daemon
p=$LOGDIR/restart-publish.out
"$LIBCLIENT" publish --device=lib_a --topic="$T" --payload=while-away >"$p" 2>>"$LOGDIR/libclient.err" &
pub_pid=$!
harness_register "$pub_pid" libclient-publish
start_daemon
wait "$pub_pid" || fail "a publish made while iotpubd was away was not resent: $(cat "$p")"
harness_unregister "$pub_pid"
harness_log "ok: publish made while iotpubd was away accepted after its restart (id $(val "$p" id))"
pid_alive "$wait_pid" || fail "publish-and-wait ended when iotpubd stopped: $(cat "$w")"
stop_cloudsim
start_cloudsim "$CLOUD_DEVICES" --coap-port="$OFF_PORT"
wait "$wait_pid" || fail "publish-and-wait across the restart: $(cat "$w")"
harness_unregister "$wait_pid"
assert_eq 0 "$(val "$w" result)" "publish-and-wait across a daemon restart"
g=$LOGDIR/get-queued-later.out
if ((HAVE_GETMESSAGE)); then
        wait_for --timeout=30 eval 'lc "$g" get --id="$queued_id" && [[ $(val "$g" state) == delivered ]]' ||
                fail "the queued message never became delivered: $(cat "$g")"
        harness_log "ok: GetMessage: queued -> delivered"
fi
