#!/usr/bin/env bash
# One odd CoAP reply must not stall a device: an empty ACK with no separate response after it, or an ACK with the
# request's message id but another token, on a publish and on /auth. For each of the four cases, one device is
# left alone (it abandons the exchange at the deadline, RFC 7252 MAX_TRANSMIT_WAIT: 46.5 s at
# CoapAckTimeoutMSec=1000, counts a retry and sends again), one gets Flush and one Reauthenticate while its
# exchange is outstanding (sent again at once: delivered long before the deadline). The faulty cloud is replaced
# by a sound one on the same port once every exchange is stalled; then every message must arrive exactly once,
# in order. The four cases run at the same time, each against its own cloudsim.
# transports: coap-aes coap-dtls
# concurrent: yes
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-fault-stall "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

COUNT=3
DEADLINE_S=46.5
MODES=(empty-ack wrong-token)
KINDS=(pub auth)
# pub: the publish gets the fault (/auth is answered); auth: /auth gets it.
declare -A PORT=() PID=() ERR=()

# mode_tag MODE: a short tag for device names.
mode_tag() { [[ $1 == empty-ack ]] && echo ea || echo wt; }
devices_of() { local k; for k in wait flush reauth; do echo "$(mode_tag "$1")_$2_$k"; done; }
state_is() { [[ $(device_prop "$1" State) == "$2" ]]; }
injected() { grep -c "injected fault ($1)" "$2" || true; }
injected_at_least() { (($(injected "$1" "$2") >= $3)); }
delivered() { check_record "$1" --pubclient="$LOGDIR/pub-$1.json" --topic="$(topic_of "$1")" >/dev/null; }
device_call() { bctl call org.iotpub1 "$(device_path "$1")" org.iotpub1.Device "$2"; }

# start_case MODE KIND [PORT-ARG]: cloudsim for one case; faulty unless PORT-ARG (a restart on the same port).
start_case() {
        local mode=$1 kind=$2 args=()
        if [[ -n ${3:-} ]]; then
                args=("$3")
        else
                args=(--fault-rate=100 --fault-mode="$mode" --log-level=debug)
                [[ $kind == pub ]] || args+=(--fault-auth)
        fi
        start_cloudsim "$CLOUD_DEVICES" "${args[@]}"
        PORT[$mode/$kind]=$(transport_port) PID[$mode/$kind]=$CLOUDSIM_PID
        ERR[$mode/$kind]=$LOGDIR/cloudsim.$HARNESS_SEQ.err
}
stop_case() {
        harness_stop_pid "${PID[$1/$2]}" iotpub-cloudsim || fail "cloudsim ($1 $2) did not exit on SIGTERM"
        harness_unregister "${PID[$1/$2]}"
}

start_bus
# cloudsim reads its devices file at start: every identity first.
for mode in "${MODES[@]}"; do
        for kind in "${KINDS[@]}"; do
                for d in $(devices_of "$mode" "$kind"); do new_identity "$d"; done
        done
done
for mode in "${MODES[@]}"; do
        for kind in "${KINDS[@]}"; do
                start_case "$mode" "$kind"
                for d in $(devices_of "$mode" "$kind"); do configure_identity "$d" "${PORT[$mode/$kind]}"; done
        done
done
printf '[Daemon]\nBackoffMinSec=1\nBackoffMaxSec=2\nCoapAckTimeoutMSec=1000\n' >"$CONFDIR/iotpubd.conf"
start_daemon

# --- Every device's first exchange of the faulted kind gets the odd reply and nothing after it.
t0=$SECONDS
for mode in "${MODES[@]}"; do
        for kind in "${KINDS[@]}"; do
                for d in $(devices_of "$mode" "$kind"); do
                        pubclient "$LOGDIR/pub-$d.json" --device="$d" --topic="$(topic_of "$d")" --count=$COUNT \
                                --prefix="$d" --no-wait --timeout=20 || fail "publishing to $d: $(cat "$LOGDIR/pub-$d.json")"
                done
        done
