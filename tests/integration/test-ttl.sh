#!/usr/bin/env bash
# TTL: a message whose TTL runs out while the cloud is unreachable fails with "expired" on time, even behind
# other messages, and its publisher gets Failed(id, "expired"); the messages around it stay queued and are
# delivered once the cloud is back. No timer is armed for messages without a TTL (see test-idle).
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-ttl "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
new_identity ttl_dev
port=$(free_port udp)
configure_identity ttl_dev "$port"
printf '[Daemon]\nBackoffMinSec=60\nBackoffMaxSec=60\n' >"$CONFDIR/iotpubd.conf"
start_daemon
topic=$(topic_of ttl_dev)

pubclient "$HARNESS_DIR/first.json" --device=ttl_dev --topic="$topic" --count=1 --prefix=first --no-wait
start=$SECONDS
# Waits for its Failed signal: exits non-zero because nothing was delivered.
pubclient "$HARNESS_DIR/ttl.json" --device=ttl_dev --topic="$topic" --count=1 --prefix=short \
        --option=ttl=u:2 --timeout=20 || true
elapsed=$((SECONDS - start))
pubclient "$HARNESS_DIR/last.json" --device=ttl_dev --topic="$topic" --count=1 --prefix=last --no-wait

assert_eq 1 "$(json_get "$HARNESS_DIR/ttl.json" 'd["failed"]')" "Failed signals for the TTL message"
reason=$(json_get "$HARNESS_DIR/ttl.json" 'd["failures"][0]["reason"] if d["failures"] else ""')
assert_eq expired "$reason" "Failed reason"
((elapsed >= 2 && elapsed <= 6)) || fail "the 2 s TTL expired after ${elapsed} s"
harness_log "figure: ttl_expired_after_s=$elapsed"
id=$(json_get "$HARNESS_DIR/ttl.json" 'd["ids"][0]')
state=$(bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager GetMessage t "$id")
[[ $state == 'ssss "failed" "ttl_dev" '*' "expired"' ]] || fail "GetMessage of the expired message: $state"
assert_eq 2 "$(device_prop ttl_dev QueueMessages)" "messages around it still queued"

# The cloud comes back on that port: the other two are delivered, in order.
start_cloudsim "$CLOUD_DEVICES" "$(cloudsim_port_arg "$port")"
bctl call org.iotpub1 "$(device_path ttl_dev)" org.iotpub1.Device Flush >/dev/null
wait_for --timeout=30 record_has 2 --device=ttl_dev || fail "the other messages were not delivered"
assert_eq 2 "$(record_count --device=ttl_dev)" "messages recorded (the expired one never sent)"

# The dead-letter list: the expired message is listed with its reason, and an administrator can empty it.
ctl() { "$IOTPUB_BUILD/iotpubctl" --address="$BUS" "$@"; }
ctl --json messages --failed >"$HARNESS_DIR/failed.json"
python3 -c 'import json,sys
d = json.loads(open(sys.argv[1]).read())
rows = d if isinstance(d, list) else d.get("messages", d)
assert [(r["id"], r["detail"]) for r in rows] == [(int(sys.argv[2]), "expired")], rows' "$HARNESS_DIR/failed.json" "$id" ||
        fail "iotpubctl messages --failed: $(cat "$HARNESS_DIR/failed.json")"
assert_eq "Removed 1 message from the failed list." "$(ctl purge --failed)" "iotpubctl purge --failed"
assert_eq 'a(tsssst) 0' "$(bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager ListMessages su failed 0)" \
        "failed list after PurgeFailed"
