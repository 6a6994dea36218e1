#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/bench/field.sh BUILD_DIR: `make bench-field`, iotpubd on an emulated NB-IoT link. Each device talks to
# iotpub-cloudsim through a relay of its own (tests/tools/udp-relay for coap-aes and coap-dtls, tcp-relay for
# https), so devices do not share a link: the drains run at the same time, then nat and black hole, then bytes.
# Markdown tables go to stdout, JSON
# to BUILD_DIR/bench/field.json. Numbers never fail the run; a lost message does.
#
# The link: FIELD_DELAY_MS (750) each way, so RTT = 2 x that, and FIELD_RATE_KBIT (40) each way.
#
# Table "drain": FIELD_COUNT (200) messages of FIELD_SIZE (120) bytes are queued while the device's relay is not
#   there yet (the device fails and backs off, BackoffMinSec=60 keeps it from trying again), then the relay comes
#   up and Device.Flush is timed until the device's queue is empty (bench-publish --mode=drain): session, /auth
#   and every message, with the seeded loss each way of the row (udp-relay --loss; https: no loss, TCP would
#   hide it behind its own retransmission). One daemon per MaxInFlight value (FIELD_WINDOWS, "1 4 16"), the key
#   written in [Daemon] and in each identity's [Device]; a daemon that refuses it runs without, and its rows say
#   "MaxInFlight unsupported" (the window is then 1).
#   columns: transport | MaxInFlight | loss % each way | drain s | one-in-flight limit s (COUNT x RTT) |
#   bandwidth limit s (bytes offered to the link in its busier direction, headers, retransmissions and handshakes
#   included, x 8 / rate) | lost (published, never recorded by cloudsim: must be 0) | duplicates (recorded twice)
#   | device Retries | note.
# Table "nat": a device delivers one message, idles FIELD_NAT_IDLE (90) s behind a relay that forgets a mapping
#   after FIELD_NAT_TIMEOUT (45) s, then publishes one message: the time from that Publish to Delivered, beside the
#   goal of one handshake + two RTTs (< 8 s). The daemon has NatTimeoutSec=FIELD_DAEMON_NAT_SEC (30).
#   columns: transport | idle s / NAT timeout s | to delivery s | goal s | note.
# Table "blackhole": a device with a live session; its relay goes black (SIGUSR2) for FIELD_HOLE_SEC (120) s,
#   FIELD_HOLE_COUNT (10) messages are published during it; from the end of the black hole, the time to the
#   first datagram (https: byte) the relay sends upstream, and to the device's empty queue. Daemon defaults
#   (BackoffMinSec=1, BackoffMaxSec=300).
#   columns: transport | black hole s | messages | to first upstream s | to empty queue s | lost | note.
# Table "bytes": UDP payload both ways (DTLS records included) or TCP bytes both ways (TLS included), counted by
#   an unshaped relay, per delivered FIELD_SIZE-byte message, for FIELD_BYTES_COUNTS (1 10 100) messages: cold
#   (a fresh daemon and state directory: handshake and /auth) and restart (the daemon restarted, cached token).
#   columns: transport | messages | cold B/msg | restart B/msg | payload B.
#
# Knobs: FIELD_CASES (drain,nat,blackhole,bytes), FIELD_TRANSPORTS ("coap-aes coap-dtls https"), FIELD_WINDOWS,
# FIELD_LOSSES ("0 5"), FIELD_COUNT, FIELD_SIZE, FIELD_DELAY_MS, FIELD_RATE_KBIT, FIELD_SEED (11), FIELD_NAT_IDLE,
# FIELD_NAT_TIMEOUT, FIELD_DAEMON_NAT_SEC, FIELD_HOLE_SEC, FIELD_HOLE_COUNT, FIELD_BYTES_COUNTS, FIELD_ACK_MS
# (CoapAckTimeoutMSec=, unset: the daemon's default). FIELD_SMOKE=1 shrinks everything for a quick run (~3 min).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
export IOTPUB_BUILD=$BUILD
# shellcheck source=../lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/field-lib.sh"

