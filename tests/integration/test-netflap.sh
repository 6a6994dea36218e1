#!/usr/bin/env bash
# Network flap: iotpubd runs in a network namespace of its own and reaches cloudsim in another over a veth pair
# (198.18.0.0/15, the benchmark range). Mid-stream the device's link goes down: Online and State must say
# offline within 1 s and no datagram may leave while it is down; when the link and its default route come back,
# delivery must resume within 2 s. Then the source address moves (.2 -> .3): the session is re-opened from the
# new address and delivery goes on. Nothing may be lost or reordered. Prints the figures.
# transports: coap-aes coap-dtls
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-netflap "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"
command -v strace >/dev/null || fail "strace is missing (make deps)"

COUNT=120 INTERVAL_MS=40
sfx=$(harness_random 6 | tr 'A-Z' 'a-z')
NS_DEV=iotpub-dev-$sfx NS_CLOUD=iotpub-cloud-$sfx
VETH_DEV=vd$sfx VETH_CLOUD=vc$sfx
DEV_ADDR=198.18.0.2 DEV_ADDR2=198.18.0.3 CLOUD_ADDR=198.18.0.1

in_dev() { ip netns exec "$NS_DEV" "$@"; }
in_cloud() { ip netns exec "$NS_CLOUD" "$@"; }
now() { printf '%s\n' "$EPOCHREALTIME"; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

# The namespaces (and with them the veth pair) are deleted at exit, after every process in them has stopped.
setup_network() {
        ip netns add "$NS_DEV" || fail "ip netns add failed (root and CAP_SYS_ADMIN are needed)"
        harness_at_exit ip netns delete "$NS_DEV"
        ip netns add "$NS_CLOUD"
        harness_at_exit ip netns delete "$NS_CLOUD"
        # No IPv6: its router solicitations and DAD would blur the tx counters; the test is about IPv4.
        in_dev sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        in_cloud sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip link add name "$VETH_DEV" netns "$NS_DEV" type veth peer name "$VETH_CLOUD" netns "$NS_CLOUD"
        in_cloud ip link set lo up
        in_cloud ip addr add "$CLOUD_ADDR/24" dev "$VETH_CLOUD"
        in_cloud ip link set "$VETH_CLOUD" up
        in_dev ip link set lo up
        # Removing the primary address keeps the secondary one (the source address move below).
        in_dev sysctl -qw net.ipv4.conf.all.promote_secondaries=1
        in_dev ip addr add "$DEV_ADDR/24" dev "$VETH_DEV"
        link_up
        harness_log "namespaces $NS_DEV ($DEV_ADDR) and $NS_CLOUD ($CLOUD_ADDR), veth $VETH_DEV/$VETH_CLOUD"
}
# Bringing a link down makes the kernel drop its routes, so the default route comes back with the link, as
# a network manager would restore it.
link_up() {
        in_dev ip link set "$VETH_DEV" up
        in_dev ip route replace default via "$CLOUD_ADDR" dev "$VETH_DEV"
}
queue_at_least() { (($(manager_prop QueueMessages) >= $1)); }
tx_packets() { in_dev cat "/sys/class/net/$VETH_DEV/statistics/tx_packets"; }

# wait-ready runs inside the namespace so that the service's READY=1 reaches its (abstract) notify socket; the
# bus socket is a file and works from any namespace.
REAL_WAIT_READY=$WAIT_READY
wait_ready_in_dev() { ip netns exec "$NS_DEV" "$REAL_WAIT_READY" "$@"; }
wait_ready_in_cloud() { ip netns exec "$NS_CLOUD" "$REAL_WAIT_READY" "$@"; }

# UDP sends in the daemon's strace log between two epoch times.
udp_sends_between() {
        awk -v a="$1" -v b="$2" '$2 + 0 >= a + 0 && $2 + 0 < b + 0 && /UDP/ && /send/ { n++ } END { print n + 0 }' \
                "$STRACE_LOG"
}

setup_network
start_bus
new_identity flap
WAIT_READY=wait_ready_in_cloud start_cloudsim "$CLOUD_DEVICES" --listen="$CLOUD_ADDR"
write_device flap "${ID_PK[flap]}" "${ID_DN[flap]}" "${ID_SECRET[flap]}" "$CLOUD_ADDR:$(transport_port)"
WAIT_READY=wait_ready_in_dev start_daemon
assert_eq true "$(manager_prop Online)" "Online with the veth up"

# Every send of the daemon, with fd details (UDP sockets show as UDP:[src->dst]: strace runs in the daemon's
# namespace to look them up there) and epoch timestamps.
STRACE_LOG=$LOGDIR/strace-sends.log
in_dev strace -f -ttt -yy -e trace=sendto,sendmsg,sendmmsg,write,writev -o "$STRACE_LOG" -p "$DAEMON_PID" \
        2>"$LOGDIR/strace.err" &
STRACE_PID=$!
harness_register "$STRACE_PID" strace
wait_for --timeout=10 grep -q attached "$LOGDIR/strace.err" || fail "strace did not attach"

dev=flap topic=$(topic_of flap) out=$LOGDIR/pubclient-flap.json
"$PUBCLIENT" --address="$BUS" --device="$dev" --topic="$topic" --count=$COUNT --interval=$INTERVAL_MS \
        --prefix=flap --timeout=120 >"$out" 2>>"$LOGDIR/pubclient.err" &
PUB_PID=$!
harness_register "$PUB_PID" pubclient
wait_for --timeout=20 record_has 10 --device="${ID_DN[flap]}" || fail "the stream did not start"

# --- Link down, mid-stream.
t_down=$(now)
in_dev ip link set "$VETH_DEV" down
wait_for --timeout=1 manager_prop_is Online false || fail "Online still true 1 s after the link went down"
wait_for --timeout=1 device_prop_is flap State offline ||
        fail "State is '$(device_prop flap State)' 1 s after the link went down"
offline_ms=$(ms_since "$t_down")
t_offline=$(now)
tx0=$(tx_packets) bytes0=$(device_prop flap BytesOut) retries0=$(device_prop flap Retries)
records_down=$(record_count --device="${ID_DN[flap]}")
queued_down=$(manager_prop QueueMessages)
# Hold the link down while the application keeps publishing: 20 more messages queue up (about 1 s).
wait_for --timeout=10 queue_at_least $((queued_down + 20)) || fail "publishing while offline stalled"
assert_eq offline "$(device_prop flap State)" "State while the link is down"
assert_eq "$tx0" "$(tx_packets)" "veth tx packets while down"
assert_eq "$bytes0" "$(device_prop flap BytesOut)" "BytesOut while down"
assert_eq "$retries0" "$(device_prop flap Retries)" "Retries while down (no attempts)"
assert_eq "$records_down" "$(record_count --device="${ID_DN[flap]}")" "records while down"

# --- Link up.
t_up=$(now)
link_up
wait_for --timeout=2 record_has $((records_down + 1)) --device="${ID_DN[flap]}" ||
        fail "delivery did not resume within 2 s of the link coming back"
resume_ms=$(ms_since "$t_up")
assert_eq true "$(manager_prop Online)" "Online after the link came back"
sends_down=$(udp_sends_between "$t_offline" "$t_up")
sends_detect=$(udp_sends_between "$t_down" "$t_offline")
assert_ge 1 "$(udp_sends_between 0 "$(now)")" "UDP sends seen by strace in the whole run (the filter works)"
assert_eq 0 "$sends_down" "UDP sends by iotpubd while offline"

# --- Source address change: .3 is added and becomes the default route's source, .2 goes away.
records_move=$(record_count --device="${ID_DN[flap]}")
t_move=$(now)
in_dev ip addr add "$DEV_ADDR2/24" dev "$VETH_DEV"
in_dev ip route replace default via "$CLOUD_ADDR" dev "$VETH_DEV" src "$DEV_ADDR2"
in_dev ip addr del "$DEV_ADDR/24" dev "$VETH_DEV"
wait_for --timeout=2 grep -q "source address changed" "$DAEMON_LOG" || fail "iotpubd did not notice the address change"
wait_for --timeout=2 grep -q "UDP:\[$DEV_ADDR2:" "$STRACE_LOG" || fail "no datagram from the new address $DEV_ADDR2"
wait_for --timeout=2 record_has $((records_move + 1)) --device="${ID_DN[flap]}" ||
        fail "delivery did not go on within 2 s of the address change"
move_ms=$(ms_since "$t_move")
assert_eq true "$(manager_prop Online)" "Online after the address change"

wait "$PUB_PID" || fail "pubclient: not every message was delivered: $(head -c 300 "$out")"
harness_unregister "$PUB_PID"
check_record "${ID_DN[flap]}" --pubclient="$out" --topic="$topic" --allow-duplicates ||
        fail "messages were lost or reordered across the flap"
total=$(record_count --device="${ID_DN[flap]}")
harness_log "figures [$HARNESS_TRANSPORT]: offline after ${offline_ms} ms (limit 1000), delivery resumed" \
        "${resume_ms} ms after link up (limit 2000); messages $COUNT, lost 0, duplicates $((total - COUNT));" \
        "queued while down $((queued_down + 20))+, UDP sends while offline $sends_down," \
        "between link down and offline $sends_detect; new session from $DEV_ADDR2 delivering ${move_ms} ms after" \
        "the address change"
