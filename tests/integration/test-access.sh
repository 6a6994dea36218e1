#!/usr/bin/env bash
# Only root may publish for now: uid 65534 gets org.iotpub1.Error.AccessDenied (through busctl and sd-bus),
# nothing from it is queued or recorded, and root's publish on the same bus is delivered.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-access "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
new_identity acc_dev
start_cloudsim "$CLOUD_DEVICES"
configure_identity acc_dev
start_daemon
topic=$(topic_of acc_dev)

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# The client must be runnable by uid 65534 whatever the build directory's permissions.
install -m 0755 "$PUBCLIENT" "$HARNESS_DIR/pubclient"

if as_nobody busctl --address="$BUS" call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Publish 'ssaya{sv}' \
        acc_dev "$topic" 3 0x61 0x62 0x63 0 2>"$LOGDIR/busctl-nobody.err"; then
        fail "uid 65534 could publish with busctl"
fi
harness_log "ok: busctl as uid 65534 is refused: $(head -c 160 "$LOGDIR/busctl-nobody.err")"

for how in "" --device-object; do
        out=$LOGDIR/pubclient-nobody${how}.json
        if as_nobody "$HARNESS_DIR/pubclient" --address="$BUS" --device=acc_dev --topic="$topic" --count=1 \
                --no-wait --timeout=10 $how >"$out" 2>>"$LOGDIR/pubclient.err"; then
                fail "uid 65534 could publish with pubclient $how"
        fi
        assert_eq org.iotpub1.Error.AccessDenied "$(publish_error_of "$out")" \
                "error for uid 65534 ${how:-Manager.Publish}"
done
assert_eq 0 "$(manager_prop QueueMessages)" "QueueMessages after refused publishes"

out=$LOGDIR/pubclient-root.json
pubclient "$out" --device=acc_dev --topic="$topic" --count=1 --prefix=root --timeout=30 ||
        fail "root could not publish: $(cat "$out")"
wait_for --timeout=10 record_has 1 || fail "root's message is not recorded"
assert_eq 1 "$(record_count)" "record entries (root's only)"
check_record acc_dev --pubclient="$out" --topic="$topic" || fail "record differs"
