# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by tests/bench/field.sh after tests/lib/harness.sh: several iotpubd instances side by side (each with its
# own bus, configuration and state directory), configuration keys that a daemon may not know yet, and the
# measurements of each case, written as rows for field-report.py.

declare -A DEV_INST=() DEV_TRANSPORT=() DEV_LOSS=() DEV_WINDOW=() DEV_PORT=() CLOUD_PORT=()
declare -A INST_BUS=() INST_PID=() INST_DEVS=() INST_BASE=() INST_OPT_DAEMON=() INST_OPT_DEVICE=() INST_MODE=()
declare -A INST_NOTE=()

now_us() { echo "${EPOCHREALTIME/./}"; }
# sleep_until T: until $EPOCHREALTIME (µs) reaches T, which is at most a few minutes ahead.
sleep_until() {
        local left=$(($1 - $(now_us)))
        ((left <= 0)) || sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
}
secs() { python3 -c 'import sys; print(round(int(sys.argv[1]) / 1e6, 1))' "$1"; }
relay_kind() { [[ ${DEV_TRANSPORT[$1]} == https ]] && echo tcp || echo udp; }
# row TABLE FIELD... : one tab-separated row of TABLE for field-report.py.
row() {
        local IFS=$'\t'
        printf '%s\n' "$*" >>"$ROWS"
}

# instance_new NAME DAEMON-KEY DEVICE-KEY [DAEMON-LINE...]: a bus and directories; DAEMON-KEY ([Daemon]) and
# DEVICE-KEY (each identity's [Device]) are "Key=value" lines the daemon may refuse, or "".
instance_new() {
        local name=$1 dir=$HARNESS_DIR/$1
        mkdir -p "$dir/conf/devices" "$dir/bus"
        mkdir -m 0700 "$dir/state"
        INST_OPT_DAEMON[$name]=$2 INST_OPT_DEVICE[$name]=$3 INST_DEVS[$name]="" INST_NOTE[$name]=""
        INST_BASE[$name]=$(printf '%s\n' "${@:4}")
        HARNESS_BUS_DIR=$dir/bus start_bus
        INST_BUS[$name]=$BUS
}
instance_use() {
        CONFDIR=$HARNESS_DIR/$1/conf STATEDIR=$HARNESS_DIR/$1/state BUS=${INST_BUS[$1]}
        DAEMON_PID=${INST_PID[$1]:-}
}
instance_add_device() { INST_DEVS[$1]+=" $2"; }
instance_wipe_state() {
        rm -rf "$HARNESS_DIR/$1/state"
        mkdir -m 0700 "$HARNESS_DIR/$1/state"
}

# instance_write NAME MODE: the configuration, with the optional keys of MODE (both, daemon, device, none).
instance_write() {
        local name=$1 mode=$2 d extra
        {
                printf '[Daemon]\n'
                [[ -z ${INST_BASE[$name]} ]] || printf '%s\n' "${INST_BASE[$name]}"
                [[ $mode != both && $mode != daemon ]] || printf '%s\n' "${INST_OPT_DAEMON[$name]}"
        } >"$CONFDIR/iotpubd.conf"
        for d in ${INST_DEVS[$name]}; do
                extra=()
                [[ $mode != both && $mode != device ]] || extra+=("${INST_OPT_DEVICE[$name]}")
                HARNESS_TRANSPORT=${DEV_TRANSPORT[$d]} configure_identity "$d" "${DEV_PORT[$d]}" "${extra[@]}"
        done
}
# instance_accepted NAME: the daemon just started complained about no line of its configuration (an iotpubd.conf
# with an unknown key is not fatal: the daemon starts on defaults and without access rules) and has every device.
instance_accepted() {
        local d
        ! grep -F "$CONFDIR/" "$DAEMON_LOG" | grep -q '^<[0-3]>' || return 1
        for d in ${INST_DEVS[$1]}; do
                device_prop "$d" State >/dev/null 2>&1 || return 1
        done
}

