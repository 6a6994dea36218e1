#!/usr/bin/env bash
# Disk full: the state directory is a 2 MiB tmpfs and the cloud is down, so messages pile up; a filler file takes
# the rest. Publish then fails with org.iotpub1.Error.Storage saying the file system is full, the daemon keeps
# running, what was accepted is delivered once the cloud is back, Publish works again once the filler is gone,
# and the outbox is intact after a restart (not moved aside as damaged).
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-fault-disk-full "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"
[[ $(id -u) == 0 ]] || fail "needs root to mount a tmpfs"

start_bus
new_identity full_dev
start_cloudsim "$CLOUD_DEVICES"
port=$(transport_port)
stop_cloudsim
mount -t tmpfs -o size=2m,mode=0755 iotpub-test-state "$STATEDIR" || fail "cannot mount a tmpfs on $STATEDIR"
harness_at_exit umount "$STATEDIR"
configure_identity full_dev "$port"
start_daemon
dn=${ID_DN[full_dev]} topic=$(topic_of full_dev)

# 1. Accepted while the cloud is down.
before=$LOGDIR/pubclient-before.json
pubclient "$before" --device=full_dev --topic="$topic" --count=100 --size=500 --prefix=before --no-wait \
        --timeout=30 || fail "Publish failed before the disk was full: $(head -c 300 "$before")"
assert_eq 100 "$(manager_prop QueueMessages)" "messages queued while the cloud is down"

# 2. Fill the file system, then publish until it refuses.
dd if=/dev/zero of="$STATEDIR/filler" bs=16k status=none 2>/dev/null || true
harness_log "filler: $(du -k "$STATEDIR/filler" | cut -f1) KiB;" \
        "free: $(df -k --output=avail "$STATEDIR" | tail -n1) KiB"
full=$LOGDIR/pubclient-full.json
pubclient "$full" --device=full_dev --topic="$topic" --count=200 --size=500 --prefix=full --no-wait \
        --window=4 --timeout=60 || true
refused=$(json_get "$full" 'len(d["errors"])')
accepted=$(json_get "$full" 'd["published"]')
figure accepted_before_full 100
figure accepted_while_filling "$accepted"
figure refused_while_full "$refused"
assert_ge 1 "$refused" "publishes refused on a full file system"
json_get "$full" '"\n".join(e["error"] for e in d["errors"])' >"$LOGDIR/errors"
other=$(grep -v '^org\.iotpub1\.Error\.Storage: ' "$LOGDIR/errors" | head -n1 || true)
[[ -z "$other" ]] || fail "an error other than Storage: $other"
assert_grep "$LOGDIR/errors" 'file system is full' "the Storage error says the file system is full"
harness_log "error seen by the caller: $(head -n1 "$LOGDIR/errors")"
pid_alive "$DAEMON_PID" || fail "iotpubd died on a full disk"
assert_eq "$((100 + accepted))" "$(manager_prop QueueMessages)" "queue after the refusals (daemon still answering)"

# 3. The cloud comes back while the disk is still full: everything accepted is delivered.
start_cloudsim "$CLOUD_DEVICES" --coap-port="$port"
t0=$SECONDS
if ! wait_for --timeout=30 manager_prop_is QueueMessages 0; then
        figure recorded_in_30s "$(record_count --device="$dn")"
        fail "the outbox did not drain on a full disk: QueueMessages $(manager_prop QueueMessages), while the cloud" \
                "recorded $(record_count --device="$dn") publishes of $((100 + accepted)) accepted messages"
fi
figure drain_seconds $((SECONDS - t0))
record_promise "$dn" --ordered "$before" "$full" | tee "$LOGDIR/figures" || fail "accepted messages were lost"
# At least once allows a repeat after a lost acknowledgement, not a loop re-sending the queue.
dups=$(sed -n 's/^figure: duplicates=//p' "$LOGDIR/figures")
((dups <= 100 + accepted)) || fail "$dups duplicates for $((100 + accepted)) messages: the queue was re-sent in a loop"

# 4. Space freed: Publish works again.
rm -f "$STATEDIR/filler"
after=$LOGDIR/pubclient-after.json
pubclient "$after" --device=full_dev --topic="$topic" --count=20 --size=500 --prefix=after --timeout=30 ||
        fail "Publish did not work again after freeing space: $(head -c 300 "$after")"
harness_log "ok: publishing works again once space is freed"

# 5. The outbox survived: a restart finds it healthy.
stop_daemon
start_daemon
grep -qiE 'damaged|corrupt' "$DAEMON_LOG" && fail "the outbox was found damaged after the disk-full episode"
compgen -G "$STATEDIR/outbox.db.corrupt*" >/dev/null && fail "the outbox was moved aside"
restart=$LOGDIR/pubclient-restart.json
pubclient "$restart" --device=full_dev --topic="$topic" --count=5 --prefix=restart --timeout=30 ||
        fail "Publish after the restart failed: $(head -c 300 "$restart")"
record_promise "$dn" --ordered "$before" "$full" "$after" "$restart" >/dev/null || fail "messages lost overall"
harness_log "summary: $((100 + accepted)) accepted until the 2 MiB state fs was full, $refused refused with" \
        "Storage, all accepted delivered, publishing resumed after freeing space, outbox intact after restart"
