#!/usr/bin/env bash
# iotpubctl against a private bus, iotpub-cloudsim and iotpubd: every verb at least once, --json parsed back
# and checked, exit statuses (2 usage, 1 failure, 3 unreachable, 4 denied), add-device with the secret from
# stdin and from --secret-file followed by a delivered publish, --secret= refused, no secret in any output.
# Sections that need a daemon method the daemon does not have yet are reported by name and fail the test.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
IOTPUBCTL=$IOTPUB_BUILD/iotpubctl
harness_init test-iotpubctl "$IOTPUBD" "$CLOUDSIM" "$IOTPUBCTL"

MISSING=()
N=0

# ctl WANT-STATUS WHAT ARGS...: runs iotpubctl; its stdout/stderr land in $OUT/$ERR (under logs/, so the
# harness's secret check reads them too).
ctl() {
        local want=$1 what=$2 rc=0
        shift 2
        N=$((N + 1))
        OUT=$LOGDIR/ctl.$N.out ERR=$LOGDIR/ctl.$N.err
        "$IOTPUBCTL" "$@" >"$OUT" 2>"$ERR" </dev/null || rc=$?
        [[ $rc == "$want" ]] ||
                fail "$what: 'iotpubctl $*' exited $rc, expected $want; stderr: $(head -c 400 "$ERR")"
        harness_log "ok: $what (exit $rc)"
}
# ctl_in WANT WHAT STDIN-FILE ARGS...: the same with standard input from a file.
ctl_in() {
        local want=$1 what=$2 in=$3 rc=0
        shift 3
        N=$((N + 1))
        OUT=$LOGDIR/ctl.$N.out ERR=$LOGDIR/ctl.$N.err
        "$IOTPUBCTL" "$@" >"$OUT" 2>"$ERR" <"$in" || rc=$?
        [[ $rc == "$want" ]] ||
                fail "$what: 'iotpubctl $*' exited $rc, expected $want; stderr: $(head -c 400 "$ERR")"
        harness_log "ok: $what (exit $rc)"
}
# jq_out PYTHON-EXPR: evaluates EXPR with d = the JSON document in $OUT.
jq_out() { json_get "$OUT" "$1"; }

# have_method PATH INTERFACE METHOD: whether the running daemon implements it (live introspection).
have_method() { bctl introspect org.iotpub1 "$1" "$2" 2>/dev/null | grep -q "^\.$3 *method"; }
# need METHOD...: false (and the method noted as missing) unless the daemon has every METHOD
# (Manager.X or Device.X, the latter looked up on the device ctl_dev).
need() {
        local m ok=0 path iface
        for m; do
                case $m in
                Manager.*) path=/org/iotpub1 iface=org.iotpub1.Manager ;;
                Device.*) path=$(device_path ctl_dev) iface=org.iotpub1.Device ;;
                esac
                if ! have_method "$path" "$iface" "${m#*.}"; then
                        [[ " ${MISSING[*]} " == *" $m "* ]] || MISSING+=("$m")
                        harness_log "SKIPPED: a section needs $m, which this iotpubd does not implement"
                        ok=1
                fi
        done
        return $ok
}

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

start_bus
export IOTPUB_BUS_ADDRESS=$BUS
new_identity ctl_dev
new_identity add_stdin
new_identity add_file
start_cloudsim "$CLOUD_DEVICES"
configure_identity ctl_dev
topic=$(topic_of ctl_dev)
printf '# iotpubctl test rules\nallow user:nobody ctl_dev /${ProductKey}/${DeviceName}/user/nobody\n' \
        >"$CONFDIR/acl.conf"
start_daemon

# --- help, version and usage errors (no daemon involved)
ctl 0 "--help" --help
assert_grep "$OUT" 'Exit status' "--help documents the exit statuses"
ctl 0 "--version" --version
for v in status devices show publish messages message add-device remove-device reload reauth flush purge acl \
        monitor check; do
        ctl 0 "$v --help" "$v" --help
        assert_grep "$OUT" "^iotpubctl .*$v" "$v --help names the verb"
