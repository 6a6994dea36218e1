#!/usr/bin/env bash
# Receipts reach only their publisher (issue 10, item 7). User A publishes while the cloud is away; the daemon
# and the bus restart; user B's monitor connects under the very unique name A had (a restarted bus hands names
# out again). When the message is delivered, B receives no Delivered signal; A learns the outcome through
# GetMessage. On the new bus A's new publishes still get their Delivered signal.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
IOTPUBCTL=$IOTPUB_BUILD/iotpubctl
harness_init test-receipts "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT" "$IOTPUBCTL"

new_test_user A
new_test_user B
start_bus
new_identity rdev
start_cloudsim "$CLOUD_DEVICES"
port=$(transport_port)
configure_identity rdev
cat >"$CONFDIR/acl.conf" <<EOT
allow user:$A  rdev  /\${ProductKey}/\${DeviceName}/user/#
EOT
stop_cloudsim
start_daemon
topic=$(topic_of rdev)
harness_user_tools

# The highest unique name on the bus: that of the busctl asking, the newest connection.
newest_name() {
        bctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ListNames |
                grep -o '":1\.[0-9]*"' | tr -d '":' | cut -d. -f2 | sort -n | tail -n1
}
# name_of_uid UID: the number N of the connection :1.N that runs as UID (the newest if several).
name_of_uid() {
        local nm
        for nm in $(bctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ListNames |
                grep -o '":1\.[0-9]*"' | tr -d '"' | sort -t. -k2 -n -r); do
                if [[ $(bctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                        GetConnectionUnixUser s "$nm" 2>/dev/null) == "u $1" ]]; then
                        echo "${nm#:1.}"
                        return 0
                fi
        done
        return 1
}
# monitor_as USER OUT [DEVICE TOPIC DATA]: iotpubctl monitor run by USER in the background; its PID in MON_PID.
monitor_as() {
        local who=$1 out=$2
        shift 2
        as_user "$who" "$HARNESS_DIR/bin/iotpubctl" --address="$BUS" --json monitor --timeout=60 "$@" >"$out" \
                2>"$out.err" &
        MON_PID=$!
        harness_register "$MON_PID" "monitor-$who"
}
stop_monitor() { harness_stop_pid "$MON_PID" monitor || true; harness_unregister "$MON_PID"; }

# Some names in use first, so that the restarted bus can be brought up to A's number.
for ((i = 0; i < 10; i++)); do newest_name >/dev/null; done
before=$(newest_name)
# A publishes on the connection of its own monitor: the same program B uses below, so both take names alike.
monitor_as "$A" "$LOGDIR/monitor-a.json" rdev "$topic" '{"a":1}'
published() { grep -q '"event":"Published"' "$LOGDIR/monitor-a.json"; }
wait_for --timeout=10 published || fail "A could not publish: $(cat "$LOGDIR/monitor-a.json.err")"
id=$(json_get "$LOGDIR/monitor-a.json" 'd["id"]' 2>/dev/null) ||
        id=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "Published" in l][0]["id"])' \
                "$LOGDIR/monitor-a.json")
target=$(name_of_uid "$(id -u "$A")") || fail "A's connection is not on the bus"
offset=$((target - before))
harness_log "A published message $id as :1.$target ($offset names after the newest one before it)"
stop_monitor
assert_eq 1 "$(manager_prop QueueMessages)" "QueueMessages while the cloud is away"

# --- The daemon and the bus restart; B's monitor takes the name :1.$target.
stop_daemon
harness_stop_pid "$BUS_PID" dbus-daemon || fail "dbus-daemon did not exit on SIGTERM"
harness_unregister "$BUS_PID"
start_bus
start_daemon
for ((i = 0; i < 200; i++)); do
        n=$(newest_name)
        ((n + offset < target)) || break
done
((n + offset == target)) || fail "cannot bring the new bus to name :1.$target (newest is :1.$n)"
# B listens with dbus-monitor, which prints the unique name it gets (NameAcquired) and any signal sent to it.
as_user "$B" dbus-monitor --address "$BUS" "type='signal',sender='org.iotpub1'" \
        "type='signal',interface='org.freedesktop.DBus',member='NameAcquired'" >"$LOGDIR/monitor-b.txt" \
        2>"$LOGDIR/monitor-b.err" &
MON_PID=$!
harness_register "$MON_PID" monitor-B
b_connected() { grep -qE 'string ":1\.[0-9]+"' "$LOGDIR/monitor-b.txt"; }
wait_for --timeout=10 b_connected || fail "B's dbus-monitor did not connect: $(cat "$LOGDIR/monitor-b.err")"
b_name=$(grep -oE 'string ":1\.[0-9]+"' "$LOGDIR/monitor-b.txt" | head -n1 | grep -oE '[0-9]+"$' | tr -d '"')
assert_eq "$target" "$b_name" "B's connection has the unique name A had (:1.N)"

# --- The cloud comes back: the message is delivered, and B hears nothing of it.
case $HARNESS_TRANSPORT in
coap-aes) start_cloudsim "$CLOUD_DEVICES" --coap-port="$port" ;;
coap-dtls) start_cloudsim "$CLOUD_DEVICES" --dtls-port="$port" ;;
https) start_cloudsim "$CLOUD_DEVICES" --https-port="$port" ;;
esac
bctl call org.iotpub1 "$(device_path rdev)" org.iotpub1.Device Flush >/dev/null
wait_for --timeout=30 record_has 1 --device=rdev || fail "the message was not delivered"
wait_for --timeout=10 manager_prop_is QueueMessages 0 || fail "the queue did not empty"
# Signals from the daemon reach B in order: once B has seen the queue's PropertiesChanged after the delivery, a
# Delivered sent before it would be there.
queue_signal_seen() { grep -q 'member=PropertiesChanged' "$LOGDIR/monitor-b.txt"; }
wait_for --timeout=10 queue_signal_seen || fail "B's monitor saw no PropertiesChanged (see logs/monitor-b.txt)"
! grep -q 'member=Delivered' "$LOGDIR/monitor-b.txt" ||
        fail "B received a Delivered signal for A's message: $(grep -A3 member=Delivered "$LOGDIR/monitor-b.txt")"
harness_log "ok: B's connection :1.$target received no receipt for A's message"
stop_monitor

# A asks for the outcome.
state=$(as_user "$A" busctl --address="$BUS" call org.iotpub1 /org/iotpub1 org.iotpub1.Manager GetMessage t "$id")
[[ $state == *'"delivered"'* ]] || fail "GetMessage($id) as A: $state"
harness_log "ok: A learns through GetMessage: $state"

# On the new bus, A's publishes get their Delivered signal as before.
harness_next
expect_publish_ok_as "$A" "$LOGDIR/a2.json" "A's publish on the new bus is delivered and signalled" --device=rdev \
        --topic="$topic" --count=1 --prefix=a2
harness_log "PASS"
