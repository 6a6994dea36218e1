# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the integration tests and the demo: a private dbus-daemon, iotpub-cloudsim and iotpubd in a temp
# directory on loopback, readiness waits instead of sleeps, everything stopped by PID on exit, the logs of a
# failed run printed, and a check that no device secret reached any log, the record or the test's output.

IOTPUB_TOP=${IOTPUB_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IOTPUB_BUILD=${IOTPUB_BUILD:-$IOTPUB_TOP/build}
HARNESS_LIB=$IOTPUB_TOP/tests/lib
WAIT_READY=$IOTPUB_BUILD/tests/bin/wait-ready
PUBCLIENT=$IOTPUB_BUILD/tests/bin/pubclient
IOTPUBD=$IOTPUB_BUILD/iotpubd
CLOUDSIM=$IOTPUB_BUILD/iotpub-cloudsim

harness_log() { printf '%s: %s\n' "${HARNESS_NAME:-harness}" "$*" >&2; }
fail() { harness_log "FAIL: $*"; exit 1; }

# harness_init [NAME] [REQUIRED-FILE...]: temp dir, cleanup trap, output copied to a log.
harness_init() {
        HARNESS_NAME=${1:-$(basename "$0" .sh)}
        local f
        for f in "$WAIT_READY" "${@:2}"; do
                [[ -x "$f" ]] || fail "$f is missing; build it first (make build-tests)"
        done
        HARNESS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/iotpub-test.XXXXXX")
        # World-readable so that a test can call the bus as another user (the socket lives in here).
        chmod 0755 "$HARNESS_DIR"
        CONFDIR=$HARNESS_DIR/conf STATEDIR=$HARNESS_DIR/state LOGDIR=$HARNESS_DIR/logs
        RECORD=$HARNESS_DIR/record.jsonl CLOUD_DEVICES=$HARNESS_DIR/cloud-devices
        mkdir -p "$CONFDIR/devices" "$STATEDIR" "$LOGDIR"
        (umask 077 && : >"$CLOUD_DEVICES")
        export CONFDIR STATEDIR LOGDIR RECORD CLOUD_DEVICES
        HARNESS_PIDS=() HARNESS_SECRETS=() HARNESS_SEQ=0
        declare -gA ID_PK=() ID_DN=() ID_SECRET=()
        trap harness_cleanup EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        # Keep the original stdout/stderr; everything the test prints also goes to a log the secret check reads.
        exec {HARNESS_STDOUT}>&1 {HARNESS_STDERR}>&2
        exec > >(exec tee -a "$LOGDIR/test-output.log") 2>&1
        HARNESS_TEE_PID=$!
        harness_log "temp dir $HARNESS_DIR"
}

harness_next() { HARNESS_SEQ=$((HARNESS_SEQ + 1)); }

# A zombie (reparented to a PID 1 that does not reap) counts as gone.
pid_alive() {
        local stat
        read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
        stat=${stat##*) }
        [[ ${stat%% *} != Z ]]
}
pid_gone() { ! pid_alive "$1"; }

harness_register() { HARNESS_PIDS+=("$1:$2"); }
harness_unregister() {
        local i
        for i in "${!HARNESS_PIDS[@]}"; do
                [[ ${HARNESS_PIDS[$i]%%:*} == "$1" ]] && unset 'HARNESS_PIDS[i]'
        done
        HARNESS_PIDS=("${HARNESS_PIDS[@]}")
}

# harness_stop_pid PID NAME: SIGTERM, at most 10 s, then SIGKILL. Returns 1 if SIGKILL was needed.
harness_stop_pid() {
        pid_alive "$1" || return 0
        kill -TERM "$1" 2>/dev/null || true
        wait_for --timeout=10 --quiet pid_gone "$1" && return 0
        harness_log "$2 (pid $1) ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$1" 2>/dev/null || true
        wait_for --timeout=5 --quiet pid_gone "$1" || harness_log "$2 (pid $1) survived SIGKILL"
        return 1
}

# Prints the file names (never the lines) that contain a registered secret.
harness_check_secrets() {
        local s f leaked=0
        for s in "${HARNESS_SECRETS[@]}"; do
                while IFS= read -r f; do
                        harness_log "FAIL: a device secret appears in ${f#"$HARNESS_DIR"/}"
                        leaked=1
                done < <(grep -rlF -e "$s" "$LOGDIR" "$RECORD" 2>/dev/null)
        done
        ((leaked == 0)) && harness_log "ok: no device secret in logs, record or test output"
        return $leaked
}

harness_redact() {
        local line s
        while IFS= read -r line; do
                for s in "${HARNESS_SECRETS[@]}"; do line=${line//"$s"/<SECRET>}; done
                printf '%s\n' "$line"
        done
}

harness_dump_logs() {
        local f
        for f in "$LOGDIR"/*; do
                [[ -f "$f" && "$f" != */test-output.log ]] || continue
                printf '\n----- %s (last 80 lines)\n' "${f#"$HARNESS_DIR"/}"
                tail -n 80 "$f" | harness_redact
        done
        if [[ -s "$RECORD" ]]; then
                printf '\n----- record (last 20 lines)\n'
                tail -n 20 "$RECORD" | harness_redact
        fi
}

harness_cleanup() {
        local rc=$? i
        trap - EXIT INT TERM
        set +e
        for ((i = ${#HARNESS_PIDS[@]} - 1; i >= 0; i--)); do
                harness_stop_pid "${HARNESS_PIDS[$i]%%:*}" "${HARNESS_PIDS[$i]#*:}" || ((rc != 0)) || rc=1
        done
        # Let tee drain before the secret check reads what it wrote.
        exec 1>&"$HARNESS_STDOUT" 2>&"$HARNESS_STDERR"
        wait_for --timeout=5 --quiet pid_gone "$HARNESS_TEE_PID"
        harness_check_secrets || rc=1
        if ((rc != 0)); then
                harness_log "FAILED (exit $rc); logs follow"
                harness_dump_logs >&2
        fi
        if [[ -n "${IOTPUB_KEEP_TMP:-}" ]]; then
                harness_log "kept $HARNESS_DIR"
        else
                rm -rf "$HARNESS_DIR"
        fi
        exit "$rc"
}

# wait_for [--timeout=SEC] [--quiet] CMD...: polls CMD until it succeeds; bounded in time and in count.
wait_for() {
        local timeout=10 quiet=0 i max deadline
        while [[ $# -gt 0 && $1 == --* ]]; do
                case $1 in
                --timeout=*) timeout=${1#*=} ;;
                --quiet) quiet=1 ;;
                *) break ;;
                esac
                shift
        done
        deadline=$((${EPOCHREALTIME/./} + timeout * 1000000))
        max=$((timeout * 20 + 20))
        for ((i = 0; i < max; i++)); do
                "$@" && return 0
                ((${EPOCHREALTIME/./} < deadline)) || break
                sleep 0.05
        done
        ((quiet)) || harness_log "timed out after ${timeout} s waiting for: $*"
        return 1
}

bctl() { busctl --address="$BUS" "$@"; }

# start_bus [OWNER]: private dbus-daemon from dbus/test-bus.conf.in; exports BUS.
start_bus() {
        local owner=${1:-root} conf=$HARNESS_DIR/bus.conf addr=$HARNESS_DIR/bus.address pid
        sed -e "s|@SOCKET@|$HARNESS_DIR/bus.sock|g" -e "s|@OWNER@|$owner|g" \
                -e "s|@POLICY@|$IOTPUB_TOP/dbus/org.iotpub1.conf|g" "$IOTPUB_TOP/dbus/test-bus.conf.in" >"$conf"
        : >"$addr"
        dbus-daemon --config-file="$conf" --nofork --print-address=3 3>"$addr" </dev/null \
                >>"$LOGDIR/dbus-daemon.log" 2>&1 &
        pid=$!
        harness_register "$pid" dbus-daemon
        wait_for --timeout=10 harness_bus_address_ready "$pid" "$addr" || fail "dbus-daemon printed no address"
        BUS=$(head -n1 "$addr")
        export BUS
        harness_log "bus $BUS (dbus-daemon pid $pid)"
}
harness_bus_address_ready() {
        pid_alive "$1" || fail "dbus-daemon exited at startup (see logs/dbus-daemon.log)"
        [[ $(tail -c1 "$2") == "" && -s "$2" ]]
}

# new_identity NAME: a random ProductKey and secret, DeviceName = NAME; added to cloudsim's devices file.
new_identity() {
        local name=$1
        ID_PK[$name]=a1$(harness_random 9)
        ID_DN[$name]=$name
        ID_SECRET[$name]=$(harness_random 32)
        HARNESS_SECRETS+=("${ID_SECRET[$name]}")
        printf '%s %s %s\n' "${ID_PK[$name]}" "${ID_DN[$name]}" "${ID_SECRET[$name]}" >>"$CLOUD_DEVICES"
}
harness_random() { head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | cut -c1-"$1"; }

# write_device NAME PK DN SECRET ENDPOINT [EXTRA-LINE...]: $CONFDIR/devices/NAME.conf, mode 0600.
write_device() {
        local f=$CONFDIR/devices/$1.conf
        HARNESS_SECRETS+=("$4")
        (
                umask 077
                printf '[Device]\nProductKey=%s\nDeviceName=%s\nSecret=%s\nTransport=coap-aes\nEndpoint=%s\n' \
                        "$2" "$3" "$4" "$5"
                [[ $# -le 5 ]] || printf '%s\n' "${@:6}"
        ) >"$f"
        chmod 0600 "$f"
}
# configure_identity NAME [PORT]: the daemon-side file for an identity made by new_identity.
configure_identity() {
        write_device "$1" "${ID_PK[$1]}" "${ID_DN[$1]}" "${ID_SECRET[$1]}" "127.0.0.1:${2:-$CLOUDSIM_PORT}"
}
topic_of() { printf '/%s/%s/user/%s' "${ID_PK[$1]}" "${ID_DN[$1]}" "${2:-update}"; }

# start_cloudsim DEVICES_FILE [ARGS...]: exports CLOUDSIM_PID, CLOUDSIM_ADDR, CLOUDSIM_PORT.
start_cloudsim() {
        local devices=$1 out err
        shift
        harness_next
        out=$LOGDIR/cloudsim.$HARNESS_SEQ.out err=$LOGDIR/cloudsim.$HARNESS_SEQ.err
        local args=(--devices="$devices" --record="$RECORD")
        [[ " $* " == *" --listen="* ]] || args+=(--listen=127.0.0.1)
        [[ " $* " == *" --coap-port="* ]] || args+=(--coap-port=0)
        CLOUDSIM_PID=$("$WAIT_READY" --timeout=20 --stdout="$out" --stderr="$err" -- "$CLOUDSIM" "${args[@]}" "$@") ||
                fail "iotpub-cloudsim did not become ready (see ${err#"$HARNESS_DIR"/})"
        harness_register "$CLOUDSIM_PID" iotpub-cloudsim
        wait_for --timeout=5 grep -q '^coap-aes ' "$out" ||
                fail "iotpub-cloudsim sent READY=1 but printed no 'coap-aes <addr> <port>' line on stdout"
        read -r _ CLOUDSIM_ADDR CLOUDSIM_PORT < <(grep '^coap-aes ' "$out" | tail -n1)
        [[ $CLOUDSIM_PORT =~ ^[0-9]+$ && $CLOUDSIM_PORT -gt 0 ]] || fail "bad cloudsim port line: $(head -n1 "$out")"
        export CLOUDSIM_PID CLOUDSIM_ADDR CLOUDSIM_PORT
        harness_log "cloudsim pid $CLOUDSIM_PID on $CLOUDSIM_ADDR port $CLOUDSIM_PORT"
}
stop_cloudsim() {
        harness_stop_pid "$CLOUDSIM_PID" iotpub-cloudsim || fail "iotpub-cloudsim did not exit on SIGTERM"
        harness_unregister "$CLOUDSIM_PID"
}

# start_daemon [ARGS...]: iotpubd at debug level; exports DAEMON_PID and DAEMON_LOG (its stderr).
start_daemon() {
        harness_next
        DAEMON_LOG=$LOGDIR/iotpubd.$HARNESS_SEQ.err
        DAEMON_PID=$("$WAIT_READY" --timeout=20 --stdout="$LOGDIR/iotpubd.$HARNESS_SEQ.out" --stderr="$DAEMON_LOG" \
                -- "$IOTPUBD" --bus-address="$BUS" --config-dir="$CONFDIR" --state-dir="$STATEDIR" \
                --log-level=debug "$@") || fail "iotpubd did not become ready (see ${DAEMON_LOG#"$HARNESS_DIR"/})"
        harness_register "$DAEMON_PID" iotpubd
        export DAEMON_PID DAEMON_LOG
        bctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s org.iotpub1 \
                >/dev/null || fail "iotpubd sent READY=1 but does not own org.iotpub1"
        harness_log "iotpubd pid $DAEMON_PID"
}
stop_daemon() {
        harness_stop_pid "$DAEMON_PID" iotpubd || fail "iotpubd did not exit on SIGTERM"
        harness_unregister "$DAEMON_PID"
}
# kill_daemon [-SIGNAL]: e.g. kill_daemon -9 for a crash.
kill_daemon() {
        kill "${1:--KILL}" "$DAEMON_PID"
        wait_for --timeout=10 pid_gone "$DAEMON_PID" || fail "iotpubd (pid $DAEMON_PID) survived kill ${1:--KILL}"
        harness_unregister "$DAEMON_PID"
}

# device_path NAME: the object path, escaped like sd_bus_path_encode().
device_path() {
        local name=$1 out='' c i
        [[ -n "$name" ]] || { printf '/org/iotpub1/device/_'; return; }
        for ((i = 0; i < ${#name}; i++)); do
                c=${name:i:1}
                if [[ $c == [A-Za-z] || ($i -gt 0 && $c == [0-9]) ]]; then
                        out+=$c
                else
                        out+=$(printf '_%02x' "'$c")
                fi
        done
        printf '/org/iotpub1/device/%s' "$out"
}

# get_prop PATH INTERFACE NAME: the value alone (strings unquoted).
get_prop() {
        local v
        v=$(bctl get-property org.iotpub1 "$1" "$2" "$3") || return 1
        v=${v#* }
        [[ $v == \"*\" ]] && v=${v:1:-1}
        printf '%s\n' "$v"
}
manager_prop() { get_prop /org/iotpub1 org.iotpub1.Manager "$1"; }
device_prop() { get_prop "$(device_path "$1")" org.iotpub1.Device "$2"; }

# pubclient OUT.json [ARGS...]: runs the test client on $BUS; its stderr goes to the logs.
pubclient() {
        local out=$1
        shift
        "$PUBCLIENT" --address="$BUS" "$@" >"$out" 2>>"$LOGDIR/pubclient.err"
}
# json_get FILE PYTHON-EXPR: evaluates EXPR with d = the JSON document in FILE.
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# expect_publish_error ERROR WHAT PUBCLIENT-ARGS...: one Publish that must fail with the D-Bus error ERROR.
expect_publish_error() {
        local want=$1 what=$2 out got
        shift 2
        harness_next
        out=$LOGDIR/pubclient-error.$HARNESS_SEQ.json
        if pubclient "$out" --count=1 --no-wait --timeout=10 "$@"; then
                fail "$what: Publish succeeded, expected $want"
        fi
        got=$(publish_error_of "$out")
        assert_eq "$want" "$got" "$what"
}
# publish_error_of PUBCLIENT-JSON: the D-Bus error name of the first failed Publish.
publish_error_of() { json_get "$1" 'd["errors"][0]["error"].split(":")[0] if d["errors"] else "(no D-Bus error)"'; }

# record_count [--event=E] [--device=DN]: lines in the cloudsim record (publish events by default).
record_count() { python3 "$HARNESS_LIB/record.py" count "$RECORD" "$@"; }
record_has() { local n; n=$(record_count "${@:2}") && ((n >= $1)); }
# check_record DEVICE-NAME --pubclient=JSON|--expect=B64-LINES-FILE [--allow-duplicates]: exact payloads, in order.
check_record() { python3 "$HARNESS_LIB/record.py" check "$RECORD" --device="$1" "${@:2}"; }

assert_eq() {
        [[ "$1" == "$2" ]] || fail "$3: expected '$1', got '$2'"
        harness_log "ok: $3 ($2)"
}
assert_ge() {
        if ! [[ "$2" =~ ^[0-9]+$ ]] || (($2 < $1)); then fail "$3: expected >= $1, got '$2'"; fi
        harness_log "ok: $3 ($2 >= $1)"
}
# assert_grep FILE EXTENDED-REGEX WHAT
assert_grep() {
        grep -qE -- "$2" "$1" || fail "$3: no line matching /$2/ in ${1#"$HARNESS_DIR"/}"
        harness_log "ok: $3"
}