# instance_start NAME: with every optional key it has; a daemon that refuses to start, complains about its
# configuration or leaves a device out is tried again with fewer (only [Daemon], only [Device], none), and the
# instance's note says what was dropped.
instance_start() {
        local name=$1 mode modes=(none) key
        instance_use "$name"
        [[ -z ${INST_OPT_DAEMON[$name]} || -z ${INST_OPT_DEVICE[$name]} ]] || modes=(both daemon device none)
        [[ -z ${INST_OPT_DAEMON[$name]} || -n ${INST_OPT_DEVICE[$name]} ]] || modes=(daemon none)
        [[ -n ${INST_OPT_DAEMON[$name]} || -z ${INST_OPT_DEVICE[$name]} ]] || modes=(device none)
        [[ -z ${INST_MODE[$name]:-} ]] || modes=("${INST_MODE[$name]}")
        for mode in "${modes[@]}"; do
                instance_write "$name" "$mode"
                if try_start_daemon --log-level=info; then
                        instance_accepted "$name" && break
                        harness_log "$name: iotpubd complained about optional keys '$mode' (${DAEMON_LOG#"$HARNESS_DIR"/})"
                        stop_daemon
                else
                        harness_log "$name: iotpubd refused optional keys '$mode' (${DAEMON_LOG#"$HARNESS_DIR"/})"
                fi
                [[ $mode != none ]] || fail "$name: iotpubd did not start even without optional keys"
        done
        INST_PID[$name]=$DAEMON_PID INST_MODE[$name]=$mode
        key=${INST_OPT_DAEMON[$name]:-${INST_OPT_DEVICE[$name]}}
        case $mode in
        none) [[ -z $key ]] || INST_NOTE[$name]="${key%%=*} unsupported" ;;
        daemon) [[ -z ${INST_OPT_DEVICE[$name]} ]] || INST_NOTE[$name]="${key%%=*} only in [Daemon]" ;;
        device) [[ -z ${INST_OPT_DAEMON[$name]} ]] || INST_NOTE[$name]="${key%%=*} only in [Device]" ;;
        both) ;;
        esac
        harness_log "$name: iotpubd pid $DAEMON_PID, optional keys: $mode"
}
instance_stop() {
        instance_use "$1"
        stop_daemon
        INST_PID[$1]=""
}

# promise DEVICE JSON...: "lost duplicates" of the device's published messages in cloudsim's record.
promise() {
        local d=$1 line
        shift
        line=$(python3 "$HARNESS_LIB/record.py" promise "$RECORD" --device="$d" "${@/#/--pubclient=}" 2>/dev/null) || true
        [[ -n $line ]] || fail "record.py found nothing for $d"
        printf '%s %s\n' "$(sed -n 's/.*lost=\([0-9]*\).*/\1/p' <<<"$line")" \
                "$(sed -n 's/.*duplicates=\([0-9]*\).*/\1/p' <<<"$line")"
}

drain_result() {
        local d=$1 json=$LOGDIR/drain.$1.json drain="" up down busier lost dups retries note
        instance_use "${DEV_INST[$d]}"
        [[ ! -s $json ]] || drain=$(json_get "$json" 'round(d["drain_us"] / 1e6, 1)')
        relay_dump "$d"
        up=$(relay_get "$d" up bytes_in) down=$(relay_get "$d" down bytes_in)
        busier=$((up > down ? up : down))
        read -r lost dups < <(promise "$d" "$LOGDIR/pub.$d.json")
        retries=$(device_prop "$d" Retries)
        note=${INST_NOTE[${DEV_INST[$d]}]}
        [[ -n $drain ]] || note="not drained within $DRAIN_TIMEOUT s${note:+; $note}"
        row drain "${DEV_TRANSPORT[$d]}" "${DEV_WINDOW[$d]}" "${DEV_LOSS[$d]}" "$drain" \
                "$(secs $((COUNT * RTT_MS * 1000)))" "$(secs $((busier * 8000 / RATE)))" "$lost" "$dups" "$retries" \
                "$note" "$up" "$down"
        ((lost == 0)) || FIELD_LOST+=("$d")
}

