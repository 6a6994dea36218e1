#!/usr/bin/env bash
# Tokens that expire every 2 s during a 10 s stream (one publish every 100 ms): the daemon re-authenticates
# and resends, so every message is delivered, the emulator saw several auths, and Reauthentications >= 1.
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-token-expiry "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
new_identity tok_dev
start_cloudsim "$CLOUD_DEVICES" --token-ttl=2
configure_identity tok_dev
start_daemon

out=$LOGDIR/pubclient.json
pubclient "$out" --device=tok_dev --topic="$(topic_of tok_dev)" --count=100 --interval=100 --prefix=stream \
        --timeout=90 || fail "not every message was delivered: $(cat "$out")"
assert_eq 100 "$(json_get "$out" 'd["delivered"]')" "Delivered signals during token expiry"
check_record tok_dev --pubclient="$out" --topic="$(topic_of tok_dev)" --allow-duplicates ||
        fail "messages lost or reordered across re-authentication"
assert_ge 2 "$(record_count --event=auth --device=tok_dev)" "auth events recorded for the device"
assert_ge 1 "$(device_prop tok_dev Reauthentications)" "Reauthentications property"
