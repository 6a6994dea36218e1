#!/usr/bin/env bash
# Per transport: a cached token is reused after a daemon restart (no new /auth at the emulator, token file
# 0600); PayloadEncoding=cbor sends JSON as the exact, shorter CBOR and it arrives as the same JSON; a wrong
# secret leaves the device in state "error" with its messages queued and retries backing off.
# (Unreachable-then-reachable is test-restart-queue, which runs for every transport too.)
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
CBOR_TOOL=$IOTPUB_BUILD/tests/bin/cbor-tool
harness_init test-transport "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT" "$CBOR_TOOL"

start_bus
new_identity tk
new_identity cb
new_identity bad
start_cloudsim "$CLOUD_DEVICES"
configure_identity tk
configure_identity cb "" "PayloadEncoding=cbor"
extra=()
[[ $HARNESS_TRANSPORT != https ]] || extra+=("CAFile=$PKI_CA")
write_device bad "${ID_PK[bad]}" "${ID_DN[bad]}" "$(harness_random 32)" "$(transport_endpoint "$(transport_port)")" \
        "${extra[@]}"
printf '[Daemon]\nBackoffMinSec=1\nBackoffMaxSec=2\n' >"$CONFDIR/iotpubd.conf"
start_daemon

# 1. The token survives a restart.
pubclient "$HARNESS_DIR/tk1.json" --device=tk --topic="$(topic_of tk)" --count=3 --prefix=before --timeout=30 ||
        fail "first publishes not delivered: $(cat "$HARNESS_DIR/tk1.json")"
assert_eq 1 "$(record_count --event=auth --device=tk)" "auth events before the restart"
assert_eq 600 "$(stat -c %a "$STATEDIR/tokens/tk.json")" "token cache mode"
stop_daemon
start_daemon
pubclient "$HARNESS_DIR/tk2.json" --device=tk --topic="$(topic_of tk)" --count=3 --prefix=after --timeout=30 ||
        fail "publishes after the restart not delivered: $(cat "$HARNESS_DIR/tk2.json")"
assert_eq 1 "$(record_count --event=auth --device=tk)" "auth events after the restart (token reused)"
assert_eq 0 "$(device_prop tk Reauthentications)" "Reauthentications after the restart"

# 2. PayloadEncoding=cbor: exact CBOR on the wire, the same JSON back at the emulator.
json='{"id":"7","version":"1.0","params":{"CurrentTemperature":23.6,"CurrentHumidity":41},"method":"thing.event.property.post"}'
mapfile -t bytes < <(printf '%s' "$json" | od -An -tu1 -v | tr -s ' ' '\n' | grep .)
bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Publish 'ssaya{sv}' cb \
        "/sys/${ID_PK[cb]}/cb/thing/event/property/post" "${#bytes[@]}" "${bytes[@]}" 0 >/dev/null
wait_for --timeout=30 record_has 1 --device=cb || fail "the CBOR message was not delivered"
got=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("event") == "publish" and r["deviceName"] == "cb": print(r["payload"])' "$RECORD")
want=$(printf '%s' "$json" | "$CBOR_TOOL" encode)
assert_eq "$want" "$got" "CBOR bytes received"
back=$(printf '%s\n' "$got" | "$CBOR_TOOL" decode)
python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]) != json.loads(sys.argv[2]))' "$json" "$back" ||
        fail "CBOR decoded to $back, expected $json"
cbor_len=$(printf '%s' "$got" | base64 -d | wc -c)
((cbor_len < ${#json})) || fail "CBOR ($cbor_len bytes) is not smaller than the JSON (${#json})"
harness_log "ok: CBOR $cbor_len bytes for ${#json} bytes of JSON, decoded back equal"
# Not JSON with PayloadEncoding=cbor: refused at Publish, nothing queued.
expect_publish_error org.iotpub1.Error.InvalidArgument "non-JSON payload to a CBOR device" \
        --device=cb --topic="$(topic_of cb)" --count=1 --prefix='not json'

# 3. A wrong secret: state error, the platform's refusal in LastError, messages kept, backoff between tries.
pubclient "$HARNESS_DIR/bad.json" --device=bad --topic="$(topic_of bad)" --count=2 --no-wait ||
        fail "publishing to the misconfigured device was refused"
state_is() { [[ $(device_prop "$1" State 2>/dev/null) == "$2" ]]; }
retries_logged() { (($(grep -c "$1: Retrying in" "$DAEMON_LOG") >= $2)); }
wait_for --timeout=20 state_is bad error || fail "State is not error: $(device_prop bad State)"
last_error=$(device_prop bad LastError)
[[ $last_error == *"refused authentication"* ]] || fail "LastError does not say the platform refused: $last_error"
assert_eq 2 "$(device_prop bad QueueMessages)" "QueueMessages of the misconfigured device"
wait_for --timeout=20 retries_logged bad 2 || fail "no retries after the refusal"
while read -r delay; do
        python3 -c 'import sys; sys.exit(float(sys.argv[1]) < 1.0)' "$delay" || fail "retry after only $delay s"
done < <(sed -n 's/.*bad: Retrying in \([0-9.]*\) s.*/\1/p; s/.*bad: .*retrying in \([0-9.]*\) s.*/\1/p' "$DAEMON_LOG")
assert_eq 0 "$(record_count --device="${ID_DN[bad]}")" "records from the misconfigured device"
harness_log "ok: wrong secret handled for $HARNESS_TRANSPORT"
