#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/bench/run.sh BUILD_DIR: the benchmarks of `make bench`. Every row is measured beside its baseline in the
# same run; a markdown table goes to stdout, JSON to BUILD_DIR/bench/results.json. Numbers never fail the run.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
export IOTPUB_BUILD=$BUILD
# shellcheck source=../lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"
BENCH=$BUILD/bench
N_LAT=${BENCH_LATENCY_COUNT:-2000}
N_CONC=${BENCH_CONCURRENT_COUNT:-300}
N_DELIV=${BENCH_DELIVER_COUNT:-2000}
N_ROUNDS=${BENCH_DELIVER_ROUNDS:-3}
N_BYTES=${BENCH_BYTES_COUNT:-200}
N_BACKLOG=${BENCH_BACKLOG:-100000}
IDLE_SEC=${BENCH_IDLE_SECONDS:-20}
harness_init bench "$PUBCLIENT" "$BENCH/bench-publish" "$BENCH/bench-direct-coap" "$BENCH/bench-direct-https"
ROWS=$HARNESS_DIR/rows.tsv
: >"$ROWS"

# row METRIC UNIT IOTPUB BASELINE BASELINE-NAME: one table line; the ratio is iotpub / baseline.
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }
now() { echo "${EPOCHREALTIME/./}"; }
private_dirty_kib() { awk '/^Private_Dirty:/ { print $2 }' "/proc/$1/smaps_rollup"; }
ctx_switches() { awk '/ctxt_switches/ { n += $2 } END { print n }' "/proc/$1/status"; }
dprop() { device_prop "$1" "$2" | awk '{ print $NF }'; }
queue_empty() { [[ $(manager_prop QueueMessages | awk '{ print $NF }') == 0 ]]; }
# publish_env NAME COUNT: COUNT environmental-sensor payloads, one call at a time (bench-publish's latency mode).
publish_env() {
        "$BENCH/bench-publish" --mode=latency --address="$BUS" --device="$1" --topic="$(topic_of "$1")" \
                --count="$2" >/dev/null || fail "bench-publish on $1 failed"
}

start_bus
harness_pki
for n in aes dtls https cbor direct; do new_identity "$n"; done
start_cloudsim "$CLOUD_DEVICES" --dtls-port=0 --https-port=0 --cert="$PKI_CERT" --key="$PKI_KEY"
COAP_PORT=$CLOUDSIM_PORT DTLS_PORT=$CLOUDSIM_DTLS_PORT HTTPS_PORT=$CLOUDSIM_HTTPS_PORT
# cloud_back: cloudsim again, every endpoint on the port the identities point at.
cloud_back() {
        start_cloudsim "$CLOUD_DEVICES" --coap-port="$COAP_PORT" --dtls-port="$DTLS_PORT" --https-port="$HTTPS_PORT" \
                --cert="$PKI_CERT" --key="$PKI_KEY"
}
configure_identity aes "$COAP_PORT"
configure_identity cbor "$COAP_PORT" PayloadEncoding=cbor
HARNESS_TRANSPORT=coap-dtls configure_identity dtls "$DTLS_PORT"
HARNESS_TRANSPORT=https configure_identity https "$HTTPS_PORT"
# Only Device.Flush ends the wait of a device whose cloud went away (the delivery runs below).
printf '[Daemon]\nBackoffMinSec=60\nBackoffMaxSec=120\n' >"$CONFDIR/iotpubd.conf"
DAEMON_EXTRA=(--log-level=info)

# --- start-up, idle memory, idle wakeups
t0=$(now)
start_daemon "${DAEMON_EXTRA[@]}"
t_ready=$(($(now) - t0))
wait_for --timeout=20 device_prop_is aes State idle || true
mem_idle=$(private_dirty_kib "$DAEMON_PID")
c0=$(ctx_switches "$DAEMON_PID")
sleep "$IDLE_SEC"
wakeups=$((($(ctx_switches "$DAEMON_PID") - c0) * 60 / IDLE_SEC))

# --- acceptance latency, fsync floor, concurrency
lat=$("$BENCH/bench-publish" --mode=latency --address="$BUS" --device=aes --topic="$(topic_of aes)" --count="$N_LAT")
fs=$("$BENCH/bench-publish" --mode=fsync --dir="$STATEDIR" --count=500)
conc=$("$BENCH/bench-publish" --mode=concurrent --address="$BUS" --device=aes --topic="$(topic_of aes)" \
        --count="$N_CONC" --conns=8)
jv() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
floor50=$(python3 -c "print(round($(jv "$lat" ping_p50_us) + $(jv "$fs" fsync_p50_us), 1))")
floor99=$(python3 -c "print(round($(jv "$lat" ping_p99_us) + $(jv "$fs" fsync_p99_us), 1))")
row "Publish accept latency p50" µs "$(jv "$lat" publish_p50_us)" "$floor50" "Peer.Ping p50 + fsync p50"
row "Publish accept latency p99" µs "$(jv "$lat" publish_p99_us)" "$floor99" "Peer.Ping p99 + fsync p99"
row "Accepted publishes/s, 8 callers" "msg/s" "$(jv "$conc" publish_per_s)" "$(jv "$conc" ping_per_s)" \
        "Peer.Ping/s, 8 callers"
