#!/usr/bin/env bash
# The live Introspect() of /org/iotpub1 and of a device object must match dbus/org.iotpub1.xml for the
# org.iotpub1.* interfaces (methods, args, signals, properties); differences are printed one per line.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-introspect "$IOTPUBD" "$CLOUDSIM"

start_bus
new_identity intro_dev-1
start_cloudsim "$CLOUD_DEVICES"
configure_identity intro_dev-1
start_daemon

path=$(device_path intro_dev-1)
bctl introspect --xml-interface org.iotpub1 /org/iotpub1 >"$LOGDIR/manager.xml"
bctl introspect --xml-interface org.iotpub1 "$path" >"$LOGDIR/device.xml" ||
        fail "no object at $path (busctl tree: $(bctl tree --list org.iotpub1 | tr '\n' ' '))"

ok=1
python3 "$HARNESS_LIB/compare-introspection.py" "$IOTPUB_TOP/dbus/org.iotpub1.xml" "$LOGDIR/manager.xml" \
        org.iotpub1.Manager || ok=0
python3 "$HARNESS_LIB/compare-introspection.py" "$IOTPUB_TOP/dbus/org.iotpub1.xml" "$LOGDIR/device.xml" \
        org.iotpub1.Device || ok=0
((ok)) || fail "live introspection differs from dbus/org.iotpub1.xml"
harness_log "ok: Manager and Device introspection match dbus/org.iotpub1.xml"

# The escaped path is the one the daemon really uses (name with '-' and a digit).
assert_eq "intro_dev-1" "$(device_prop intro_dev-1 Name)" "Name property on $path"
