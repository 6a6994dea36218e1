#!/usr/bin/env bash
# Queue quotas with the device's endpoint on a dead port, so nothing drains: MaxQueueMessagesPerUser=5 lets
# an unprivileged user queue 5 messages and answers the 6th with QueueFull; another user is unaffected; root
# is not bound by the per-user limit but is by the global MaxQueueMessages=12, as is everyone else. Then the
# cloud comes up on that port and every accepted message is delivered: nothing was dropped.
# Second part: MaxQueueBytesPerUser (after a Reload) refuses a publish that would exceed the user's bytes.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-quota "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

new_test_user U1
new_test_user U2
start_bus
new_identity q_dev
start_cloudsim "$CLOUD_DEVICES"
DEAD_PORT=$CLOUDSIM_PORT
stop_cloudsim
configure_identity q_dev "$DEAD_PORT"
printf '[Daemon]\nMaxQueueMessagesPerUser=5\nMaxQueueMessages=12\nBackoffMinSec=1\nBackoffMaxSec=2\n' \
        >"$CONFDIR/iotpubd.conf"
printf 'allow * q_dev /${ProductKey}/${DeviceName}/user/#\n' >"$CONFDIR/acl.conf"
start_daemon
T=$(topic_of q_dev)
FULL=org.iotpub1.Error.QueueFull
ACCEPTED=() # pubclient outputs whose messages were all accepted, in publish order

accept() { # accept WHO COUNT PREFIX [SIZE]: COUNT publishes (no wait) that must all be accepted
        harness_next
        local out=$LOGDIR/accept.$HARNESS_SEQ.json
        if [[ $1 == root ]]; then
                pubclient "$out" --device=q_dev --topic="$T" --count="$2" --window=1 --no-wait --prefix="$3" \
                        ${4:+--size=$4}
        else
                pubclient_as "$1" "$out" --device=q_dev --topic="$T" --count="$2" --window=1 --no-wait --prefix="$3" \
                        ${4:+--size=$4}
        fi || fail "$1: $2 publishes were not all accepted: $(cat "$out")"
        harness_log "ok: $1: $2 publishes accepted"
        ACCEPTED+=("--pubclient=$out")
}
queued() { manager_prop QueueMessages; }

accept "$U1" 5 u1
assert_eq 5 "$(queued)" "queued after $U1's 5"
expect_publish_error_as "$U1" $FULL "$U1's 6th message (MaxQueueMessagesPerUser=5)" --device=q_dev --topic="$T" \
        --prefix=u1-over
grep -q 'Your queue is full' "$LOGDIR/pubclient.err" || fail "the QueueFull message does not say whose queue is full"
accept "$U2" 1 u2
accept root 6 root
assert_eq 12 "$(queued)" "queued at the global limit"
expect_publish_error_as "$U2" $FULL "$U2 under its own limit, but the outbox is full (MaxQueueMessages=12)" \
        --device=q_dev --topic="$T" --prefix=u2-over
harness_next
if pubclient "$LOGDIR/root-over.json" --device=q_dev --topic="$T" --count=1 --no-wait --prefix=root-over; then
        fail "root's 13th message was accepted beyond MaxQueueMessages=12"
fi
assert_eq $FULL "$(publish_error_of "$LOGDIR/root-over.json")" "root over the global limit"
assert_eq 12 "$(queued)" "nothing refused was queued"

# The cloud comes up on the same port: everything accepted is delivered, in order, nothing dropped.
start_cloudsim "$CLOUD_DEVICES" --coap-port="$DEAD_PORT"
bctl call org.iotpub1 "$(device_path q_dev)" org.iotpub1.Device Flush
wait_for --timeout=30 manager_prop_is QueueMessages 0 || fail "the queue did not drain ($(queued) left)"
check_record q_dev "${ACCEPTED[@]}" --topic="$T" || fail "the record differs from the accepted messages"
harness_log "ok: all 12 accepted messages delivered once, in order"

# Once drained, the user may publish again.
accept "$U1" 5 u1-again
wait_for --timeout=30 manager_prop_is QueueMessages 0 || fail "the queue did not drain after the second batch"

# --- MaxQueueBytesPerUser, applied by Reload, with the cloud down again
stop_cloudsim
printf '[Daemon]\nMaxQueueBytesPerUser=1024\nBackoffMinSec=1\nBackoffMaxSec=2\n' >"$CONFDIR/iotpubd.conf"
bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Reload || fail "Reload failed"
accept "$U1" 2 big-a 400
expect_publish_error_as "$U1" $FULL "$U1 over MaxQueueBytesPerUser=1024 (800 + 400 bytes)" --device=q_dev \
        --topic="$T" --size=400 --prefix=big-over
start_cloudsim "$CLOUD_DEVICES" --coap-port="$DEAD_PORT"
bctl call org.iotpub1 "$(device_path q_dev)" org.iotpub1.Device Flush
wait_for --timeout=30 manager_prop_is QueueMessages 0 || fail "the queue did not drain after the bytes test"
check_record q_dev "${ACCEPTED[@]}" --topic="$T" || fail "the record differs from the accepted messages"
