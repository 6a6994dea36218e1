#!/usr/bin/env bash
# Token churn: cloudsim's tokens live 2 s during a 20 s stream (one publish every 100 ms). Every message is
# delivered, in order; the re-authentications (daemon counter and auth events in the record) are reported.
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-fault-token-churn "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

COUNT=${IOTPUB_CHURN_COUNT:-200}
INTERVAL_MS=100

start_bus
new_identity churn_dev
start_cloudsim "$CLOUD_DEVICES" --token-ttl=2
configure_identity churn_dev
start_daemon

t0=$SECONDS
out=$LOGDIR/pubclient.json
pubclient "$out" --device=churn_dev --topic="$(topic_of churn_dev)" --count="$COUNT" --interval="$INTERVAL_MS" \
        --prefix=churn --timeout=80 || harness_log "pubclient: not every Delivered arrived: $(head -c 300 "$out")"
wait_for --timeout=30 manager_prop_is QueueMessages 0 || fail "the outbox did not drain"
secs=$((SECONDS - t0))
figure stream_seconds "$secs"
figure token_ttl_seconds 2
figure auth_events "$(record_count --event=auth --device="${ID_DN[churn_dev]}")"
figure reauthentications "$(device_prop churn_dev Reauthentications)"
figure retries "$(device_prop churn_dev Retries)"
figure delivered_signals "$(json_get "$out" 'd["delivered"]')"
record_promise "${ID_DN[churn_dev]}" --ordered "$out" | tee "$LOGDIR/figures" || fail "messages lost or reordered"
assert_eq "$COUNT" "$(json_get "$out" 'd["delivered"]')" "Delivered signals"
assert_ge 5 "$(record_count --event=auth --device="${ID_DN[churn_dev]}")" "auth events in the record"
harness_log "summary: $COUNT messages over $secs s with 2 s tokens: 0 lost," \
        "$(device_prop churn_dev Reauthentications) re-authentications"
