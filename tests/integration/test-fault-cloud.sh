#!/usr/bin/env bash
# Cloud faults: (1) cloudsim SIGKILLed mid-stream, the stream goes on into the outbox, cloudsim restarted on
# the same port (its sessions gone): zero lost, order kept. (2) cloudsim answering 30 % of publishes with 5.00
# (HTTPS: code 40000): zero lost, Retries > 0, and the daemon's retry delays within [BackoffMinSec, BackoffMaxSec].
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-fault-cloud "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

SEED=${IOTPUB_FAULT_SEED:-30}
COUNT1=${IOTPUB_CLOUD_COUNT:-300}
COUNT2=${IOTPUB_CLOUD_FAULT_COUNT:-40}

start_bus
new_identity cloud_dev
start_cloudsim "$CLOUD_DEVICES"
port=$(transport_port)
printf '[Daemon]\nBackoffMinSec=1\nBackoffMaxSec=2\n' >"$CONFDIR/iotpubd.conf"
configure_identity cloud_dev
start_daemon
dn=${ID_DN[cloud_dev]} topic=$(topic_of cloud_dev)

# The restarted emulator must come back on the very port the identity points at.
same_port_args() {
        case $HARNESS_TRANSPORT in
        coap-aes) echo "--coap-port=$port" ;;
        coap-dtls) echo "--dtls-port=$port" ;;
        https) echo "--https-port=$port" ;;
        esac
}

# --- 1. Kill -9 and restart mid-stream.
t0=$SECONDS
out1=$LOGDIR/pubclient-restart.json
pubclient "$out1" --device=cloud_dev --topic="$topic" --count="$COUNT1" --interval=20 --prefix=restart \
        --no-wait --timeout=60 &
client=$!
harness_register "$client" pubclient
wait_for --timeout=20 record_has $((COUNT1 / 4)) --device="$dn" || fail "the stream did not start"
kill -KILL "$CLOUDSIM_PID"
wait_for --timeout=10 pid_gone "$CLOUDSIM_PID" || fail "cloudsim survived SIGKILL"
harness_unregister "$CLOUDSIM_PID"
at_kill=$(record_count --device="$dn")
# While the cloud is away the stream piles up in the outbox.
wait_for --timeout=20 manager_prop_is Online true
queue_ok() { local q; q=$(manager_prop QueueMessages) && ((q >= 20)); }
wait_for --timeout=20 queue_ok || fail "messages did not pile up while the cloud was down"
# The cloud comes back once the daemon has seen it gone (a retransmission into the closed port: "Connection
# refused"). Back any sooner, the new instance would silently drop the records of a DTLS session it never
# made, and only a full CoAP timeout (~1-1.5 min) would lead to a new handshake: a different case.
cloud_gone_seen() { [[ -n $(device_prop cloud_dev LastError) ]]; }
wait_for --timeout=60 cloud_gone_seen || fail "the daemon did not notice that the cloud was gone"
queued=$(manager_prop QueueMessages)
start_cloudsim "$CLOUD_DEVICES" $(same_port_args)
[[ $(transport_port) == "$port" ]] || fail "cloudsim came back on port $(transport_port), not $port"
wait_for --timeout=60 pid_gone "$client" || fail "pubclient did not finish"
harness_unregister "$client"
wait_for --timeout=60 manager_prop_is QueueMessages 0 || fail "the outbox did not drain after the restart"
figure restart_messages "$COUNT1"
figure restart_recorded_at_kill "$at_kill"
figure restart_queued_while_down "$queued"
figure restart_seconds $((SECONDS - t0))
record_promise "$dn" --ordered "$out1" | grep -vE 'recorded|unpromised' | sed 's/^figure: /figure: restart_/' |
        tee "$LOGDIR/figures1" || true
grep -q '^figure: restart_lost=0$' "$LOGDIR/figures1" && grep -q '^figure: restart_order=ok$' "$LOGDIR/figures1" ||
        fail "messages lost or reordered across the cloud's restart"

# --- 2. 30 % of publishes answered 5.00 / 40000.
stop_cloudsim
start_cloudsim "$CLOUD_DEVICES" $(same_port_args) --fault-rate=30 --fault-seed="$SEED"
retries0=$(device_prop cloud_dev Retries)
t0=$SECONDS
out2=$LOGDIR/pubclient-faults.json
pubclient "$out2" --device=cloud_dev --topic="$topic" --count="$COUNT2" --prefix=faulty --timeout=80 ||
        fail "not every message was delivered under 30 % server errors: $(head -c 300 "$out2")"
secs=$((SECONDS - t0))
fault_out=$LOGDIR/cloudsim.$HARNESS_SEQ.out
stop_cloudsim
retries=$(($(device_prop cloud_dev Retries) - retries0))
# Every delay the daemon announced ("retrying in 1.3 s" / "Retrying in 1.3 s") since the fault run began.
delays=$(grep -ohiE 'retrying in [0-9.]+ s' "$DAEMON_LOG" | awk '{print $3}' | sort -n | tr '\n' ' ')
figure fault_messages "$COUNT2"
figure fault_injected "$(sed -n 's/^faults publish=\([0-9]*\/[0-9]*\).*/\1/p' "$fault_out")"
figure fault_retries "$retries"
figure fault_backoff_min_s "$(awk '{print $1}' <<<"$delays")"
figure fault_backoff_max_s "$(awk '{print $NF}' <<<"$delays")"
figure fault_seconds "$secs"
record_promise "$dn" --ordered "$out2" | grep -vE 'recorded|unpromised' | sed 's/^figure: /figure: fault_/' |
        tee "$LOGDIR/figures2" || true
grep -q '^figure: fault_lost=0$' "$LOGDIR/figures2" && grep -q '^figure: fault_order=ok$' "$LOGDIR/figures2" ||
        fail "messages lost or reordered under injected server errors"
assert_ge 1 "$retries" "Retries during the fault run"
for d in $delays; do
        awk -v d="$d" 'BEGIN { exit !(d >= 1.0 && d <= 2.05) }' || fail "a retry delay of $d s is outside [1, 2] s"
done
harness_log "summary: restart: $COUNT1 messages, 0 lost ($queued queued while down); faults: $COUNT2 messages," \
        "0 lost, $retries retries, delays $(awk '{print $1 "-" $NF}' <<<"$delays") s"