if [[ -n "${FIELD_SMOKE:-}" ]]; then
        : "${FIELD_COUNT:=20}" "${FIELD_WINDOWS:=1 4}" "${FIELD_NAT_IDLE:=30}" "${FIELD_NAT_TIMEOUT:=15}"
        : "${FIELD_HOLE_SEC:=30}" "${FIELD_HOLE_COUNT:=3}" "${FIELD_BYTES_COUNTS:=1 10}"
fi
CASES=${FIELD_CASES:-drain,nat,blackhole,bytes}
TRANSPORTS=${FIELD_TRANSPORTS:-coap-aes coap-dtls https}
WINDOWS=${FIELD_WINDOWS:-1 4 16}
LOSSES=${FIELD_LOSSES:-0 5}
COUNT=${FIELD_COUNT:-200}
SIZE=${FIELD_SIZE:-120}
DELAY_MS=${FIELD_DELAY_MS:-750}
RATE=${FIELD_RATE_KBIT:-40}
SEED=${FIELD_SEED:-11}
NAT_IDLE=${FIELD_NAT_IDLE:-90}
NAT_TIMEOUT=${FIELD_NAT_TIMEOUT:-45}
DAEMON_NAT_SEC=${FIELD_DAEMON_NAT_SEC:-30}
HOLE_SEC=${FIELD_HOLE_SEC:-120}
HOLE_COUNT=${FIELD_HOLE_COUNT:-10}
BYTES_COUNTS=${FIELD_BYTES_COUNTS:-1 10 100}
RTT_MS=$((2 * DELAY_MS))
DRAIN_TIMEOUT=$((COUNT * RTT_MS * 2 / 1000 + 180))
LINK=(--delay-ms="$DELAY_MS" --rate-kbit="$RATE")
has_case() { [[ ",$CASES," == *",$1,"* ]]; }

harness_init bench-field "$PUBCLIENT" "$BUILD/bench/bench-publish" "$BUILD/tests/bin/udp-relay" \
        "$BUILD/tests/bin/tcp-relay"
ROWS=$HARNESS_DIR/rows.tsv
: >"$ROWS"
harness_pki

