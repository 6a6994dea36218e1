#!/usr/bin/env bash
# 1,000 pipelined publishes through sd-bus (pubclient): every id gets Delivered, and the emulator's record
# holds exactly those payloads in order. Then two devices at once: each device's order is kept.
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-publish-client "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
new_identity dev_a
new_identity dev_b
start_cloudsim "$CLOUD_DEVICES"
configure_identity dev_a
configure_identity dev_b
start_daemon

one=$LOGDIR/pubclient-1000.json
start=$SECONDS
pubclient "$one" --device=dev_a --topic="$(topic_of dev_a)" --count=1000 --size=100 --prefix=a1 --timeout=180 ||
        fail "pubclient: $(json_get "$one" '(d["published"], d["delivered"], d["failed"], d["errors"][:3])' \
                2>/dev/null || echo 'no output') (published, delivered, failed, errors)"
harness_log "1000 messages published and delivered in $((SECONDS - start)) s"
assert_eq 1000 "$(json_get "$one" 'd["delivered"]')" "Delivered signals for 1000 messages"
assert_eq 1000 "$(json_get "$one" 'len(set(d["ids"]))')" "distinct ids"
check_record dev_a --pubclient="$one" --topic="$(topic_of dev_a)" || fail "record differs for dev_a"

# Two devices concurrently, from two connections.
a=$LOGDIR/pubclient-a.json b=$LOGDIR/pubclient-b.json
pubclient "$a" --device=dev_a --topic="$(topic_of dev_a)" --count=300 --prefix=a2 --timeout=180 &
pa=$!
pubclient "$b" --device=dev_b --topic="$(topic_of dev_b)" --count=300 --prefix=b2 --timeout=180 &
pb=$!
wait "$pa" || fail "pubclient for dev_a: $(cat "$a")"
wait "$pb" || fail "pubclient for dev_b: $(cat "$b")"
assert_eq 300 "$(json_get "$a" 'd["delivered"]')" "dev_a Delivered (concurrent run)"
assert_eq 300 "$(json_get "$b" 'd["delivered"]')" "dev_b Delivered (concurrent run)"
check_record dev_a --pubclient="$one" --pubclient="$a" --topic="$(topic_of dev_a)" || fail "record differs for dev_a"
check_record dev_b --pubclient="$b" --topic="$(topic_of dev_b)" || fail "record differs for dev_b"
wait_for --timeout=20 manager_prop_is QueueMessages 0 || fail "QueueMessages did not drop to 0"
