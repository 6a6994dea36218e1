#!/usr/bin/env bash
# kill -9: 4 clients publish 500 messages each while iotpubd is killed with SIGKILL at 5 seeded moments (when
# the cloud's record reaches seeded thresholds) and restarted. Every payload whose Publish returned an id is in
# the record: zero lost; duplicates are reported. Calls that found no daemon are published again by the clients.
# transports: coap-aes
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-fault-kill9 "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

SEED=${IOTPUB_FAULT_SEED:-9009}
CLIENTS=4
PER_CLIENT=${IOTPUB_KILL9_COUNT:-500}
KILLS=5
INTERVAL_MS=${IOTPUB_KILL9_INTERVAL_MS:-10}
TOTAL=$((CLIENTS * PER_CLIENT))
RANDOM=$SEED

start_bus
new_identity k9_dev
start_cloudsim "$CLOUD_DEVICES"
configure_identity k9_dev
start_daemon
topic=$(topic_of k9_dev)
t0=$SECONDS

client_pids=()
for ((c = 1; c <= CLIENTS; c++)); do
        pubclient "$LOGDIR/client$c.json" --device=k9_dev --topic="$topic" --count="$PER_CLIENT" \
                --interval="$INTERVAL_MS" --prefix="k9c$c" --no-wait --retry-unavailable --timeout=150 &
        client_pids+=($!)
        harness_register "$!" "pubclient $c"
done

# Seeded kill thresholds on the record, spread over the first 90 % of the stream, in increasing order.
thresholds=()
for ((k = 0; k < KILLS; k++)); do
        thresholds+=($((TOTAL * (5 + 85 * k / KILLS) / 100 + RANDOM % (TOTAL * 85 / KILLS / 100 + 1))))
done
for ((k = 0; k < KILLS; k++)); do
        wait_for --timeout=60 record_has "${thresholds[k]}" --device="${ID_DN[k9_dev]}" ||
                fail "the record never reached ${thresholds[k]} messages before kill $((k + 1))"
        harness_log "kill $((k + 1)) of $KILLS at $(record_count --device="${ID_DN[k9_dev]}") recorded"
        kill_daemon -KILL
        start_daemon
done

for ((c = 0; c < CLIENTS; c++)); do
        wait_for --timeout=150 pid_gone "${client_pids[c]}" || fail "pubclient $((c + 1)) did not finish"
        harness_unregister "${client_pids[c]}"
done
wait_for --timeout=60 manager_prop_is QueueMessages 0 || fail "the outbox did not drain: $(manager_prop QueueMessages)"

jsons=() retried=0 errors=0
for ((c = 1; c <= CLIENTS; c++)); do
        jsons+=("$LOGDIR/client$c.json")
        retried=$((retried + $(json_get "$LOGDIR/client$c.json" 'd["retried"]')))
        errors=$((errors + $(json_get "$LOGDIR/client$c.json" 'len(d["errors"])')))
done
figure kills "$KILLS"
figure publish_calls_retried "$retried"
figure publish_errors "$errors"
figure seconds $((SECONDS - t0))
record_promise "${ID_DN[k9_dev]}" "${jsons[@]}" | tee "$LOGDIR/figures" || fail "messages with an id were lost"
assert_eq 0 "$errors" "Publish calls that ended in an error (not retried)"
assert_eq "$TOTAL" "$(sed -n 's/^figure: promised=//p' "$LOGDIR/figures")" "ids returned to the clients"
harness_log "summary: $TOTAL promised through $KILLS SIGKILLs, $(sed -n 's/^figure: lost=//p' "$LOGDIR/figures") lost," \
        "$(sed -n 's/^figure: duplicates=//p' "$LOGDIR/figures") duplicates, $retried calls retried"
