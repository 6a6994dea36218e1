#!/usr/bin/env bash
# Lossy network: udp-relay between iotpubd and cloudsim drops 30 % and duplicates 5 % of the datagrams each
# way (seeded). Every message arrives with its exact bytes, in order per device; duplicates are reported, and so
# are the device's Retries, bytes on the wire, the relay's counters and the time taken.
# transports: coap-aes
# (coap-dtls under this loss stalls in repeated DTLS handshakes that are taken for a refused PSK: an open defect,
# run it with IOTPUB_TRANSPORT=coap-dtls.)
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
RELAY=$IOTPUB_BUILD/tests/bin/udp-relay
harness_init test-fault-loss "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT" "$RELAY"

# One message in flight (per-device order) and RFC 7252 retransmission (ACK_TIMEOUT >= 1 s in libcoap 4.3.1)
# give 1.5-4 s per message at 30 % loss each way: 1,000 messages take 25-60 minutes, so CI sends 20 and the full
# run is IOTPUB_LOSS_COUNT=1000 IOTPUB_LOSS_TIMEOUT=3000.
COUNT=${IOTPUB_LOSS_COUNT:-20}
BOUND=${IOTPUB_LOSS_TIMEOUT:-180}        # seconds for the whole stream to be delivered
LOSS=${IOTPUB_LOSS_PERCENT:-30}
SEED=${IOTPUB_FAULT_SEED:-7}
DUP=${IOTPUB_LOSS_DUP_PERCENT:-5}

start_bus
new_identity loss_dev
start_cloudsim "$CLOUD_DEVICES"
harness_next
RELAY_OUT=$LOGDIR/udp-relay.$HARNESS_SEQ.out
RELAY_PID=$("$WAIT_READY" --timeout=10 --stdout="$RELAY_OUT" --stderr="$LOGDIR/udp-relay.$HARNESS_SEQ.err" -- \
        "$RELAY" --listen=127.0.0.1:0 --target="127.0.0.1:$(transport_port)" --loss="$LOSS" --dup="$DUP" \
        --seed="$SEED") || fail "udp-relay did not become ready"
harness_register "$RELAY_PID" udp-relay
read -r _ _ relay_port <"$RELAY_OUT"
harness_log "udp-relay pid $RELAY_PID on port $relay_port -> $(transport_port), ${LOSS} % loss, ${DUP} % duplication"
configure_identity loss_dev "$relay_port"
# A loopback "network" with a known round trip: RFC 7252 (4.8) lets ACK_TIMEOUT be tuned for it, down to the 1 s
# that libcoap 4.3.1 accepts; retries after a failed exchange are not stretched by backoff either.
printf '[Daemon]\nCoapAckTimeoutMSec=%s\nBackoffMinSec=1\nBackoffMaxSec=1\n' "${IOTPUB_LOSS_ACK_MS:-1000}" \
        >"$CONFDIR/iotpubd.conf"
figure ack_timeout_ms "${IOTPUB_LOSS_ACK_MS:-1000}"
start_daemon
dn=${ID_DN[loss_dev]}

t0=${EPOCHREALTIME/./}
out=$LOGDIR/pubclient.json
pubclient "$out" --device=loss_dev --topic="$(topic_of loss_dev)" --count="$COUNT" --prefix=lossy --no-wait \
        --timeout=60 || fail "Publish failed: $(head -c 300 "$out")"

# Done when everything is recorded and the queue is empty; bounded by BOUND seconds.
loss_done() {
        (($(record_count --device="$dn") >= COUNT)) && manager_prop_is QueueMessages 0
}
SLOW=
wait_for --timeout="$BOUND" loss_done || SLOW=${SLOW:-"not all $COUNT delivered within $BOUND s"}
secs=$(((${EPOCHREALTIME/./} - t0) / 1000))
kill -USR1 "$RELAY_PID"
wait_for --timeout=5 grep -q '^down ' "$RELAY_OUT" || true
figure messages "$COUNT"
figure loss_percent_each_way "$LOSS"
figure seconds "$(printf '%d.%03d' $((secs / 1000)) $((secs % 1000)))"
figure retries "$(device_prop loss_dev Retries)"
figure bytes_out "$(device_prop loss_dev BytesOut)"
figure relay_up "$(grep '^up ' "$RELAY_OUT" | tail -n1 | cut -d' ' -f2- | tr ' ' ,)"
figure relay_down "$(grep '^down ' "$RELAY_OUT" | tail -n1 | cut -d' ' -f2- | tr ' ' ,)"
[[ -z "$SLOW" ]] || fail "too slow for the ${BOUND} s bound: $SLOW (one message in flight, RFC 7252 timeouts)"

check_record loss_dev --pubclient="$out" --topic="$(topic_of loss_dev)" --allow-duplicates |
        tee "$LOGDIR/check" || fail "messages lost, altered or out of order"
figure duplicates "$(sed -n 's/.*(\([0-9]*\) duplicate.*/\1/p' "$LOGDIR/check")"
harness_log "summary: $COUNT messages through ${LOSS} % loss each way in $((secs / 1000)) s, exact and in order"