# --- the identities (cloudsim reads them once) and the daemons' instances
DRAIN_DEVS=() NAT_DEVS=() HOLE_DEVS=() BYTES_DEVS=() FIELD_LOST=()
for t in $TRANSPORTS; do
        short=${t#coap-}
        if has_case drain; then
                for w in $WINDOWS; do
                        for l in $LOSSES; do
                                [[ $t != https || $l == 0 ]] || continue
                                d=d$w$short$l
                                new_identity "$d"
                                DRAIN_DEVS+=("$d")
                                DEV_INST[$d]=drain$w DEV_TRANSPORT[$d]=$t DEV_LOSS[$d]=$l DEV_WINDOW[$d]=$w
                        done
                done
        fi
        if has_case nat && [[ $t != https ]]; then
                new_identity "nat$short"
                NAT_DEVS+=("nat$short")
                DEV_INST[nat$short]=field DEV_TRANSPORT[nat$short]=$t
        fi
        if has_case blackhole; then
                new_identity "hole$short"
                HOLE_DEVS+=("hole$short")
                DEV_INST[hole$short]=field DEV_TRANSPORT[hole$short]=$t
        fi
        if has_case bytes; then
                new_identity "bytes$short"
                BYTES_DEVS+=("bytes$short")
                DEV_INST[bytes$short]=bytes DEV_TRANSPORT[bytes$short]=$t
        fi
done
start_cloudsim "$CLOUD_DEVICES" ${FIELD_CLOUDSIM_LOG:+--log-level=$FIELD_CLOUDSIM_LOG} --dtls-port=0 --https-port=0 --cert="$PKI_CERT" --key="$PKI_KEY"
CLOUD_PORT[coap-aes]=$CLOUDSIM_PORT CLOUD_PORT[coap-dtls]=$CLOUDSIM_DTLS_PORT CLOUD_PORT[https]=$CLOUDSIM_HTTPS_PORT
BASE_CONF=()
[[ -z "${FIELD_ACK_MS:-}" ]] || BASE_CONF+=("CoapAckTimeoutMSec=$FIELD_ACK_MS")

# ============ drain: queue with the relay away, then Flush through the link until the queue is empty
DRAIN_PIDS=()
if has_case drain; then
        for w in $WINDOWS; do
                instance_new "drain$w" "MaxInFlight=$w" "MaxInFlight=$w" BackoffMinSec=60 BackoffMaxSec=120 \
                        "${BASE_CONF[@]}"
        done
        for d in "${DRAIN_DEVS[@]}"; do
                DEV_PORT[$d]=$(free_port "$(relay_kind "$d")")
                instance_add_device "${DEV_INST[$d]}" "$d"
        done
        for w in $WINDOWS; do instance_start "drain$w"; done
        for d in "${DRAIN_DEVS[@]}"; do
                instance_use "${DEV_INST[$d]}"
                pubclient "$LOGDIR/pub.$d.json" --device="$d" --topic="$(topic_of "$d")" --count="$COUNT" \
                        --size="$SIZE" --prefix="$d" --no-wait --timeout=60 || fail "Publish to $d failed"
        done
        for d in "${DRAIN_DEVS[@]}"; do
                instance_use "${DEV_INST[$d]}"
                wait_for --timeout=150 device_prop_is "$d" State backoff ||
                        fail "$d did not back off with its relay away (State $(device_prop "$d" State))"
        done
        harness_log "drain: ${#DRAIN_DEVS[@]} devices queued $COUNT each and backed off; relays come up"
        for d in "${DRAIN_DEVS[@]}"; do
                args=(--listen="127.0.0.1:${DEV_PORT[$d]}" --target="127.0.0.1:${CLOUD_PORT[${DEV_TRANSPORT[$d]}]}"
                        "${LINK[@]}")
                [[ $(relay_kind "$d") == tcp ]] || args+=(--loss="${DEV_LOSS[$d]}" --seed="$SEED")
                start_relay "$(relay_kind "$d")" "$d" "${args[@]}"
        done
        for d in "${DRAIN_DEVS[@]}"; do
                instance_use "${DEV_INST[$d]}"
                "$BUILD/bench/bench-publish" --mode=drain --address="$BUS" --device="$d" --timeout="$DRAIN_TIMEOUT" \
                        >"$LOGDIR/drain.$d.json" 2>>"$LOGDIR/drain.$d.err" &
                DRAIN_PIDS+=($!)
        done
fi

if has_case drain; then
        for i in "${!DRAIN_PIDS[@]}"; do
                wait "${DRAIN_PIDS[i]}" || harness_log "the drain of ${DRAIN_DEVS[i]} did not finish: $(cat "$LOGDIR/drain.${DRAIN_DEVS[i]}.err")"
        done
        for d in "${DRAIN_DEVS[@]}"; do drain_result "$d"; done
fi

# ============ nat and black hole: a daemon with the defaults, after the drains (cloudsim, on libcoap 4.3.1, was
# seen to crash in libcoap's DTLS code when both ran at the same time; see the issue 11 notes)
if has_case nat || has_case blackhole; then
        instance_new field "NatTimeoutSec=$DAEMON_NAT_SEC" "" "${BASE_CONF[@]}"
        for d in "${NAT_DEVS[@]}" "${HOLE_DEVS[@]}"; do
                args=(--target="127.0.0.1:${CLOUD_PORT[${DEV_TRANSPORT[$d]}]}" "${LINK[@]}")
                [[ $d != nat* ]] || args+=(--nat-timeout="$NAT_TIMEOUT")
                start_relay "$(relay_kind "$d")" "$d" "${args[@]}"
                DEV_PORT[$d]=${RELAY_PORT[$d]}
                instance_add_device field "$d"
        done
        instance_start field
        # A session (and token) first, one message each.
        for d in "${NAT_DEVS[@]}" "${HOLE_DEVS[@]}"; do
                pubclient "$LOGDIR/pub.$d.first.json" --device="$d" --topic="$(topic_of "$d")" --count=1 \
                        --size="$SIZE" --prefix="$d-first" --timeout=120 || fail "$d: the first message was not delivered"
        done
        t_idle=$(now_us)
        harness_log "nat/blackhole: sessions up; ${NAT_IDLE} s idle behind the NAT, ${HOLE_SEC} s black hole"
        for d in "${HOLE_DEVS[@]}"; do relay_blackhole_toggle "$d"; done
        t_hole=$(now_us)
        for d in "${HOLE_DEVS[@]}"; do
                pubclient "$LOGDIR/pub.$d.json" --device="$d" --topic="$(topic_of "$d")" --count="$HOLE_COUNT" \
                        --size="$SIZE" --prefix="$d" --no-wait --timeout=60 || fail "Publish to $d failed"
        done
        declare -A NAT_T0=() NAT_PIDS=()
        # The idle time and the black hole are what is emulated here: waiting them out is the point.
        sleep_until $((t_idle + NAT_IDLE * 1000000))
        for d in "${NAT_DEVS[@]}"; do
                NAT_T0[$d]=$(now_us)
                (
                        pubclient "$LOGDIR/pub.$d.json" --device="$d" --topic="$(topic_of "$d")" --count=1 \
                                --size="$SIZE" --prefix="$d-after" --timeout=300 || true
                        now_us >"$LOGDIR/nat.$d.t1"
                ) &
                NAT_PIDS[$d]=$!
        done
        sleep_until $((t_hole + HOLE_SEC * 1000000))
        for d in "${HOLE_DEVS[@]}"; do relay_blackhole_toggle "$d"; done
        hole_results "$(now_us)"
        for d in "${NAT_DEVS[@]}"; do
                wait "${NAT_PIDS[$d]}" || true
                nat_result "$d"
        done
fi


# ============ bytes: unshaped relays, a cold daemon, then a restarted one, per count
if has_case bytes; then
        instance_new bytes "" "" "${BASE_CONF[@]}"
        for d in "${BYTES_DEVS[@]}"; do
                start_relay "$(relay_kind "$d")" "$d" --target="127.0.0.1:${CLOUD_PORT[${DEV_TRANSPORT[$d]}]}"
                DEV_PORT[$d]=${RELAY_PORT[$d]}
                instance_add_device bytes "$d"
        done
        for n in $BYTES_COUNTS; do
                instance_wipe_state bytes
                bytes_round cold "$n"
                instance_stop bytes
                bytes_round restart "$n"
                instance_stop bytes
        done
        bytes_results
fi

mkdir -p "$BUILD/bench"
python3 "$(dirname "$0")/field-report.py" "$ROWS" "$BUILD/bench/field.json" cases="$CASES" count="$COUNT" \
        size="$SIZE" delay_ms_each_way="$DELAY_MS" rate_kbit_each_way="$RATE" seed="$SEED" nat_idle_s="$NAT_IDLE" \
        nat_timeout_s="$NAT_TIMEOUT" daemon_nat_timeout_s="$DAEMON_NAT_SEC" hole_s="$HOLE_SEC" \
        hole_count="$HOLE_COUNT" ack_ms="${FIELD_ACK_MS:-default}" >&"$HARNESS_STDOUT"
((${#FIELD_LOST[@]} == 0)) || fail "messages lost on: ${FIELD_LOST[*]}"
