#!/usr/bin/env bash
# Messages accepted while the cloud is unreachable survive a daemon restart: 50 publishes go to a port with
# nothing listening, iotpubd is stopped (SIGTERM) and started again, then the emulator appears on that port;
# all 50 arrive, none lost, in order (duplicates are allowed by at-least-once, and reported).
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-restart-queue "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

# A loopback UDP port that was free a moment ago; nothing listens there until the emulator starts.
port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

start_bus
new_identity rq_dev
configure_identity rq_dev "$port"
start_daemon

out=$LOGDIR/pubclient.json
pubclient "$out" --device=rq_dev --topic="$(topic_of rq_dev)" --count=50 --prefix=queued --no-wait --timeout=30 ||
        fail "publishing while offline must succeed: $(cat "$out")"
assert_eq 50 "$(json_get "$out" 'd["published"]')" "messages accepted while the cloud is down"
assert_eq 50 "$(manager_prop QueueMessages)" "QueueMessages before the restart"

stop_daemon
start_daemon
assert_eq 50 "$(manager_prop QueueMessages)" "QueueMessages after the restart (outbox persisted)"
assert_eq 0 "$(record_count)" "records before the emulator runs"

start_cloudsim "$CLOUD_DEVICES" --coap-port="$port"
assert_eq "$port" "$CLOUDSIM_PORT" "emulator port"
# The daemon may be in a backoff after failed attempts; the bound covers a generous maximum backoff.
wait_for --timeout=150 record_has 50 --device=rq_dev ||
        fail "only $(record_count --device=rq_dev) of 50 queued messages arrived after the restart"
wait_for --timeout=30 test "$(manager_prop QueueMessages)" = 0 || fail "QueueMessages did not drop to 0"
check_record rq_dev --pubclient="$out" --topic="$(topic_of rq_dev)" --allow-duplicates ||
        fail "queued messages were lost or reordered across the restart"
dups=$(($(record_count --device=rq_dev) - 50))
harness_log "duplicates (allowed, at-least-once): $dups"
