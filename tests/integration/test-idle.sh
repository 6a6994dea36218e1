#!/usr/bin/env bash
# Idle is idle: after a few deliveries, with nothing queued, iotpubd sits in one epoll_wait. strace watches it
# for 30 s and counts wakeups and timer syscalls; more than 2 wakeups fail the test. iotpubd and cloudsim run in
# a network namespace of their own (only loopback) so that no outside traffic or netlink event wakes them.
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-idle "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"
command -v strace >/dev/null || fail "strace is missing (make deps)"

# Watching starts as soon as the device says idle: the tail of the last delivery (the group commit and the
# coalesced PropertiesChanged of queue and counters) may still be due in the first 100 ms. A timer loop shows as
# many more.
WINDOW=30 MAX_WAKEUPS=3
NS=iotpub-idle-$(harness_random 6 | tr 'A-Z' 'a-z')
ip netns add "$NS" || fail "ip netns add failed (root and CAP_SYS_ADMIN are needed)"
harness_at_exit ip netns delete "$NS"
ip netns exec "$NS" ip link set lo up

# wait-ready runs inside the namespace so that READY=1 reaches its (abstract) notify socket.
REAL_WAIT_READY=$WAIT_READY
wait_ready_in_ns() { ip netns exec "$NS" "$REAL_WAIT_READY" "$@"; }
WAIT_READY=wait_ready_in_ns

start_bus
new_identity idle
start_cloudsim "$CLOUD_DEVICES"
configure_identity idle
start_daemon

out=$LOGDIR/pubclient-idle.json
pubclient "$out" --device=idle --topic="$(topic_of idle)" --count=5 --timeout=30 ||
        fail "the warm-up messages were not delivered: $(cat "$out")"
wait_for --timeout=10 manager_prop_is QueueMessages 0 || fail "the queue did not drain"
wait_for --timeout=10 device_prop_is idle State idle || fail "State is '$(device_prop idle State)', not idle"

# The observation window is the measurement itself, hence a fixed 30 s (strace detaches on SIGTERM).
trace=$LOGDIR/strace-idle.log
harness_log "watching iotpubd (pid $DAEMON_PID) for $WINDOW s with nothing queued"
timeout -s TERM "$WINDOW" strace -f -ttt -yy -o "$trace" \
        -e trace=epoll_wait,epoll_pwait,timerfd_settime,clock_nanosleep,nanosleep,poll,ppoll,read \
        -p "$DAEMON_PID" 2>"$LOGDIR/strace-idle.err" || true
grep -q attached "$LOGDIR/strace-idle.err" || fail "strace did not attach: $(cat "$LOGDIR/strace-idle.err")"

# Each wait that returned is a wakeup; the one in progress when strace detached is not.
waits=$(grep -cE 'epoll_p?wait\(|poll\(|nanosleep\(' "$trace" || true)
detached=$(grep -cE '<detached' "$trace" || true)
wakeups=$((waits - detached))
timer_reads=$(grep -cE 'read\([0-9]+<anon_inode:\[timerfd\]>' "$trace" || true)
timer_sets=$(grep -c 'timerfd_settime(' "$trace" || true)
harness_log "figures [$HARNESS_TRANSPORT]: $WINDOW s idle: $wakeups wakeup(s), $timer_reads timer expiry read(s)," \
        "$timer_sets timerfd_settime call(s)"
if ((wakeups > MAX_WAKEUPS)); then
        head -n 40 "$trace" >&2
        fail "$wakeups wakeups in $WINDOW s with nothing queued (at most $MAX_WAKEUPS allowed): a timer loop"
fi
harness_log "ok: idle ($wakeups <= $MAX_WAKEUPS wakeups)"