done
ctl 2 "unknown verb" frobnicate
ctl 2 "no verb"
ctl 2 "publish without a topic" publish ctl_dev
ctl 2 "unknown option" status --frobnicate
ctl 2 "bad --content-type" publish --content-type=xml ctl_dev "$topic" x
ctl 2 "bad --ttl" publish --ttl=0 ctl_dev "$topic" x
ctl 2 "bad --state" messages --state=lost
ctl 2 "add-device --secret=" add-device x --product-key=p --device-name=d --secret=s3cr3tOnTheCommandLine
assert_grep "$ERR" 'standard input' "--secret= is refused, pointing to standard input"
assert_grep "$ERR" '--secret-file' "--secret= is refused, pointing to --secret-file"
ctl 2 "add-device --secret VALUE" add-device x --product-key=p --device-name=d --secret s3cr3tOnTheCommandLine
ctl 2 "add-device with a secret as extra argument" add-device x s3cr3tOnTheCommandLine --product-key=p \
        --device-name=d
assert_grep "$ERR" 'standard input' "an extra argument is refused, pointing to standard input"

# --- not reachable: no bus at that address, and a bus without iotpubd
ctl 3 "bus not reachable" --address="unix:path=$HARNESS_DIR/no-such-bus" status
ctl 3 "check with no bus" --address="unix:path=$HARNESS_DIR/no-such-bus" check

# --- publish
ctl 0 "publish (no wait)" publish ctl_dev "$topic" '{"n":1}'
[[ $(cat "$OUT") =~ ^[0-9]+$ ]] || fail "publish printed '$(cat "$OUT")', not an id"
printf '{"n":2}' >"$HARNESS_DIR/payload"
ctl_in 0 "publish --wait from stdin" "$HARNESS_DIR/payload" --json publish --wait --timeout=30 \
        --content-type=json --ttl=600 ctl_dev "$topic" -
assert_eq delivered "$(jq_out 'd["state"]')" "publish --wait --json state"
id2=$(jq_out 'd["id"]')
cloud2=$(jq_out 'd["cloud_message_id"]')
[[ -n $cloud2 ]] || fail "publish --wait gave no cloud message id"
wait_for --timeout=10 record_has 2 || fail "the published messages are not in the record"
python3 - "$RECORD" <<'EOF' || fail "the record lacks the payloads sent by iotpubctl"
import base64, json, sys
got = [base64.b64decode(json.loads(l)["payload"]) for l in open(sys.argv[1]) if '"payload"' in l]
assert b'{"n":1}' in got and b'{"n":2}' in got, got
EOF
harness_log "ok: both payloads reached the cloud"
ctl 1 "publish to an unknown device" publish no_such_dev "$topic" x
assert_grep "$ERR" 'no_such_dev' "the daemon's message names the device: $(head -c 200 "$ERR")"
ctl 1 "publish to an invalid topic" publish ctl_dev /a//b x

# --- show
ctl 0 "show" show ctl_dev
assert_grep "$OUT" "^ProductKey=${ID_PK[ctl_dev]}\$" "show prints ProductKey="
assert_grep "$OUT" '^State=' "show prints State="
ctl 0 "show --json" --json show ctl_dev
assert_eq ctl_dev "$(jq_out 'd["Name"]')" "show --json Name"
assert_eq "${ID_PK[ctl_dev]}" "$(jq_out 'd["ProductKey"]')" "show --json ProductKey"
assert_ge 2 "$(jq_out 'd["MessagesSent"]')" "show --json MessagesSent"
ctl 1 "show an unknown device" show no_such_dev

