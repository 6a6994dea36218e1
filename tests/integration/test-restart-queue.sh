#!/usr/bin/env bash
# Messages accepted while the cloud is unreachable survive a daemon restart: 50 publishes go to a port with
# nothing listening, iotpubd is stopped and started again, then the emulator appears on that port; all 50
# arrive, none lost, in order (duplicates are allowed by at-least-once, and reported). Done once with a clean
# stop (SIGTERM) and once with a crash (SIGKILL), each on its own device and port.
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-restart-queue "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

# restart_case term|kill DEVICE
restart_case() {
        local how=$1 dev=$2 proto=udp port out
        # Nothing listens on the device's port until the emulator starts there (TCP for https).
        [[ $HARNESS_TRANSPORT != https ]] || proto=tcp
        port=$(free_port $proto)
        configure_identity "$dev" "$port"
        start_daemon
        out=$LOGDIR/pubclient-$how.json
        pubclient "$out" --device="$dev" --topic="$(topic_of "$dev")" --count=50 --prefix="queued-$how" --no-wait \
                --timeout=30 || fail "publishing while offline must succeed: $(cat "$out")"
        assert_eq 50 "$(json_get "$out" 'd["published"]')" "[$how] messages accepted while the cloud is down"
        assert_eq 50 "$(manager_prop QueueMessages)" "[$how] QueueMessages before the restart"

        if [[ $how == term ]]; then stop_daemon; else kill_daemon -9; fi
        start_daemon
        assert_eq 50 "$(manager_prop QueueMessages)" "[$how] QueueMessages after the restart (outbox persisted)"
        assert_eq 0 "$(record_count --device="$dev")" "[$how] records before the emulator runs"

        start_cloudsim "$CLOUD_DEVICES" "$(cloudsim_port_arg "$port")"
        assert_eq "$port" "$(transport_port)" "[$how] emulator port"
        # The daemon may be in a backoff after failed attempts; the bound covers a generous maximum backoff.
        wait_for --timeout=150 record_has 50 --device="$dev" ||
                fail "[$how] only $(record_count --device="$dev") of 50 queued messages arrived after the restart"
        wait_for --timeout=30 manager_prop_is QueueMessages 0 || fail "[$how] QueueMessages did not drop to 0"
        check_record "$dev" --pubclient="$out" --topic="$(topic_of "$dev")" --allow-duplicates ||
                fail "[$how] queued messages were lost or reordered across the restart"
        harness_log "[$how] duplicates (allowed, at-least-once): $(($(record_count --device="$dev") - 50))"
        stop_daemon
        stop_cloudsim
}

start_bus
[[ $HARNESS_TRANSPORT != https ]] || harness_pki # the identities name the CA before the emulator starts
new_identity rq_term
new_identity rq_kill
restart_case term rq_term
restart_case kill rq_kill
