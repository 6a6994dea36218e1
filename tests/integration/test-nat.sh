#!/usr/bin/env bash
# Carrier NAT: udp-relay forgets a device's mapping after 4 s without traffic, so the next datagrams leave from a
# new port and replies to the old one are dropped. With NatTimeoutSec=2 a coap-dtls session silent for longer is
# replaced by a new handshake before the next publish, which is then delivered without a single retransmission
# into the dead session; coap-aes needs nothing (the platform knows its sessions by token). The control: with
# NatTimeoutSec=0 the same idle leaves coap-dtls retransmitting into the forgotten session (Retries grows) until
# Flush abandons it. 3 messages, exact.
# transports: coap-aes coap-dtls
# concurrent: yes
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-nat "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT" "$IOTPUB_BUILD/tests/bin/udp-relay"
NAT_SEC=4
IDLE_SEC=6 # the scenario's input: longer than the NAT keeps an idle mapping

start_bus
new_identity nat
start_cloudsim "$CLOUD_DEVICES"
start_relay udp n --target="127.0.0.1:$(transport_port)" --nat-timeout=$NAT_SEC
configure_identity nat "${RELAY_PORT[n]}"
conf() { printf '[Daemon]\nNatTimeoutSec=%s\nCoapAckTimeoutMSec=1000\nBackoffMinSec=1\nBackoffMaxSec=2\n' "$1" \
        >"$CONFDIR/iotpubd.conf"; }
conf 2
start_daemon

# publish N: message N, then waits until N messages are delivered.
publish() {
        pubclient "$LOGDIR/pub.$1.json" --device=nat --topic="$(topic_of nat)" --count=1 --prefix="nat$1" --no-wait \
                --timeout=30 || fail "Publish $1 failed"
        wait_for --timeout=60 device_prop_is nat MessagesSent "$1" || fail "message $1 was not delivered"
}
publish 1
sleep "$IDLE_SEC"
r0=$(device_prop nat Retries)
publish 2
assert_eq "$r0" "$(device_prop nat Retries)" "Retries across the NAT rebinding (nothing sent into a dead session)"
relay_dump n
assert_ge 1 "$(relay_get n nat forgotten)" "the relay forgot the idle mapping"
if [[ $HARNESS_TRANSPORT == coap-dtls ]]; then
        assert_grep "$DAEMON_LOG" 'Nothing heard on the DTLS session for [0-9]+ s \(NatTimeoutSec=2\): opening a new one' \
                "the silent DTLS session was replaced before the publish"
fi

# --- control: NatTimeoutSec=0 never assumes a NAT.
conf 0
bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Reload >/dev/null || fail "Reload failed"
sleep "$IDLE_SEC"
pubclient "$LOGDIR/pub.3.json" --device=nat --topic="$(topic_of nat)" --count=1 --prefix=nat3 --no-wait --timeout=30 ||
        fail "Publish 3 failed"
if [[ $HARNESS_TRANSPORT == coap-dtls ]]; then
        retried() { (($(device_prop nat Retries) > r0)); }
        wait_for --timeout=30 retried || fail "NatTimeoutSec=0: no retransmission into the forgotten DTLS session"
        assert_eq 2 "$(device_prop nat MessagesSent)" "NatTimeoutSec=0: the publish is stuck in the dead session"
        harness_log "ok: NatTimeoutSec=0: retransmitting into the forgotten session (Retries $(device_prop nat Retries))"
        bctl call org.iotpub1 "$(device_path nat)" org.iotpub1.Device Flush >/dev/null || fail "Flush failed"
fi
wait_for --timeout=60 device_prop_is nat MessagesSent 3 || fail "message 3 was not delivered"
[[ $HARNESS_TRANSPORT == coap-dtls ]] ||
        assert_eq "$r0" "$(device_prop nat Retries)" "coap-aes: Retries after a NAT rebinding with NatTimeoutSec=0"
check_record nat --pubclient="$LOGDIR/pub.1.json" --pubclient="$LOGDIR/pub.2.json" --pubclient="$LOGDIR/pub.3.json" \
        --topic="$(topic_of nat)" >"$LOGDIR/check" || { cat "$LOGDIR/check"; fail "messages lost, altered or duplicated"; }
harness_log "summary: $(cat "$LOGDIR/check")"