wait_for --timeout=300 queue_empty || fail "the queue did not drain after the acceptance runs"

# --- delivery rate per transport. N_DELIV are queued with the cloud away (so that acceptance is not what is
# timed), the cloud comes back on the same ports (fresh, as after an outage: it knows no session or token), and
# Device.Flush is timed until the device's queue is empty (bench-publish --mode=drain; BackoffMinSec=60 keeps
# the daemon from starting on its own). Right after it, against the same fresh cloudsim, the direct client of
# that transport does the same job without a daemon: session, /auth, N_DELIV publishes, one in flight. Both are
# the median of N_ROUNDS such pairs, as the CPU may be shared.
umask 077
printf '%s\n' "${ID_SECRET[direct]}" >"$HARNESS_DIR/direct.secret"
declare -A DIRECT=() DIRECT_RATE=()
direct_client() {
        local auth=(--product-key="${ID_PK[direct]}" --device-name=direct --secret-file="$HARNESS_DIR/direct.secret"
                --count="$N_DELIV")
        case $1 in
        aes) DIRECT[aes]=$("$BENCH/bench-direct-coap" --port="$COAP_PORT" "${auth[@]}") ;;
        dtls) DIRECT[dtls]=$("$BENCH/bench-direct-coap" --dtls --port="$DTLS_PORT" "${auth[@]}") ;;
        https) DIRECT[https]=$("$BENCH/bench-direct-https" --url="https://localhost:$HTTPS_PORT" --ca="$PKI_CA" \
                "${auth[@]}") ;;
        esac || fail "the direct $1 client failed"
}
median() { python3 -c 'import statistics, sys; print(round(statistics.median(map(float, sys.argv[1:]))))' "$@"; }
for n in aes dtls https; do
        rates=() direct_rates=()
        for ((round = 0; round < N_ROUNDS; round++)); do
                stop_cloudsim
                publish_env "$n" "$N_DELIV"
                wait_for --timeout=120 device_prop_is "$n" State backoff ||
                        fail "$n did not go into backoff with the cloud away (State $(device_prop "$n" State))"
                cloud_back
                drain=$("$BENCH/bench-publish" --mode=drain --address="$BUS" --device="$n" --timeout=600) ||
                        fail "the queue of $n did not drain after Flush"
                [[ $(jv "$drain" queued) == "$N_DELIV" ]] || fail "$n had $(jv "$drain" queued) queued, not $N_DELIV"
                rates+=("$(jv "$drain" delivered_per_s)")
                direct_client "$n"
                direct_rates+=("$(jv "${DIRECT[$n]}" delivered_per_s)")
        done
        harness_log "delivered/s of $n: ${rates[*]}; direct: ${direct_rates[*]}"
        DIRECT_RATE[$n]=$(median "${direct_rates[@]}")
        what="drain of $N_DELIV queued, Flush to empty, median of $N_ROUNDS"
        case $n in
        aes) row "Delivered/s, coap-aes ($what)" "msg/s" "$(median "${rates[@]}")" "${DIRECT_RATE[aes]}" \
                "direct libcoap client: auth + $N_DELIV publishes" ;;
        dtls) row "Delivered/s, coap-dtls ($what)" "msg/s" "$(median "${rates[@]}")" "${DIRECT_RATE[dtls]}" \
                "direct libcoap DTLS-PSK client: handshake + auth + $N_DELIV publishes" ;;
        https) row "Delivered/s, https ($what)" "msg/s" "$(median "${rates[@]}")" "${DIRECT_RATE[https]}" \
                "direct libcurl client, 1 kept-alive connection: TLS + auth + $N_DELIV publishes" ;;
        esac
done

# --- bytes on the wire: the daemon's BytesOut+BytesIn (CoAP datagrams / HTTP bytes) per message
for n in aes dtls https cbor; do
        b0=$(($(dprop "$n" BytesOut) + $(dprop "$n" BytesIn)))
        for ((i = 0; i < N_BYTES / 100; i++)); do publish_env "$n" 100; done
        wait_for --timeout=120 queue_empty || fail "queue of $n did not drain"
        b1=$(($(dprop "$n" BytesOut) + $(dprop "$n" BytesIn)))
        per=$(((b1 - b0) / N_BYTES))
        case $n in
        aes) row "Bytes/msg, coap-aes, envsensor JSON" B "$per" "$(jv "${DIRECT[aes]}" min_bytes_json)" \
                "PROTOCOL.md A.8 request + 4-byte ACK" ;;
        dtls) row "Bytes/msg, coap-dtls, envsensor JSON (no DTLS records)" B "$per" \
                "$(jv "${DIRECT[dtls]}" min_bytes_json)" "PROTOCOL.md B.4 request + 4-byte ACK" ;;
        https) row "Bytes/msg, https, envsensor JSON" B "$per" "$(jv "${DIRECT[https]}" bytes_per_msg)" \
                "direct libcurl client (no User-Agent)" ;;
        cbor) row "Bytes/msg, coap-aes, PayloadEncoding=cbor" B "$per" "$(jv "${DIRECT[aes]}" min_bytes_cbor)" \
                "PROTOCOL.md A.8 request + 4-byte ACK" ;;
        esac