# --- monitor: publishes on its own connection (Delivered is unicast), stops by itself after --count events.
mon=$LOGDIR/monitor.json
"$IOTPUBCTL" --json monitor --count=20 --timeout=60 ctl_dev "$topic" '{"mon":1}' >"$mon" 2>"$LOGDIR/monitor.err" &
mon_pid=$!
harness_register "$mon_pid" iotpubctl-monitor
wait_for --timeout=30 grep -q '"event":"Delivered"' "$mon" || fail "monitor saw no Delivered event"
# Keep events coming until monitor has its 20 and exits; bounded.
for ((i = 0; i < 40; i++)); do
        pid_alive "$mon_pid" || break
        "$IOTPUBCTL" publish --wait --timeout=30 ctl_dev "$topic" '{"more":1}' >/dev/null 2>>"$LOGDIR/more.err" || true
done
rc=0
wait "$mon_pid" || rc=$?
harness_unregister "$mon_pid"
assert_eq 0 "$rc" "monitor --count=20 exit status"
python3 - "$mon" <<'EOF' || fail "monitor --json output is wrong (see logs/monitor.json)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
pub = [e for e in ev if e["event"] == "Published"]
counted = [e for e in ev if e["event"] != "Published"]
assert len(pub) == 1 and len(counted) == 20, (len(pub), len(counted))
dl = [e for e in counted if e["event"] == "Delivered"]
assert any(e["id"] == pub[0]["id"] and e["cloud_message_id"] for e in dl), dl
pc = [e for e in counted if e["event"] == "PropertiesChanged"]
assert any(e.get("device") == "ctl_dev" and e["interface"] == "org.iotpub1.Device" for e in pc), pc
assert any(e["path"] == "/org/iotpub1" and "QueueMessages" in e["changed"] for e in pc), pc
EOF
harness_log "ok: monitor --count=20 --json saw its Delivered and PropertiesChanged of manager and device"
# Text mode, stopped by SIGTERM.
mon=$LOGDIR/monitor.txt
"$IOTPUBCTL" monitor ctl_dev "$topic" '{"mon":2}' >"$mon" 2>"$LOGDIR/monitor2.err" &
mon_pid=$!
harness_register "$mon_pid" iotpubctl-monitor
wait_for --timeout=30 grep -q ' Delivered id=' "$mon" || fail "text monitor saw no Delivered"
kill -TERM "$mon_pid"
rc=0
wait "$mon_pid" || rc=$?
harness_unregister "$mon_pid"
assert_eq 0 "$rc" "monitor exit status after SIGTERM"
assert_grep "$mon" ' PropertiesChanged device ctl_dev .*State=' "text monitor prints device property changes"

# --- access: uid 65534 may not call admin methods, nor publish where no rule allows it
install -m 0755 "$IOTPUBCTL" "$HARNESS_DIR/iotpubctl"
nobody_ctl() {
        local want=$1 what=$2 rc=0
        shift 2
        N=$((N + 1))
        OUT=$LOGDIR/ctl.$N.out ERR=$LOGDIR/ctl.$N.err
        as_nobody "$HARNESS_DIR/iotpubctl" --address="$BUS" "$@" >"$OUT" 2>"$ERR" </dev/null || rc=$?
        [[ $rc == "$want" ]] || fail "$what: exited $rc, expected $want; stderr: $(head -c 400 "$ERR")"
        harness_log "ok: $what (exit $rc): $(head -c 160 "$ERR")"
}
nobody_ctl 4 "uid 65534 publish without a matching rule" publish ctl_dev "$topic" x
need Manager.Reload && nobody_ctl 4 "uid 65534 reload" reload
need Device.Flush && nobody_ctl 4 "uid 65534 flush" flush ctl_dev

