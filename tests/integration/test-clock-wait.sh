#!/usr/bin/env bash
# A wrong wall clock (iotpubd under libfaketime at 2000-01-01): a device that verifies a certificate (https, or
# coap-dtls with CAFile=) makes no attempt, its State is waiting-for-clock and LastError names the clock, while a
# coap-aes device (no certificate) delivers as usual. A message with ttl=3600 accepted meanwhile keeps its TTL:
# once the clock is right and Flush (one of the documented re-checks; libfaketime moves no kernel clock, so
# TFD_TIMER_CANCEL_ON_SET cannot fire here) tells the daemon, it is delivered at once, not failed "expired".
# transports: https coap-dtls
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-clock-wait "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
harness_pki
extra=()
[[ $HARNESS_TRANSPORT != coap-dtls ]] || extra=(--cert="$PKI_CERT" --key="$PKI_KEY")
new_identity cert_dev
new_identity aes_dev
start_cloudsim "$CLOUD_DEVICES" "${extra[@]}"
configure_identity cert_dev "$(transport_port)" "$([[ $HARNESS_TRANSPORT == coap-dtls ]] && echo "CAFile=$PKI_CA")"
saved=$HARNESS_TRANSPORT
HARNESS_TRANSPORT=coap-aes configure_identity aes_dev "$CLOUDSIM_PORT"
HARNESS_TRANSPORT=$saved

clockfile=$HARNESS_DIR/faketime
echo "@2000-01-01 00:00:00" >"$clockfile"
with_faketime "$clockfile" start_daemon

pubclient "$HARNESS_DIR/ttl.json" --device=cert_dev --topic="$(topic_of cert_dev)" --count=1 --prefix=ttl \
        --option=ttl=u:3600 --no-wait || fail "Publish with a TTL failed"
pubclient "$HARNESS_DIR/aes.json" --device=aes_dev --topic="$(topic_of aes_dev)" --count=1 --prefix=aes \
        --timeout=20 || fail "the coap-aes device did not deliver while the clock was wrong"
harness_log "ok: coap-aes (no certificate) delivers with the clock at 2000"

wait_for --timeout=10 device_prop_is cert_dev State waiting-for-clock || fail "State: $(device_prop cert_dev State)"
harness_log "ok: State waiting-for-clock"
err=$(device_prop cert_dev LastError)
[[ $err == *"system clock (2000-01-01"*"before this release"* ]] || fail "LastError does not name the clock: $err"
harness_log "ok: LastError: $err"
# No attempt at all: nothing reached the emulator for this device, and nothing counts as a retry.
assert_eq 0 "$(device_prop cert_dev Retries)" "retries while waiting for the clock"
assert_eq 0 "$(record_count --event=auth --device=cert_dev)" "authentications while waiting"
assert_eq 1 "$(device_prop cert_dev QueueMessages)" "the message waits"

# The clock is set. Flush (an explicit re-check) sends at once: well under a backoff or an exchange timeout.
echo "+0" >"$clockfile"
t0=${EPOCHREALTIME/./}
bctl call org.iotpub1 "$(device_path cert_dev)" org.iotpub1.Device Flush >/dev/null
wait_for --timeout=20 record_has 1 --device=cert_dev || fail "not delivered after the clock was set"
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
figure clock_set_to_delivered_ms "$ms"
((ms < 5000)) || fail "delivery took $ms ms after the clock was set"
check_record cert_dev --pubclient="$HARNESS_DIR/ttl.json" || fail "the TTL message (accepted at 2000) was not the one delivered"
harness_log "ok: the ttl=3600 message accepted at 2000 was delivered ($ms ms after the clock was set)"
wait_for --timeout=10 device_prop_is cert_dev State idle || fail "State after recovery: $(device_prop cert_dev State)"
assert_grep "$DAEMON_LOG" "system clock is trusted now" "the daemon noticed the clock"