done

# --- backlog: queue N_BACKLOG with the cloud away, restart the daemon, time READY=1 and the drain. The queue
# fills a daemon started afresh, so that its memory is what the backlog costs, not the high-water mark the
# allocator keeps from the runs above.
stop_cloudsim
stop_daemon
start_daemon "${DAEMON_EXTRA[@]}"
t0=$(now)
publish_env aes "$N_BACKLOG"
t_fill=$(($(now) - t0))
mem_backlog=$(private_dirty_kib "$DAEMON_PID")
stop_daemon
start_cloudsim "$CLOUD_DEVICES" --coap-port="$COAP_PORT"
t0=$(now)
start_daemon "${DAEMON_EXTRA[@]}"
t_ready_backlog=$(($(now) - t0))
wait_for --timeout=600 queue_empty || fail "the backlog did not drain"
t_drain=$(($(now) - t0))
row "Private_Dirty, idle, 1 identity (4 configured)" KiB "$mem_idle" "" ""
row "Private_Dirty, $N_BACKLOG queued" KiB "$mem_backlog" "$mem_idle" "idle"
row "Start to READY=1, empty outbox" ms "$((t_ready / 1000))" "" ""
row "Start to READY=1, $N_BACKLOG queued" ms "$((t_ready_backlog / 1000))" "$((t_ready / 1000))" "empty outbox"
row "Drain $N_BACKLOG backlog (start to empty queue)" s "$(python3 -c "print(round($t_drain / 1e6, 1))")" \
        "$(python3 -c "print(round($N_BACKLOG / ${DIRECT_RATE[aes]}, 2))")" \
        "same count at the direct client's rate"
row "Queue $N_BACKLOG while offline (accept only, 1 caller)" s "$(python3 -c "print(round($t_fill / 1e6, 1))")" "" ""
row "Wakeups/min idle (context switches over ${IDLE_SEC} s)" "/min" "$wakeups" 0 "target"

# --- instructions per delivered message, under callgrind: counters zeroed when idle, dumped after N messages
N_CG=${BENCH_CALLGRIND_COUNT:-200}
if command -v callgrind_control >/dev/null; then
        stop_daemon
        HARNESS_WRAPPER=(valgrind --tool=callgrind "--callgrind-out-file=$HARNESS_DIR/cg.%p")
        HARNESS_READY_TIMEOUT=120
        start_daemon "${DAEMON_EXTRA[@]}"
        wait_for --timeout=60 device_prop_is aes State idle || true
        callgrind_control -z "$DAEMON_PID" >/dev/null
        publish_env aes "$N_CG"
        wait_for --timeout=600 queue_empty || fail "queue did not drain under callgrind"
        callgrind_control -d "$DAEMON_PID" >/dev/null
        ir=$(cat "$HARNESS_DIR"/cg."$DAEMON_PID".* 2>/dev/null | awk '/^summary:/ { s += $2 } END { print s + 0 }')
        cg_direct="$HARNESS_DIR/cgd.out"
        valgrind --tool=callgrind --callgrind-out-file="$cg_direct" "$BENCH/bench-direct-coap" --port="$COAP_PORT" \
                --product-key="${ID_PK[direct]}" --device-name=direct --secret-file="$HARNESS_DIR/direct.secret" \
                --count="$N_CG" >/dev/null 2>"$LOGDIR/cg-direct.err" || true
        ird=$(awk '/^summary:/ { print $2 }' "$cg_direct" 2>/dev/null || echo 0)
        row "Instructions/delivered msg (callgrind, coap-aes, incl. accept)" Ir "$((ir / N_CG))" \
                "$((${ird:-0} / N_CG))" "direct client, whole process incl. start-up"
        stop_daemon
fi

# --- the table and the JSON
python3 - "$ROWS" "$BUILD/bench/results.json" <<'EOF'
import json, sys, datetime, os
rows = []
for line in open(sys.argv[1]):
    metric, unit, ours, base, base_name = line.rstrip("\n").split("\t")
    f = lambda s: float(s) if s not in ("",) else None
    o, b = f(ours), f(base)
    ratio = round(o / b, 2) if o is not None and b else None
    rows.append(dict(metric=metric, unit=unit, iotpub=o, baseline=b, baseline_is=base_name, ratio=ratio))
fmt = lambda v: "" if v is None else (str(int(v)) if v == int(v) and abs(v) >= 100 else f"{v:g}")
print("| metric | iotpub | baseline | ratio |")
print("|---|---:|---:|---:|")
for r in rows:
    base = fmt(r["baseline"]) + (f" ({r['baseline_is']})" if r["baseline_is"] else "")
    print(f"| {r['metric']} ({r['unit']}) | {fmt(r['iotpub'])} | {base} | {'' if r['ratio'] is None else r['ratio']} |")
json.dump(dict(date=datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%MZ"), cpus=os.cpu_count(),
               rows=rows), open(sys.argv[2], "w"), indent=1)
EOF