nat_result() {
        local d=$1 t1 took="" note=${INST_NOTE[field]}
        t1=$(cat "$LOGDIR/nat.$d.t1" 2>/dev/null || true)
        if [[ -n $t1 && $(json_get "$LOGDIR/pub.$d.json" 'd["delivered"]' 2>/dev/null) == 1 ]]; then
                took=$(secs $((t1 - NAT_T0[$d])))
        else
                note="not delivered within 300 s${note:+; $note}"
        fi
        relay_dump "$d"
        row nat "${DEV_TRANSPORT[$d]}" "$NAT_IDLE / $NAT_TIMEOUT" "$took" 8 "$note" "$(relay_get "$d" nat forgotten)" \
                "$(relay_get "$d" down nat_drops)"
}

# hole_results: after the black holes ended, until every hole device's queue is empty (at most 420 s).
hole_results() {
        local deadline=$(($(now_us) + 420000000)) d left pending=("${HOLE_DEVS[@]}") q first t_off lost dups note
        local -A empty_at=()
        instance_use field
        while ((${#pending[@]} > 0)) && (($(now_us) < deadline)); do
                left=()
                for d in "${pending[@]}"; do
                        q=$(device_prop "$d" QueueMessages || echo x)
                        if [[ $q == 0 ]]; then empty_at[$d]=$(now_us); else left+=("$d"); fi
                done
                pending=(${left[@]+"${left[@]}"})
                sleep 0.25
        done
        for d in "${HOLE_DEVS[@]}"; do
                t_off=$(relay_get "$d" blackhole real_us)
                first=$(relay_get "$d" first-up after_off_us)
                read -r lost dups < <(promise "$d" "$LOGDIR/pub.$d.json")
                note=${INST_NOTE[field]}
                [[ -n ${empty_at[$d]:-} ]] || note="queue not empty after 420 s${note:+; $note}"
                row blackhole "${DEV_TRANSPORT[$d]}" "$HOLE_SEC" "$HOLE_COUNT" "${first:+$(secs "$first")}" \
                        "${empty_at[$d]:+$(secs $((empty_at[$d] - t_off)))}" "$lost" "$dups" "$note"
                ((lost == 0)) || FIELD_LOST+=("$d")
        done
}

# bytes_round cold|restart N: the daemon started (cold: on a wiped state directory), N messages on each bytes
# device, and the relays' bytes both ways while they were delivered.
declare -A BYTES=()
bytes_round() {
        local kind=$1 n=$2 d b1 pids=()
        instance_start bytes
        for d in "${BYTES_DEVS[@]}"; do
                relay_dump "$d"
                BYTES[$d.0]=$(($(relay_get "$d" up bytes_out) + $(relay_get "$d" down bytes_out)))
        done
        for d in "${BYTES_DEVS[@]}"; do
                pubclient "$LOGDIR/pub.$d.$kind.$n.json" --device="$d" --topic="$(topic_of "$d")" --count="$n" \
                        --size="$SIZE" --prefix="$d-$kind-$n" --timeout=120 &
                pids+=($!)
        done
        for d in "${pids[@]}"; do wait "$d" || true; done
        for d in "${BYTES_DEVS[@]}"; do
                [[ $(json_get "$LOGDIR/pub.$d.$kind.$n.json" 'd["delivered"]') == "$n" ]] ||
                        fail "$d: not all $n delivered ($kind)"
                relay_dump "$d"
                b1=$(($(relay_get "$d" up bytes_out) + $(relay_get "$d" down bytes_out)))
                BYTES[$d.$kind.$n]=$(((b1 - BYTES[$d.0]) / n))
        done
}
bytes_results() {
        local d n
        for d in "${BYTES_DEVS[@]}"; do
                for n in $BYTES_COUNTS; do
                        row bytes "${DEV_TRANSPORT[$d]}" "$n" "${BYTES[$d.cold.$n]}" "${BYTES[$d.restart.$n]}" "$SIZE"
                done
        done
}