# --- acl explain
if need Manager.ExplainAccess; then
        ctl 0 "acl explain (root)" --json acl explain ctl_dev "$topic"
        assert_eq True "$(jq_out 'd["allowed"]')" "root is allowed"
        assert_eq "root is always allowed" "$(jq_out 'd["rule"]')" "root's rule"
        ctl 0 "acl explain --user=nobody, matching rule" --json acl explain --user=nobody ctl_dev \
                "/${ID_PK[ctl_dev]}/ctl_dev/user/nobody"
        assert_eq True "$(jq_out 'd["allowed"]')" "nobody allowed on .../user/nobody"
        assert_eq 65534 "$(jq_out 'd["uid"]')" "--user=nobody resolved to uid 65534"
        assert_eq "$CONFDIR/acl.conf:2" "$(jq_out 'd["location"]')" "rule location FILE:LINE"
        ctl 0 "acl explain --user=65534, no rule" acl explain --user=65534 ctl_dev "$topic"
        assert_grep "$OUT" '^denied' "text output says denied"
        assert_grep "$OUT" 'default deny' "text output names the default deny"
fi

# --- status, devices, messages, message
if need Manager.ListDevices; then
        ctl 0 "status" status
        assert_grep "$OUT" '^ *Online: ' "status prints Online"
        assert_grep "$OUT" 'ctl_dev' "status lists ctl_dev"
        ctl 0 "status --json" --json status
        assert_eq "$(manager_prop Version)" "$(jq_out 'd["Version"]')" "status --json Version"
        assert_eq "['ctl_dev']" "$(jq_out '[x["Name"] for x in d["Devices"]]')" "status --json devices"
        ctl 0 "devices" devices
        assert_grep "$OUT" '^NAME +TRANSPORT +STATE +PATH' "devices prints a header"
        ctl 0 "devices --no-legend" --no-legend devices
        assert_eq ctl_dev "$(awk '{print $1}' "$OUT")" "devices --no-legend"
        ctl 0 "devices --json" --json devices
        assert_eq "$(device_path ctl_dev)" "$(jq_out 'd[0]["path"]')" "devices --json path"
fi
if need Manager.ListMessages; then
        ctl 0 "messages --json --state=delivered" --json messages --state=delivered --limit=100
        assert_eq "$cloud2" "$(jq_out "[m['detail'] for m in d if m['id'] == $id2][0]")" \
                "messages: detail of message $id2 is its cloud id"
        assert_eq "{'delivered'}" "$(jq_out 'set(m["state"] for m in d)')" "messages --state=delivered"
        ctl 0 "messages --limit=1" --json messages --limit=1
        assert_eq 1 "$(jq_out 'len(d)')" "messages --limit=1 count"
        ctl 0 "messages (table)" messages
        assert_grep "$OUT" "^$id2 +delivered +ctl_dev" "messages table lists message $id2"
fi
if need Manager.GetMessage; then
        ctl 0 "message ID --json" --json message "$id2"
        assert_eq delivered "$(jq_out 'd["state"]')" "GetMessage state"
        assert_eq "$cloud2" "$(jq_out 'd["detail"]')" "GetMessage detail"
        ctl 1 "message with an unknown id" message 999999999
fi

# --- add-device (secret from stdin, from --secret-file), publish through them, remove-device
if need Manager.AddDevice Manager.RemoveDevice Manager.ListDevices; then
        (umask 077 && printf '%s\n' "${ID_SECRET[add_stdin]}" >"$HARNESS_DIR/secret-stdin" &&
                printf '%s\n' "${ID_SECRET[add_file]}" >"$HARNESS_DIR/secret-file")
        ctl_in 0 "add-device, secret on stdin" "$HARNESS_DIR/secret-stdin" add-device add_stdin \
                --product-key="${ID_PK[add_stdin]}" --device-name=add_stdin --transport=coap-aes \
                --endpoint="127.0.0.1:$CLOUDSIM_PORT"
        ctl 0 "add-device --secret-file --json" --json add-device add_file --product-key="${ID_PK[add_file]}" \
                --device-name=add_file --endpoint="127.0.0.1:$CLOUDSIM_PORT" --secret-file="$HARNESS_DIR/secret-file"
        assert_eq "$(device_path add_file)" "$(jq_out 'd["path"]')" "add-device --json path"
        ctl 1 "add-device of an existing name" add-device add_file --product-key=p --device-name=d \
                --secret-file="$HARNESS_DIR/secret-file"
        for d in add_stdin add_file; do
                ctl 0 "publish --wait through $d" --json publish --wait --timeout=30 "$d" "$(topic_of "$d")" \
                        "{\"via\":\"$d\"}"
                assert_eq delivered "$(jq_out 'd["state"]')" "publish through $d"
                wait_for --timeout=10 record_has 1 --device="$d" || fail "nothing from $d in the record"
        done
        ctl 0 "remove-device" remove-device add_file
        ctl 1 "show a removed device" show add_file
        ctl 0 "devices after remove" --no-legend devices
        assert_eq "add_stdin ctl_dev" "$(awk '{print $1}' "$OUT" | sort | xargs)" "devices after remove-device"
        ctl 1 "remove-device of an unknown device" remove-device no_such_dev
