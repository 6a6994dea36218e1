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
# IOTPUB_DAEMON_WRAPPER="valgrind ...": a command prefixed to iotpubd and iotpub-cloudsim in start_daemon and
# start_cloudsim (make check-valgrind). Such a wrapper is slow, so the readiness and stop waits get longer.
read -r -a HARNESS_WRAPPER <<<"${IOTPUB_DAEMON_WRAPPER:-}"
if [[ ${#HARNESS_WRAPPER[@]} -gt 0 ]]; then
        HARNESS_READY_TIMEOUT=120 HARNESS_STOP_TIMEOUT=60
else
        HARNESS_READY_TIMEOUT=20 HARNESS_STOP_TIMEOUT=10
fi

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
        mkdir -p "$CONFDIR/devices" "$LOGDIR"
        mkdir -m 0700 "$STATEDIR" # as StateDirectoryMode=0700 makes it; iotpubd warns about (and tightens) a looser one
        (umask 077 && : >"$CLOUD_DEVICES")
        export CONFDIR STATEDIR LOGDIR RECORD CLOUD_DEVICES
        HARNESS_PIDS=() HARNESS_SECRETS=() HARNESS_SEQ=0 HARNESS_AT_EXIT=()
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
# harness_at_exit CMD...: run by the cleanup after every process is stopped, last registered first.
harness_at_exit() { HARNESS_AT_EXIT+=("$(printf '%q ' "$@")"); }
harness_unregister() {
        local i
        for i in "${!HARNESS_PIDS[@]}"; do
                [[ ${HARNESS_PIDS[$i]%%:*} == "$1" ]] && unset 'HARNESS_PIDS[i]'
        done
        HARNESS_PIDS=("${HARNESS_PIDS[@]}")
}

# harness_stop_pid PID NAME: SIGTERM, at most 10 s (60 s with a wrapper), then SIGKILL. Returns 1 if SIGKILL
# was needed.
harness_stop_pid() {
        pid_alive "$1" || return 0
        kill -TERM "$1" 2>/dev/null || true
        wait_for --timeout="$HARNESS_STOP_TIMEOUT" --quiet pid_gone "$1" && return 0
        harness_log "$2 (pid $1) ignored SIGTERM for $HARNESS_STOP_TIMEOUT s; sending SIGKILL"
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
        for ((i = ${#HARNESS_AT_EXIT[@]} - 1; i >= 0; i--)); do
                eval "${HARNESS_AT_EXIT[$i]}" || harness_log "cleanup step failed: ${HARNESS_AT_EXIT[$i]}"
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

# start_bus [OWNER]: private dbus-daemon from dbus/test-bus.conf.in; exports BUS. Its socket and files go in
# $HARNESS_BUS_DIR when set (one directory per bus, for a script that runs several daemons), else $HARNESS_DIR.
start_bus() {
        local owner=${1:-root} dir=${HARNESS_BUS_DIR:-$HARNESS_DIR} pid
        local conf=$dir/bus.conf addr=$dir/bus.address
        sed -e "s|@SOCKET@|$dir/bus.sock|g" -e "s|@OWNER@|$owner|g" \
                -e "s|@POLICY@|$IOTPUB_TOP/dbus/org.iotpub1.conf|g" "$IOTPUB_TOP/dbus/test-bus.conf.in" >"$conf"
        : >"$addr"
        dbus-daemon --config-file="$conf" --nofork --print-address=3 3>"$addr" </dev/null \
                >>"$LOGDIR/dbus-daemon.log" 2>&1 &
        pid=$!
        harness_register "$pid" dbus-daemon
        wait_for --timeout=10 harness_bus_address_ready "$pid" "$addr" || fail "dbus-daemon printed no address"
        BUS=$(head -n1 "$addr")
        BUS_PID=$pid
        export BUS BUS_PID
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
                printf '[Device]\nProductKey=%s\nDeviceName=%s\nSecret=%s\nTransport=%s\nEndpoint=%s\n' \
                        "$2" "$3" "$4" "$HARNESS_TRANSPORT" "$5"
                [[ $# -le 5 ]] || printf '%s\n' "${@:6}"
        ) >"$f"
        chmod 0600 "$f"
}
# The transport under test: tests that declare "# transports: ..." run once per transport (run-tests.sh sets
# IOTPUB_TRANSPORT); everything else uses coap-aes.
HARNESS_TRANSPORT=${IOTPUB_TRANSPORT:-coap-aes}

# transport_port: cloudsim's port for the transport under test.
transport_port() {
        case $HARNESS_TRANSPORT in
        coap-aes) echo "$CLOUDSIM_PORT" ;;
        coap-dtls) echo "$CLOUDSIM_DTLS_PORT" ;;
        https) echo "$CLOUDSIM_HTTPS_PORT" ;;
        esac
}
# cloudsim_port_arg PORT: the cloudsim option that puts the transport under test on PORT.
cloudsim_port_arg() {
        case $HARNESS_TRANSPORT in
        coap-aes) echo "--coap-port=$1" ;;
        coap-dtls) echo "--dtls-port=$1" ;;
        https) echo "--https-port=$1" ;;
        esac
}
# transport_endpoint PORT: the Endpoint= of an identity using the transport under test on PORT.
transport_endpoint() {
        case $HARNESS_TRANSPORT in
        coap-aes | coap-dtls) echo "127.0.0.1:$1" ;;
        https) echo "https://localhost:$1" ;;
        esac
}
# free_port [udp|tcp]: a loopback port (UDP unless told) that was free a moment ago; nothing listens there.
free_port() {
        local kind=SOCK_DGRAM
        [[ ${1:-udp} == udp ]] || kind=SOCK_STREAM
        python3 -c "import socket; s = socket.socket(socket.AF_INET, socket.$kind); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

# configure_identity NAME [PORT] [EXTRA-LINE...]: the daemon-side file for an identity made by new_identity,
# using the transport under test.
configure_identity() {
        local extra=()
        [[ $HARNESS_TRANSPORT != https ]] || extra+=("CAFile=$PKI_CA")
        write_device "$1" "${ID_PK[$1]}" "${ID_DN[$1]}" "${ID_SECRET[$1]}" \
                "$(transport_endpoint "${2:-$(transport_port)}")" "${extra[@]}" "${@:3}"
}

# harness_pki: a test CA and a server certificate for localhost and 127.0.0.1, made now with certtool (no
# private key is ever committed). Exports PKI_CA, PKI_CERT, PKI_KEY.
harness_pki() {
        local d=$HARNESS_DIR/pki
        [[ -n "${PKI_CA:-}" && -f "$PKI_CA" ]] && return 0
        mkdir -p "$d"
        printf 'cn = "iotpub test CA"\nca\ncert_signing_key\nexpiration_days = 2\n' >"$d/ca.tmpl"
        printf 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n' >"$d/server.tmpl"
        certtool --generate-privkey --key-type=ecdsa --outfile "$d/ca.key" >/dev/null 2>&1 &&
                certtool --generate-self-signed --load-privkey "$d/ca.key" --template "$d/ca.tmpl" \
                        --outfile "$d/ca.crt" >/dev/null 2>&1 &&
                certtool --generate-privkey --key-type=rsa --bits=2048 --outfile "$d/server.key" >/dev/null 2>&1 &&
                certtool --generate-certificate --load-privkey "$d/server.key" --load-ca-certificate "$d/ca.crt" \
                        --load-ca-privkey "$d/ca.key" --template "$d/server.tmpl" --outfile "$d/server.crt" \
                        >/dev/null 2>&1 || fail "certtool could not make the test PKI"
        PKI_CA=$d/ca.crt PKI_CERT=$d/server.crt PKI_KEY=$d/server.key
        export PKI_CA PKI_CERT PKI_KEY
}
topic_of() { printf '/%s/%s/user/%s' "${ID_PK[$1]}" "${ID_DN[$1]}" "${2:-update}"; }

# start_cloudsim DEVICES_FILE [ARGS...]: always the coap-aes endpoint, plus the endpoint of the transport under
# test; exports CLOUDSIM_PID, CLOUDSIM_ADDR, CLOUDSIM_PORT and CLOUDSIM_DTLS_PORT / CLOUDSIM_HTTPS_PORT.
start_cloudsim() {
        local devices=$1 out err
        shift
        harness_next
        out=$LOGDIR/cloudsim.$HARNESS_SEQ.out err=$LOGDIR/cloudsim.$HARNESS_SEQ.err
        local args=(--devices="$devices" --record="$RECORD")
        [[ " $* " == *" --listen="* ]] || args+=(--listen=127.0.0.1)
        [[ " $* " == *" --coap-port="* ]] || args+=(--coap-port=0)
        case $HARNESS_TRANSPORT in
        coap-dtls) [[ " $* " == *" --dtls-port="* ]] || args+=(--dtls-port=0) ;;
        https)
                harness_pki
                [[ " $* " == *" --https-port="* ]] || args+=(--https-port=0)
                args+=(--cert="$PKI_CERT" --key="$PKI_KEY")
                ;;
        esac
        CLOUDSIM_PID=$("$WAIT_READY" --timeout="$HARNESS_READY_TIMEOUT" --stdout="$out" --stderr="$err" -- \
                "${HARNESS_WRAPPER[@]}" "$CLOUDSIM" "${args[@]}" "$@") ||
                fail "iotpub-cloudsim did not become ready (see ${err#"$HARNESS_DIR"/})"
        harness_register "$CLOUDSIM_PID" iotpub-cloudsim
        local want=$HARNESS_TRANSPORT
        wait_for --timeout=5 grep -q "^$want " "$out" ||
                fail "iotpub-cloudsim sent READY=1 but printed no '$want <addr> <port>' line on stdout"
        read -r _ CLOUDSIM_ADDR CLOUDSIM_PORT < <(grep '^coap-aes ' "$out" | tail -n1)
        CLOUDSIM_DTLS_PORT=$(sed -n 's/^coap-dtls [^ ]* //p' "$out" | tail -n1)
        CLOUDSIM_HTTPS_PORT=$(sed -n 's/^https [^ ]* //p' "$out" | tail -n1)
        [[ $(transport_port) =~ ^[0-9]+$ && $(transport_port) -gt 0 ]] || fail "bad cloudsim port lines: $(cat "$out")"
        export CLOUDSIM_PID CLOUDSIM_ADDR CLOUDSIM_PORT CLOUDSIM_DTLS_PORT CLOUDSIM_HTTPS_PORT
        harness_log "cloudsim pid $CLOUDSIM_PID on $CLOUDSIM_ADDR, $HARNESS_TRANSPORT port $(transport_port)"
}
stop_cloudsim() {
        harness_stop_pid "$CLOUDSIM_PID" iotpub-cloudsim || fail "iotpub-cloudsim did not exit on SIGTERM"
        harness_unregister "$CLOUDSIM_PID"
}

