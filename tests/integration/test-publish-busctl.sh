#!/usr/bin/env bash
# 100 publishes with plain `busctl call` (binary bytes included) and one through Device.Publish reach the
# emulator with exactly those bytes, on the right topic, in order; a publisher then receives Delivered for
# each of its messages (signals are checked with pubclient, as busctl cannot wait for a unicast signal).
# Payloads must not show up in the daemon's or emulator's logs.
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-publish-busctl "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
new_identity sensor_bc
start_cloudsim "$CLOUD_DEVICES"
configure_identity sensor_bc
start_daemon
topic=$(topic_of sensor_bc)
expect=$HARNESS_DIR/expected.b64
: >"$expect"

# payload_bytes I: decimal bytes of message I: text, then bytes that must survive unchanged (NUL, CR, LF,
# backslash, quote, 0x80-0xff).
payload_bytes() {
        local s="busctl-$1:" k
        for ((k = 0; k < ${#s}; k++)); do printf '%d ' "'${s:k:1}"; done
        printf '%d %d 0 10 13 92 34 %d\n' "$1" $((255 - $1)) $((128 + $1))
}
to_base64() {
        local b
        for b in "$@"; do printf "\\$(printf '%03o' "$b")"; done | base64 -w0
        echo
}

declare -A seen_ids=()
for ((i = 0; i < 100; i++)); do
        read -ra bytes < <(payload_bytes "$i")
        to_base64 "${bytes[@]}" >>"$expect"
        reply=$(bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Publish 'ssaya{sv}' \
                sensor_bc "$topic" "${#bytes[@]}" "${bytes[@]}" 0) || fail "busctl Publish #$i failed"
        [[ $reply =~ ^t\ ([0-9]+)$ ]] || fail "Publish #$i: reply '$reply' is not 't ID'"
        [[ -z "${seen_ids[${BASH_REMATCH[1]}]:-}" ]] || fail "Publish #$i: id ${BASH_REMATCH[1]} returned twice"
        seen_ids[${BASH_REMATCH[1]}]=1
done
harness_log "ok: 100 Manager.Publish calls via busctl returned 100 distinct ids"

# Device.Publish on the escaped device path, with a content-type option.
read -ra bytes < <(payload_bytes 100)
to_base64 "${bytes[@]}" >>"$expect"
reply=$(bctl call org.iotpub1 "$(device_path sensor_bc)" org.iotpub1.Device Publish 'saya{sv}' \
        "$topic" "${#bytes[@]}" "${bytes[@]}" 1 content-type s json) || fail "busctl Device.Publish failed"
[[ $reply =~ ^t\ [0-9]+$ ]] || fail "Device.Publish: reply '$reply' is not 't ID'"

wait_for --timeout=60 record_has 101 --device=sensor_bc || fail "the record has $(record_count --device=sensor_bc) of 101"
check_record sensor_bc --expect="$expect" --topic="$topic" || fail "recorded payloads differ from those published"

# Delivered reaches the publishing connection, for every one of its ids.
out=$LOGDIR/pubclient.json
canary=payload-canary-$(harness_random 12)
pubclient "$out" --device=sensor_bc --topic="$topic" --count=5 --prefix="$canary" --timeout=30 ||
        fail "pubclient: not every message was confirmed with Delivered ($(cat "$out"))"
assert_eq 5 "$(json_get "$out" 'd["delivered"]')" "Delivered signals received by the publisher"
assert_eq 0 "$(json_get "$out" 'd["failed"]')" "Failed signals"
check_record sensor_bc --expect="$expect" --pubclient="$out" --topic="$topic" || fail "record after pubclient differs"

# Payloads are never logged (STYLE.md), not even at debug level.
if grep -lF -e "$canary" "$LOGDIR"/iotpubd.* "$LOGDIR"/cloudsim.*.err; then
        fail "a payload appears in the daemon's or the emulator's log (files above)"
fi
harness_log "ok: no payload in the daemon's or the emulator's log (debug level)"

wait_for --timeout=20 manager_prop_is QueueMessages 0 || fail "QueueMessages did not drop to 0"
assert_ge 106 "$(device_prop sensor_bc MessagesSent)" "Device MessagesSent"