done
for mode in "${MODES[@]}"; do
        for kind in "${KINDS[@]}"; do
                wait_for --timeout=20 injected_at_least "$mode" "${ERR[$mode/$kind]}" 3 ||
                        fail "cloudsim ($mode $kind) answered $(injected "$mode" "${ERR[$mode/$kind]}") of 3 requests oddly"
                want=sending
                [[ $kind == pub ]] || want=authenticating
                for d in $(devices_of "$mode" "$kind"); do
                        state_is "$d" "$want" || fail "$d: State $(device_prop "$d" State), not $want"
                        assert_eq 0 "$(device_prop "$d" Retries)" "$d Retries while its exchange is outstanding"
                done
        done
done
harness_log "ok: 12 exchanges outstanding after an odd reply, $((SECONDS - t0)) s after the publishes"

# --- The cloud behaves from now on (same ports: the identities point there).
for mode in "${MODES[@]}"; do
        for kind in "${KINDS[@]}"; do
                stop_case "$mode" "$kind"
                start_case "$mode" "$kind" "$(cloudsim_port_arg "${PORT[$mode/$kind]}")"
        done
done

# --- Flush and Reauthenticate abandon the outstanding exchange and send again at once: well within the
# deadline, which is still over 30 s away.
for mode in "${MODES[@]}"; do
        for kind in "${KINDS[@]}"; do
                tag=$(mode_tag "$mode")
                device_call "${tag}_${kind}_flush" Flush
                device_call "${tag}_${kind}_reauth" Reauthenticate
        done
done
t_admin=$SECONDS
for mode in "${MODES[@]}"; do
        for kind in "${KINDS[@]}"; do
                for k in flush reauth; do
                        d=$(mode_tag "$mode")_${kind}_$k
                        wait_for --timeout=10 delivered "$d" ||
                                fail "$d: not delivered within 10 s of $k ($(check_record "$d" \
                                        --pubclient="$LOGDIR/pub-$d.json" | head -n1); State $(device_prop "$d" State))"
                        assert_ge 1 "$(device_prop "$d" Retries)" "$d Retries (the abandoned exchange)"
                done
                d=$(mode_tag "$mode")_${kind}_wait
                state_is "$d" "$([[ $kind == pub ]] && echo sending || echo authenticating)" ||
                        fail "$d: State $(device_prop "$d" State) before the deadline; nothing should have moved it"
        done
done
harness_log "ok: Flush and Reauthenticate delivered 8 stalled devices' messages in $((SECONDS - t_admin)) s"
# Reauthenticate made a fresh /auth even where the publish stalled (its token is dropped first).
for mode in "${MODES[@]}"; do
        d=$(mode_tag "$mode")_pub_reauth
        assert_ge 2 "$(record_count --event=auth --device="$d")" "$d authentications recorded"
done

# --- Left alone, the other four give up at the deadline, count a retry and send again after backoff.
for mode in "${MODES[@]}"; do
        for kind in "${KINDS[@]}"; do
                d=$(mode_tag "$mode")_${kind}_wait
                wait_for --timeout=75 delivered "$d" ||
                        fail "$d stayed stalled (State $(device_prop "$d" State), LastError $(device_prop "$d" LastError))"
                assert_ge 1 "$(device_prop "$d" Retries)" "$d Retries (the exchange abandoned at the deadline)"
        done
done
figure recovery_seconds $((SECONDS - t0))
assert_grep "$DAEMON_LOG" "No response within $DEADLINE_S s" "the deadline at CoapAckTimeoutMSec=1000"

# --- Exactly once, in order, and every device idle.
for mode in "${MODES[@]}"; do
        for kind in "${KINDS[@]}"; do
                for d in $(devices_of "$mode" "$kind"); do
                        check_record "$d" --pubclient="$LOGDIR/pub-$d.json" --topic="$(topic_of "$d")" ||
                                fail "$d: messages lost, duplicated or reordered"
                        wait_for --timeout=10 state_is "$d" idle || fail "$d: State $(device_prop "$d" State), not idle"
                done
        done
done
harness_log "summary: 12 devices, 2 odd replies x publish and /auth; 4 recovered at the deadline," \
        "8 at once by Flush or Reauthenticate; all $((12 * COUNT)) messages exactly once in order," \
        "$((SECONDS - t0)) s"
