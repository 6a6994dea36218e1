#!/usr/bin/env bash
# A success reply the device cannot read (issue 10, item 9). cloudsim --fault-mode=garbled-reply records every
# publish but answers 2.05 with an option 2090 that is no message id and (coap-aes) a payload that does not
# decrypt. Every message counts as delivered exactly once (it was acknowledged: sending it again would duplicate
# it), Device.UnreadableReplies counts each such reply, and the log says so once per session, not per message.
# transports: coap-aes coap-dtls
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-unreadable-reply "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
new_identity odd_dev
start_cloudsim "$CLOUD_DEVICES" --fault-mode=garbled-reply --fault-rate=100
configure_identity odd_dev
start_daemon
topic=$(topic_of odd_dev)
dn=${ID_DN[odd_dev]}
warnings() { grep -c "but its reply" "$DAEMON_LOG" || true; }

pubclient "$LOGDIR/first.json" --device=odd_dev --topic="$topic" --count=6 --prefix=first --timeout=30 ||
        fail "messages with unreadable replies were not reported delivered: $(head -c 300 "$LOGDIR/first.json")"
assert_eq 6 "$(device_prop odd_dev UnreadableReplies)" "UnreadableReplies after 6 garbled replies"
assert_eq 6 "$(device_prop odd_dev MessagesSent)" "MessagesSent"
assert_eq 0 "$(device_prop odd_dev Retries)" "Retries (nothing sent again)"
assert_eq 1 "$(warnings)" "warnings logged in the first session"
case $HARNESS_TRANSPORT in
coap-aes) grep -q "payload does not decrypt with the session key" "$DAEMON_LOG" ||
        fail "the warning does not say that the payload does not decrypt" ;;
coap-dtls) grep -q "option 2090 is not a message id" "$DAEMON_LOG" ||
        fail "the warning does not say that 2090 is not a message id" ;;
esac

# A new session (Reauthenticate drops it) logs once more; the count goes on.
bctl call org.iotpub1 "$(device_path odd_dev)" org.iotpub1.Device Reauthenticate
pubclient "$LOGDIR/second.json" --device=odd_dev --topic="$topic" --count=3 --prefix=second --timeout=30 ||
        fail "messages after the new session were not delivered: $(head -c 300 "$LOGDIR/second.json")"
assert_eq 9 "$(device_prop odd_dev UnreadableReplies)" "UnreadableReplies after 9 garbled replies"
assert_eq 2 "$(warnings)" "warnings logged over two sessions"

wait_for --timeout=10 record_has 9 --device="$dn" || fail "the cloud did not record the 9 messages"
check_record "$dn" --pubclient="$LOGDIR/first.json" --pubclient="$LOGDIR/second.json" ||
        fail "the record differs: not exactly once, in order"
harness_log "PASS"
