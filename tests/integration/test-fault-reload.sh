#!/usr/bin/env bash
# Reload under load: SIGHUP and the Reload method, three times each, at seeded moments of a stream from two
# clients. Nothing is lost, each client's messages arrive in order, and the daemon keeps its pid.
# transports: coap-aes
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-fault-reload "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

COUNT=${IOTPUB_RELOAD_COUNT:-300}
RELOADS=6
RANDOM=${IOTPUB_FAULT_SEED:-606}

start_bus
new_identity reload_dev
start_cloudsim "$CLOUD_DEVICES"
configure_identity reload_dev
start_daemon
dn=${ID_DN[reload_dev]} topic=$(topic_of reload_dev)
pid0=$DAEMON_PID

t0=$SECONDS
clients=()
for c in 1 2; do
        pubclient "$LOGDIR/client$c.json" --device=reload_dev --topic="$topic" --count="$COUNT" --interval=20 \
                --prefix="reload$c" --timeout=60 &
        clients+=($!)
        harness_register "$!" "pubclient $c"
done
total=$((2 * COUNT))
for ((k = 0; k < RELOADS; k++)); do
        at=$((total * (5 + 85 * k / RELOADS) / 100 + RANDOM % (total * 85 / RELOADS / 100 + 1)))
        wait_for --timeout=30 record_has "$at" --device="$dn" || fail "the stream stalled before reload $((k + 1))"
        if ((k % 2 == 0)); then
                kill -HUP "$DAEMON_PID"
        else
                bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Reload >/dev/null || fail "Reload failed"
        fi
        harness_log "reload $((k + 1)) ($( ((k % 2 == 0)) && echo SIGHUP || echo Reload)) at $at recorded"
done
for c in 0 1; do
        wait_for --timeout=60 pid_gone "${clients[c]}" || fail "pubclient $((c + 1)) did not finish"
        harness_unregister "${clients[c]}"
done
wait_for --timeout=30 manager_prop_is QueueMessages 0 || fail "the outbox did not drain"
secs=$((SECONDS - t0))
pid_alive "$pid0" && [[ $DAEMON_PID == "$pid0" ]] || fail "iotpubd did not survive the reloads"
reloaded=$(grep -c 'Reloading configuration' "$DAEMON_LOG" || true)
figure reloads "$RELOADS"
figure reload_log_lines "$reloaded"
figure seconds "$secs"
d1=$(json_get "$LOGDIR/client1.json" 'd["delivered"]') d2=$(json_get "$LOGDIR/client2.json" 'd["delivered"]')
figure delivered_signals $((d1 + d2))
record_promise "$dn" --ordered "$LOGDIR/client1.json" "$LOGDIR/client2.json" | tee "$LOGDIR/figures" ||
        fail "messages lost or reordered across reloads"
assert_eq "$total" "$(sed -n 's/^figure: promised=//p' "$LOGDIR/figures")" "ids returned"
harness_log "summary: $total messages, $RELOADS reloads (SIGHUP and Reload), 0 lost, order kept, ${secs} s"
