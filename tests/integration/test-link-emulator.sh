#!/usr/bin/env bash
# The link emulators themselves (tests/tools/udp-relay, tcp-relay), against loopback echo servers
# (tests/lib/link-echo.py): one-way delay, rate limit, NAT rebinding (a new source port seen by the target, the
# old port's late reply dropped and counted), black holes by SIGUSR2 and by schedule, and the counters.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-link-emulator "$IOTPUB_BUILD/tests/bin/udp-relay" "$IOTPUB_BUILD/tests/bin/tcp-relay"
ECHO=$HARNESS_LIB/link-echo.py
NAT_SEC=2

# start_echo udp|tcp: an echo server; sets ECHO_PORT.
start_echo() {
        local out=$LOGDIR/echo-$1.out
        python3 "$ECHO" serve "$1" >"$out" 2>>"$LOGDIR/echo.err" &
        harness_register $! "echo $1"
        wait_for --timeout=10 grep -q '^port ' "$out" || fail "the $1 echo server printed no port"
        read -r _ ECHO_PORT <"$out"
}
# kv FILE KEY: the value of KEY= in FILE's key=value lines.
kv() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | tail -n1; }
# assert_between MIN END VALUE WHAT: MIN <= VALUE < END.
assert_between() {
        [[ $3 =~ ^[0-9]+$ ]] && (($3 >= $1 && $3 < $2)) || fail "$4: expected $1..$(($2 - 1)), got '$3'"
        harness_log "ok: $4 ($3 in $1..$(($2 - 1)))"
}

# --- UDP: 200 ms each way, 40 kbit/s each way, a NAT that forgets a mapping after 2 s idle.
start_echo udp
start_relay udp u --target="127.0.0.1:$ECHO_PORT" --delay-ms=200 --rate-kbit=40 --nat-timeout=$NAT_SEC
R=$LOGDIR/udp-scenario.out
python3 "$ECHO" udp "${RELAY_PORT[u]}" "${RELAY_PID[u]}" "${RELAY_OUT[u]}" $NAT_SEC >"$R" ||
        fail "the UDP scenario failed"
cat "$R"
# 20 bytes (+ the echo's port prefix) each way: 400 ms of delay and ~5 ms of serialisation.
assert_between 400 700 "$(kv "$R" rtt_ms)" "UDP round trip at 200 ms each way"
# 8 x 500 bytes take 800 ms to leave at 40 kbit/s, and their replies as long: the last one after ~1.3 s.
assert_eq 8 "$(kv "$R" burst_replies)" "every datagram of a burst within the queue's bound arrives"
assert_between 1200 2500 "$(kv "$R" burst_ms)" "a burst of 4,000 bytes at 40 kbit/s each way"
before=$(kv "$R" port_before) after=$(kv "$R" port_after)
[[ $before =~ ^[0-9]+$ && $after =~ ^[0-9]+$ && $before != "$after" ]] ||
        fail "after ${NAT_SEC} s idle the target should see a new source port (before $before, after $after)"
harness_log "ok: NAT rebinding: the target saw port $before, then $after"
assert_eq 0 "$(kv "$R" late_replies)" "a reply to a forgotten mapping does not reach the client"
assert_eq 0 "$(kv "$R" hole_replies)" "nothing crosses a black hole"
assert_eq 1 "$(kv "$R" after_replies)" "traffic flows again when the black hole ends"
relay_dump u
assert_ge 1 "$(relay_get u down nat_drops)" "the relay counted the late reply as dropped by the NAT"
assert_ge 1 "$(relay_get u nat forgotten)" "the relay counted a forgotten mapping"
assert_grep "${RELAY_OUT[u]}" '^nat forget client=[0-9]+ upstream='"$before"' ' "the forgotten mapping was port $before"
assert_ge 3 "$(relay_get u up blackholed)" "the relay counted what the black hole swallowed"
assert_ge 1 "$(relay_get u first-up after_off_us)" "the first datagram after the black hole is stamped"
# Every datagram in is out or dropped; bytes as well.
for d in up down; do
        in=$(relay_get u $d in) out=$(relay_get u $d out) dropped=$(relay_get u $d dropped)
        assert_eq "$in" "$((out + dropped))" "$d: datagrams in = out + dropped"
        in=$(relay_get u $d bytes_in) out=$(relay_get u $d bytes_out) dropped=$(relay_get u $d bytes_dropped)
        assert_eq "$in" "$((out + dropped))" "$d: bytes in = out + dropped"
done

# --- a scheduled black hole: on from the start for 1.5 s.
start_relay udp s --target="127.0.0.1:$ECHO_PORT" --blackhole=0+1.5 --blackhole=30+1
assert_grep "${RELAY_OUT[s]}" '^blackhole on why=schedule mono_us=[0-9]+ real_us=[0-9]+$' "a black hole scheduled at 0"
wait_for --timeout=5 grep -q '^blackhole off why=schedule ' "${RELAY_OUT[s]}" || fail "the scheduled black hole did not end"
python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1]))); s.recv(100)' "${RELAY_PORT[s]}" ||
        fail "no reply after the scheduled black hole"
wait_for --timeout=5 grep -q '^first-up ' "${RELAY_OUT[s]}" || fail "no first-up line after the black hole"
harness_log "ok: a scheduled black hole, then traffic"
if "$IOTPUB_BUILD/tests/bin/udp-relay" --listen=127.0.0.1:0 --target=127.0.0.1:1 --blackhole=5 2>"$LOGDIR/bad.err"; then
        fail "udp-relay accepted --blackhole=5"
fi
assert_grep "$LOGDIR/bad.err" "invalid argument '5'" "a bad --blackhole is refused by name"

# --- TCP: 200 ms each way, 80 kbit/s each way, a stall by SIGUSR2.
start_echo tcp
start_relay tcp t --target="127.0.0.1:$ECHO_PORT" --delay-ms=200 --rate-kbit=80
R=$LOGDIR/tcp-scenario.out
python3 "$ECHO" tcp "${RELAY_PORT[t]}" "${RELAY_PID[t]}" "${RELAY_OUT[t]}" >"$R" || fail "the TCP scenario failed"
cat "$R"
assert_between 400 700 "$(kv "$R" rtt_ms)" "TCP round trip at 200 ms each way"
# 8,000 bytes leave in 800 ms at 80 kbit/s; their echo follows 200 ms behind, then the last segment comes back.
assert_between 1200 2500 "$(kv "$R" stream_ms)" "8,000 bytes echoed at 80 kbit/s each way"
assert_eq 0 "$(kv "$R" hole_bytes)" "a stalled stream holds its bytes"
assert_eq 100 "$(kv "$R" after_bytes)" "held bytes arrive when the stall ends"
relay_dump t
assert_eq 8101 "$(relay_get t up bytes_out)" "TCP bytes counted upstream"
assert_eq 8101 "$(relay_get t down bytes_out)" "TCP bytes counted downstream"
assert_ge 1 "$(relay_get t first-up after_off_us)" "the first bytes after the stall are stamped"
