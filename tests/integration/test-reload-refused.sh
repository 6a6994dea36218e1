#!/usr/bin/env bash
# A Reload that refuses device files says so (issue 10, item 9). With one new good file, one new file with a
# syntax error and a running device's file broken, Reload answers InvalidConfiguration naming how many files
# were refused and the first one (file and line, no value), while the rest is in force: the new device is served
# and the running one keeps its previous identity and still delivers. Once fixed, Reload succeeds.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
IOTPUBCTL=$IOTPUB_BUILD/iotpubctl
harness_init test-reload-refused "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT" "$IOTPUBCTL"

start_bus
for d in run_dev new_dev bad_dev; do new_identity "$d"; done
start_cloudsim "$CLOUD_DEVICES"
configure_identity run_dev
start_daemon

configure_identity new_dev
configure_identity bad_dev
sed -i '3i this line has no equals sign' "$CONFDIR/devices/bad_dev.conf"
cp "$CONFDIR/devices/run_dev.conf" "$HARNESS_DIR/run_dev.saved"
sed -i 's/^Transport=.*/Transport=carrier-pigeon/' "$CONFDIR/devices/run_dev.conf"

if bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Reload 2>"$LOGDIR/reload.err"; then
        fail "Reload succeeded although two device files were refused"
fi
err=$(cat "$LOGDIR/reload.err")
harness_log "Reload: $err"
[[ $err == *"2 device file(s) were refused"* ]] || fail "Reload's error does not count the refused files: $err"
[[ $err == *"bad_dev.conf:3"* ]] || fail "Reload's error does not name the first refused file and line: $err"
[[ $err != *carrier-pigeon* ]] || fail "Reload's error repeats a value from a device file: $err"
harness_log "ok: Reload answers InvalidConfiguration with the refused files"
rc=0
"$IOTPUBCTL" --address="$BUS" reload >"$LOGDIR/ctl-reload.out" 2>&1 || rc=$?
((rc != 0)) || fail "iotpubctl reload exited 0 although device files were refused"
grep -q "refused" "$LOGDIR/ctl-reload.out" || fail "iotpubctl reload did not say what was refused: $(cat "$LOGDIR/ctl-reload.out")"
harness_log "ok: iotpubctl reload exits $rc and says: $(cat "$LOGDIR/ctl-reload.out")"

# The rest is in force: new_dev is served, bad_dev is not, run_dev keeps its identity and delivers.
assert_eq "${ID_DN[new_dev]}" "$(device_prop new_dev DeviceName)" "new_dev is served after the reload"
if bctl get-property org.iotpub1 "$(device_path bad_dev)" org.iotpub1.Device DeviceName >/dev/null 2>&1; then
        fail "bad_dev is served although its file was refused"
fi
assert_eq "$HARNESS_TRANSPORT" "$(device_prop run_dev Transport)" "run_dev keeps its previous identity"
for d in run_dev new_dev; do
        harness_next
        pubclient "$LOGDIR/pub-$d.json" --device="$d" --topic="$(topic_of "$d")" --count=2 --prefix="$d" --timeout=30 ||
                fail "$d could not deliver after the reload: $(cat "$LOGDIR/pub-$d.json")"
done
harness_log "ok: run_dev and new_dev deliver"

# Fixed: Reload succeeds.
cp "$HARNESS_DIR/run_dev.saved" "$CONFDIR/devices/run_dev.conf"
sed -i '3d' "$CONFDIR/devices/bad_dev.conf"
bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Reload || fail "Reload failed after the files were fixed"
assert_eq "${ID_DN[bad_dev]}" "$(device_prop bad_dev DeviceName)" "bad_dev is served once fixed"
harness_log "PASS"
