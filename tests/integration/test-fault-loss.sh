#!/usr/bin/env bash
# Lossy network: udp-relay between iotpubd and cloudsim drops 30 % and duplicates 5 % of the datagrams each
# way (seeded). Every message arrives with its exact bytes, in order per device; duplicates are reported, and so
# are the device's Retries, bytes on the wire, the relay's counters and the time taken.
# transports: coap-aes coap-dtls
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
RELAY=$IOTPUB_BUILD/tests/bin/udp-relay
harness_init test-fault-loss "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT" "$RELAY"

COUNT=${IOTPUB_LOSS_COUNT:-1000}
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
start_daemon
dn=${ID_DN[loss_dev]}

t0=${EPOCHREALTIME/./}
out=$LOGDIR/pubclient.json
pubclient "$out" --device=loss_dev --topic="$(topic_of loss_dev)" --count="$COUNT" --prefix=lossy --no-wait \
        --timeout=60 || fail "Publish failed: $(head -c 300 "$out")"

# Done when everything is recorded; gives up early (and clearly) once the rate so far cannot make the bound.
loss_done() {
        local n elapsed
        n=$(record_count --device="$dn")
        ((n >= COUNT)) && manager_prop_is QueueMessages 0 && return 0
        elapsed=$(((${EPOCHREALTIME/./} - t0) / 1000000))
        if ((elapsed >= 30 && n > 0 && elapsed * COUNT / n > BOUND)); then
                SLOW="$n of $COUNT delivered in $elapsed s: at this rate $COUNT need about $((elapsed * COUNT / n)) s"
                return 0
        fi
        return 1
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