fi

# --- reload, reauth, flush, purge
need Manager.Reload && ctl 0 "reload" reload
need Device.Reauthenticate && ctl 0 "reauth" reauth ctl_dev
need Device.Flush && ctl 0 "flush" flush ctl_dev
need Device.Reauthenticate && ctl 1 "reauth of an unknown device" reauth no_such_dev
if need Device.Purge Manager.AddDevice Manager.ListMessages; then
        # A device whose endpoint never answers keeps its messages queued until purged.
        printf 'x%.0s' {1..32} >"$HARNESS_DIR/secret-dead"
        HARNESS_SECRETS+=("$(cat "$HARNESS_DIR/secret-dead")")
        ctl_in 0 "add-device dead" "$HARNESS_DIR/secret-dead" add-device dead --product-key=a1dead \
                --device-name=dead --endpoint=127.0.0.1:9
        ctl 0 "publish to dead 1" publish dead /a1dead/dead/user/update '{"d":1}'
        ctl 0 "publish to dead 2" publish dead /a1dead/dead/user/update '{"d":2}'
        ctl 0 "purge --json" --json purge dead
        assert_eq 2 "$(jq_out 'd["purged"]')" "purge count"
        ctl 0 "messages --state=failed" --json messages --state=failed
        assert_ge 2 "$(jq_out 'sum(1 for m in d if m["device"] == "dead" and m["detail"] == "purged")')" \
                "purged messages listed as failed with reason 'purged'"
fi

# --- check
if need Manager.CheckConfiguration Manager.ListDevices; then
        ctl 0 "check" check
        ctl 0 "check --json" --json check
        assert_eq "[]" "$(jq_out '[c for c in d if not c["ok"]]')" "check --json: no problem"
        assert_eq True "$(jq_out 'any(c["check"] == "clock" for c in d)')" "check --json has a clock check"
        if need Manager.AddDevice; then
                ctl_in 0 "add-device with an unresolvable host" "$HARNESS_DIR/secret-dead" add-device badhost \
                        --product-key=a1bad --device-name=badhost --endpoint=no-such-host.invalid:5682
                ctl 1 "check reports the unresolvable endpoint" --json check
                assert_eq "['badhost']" "$(jq_out '[c["location"] for c in d if not c["ok"]]')" \
                        "check --json names the device whose endpoint does not resolve"
        fi
fi

# --- no secret in anything iotpubctl printed (the harness also checks every log at exit)
for s in "${ID_SECRET[@]}"; do
        ! grep -rqF -e "$s" "$LOGDIR"/ctl.* "$LOGDIR"/monitor* || fail "a device secret appears in iotpubctl output"
done
harness_log "ok: no secret in iotpubctl's outputs"

if ((${#MISSING[@]} > 0)); then
        fail "iotpubd does not implement ${MISSING[*]}; the sections that need them were not run"
fi
harness_log "all iotpubctl checks passed"
