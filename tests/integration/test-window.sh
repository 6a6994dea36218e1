#!/usr/bin/env bash
# MaxInFlight=: a window of messages in flight per device. Through a relay that delays every datagram 300 ms and
# drops 15 % each way (seeded), one device with its own MaxInFlight=8 and one with iotpubd.conf's MaxInFlight=4
# keep exactly that many messages in the "sending" state while they drain (never more), and every message
# arrives: none lost or altered, duplicates only where an acknowledgement was lost, order free within the window.
# Over https (no UDP relay) the window meets cloudsim's injected server errors instead: 0 lost there too.
# transports: coap-aes coap-dtls https
# concurrent: yes
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
RELAY=$IOTPUB_BUILD/tests/bin/udp-relay
harness_init test-window "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT" "$RELAY"
COUNT=${IOTPUB_WINDOW_COUNT:-120}

start_bus
new_identity win8
new_identity win4
fault=()
[[ $HARNESS_TRANSPORT != https ]] || fault=(--fault-rate=20 --fault-mode=server-error --fault-seed=5)
start_cloudsim "$CLOUD_DEVICES" "${fault[@]}"
port=$(transport_port)
if [[ $HARNESS_TRANSPORT != https ]]; then
        harness_next
        RELAY_OUT=$LOGDIR/udp-relay.$HARNESS_SEQ.out
        RELAY_PID=$("$WAIT_READY" --timeout=10 --stdout="$RELAY_OUT" --stderr="$LOGDIR/udp-relay.$HARNESS_SEQ.err" -- \
                "$RELAY" --listen=127.0.0.1:0 --target="127.0.0.1:$port" --loss=15 --delay-ms=300-300 --seed=11) ||
                fail "udp-relay did not become ready"
        harness_register "$RELAY_PID" udp-relay
        read -r _ _ port <"$RELAY_OUT"
fi
configure_identity win8 "$port" MaxInFlight=8
configure_identity win4 "$port"
printf '[Daemon]\nMaxInFlight=4\nCoapAckTimeoutMSec=1000\nBackoffMinSec=1\nBackoffMaxSec=2\n' >"$CONFDIR/iotpubd.conf"
start_daemon

for d in win8 win4; do
        pubclient "$LOGDIR/pub.$d.json" --device="$d" --topic="$(topic_of "$d")" --count="$COUNT" --prefix="w$d" \
                --no-wait --timeout=60 || fail "Publish to $d failed"
done

# sending_count DEVICE: how many of the device's messages ListMessages shows in the "sending" state.
sending_count() {
        bctl --json=short call org.iotpub1 /org/iotpub1 org.iotpub1.Manager ListMessages su "" 0 |
                python3 -c 'import json,sys; d=json.load(sys.stdin)["data"][0]; print(sum(1 for m in d if m[1] == "sending" and m[2] == sys.argv[1]))' "$1"
}
declare -A peak=([win8]=0 [win4]=0)
# Until both drained: the most messages seen in flight at once, per device (bounded: 600 polls).
drained() { manager_prop_is QueueMessages 0; }
for ((i = 0; i < 600; i++)); do
        drained && break
        for d in win8 win4; do
                n=$(sending_count "$d")
                ((n <= peak[$d])) || peak[$d]=$n
        done
        sleep 0.1
done
wait_for --timeout=300 drained || fail "the queue did not drain"
if [[ $HARNESS_TRANSPORT != https ]]; then
        # Over loopback https completes faster than it can be watched; the relay's delay makes the window visible.
        assert_eq 8 "${peak[win8]}" "most messages in flight at once, MaxInFlight=8 (identity file)"
        assert_eq 4 "${peak[win4]}" "most messages in flight at once, MaxInFlight=4 (iotpubd.conf)"
else
        ((peak[win8] <= 8 && peak[win4] <= 4)) || fail "more in flight than the window: ${peak[win8]}, ${peak[win4]}"
fi
for d in win8 win4; do
        check_record "$d" --pubclient="$LOGDIR/pub.$d.json" --topic="$(topic_of "$d")" --allow-duplicates \
                --unordered >"$LOGDIR/check.$d" || {
                cat "$LOGDIR/check.$d"
                fail "$d: messages lost or altered"
        }
        harness_log "$d: $(cat "$LOGDIR/check.$d")"
        assert_eq "$COUNT" "$(device_prop "$d" MessagesSent)" "$d: MessagesSent"
        assert_eq 0 "$(device_prop "$d" MessagesFailed)" "$d: MessagesFailed"
        assert_ge 1 "$(device_prop "$d" Retries)" "$d: Retries under loss or faults"
        st=$(device_prop "$d" State)
        [[ $st == *idle* ]] || fail "$d ends in State $st (LastError: $(device_prop "$d" LastError))"
done
# Retries counts libcoap's own retransmissions: over plain UDP every datagram the relay got from iotpubd is a
# publish, an /auth or one of their retransmissions.
if [[ $HARNESS_TRANSPORT == coap-aes ]]; then
        kill -USR1 "$RELAY_PID"
        wait_for --timeout=5 grep -q '^up ' "$RELAY_OUT" || fail "udp-relay printed no counters"
        up_in=$(grep '^up ' "$RELAY_OUT" | tail -n1 | sed -n 's/.* in=\([0-9]*\).*/\1/p')
        want=0
        for d in win8 win4; do
                want=$((want + $(device_prop "$d" MessagesSent) + $(device_prop "$d" Retries) + 1 +
                        $(device_prop "$d" Reauthentications)))
        done
        assert_eq "$up_in" "$want" "datagrams from iotpubd (relay) = messages + Retries + authentications"
fi
harness_log "summary: $COUNT messages each through MaxInFlight=8 and 4, none lost"