# start_daemon [ARGS...]: iotpubd at debug level; exports DAEMON_PID and DAEMON_LOG (its stderr).
start_daemon() {
        try_start_daemon "$@" || fail "iotpubd did not become ready (see ${DAEMON_LOG#"$HARNESS_DIR"/})"
}
# try_start_daemon [ARGS...]: the same, but returns 1 when iotpubd does not become ready (e.g. refuses its
# configuration), with nothing left running.
try_start_daemon() {
        harness_next
        DAEMON_LOG=$LOGDIR/iotpubd.$HARNESS_SEQ.err
        DAEMON_PID=$("$WAIT_READY" --timeout="$HARNESS_READY_TIMEOUT" --stdout="$LOGDIR/iotpubd.$HARNESS_SEQ.out" \
                --stderr="$DAEMON_LOG" -- "${HARNESS_WRAPPER[@]}" "$IOTPUBD" --bus-address="$BUS" \
                --config-dir="$CONFDIR" --state-dir="$STATEDIR" --log-level=debug "$@") || return 1
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
# For wait_for (which needs a command, not an expansion made once): device_prop_is NAME PROP VALUE,
# manager_prop_is PROP VALUE.
device_prop_is() { [[ $(device_prop "$1" "$2") == "$3" ]]; }
manager_prop_is() { [[ $(manager_prop "$1") == "$2" ]]; }

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

# --- Unprivileged callers. Users and groups are throwaway system accounts named iotpubt-<random>, removed at
# exit; the tools they run are copied into the temp dir so that the build directory's permissions do not matter.

# new_test_group VAR: creates a group; its name goes into VAR.
new_test_group() {
        local name
        name=iotpubt-$(harness_random 10 | tr 'A-Z' 'a-z')
        groupadd --system "$name" || fail "groupadd $name failed"
        harness_at_exit groupdel "$name"
        printf -v "$1" '%s' "$name"
}
# new_test_user VAR: creates a user (with a group of the same name, no home, no shell); its name goes into VAR.
new_test_user() {
        local name
        name=iotpubt-$(harness_random 10 | tr 'A-Z' 'a-z')
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$name" ||
                fail "useradd $name failed"
        # userdel normally removes the user's group as well; groupdel (run after it) catches the other case.
        harness_at_exit harness_quiet_groupdel "$name"
        harness_at_exit userdel "$name"
        printf -v "$1" '%s' "$name"
}
harness_quiet_groupdel() { ! getent group "$1" >/dev/null || groupdel "$1"; }

# as_user [--groups=GID,...] USER|UID CMD...: runs CMD as USER (its uid and primary gid; no supplementary
# groups unless --groups= gives some). A bare number is used as both uid and gid.
as_user() {
        local groups=(--clear-groups) who uid gid
        if [[ $1 == --groups=* ]]; then
                groups=("$1")
                shift
        fi
        who=$1
        shift
        if [[ $who =~ ^[0-9]+$ ]]; then
                uid=$who gid=$who
        else
                uid=$(id -u "$who") && gid=$(id -g "$who") || fail "no user $who"
        fi
        setpriv --reuid="$uid" --regid="$gid" "${groups[@]}" "$@"
}

# harness_user_tools: copies pubclient and iotpubctl to $HARNESS_DIR/bin (mode 0755) for as_user callers.
# Call it once before starting callers in the background.
harness_user_tools() {
        [[ -d $HARNESS_DIR/bin ]] && return 0
        mkdir -m 0755 "$HARNESS_DIR/bin"
        install -m 0755 "$PUBCLIENT" "$HARNESS_DIR/bin/pubclient"
        [[ ! -x $IOTPUB_BUILD/iotpubctl ]] || install -m 0755 "$IOTPUB_BUILD/iotpubctl" "$HARNESS_DIR/bin/iotpubctl"
}
# pubclient_as [--groups=GID,...] USER OUT.json [ARGS...]: pubclient run by another user.
pubclient_as() {
        local g=()
        if [[ $1 == --groups=* ]]; then
                g=("$1")
                shift
        fi
        local who=$1 out=$2
        shift 2
        harness_user_tools
        as_user "${g[@]}" "$who" "$HARNESS_DIR/bin/pubclient" --address="$BUS" "$@" >"$out" 2>>"$LOGDIR/pubclient.err"
}
# expect_publish_error_as [--groups=GID,...] USER ERROR WHAT PUBCLIENT-ARGS...: like expect_publish_error.
expect_publish_error_as() {
        local g=()
        if [[ $1 == --groups=* ]]; then
                g=("$1")
                shift
        fi
        local who=$1 want=$2 what=$3 out
        shift 3
        harness_next
        out=$LOGDIR/pubclient-error.$HARNESS_SEQ.json
        if pubclient_as "${g[@]}" "$who" "$out" --count=1 --no-wait --timeout=10 "$@"; then
                fail "$what: Publish as $who succeeded, expected $want"
        fi
        assert_eq "$want" "$(publish_error_of "$out")" "$what"
}
# expect_publish_ok_as [--groups=GID,...] USER OUT.json WHAT PUBCLIENT-ARGS...: publishes and waits for Delivered.
expect_publish_ok_as() {
        local g=()
        if [[ $1 == --groups=* ]]; then
                g=("$1")
                shift
        fi
        local who=$1 out=$2 what=$3
        shift 3
        pubclient_as "${g[@]}" "$who" "$out" --timeout=30 "$@" ||
                fail "$what: publish as $who was not delivered: $(cat "$out" 2>/dev/null)"
        harness_log "ok: $what (delivered)"
}

# --- Method calls whose D-Bus error name matters: busctl prints only an error's message, gdbus its name too.
# gcall [--as=USER] [--groups=GID,...] PATH INTERFACE.METHOD [GVARIANT-ARG...]: calls org.iotpub1 with gdbus;
# the reply (GVariant text) goes to $GCALL_OUT, stderr to $GCALL_ERR (both under logs/). Status of gdbus.
gcall() {
        local who=() rc=0
        while [[ $1 == --as=* || $1 == --groups=* ]]; do
                case $1 in
                --as=*) who+=("${1#--as=}") ;;
                --groups=*) who=("$1" "${who[@]}") ;;
                esac
                shift
        done
        harness_next
        GCALL_OUT=$LOGDIR/gcall.$HARNESS_SEQ.out GCALL_ERR=$LOGDIR/gcall.$HARNESS_SEQ.err
        if ((${#who[@]})); then
                as_user "${who[@]}" gdbus call --address="$BUS" --dest=org.iotpub1 --object-path="$1" --method="$2" \
                        "${@:3}" >"$GCALL_OUT" 2>"$GCALL_ERR" </dev/null || rc=$?
        else
                gdbus call --address="$BUS" --dest=org.iotpub1 --object-path="$1" --method="$2" "${@:3}" \
                        >"$GCALL_OUT" 2>"$GCALL_ERR" </dev/null || rc=$?
        fi
        return $rc
}
# gcall_error: the D-Bus error name of the last failed gcall ("" if none).
gcall_error() { sed -n 's/.*GDBus\.Error:\([A-Za-z0-9_.]*\):.*/\1/p' "$GCALL_ERR" | head -n1; }
# expect_gcall_error [--as=USER] [--groups=...] ERROR WHAT PATH METHOD [ARGS...]: the call must fail with ERROR.
expect_gcall_error() {
        local opts=()
        while [[ $1 == --as=* || $1 == --groups=* ]]; do
                opts+=("$1")
                shift
        done
        local want=$1 what=$2
        shift 2
        if gcall "${opts[@]}" "$@"; then
                fail "$what: the call succeeded ($(head -c 200 "$GCALL_OUT")), expected $want"
        fi
        [[ $(gcall_error) == "$want" ]] || fail "$what: expected $want, got: $(head -c 300 "$GCALL_ERR")"
        harness_log "ok: $what ($want)"
}
# expect_gcall_ok [--as=USER] [--groups=...] WHAT PATH METHOD [ARGS...]: the call must succeed.
expect_gcall_ok() {
        local opts=()
        while [[ $1 == --as=* || $1 == --groups=* ]]; do
                opts+=("$1")
                shift
        done
        local what=$1
        shift
        gcall "${opts[@]}" "$@" || fail "$what: the call failed: $(head -c 300 "$GCALL_ERR")"
        harness_log "ok: $what"
}

# --- Fault tests. figure NAME VALUE: one "figure: NAME=VALUE" line for the README's table.
figure() { printf 'figure: %s=%s\n' "$1" "$2"; }
# record_promise DEVICE-NAME [--ordered] PUBCLIENT-JSON...: every returned id's payload is in the record; prints a
# figure line for each of promised, recorded, duplicates, lost, unpromised (and order). Fails if any is lost.
record_promise() {
        local dev=$1 opts=() line kv rc=0
        shift
        [[ ${1:-} != --ordered ]] || { opts+=(--ordered); shift; }
        line=$(python3 "$HARNESS_LIB/record.py" promise "$RECORD" --device="$dev" "${opts[@]}" \
                "${@/#/--pubclient=}") || rc=1
        for kv in $line; do figure "${kv%%=*}" "${kv#*=}"; done
        return $rc
}

# --- Link emulation (tests/tools/udp-relay and tcp-relay: delay, rate, loss, NAT, black holes).
# start_relay udp|tcp NAME --target=ADDR:PORT [ARGS...]: a relay on a free loopback port unless --listen= is
# given; sets RELAY_PID[NAME], RELAY_PORT[NAME] and RELAY_OUT[NAME] (its stdout, where its event lines go).
declare -gA RELAY_PID=() RELAY_PORT=() RELAY_OUT=()
start_relay() {
        local kind=$1 name=$2 out port
        shift 2
        harness_next
        out=$LOGDIR/$kind-relay.$name.$HARNESS_SEQ.out
        [[ " $* " == *" --listen="* ]] || set -- --listen=127.0.0.1:0 "$@"
        RELAY_PID[$name]=$("$WAIT_READY" --timeout=10 --stdout="$out" --stderr="${out%.out}.err" -- \
                "$IOTPUB_BUILD/tests/bin/$kind-relay" "$@") || fail "$kind-relay $name did not become ready"
        harness_register "${RELAY_PID[$name]}" "$kind-relay $name"
        read -r _ _ port <"$out"
        [[ $port =~ ^[0-9]+$ ]] || fail "$kind-relay $name printed no 'relay ADDR PORT' line"
        RELAY_PORT[$name]=$port RELAY_OUT[$name]=$out
}
stop_relay() {
        harness_stop_pid "${RELAY_PID[$1]}" "relay $1" || fail "relay $1 did not exit on SIGTERM"
        harness_unregister "${RELAY_PID[$1]}"
}
# harness_relay_signal NAME SIGNAL REGEX WHAT: sends SIGNAL to the relay and waits for one more output line matching
# REGEX (grep's basic syntax).
harness_relay_signal() {
        local n
        n=$(grep -c "$3" "${RELAY_OUT[$1]}" || true)
        kill "-$2" "${RELAY_PID[$1]}"
        wait_for --timeout=5 harness_relay_lines "${RELAY_OUT[$1]}" "$3" $((n + 1)) || fail "relay $1 $4"
}
harness_relay_lines() { (($(grep -c "$2" "$1") >= $3)); }
# relay_dump NAME: the relay prints its counters (SIGUSR1); returns once the dump is complete.
relay_dump() { harness_relay_signal "$1" USR1 '^dump ' "printed no counters"; }
# relay_get NAME WORD KEY: KEY's value on the relay's last output line that starts with WORD ("" if none), e.g.
# relay_get r up bytes_out after relay_dump, or relay_get r first-up real_us.
relay_get() {
        awk -v w="$2" -v k="$3" '$1 == w { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) v = kv[2] } }
                END { print v }' "${RELAY_OUT[$1]}"
}
# relay_blackhole_toggle NAME: SIGUSR2, and waits for the relay's "blackhole on|off" line saying so.
relay_blackhole_toggle() { harness_relay_signal "$1" USR2 '^blackhole \(on\|off\) ' "did not switch"; }

# --- A faked wall clock (libfaketime, Debian package faketime) for one process; the machine's clock is never set.
# with_faketime FILE CMD...: runs CMD (e.g. start_daemon) with iotpubd under libfaketime reading its wall clock from
# FILE on every call (write "@2000-01-01 00:00:00", "+0", "-1y", ... into it to move the clock). CLOCK_MONOTONIC
# and CLOCK_BOOTTIME stay real, and the kernel's clock does not move, so no TFD_TIMER_CANCEL_ON_SET timer fires.
# Keep the faked clock behind the real one or right: libfaketime 0.9.10 shifts every absolute timerfd by its
# offset whatever the clock, so behind, sd-event's timers do not fire while faked; ahead, arming one fails.
HARNESS_FAKETIME_LIB=${HARNESS_FAKETIME_LIB:-/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/faketime/libfaketime.so.1}
with_faketime() {
        local file=$1 saved=("${HARNESS_WRAPPER[@]}")
        shift
        local preload=$HARNESS_FAKETIME_LIB asan
        [[ -f "$HARNESS_FAKETIME_LIB" ]] || fail "libfaketime is missing ($HARNESS_FAKETIME_LIB); install the faketime package"
        # An ASan build (make check-asan) refuses to start unless its runtime comes first among the libraries.
        asan=$(ldd "$IOTPUBD" 2>/dev/null | awk '/libasan/ { print $3; exit }')
        [[ -z $asan ]] || preload=$asan:$preload
        HARNESS_WRAPPER=(env LD_PRELOAD="$preload" FAKETIME_TIMESTAMP_FILE="$file" FAKETIME_NO_CACHE=1
                FAKETIME_DONT_FAKE_MONOTONIC=1 "${saved[@]}")
        "$@"
        HARNESS_WRAPPER=("${saved[@]}")
}
