#!/usr/bin/env bash
# Two unprivileged users, each allowed by a ${user} rule, publish concurrently on one device: each connection
# receives Delivered for exactly its own ids and no signal for the other's (pubclient --all-signals). GetMessage
# of the other user's id answers NoSuchMessage with the same text as an unknown id; ListMessages shows a user
# only its own messages, and root all of them.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-isolation "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

new_test_user U1
new_test_user U2
start_bus
new_identity iso_dev
start_cloudsim "$CLOUD_DEVICES"
configure_identity iso_dev
printf 'allow * iso_dev /${ProductKey}/${DeviceName}/user/${user}\n' >"$CONFDIR/acl.conf"
start_daemon
PK=${ID_PK[iso_dev]}
COUNT=60

declare -A OUT PID
harness_user_tools # once, before the background jobs
for u in "$U1" "$U2"; do
        OUT[$u]=$LOGDIR/pub-$u.json
        pubclient_as "$u" "${OUT[$u]}" --device=iso_dev --topic="/$PK/iso_dev/user/$u" --count=$COUNT --window=4 \
                --prefix="$u" --all-signals --timeout=40 &
        PID[$u]=$!
        harness_register "${PID[$u]}" "pubclient-$u"
done
for u in "$U1" "$U2"; do
        wait "${PID[$u]}" || fail "pubclient as $u: $(cat "${OUT[$u]}")"
        harness_unregister "${PID[$u]}"
done
for u in "$U1" "$U2"; do
        o=${OUT[$u]}
        assert_eq $COUNT "$(json_get "$o" 'd["delivered"]')" "$u: Delivered for its own messages"
        assert_eq 0 "$(json_get "$o" 'd["foreign"]')" "$u: signals for ids that are not its own"
        assert_eq $COUNT "$(json_get "$o" 'len(d["signals"])')" "$u: signals received in all"
        assert_eq "$(json_get "$o" 'sorted(d["ids"])')" "$(json_get "$o" 'sorted(s["id"] for s in d["signals"])')" \
                "$u: the signals carry exactly its ids"
done
python3 - "$RECORD" "${OUT[$U1]}" "${OUT[$U2]}" <<'EOF' || fail "the record does not hold both users' payloads in order"
import base64, json, sys
rec = [json.loads(l) for l in open(sys.argv[1]) if '"publish"' in l]
for path in sys.argv[2:]:
    want = json.load(open(path))["payloads"]
    got = [base64.b64decode(e["payload"]).decode() for e in rec if base64.b64decode(e["payload"]).decode() in set(want)]
    assert got == want, (path, len(got), len(want))
EOF
harness_log "ok: cloudsim recorded each user's payloads once, in order"

ID1=$(json_get "${OUT[$U1]}" 'd["ids"][0]')
ID2=$(json_get "${OUT[$U2]}" 'd["ids"][0]')
M=/org/iotpub1
MI=org.iotpub1.Manager

# --- GetMessage
expect_gcall_ok --as="$U1" "$U1 GetMessage of its own id" $M $MI.GetMessage "uint64 $ID1"
grep -q "'delivered'" "$GCALL_OUT" || fail "$U1's own message is not delivered: $(cat "$GCALL_OUT")"
expect_gcall_error --as="$U1" org.iotpub1.Error.NoSuchMessage "$U1 GetMessage of $U2's id" $M $MI.GetMessage "uint64 $ID2"
other=$(sed "s/message $ID2 /message ID /" "$GCALL_ERR")
expect_gcall_error --as="$U2" org.iotpub1.Error.NoSuchMessage "$U2 GetMessage of $U1's id" $M $MI.GetMessage "uint64 $ID1"
UNKNOWN=999999999
expect_gcall_error --as="$U1" org.iotpub1.Error.NoSuchMessage "$U1 GetMessage of an unknown id" $M $MI.GetMessage \
        "uint64 $UNKNOWN"
assert_eq "$other" "$(sed "s/message $UNKNOWN /message ID /" "$GCALL_ERR")" "the error for another's id reads like an unknown id"
expect_gcall_ok "root GetMessage of $U2's id" $M $MI.GetMessage "uint64 $ID2"
grep -q "'delivered'" "$GCALL_OUT" || fail "root cannot see $U2's message: $(cat "$GCALL_OUT")"

# --- ListMessages: own only; root all
list_ids() { # list_ids OUT-FILE [as_user-args]: ids listed by ListMessages("", 0)
        local out=$1
        shift
        "$@" busctl --address="$BUS" --json=short call org.iotpub1 $M $MI ListMessages su "" 0 >"$out" ||
                fail "ListMessages failed ($*)"
        python3 -c 'import json,sys; print(sorted(m[0] for m in json.load(open(sys.argv[1]))["data"][0]))' "$out"
}
own() { json_get "$1" 'sorted(d["ids"])'; }
both=$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["ids"] + json.load(open(sys.argv[2]))["ids"]))' \
        "${OUT[$U1]}" "${OUT[$U2]}")
assert_eq "$(own "${OUT[$U1]}")" "$(list_ids "$LOGDIR/list-u1.json" as_user "$U1")" "ListMessages as $U1: its own ids"
assert_eq "$(own "${OUT[$U2]}")" "$(list_ids "$LOGDIR/list-u2.json" as_user "$U2")" "ListMessages as $U2: its own ids"
assert_eq "$both" "$(list_ids "$LOGDIR/list-root.json")" "ListMessages as root: both users' ids"
assert_eq "[]" "$(list_ids "$LOGDIR/list-nobody.json" as_user 65534)" "ListMessages as uid 65534: nothing"
