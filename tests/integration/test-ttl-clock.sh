#!/usr/bin/env bash
# TTLs count elapsed time, not the wall clock (iotpubd under libfaketime; the machine's clock is never set): a
# message still expires after its real TTL when the clock has jumped a year back, and one published before the
# clock jumps a year forward is not expired by that and is delivered; across a daemon restart a TTL keeps counting
# from Publish (neither restarted nor lost), and a long one survives to be delivered.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-ttl-clock "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
new_identity ttl_dev
port=$(free_port udp)
configure_identity ttl_dev "$port"
printf '[Daemon]\nBackoffMinSec=60\nBackoffMaxSec=60\n' >"$CONFDIR/iotpubd.conf"
clockfile=$HARNESS_DIR/faketime
echo "+0" >"$clockfile"
with_faketime "$clockfile" start_daemon
topic=$(topic_of ttl_dev)
message_state() { bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager GetMessage t "$1" | cut -d'"' -f2; }
message_state_is() { [[ $(message_state "$1") == "$2" ]]; }

# libfaketime 0.9.10 shifts every absolute timerfd by its offset, whatever the timer's clock (sd-event arms all
# its timers that way, CLOCK_BOOTTIME included): with the clock behind, no timer of the daemon fires; with it
# ahead, arming one fails and the event loop stops. So the clock is only ever behind the real time or right, and
# what is checked under a jump is the drain's own decision (a Publish or Flush runs it); that the TTL timer counts
# CLOCK_BOOTTIME, which no one can set, is the kernel's promise.

# Forward: published with the clock a year behind (a board without RTC), then the clock is set right: a year
# forward. The 30 s message must not expire for that.
echo "-1y" >"$clockfile"
pubclient "$HARNESS_DIR/fwd.json" --device=ttl_dev --topic="$topic" --count=1 --prefix=fwd --option=ttl=u:30 --no-wait
fwd=$(json_get "$HARNESS_DIR/fwd.json" 'd["ids"][0]')
echo "+0" >"$clockfile"
pubclient "$HARNESS_DIR/after.json" --device=ttl_dev --topic="$topic" --count=1 --prefix=after --no-wait
assert_eq queued "$(message_state "$fwd")" "the 30 s message after the clock jumped a year forward"

# Backward: the clock goes back a year right after Publish; 2 s of real time later the 2 s TTL is over.
pubclient "$HARNESS_DIR/back.json" --device=ttl_dev --topic="$topic" --count=1 --prefix=back --option=ttl=u:2 --no-wait
back=$(json_get "$HARNESS_DIR/back.json" 'd["ids"][0]')
echo "-1y" >"$clockfile"
assert_eq queued "$(message_state "$back")" "the 2 s message right after the clock went back a year"
sleep 2.5 # the TTL's real time passes; nothing here can be waited for instead
bctl call org.iotpub1 "$(device_path ttl_dev)" org.iotpub1.Device Flush >/dev/null
wait_for --timeout=5 message_state_is "$back" failed || fail "the 2 s message did not expire with the clock a year back"
reason=$(bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager GetMessage t "$back" | cut -d'"' -f8)
assert_eq expired "$reason" "the 2 s TTL across a jump a year back"
echo "+0" >"$clockfile"

# The cloud comes back: the 30 s message (and the one after it) are delivered.
start_cloudsim "$CLOUD_DEVICES" "$(cloudsim_port_arg "$port")"
bctl call org.iotpub1 "$(device_path ttl_dev)" org.iotpub1.Device Flush >/dev/null
wait_for --timeout=20 record_has 2 --device=ttl_dev || fail "not delivered after the forward jump"
assert_eq delivered "$(message_state "$fwd")" "the 30 s message, delivered"

# Restart: a 6 s TTL keeps counting from Publish across a restart, and a 3600 s one is delivered afterwards.
stop_cloudsim
echo "+0" >"$clockfile"
start=${EPOCHREALTIME/./}
pubclient "$HARNESS_DIR/short.json" --device=ttl_dev --topic="$topic" --count=1 --prefix=short --option=ttl=u:6 --no-wait
pubclient "$HARNESS_DIR/long.json" --device=ttl_dev --topic="$topic" --count=1 --prefix=long --option=ttl=u:3600 --no-wait
short=$(json_get "$HARNESS_DIR/short.json" 'd["ids"][0]')
long=$(json_get "$HARNESS_DIR/long.json" 'd["ids"][0]')
stop_daemon
with_faketime "$clockfile" start_daemon
assert_eq queued "$(message_state "$short")" "the 6 s message right after the restart"
wait_for --timeout=20 message_state_is "$short" failed || fail "the 6 s message did not expire after the restart"
ms=$(((${EPOCHREALTIME/./} - start) / 1000))
((ms >= 5900 && ms <= 10000)) || fail "the 6 s TTL ended $ms ms after Publish across a restart"
figure ttl6_across_restart_ms "$ms"
assert_eq queued "$(message_state "$long")" "the 3600 s message after the restart"
start_cloudsim "$CLOUD_DEVICES" "$(cloudsim_port_arg "$port")"
bctl call org.iotpub1 "$(device_path ttl_dev)" org.iotpub1.Device Flush >/dev/null
wait_for --timeout=20 message_state_is "$long" delivered || fail "the 3600 s message was not delivered after the restart"
harness_log "ok: the 3600 s message was delivered after the restart"
