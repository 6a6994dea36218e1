#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# iotpub-cloudsim's coap-aes endpoint driven by coap-probe over loopback: auth and publish, every rejection
# code of PROTOCOL.md A.5/E.6/E.10, retransmission (cached, recorded once) versus replay (4.02), ackMode 1,
# re-auth, concurrent devices, --strict-seq, --token-ttl, the record's contents, exit codes, secret hygiene.
set -euo pipefail

top=${IOTPUB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IOTPUB_BUILD:-$top/build}
sim=$build/iotpub-cloudsim
probe=$build/tests/bin/coap-probe
tmp=$(mktemp -d)
pids=()

cleanup() {
        local pid
        for pid in "${pids[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*" >&2
        local f
        for f in "$tmp"/*.err; do
                [[ -f $f ]] && { echo "--- ${f##*/} (last 15 lines)" >&2; tail -n 15 "$f" >&2; }
        done
        exit 1
}
pass() { echo "ok: $*"; }

[[ -x $sim && -x $probe ]] || fail "build $sim and $probe first"

secret_a=S3cretA0123456789abcdefghijklmno
secret_b=S3cretB0123456789abcdefghijklmno
secret_c=S3cretC0123456789abcdefghijklmno
cat > "$tmp/devices" <<EOF
# test identities
a1B2c3D4e5F devA $secret_a

a1B2c3D4e5F devB $secret_b   # trailing comment
a1B2c3D4e5F devC $secret_c
EOF
for d in a b c; do
        var=secret_$d
        printf '%s\n' "${!var}" > "$tmp/secret.$d"
done

# start_sim NAME ARGS...: starts cloudsim with stdout on a fifo; reads "coap-aes ADDR PORT" (10 s bound).
# Sets SIM_PID and SIM_PORT.
start_sim() {
        local name=$1 kind addr fd
        shift
        mkfifo "$tmp/$name.fifo"
        "$sim" --devices="$tmp/devices" --coap-port=0 --log-level=debug "$@" \
                > "$tmp/$name.fifo" 2> "$tmp/$name.err" &
        SIM_PID=$!
        pids+=("$SIM_PID")
        exec {fd}< "$tmp/$name.fifo"
        read -r -t 10 -u "$fd" kind addr SIM_PORT || fail "$name: no readiness line on stdout"
        [[ $kind == coap-aes && $SIM_PORT =~ ^[0-9]+$ && $SIM_PORT -gt 0 ]] ||
                fail "$name: bad readiness line '$kind $addr $SIM_PORT'"
}

# stop_sim PID [SIGNAL]: the process must exit with status 0 within 10 s.
stop_sim() {
        local pid=$1 sig=${2:-TERM} rc=0
        kill "-$sig" "$pid"
        timeout 10 tail --pid="$pid" -f /dev/null || fail "cloudsim $pid did not exit on SIG$sig"
        wait "$pid" || rc=$?
        ((rc == 0)) || fail "cloudsim exited with $rc on SIG$sig"
}

# run_probe DEVICE-LETTER STEP...: prints the probe's lines.
run_probe() {
        local d=$1
        shift
        "$probe" --port="$SIM_PORT" --device="a1B2c3D4e5F/dev${d^^}" --secret-file="$tmp/secret.$d" \
                --timeout=3000 "$@"
}

# expect OUTPUT REGEX...: line i of OUTPUT must match ^REGEX_i$, and the line counts must agree.
expect() {
        local out=$1 i=0 line
        shift
        local -a lines
        mapfile -t lines <<< "$out"
        (($# == ${#lines[@]})) || fail "expected $# lines, got ${#lines[@]}:"$'\n'"$out"
        for re in "$@"; do
                line=${lines[i]}
                [[ $line =~ ^$re$ ]] || fail "line $((i + 1)): '$line' does not match '$re'"$'\n'"$out"
                i=$((i + 1))
        done
}

id='[0-9]{19}'

# --- bad command lines exit with 2 and say why
rc=0; "$sim" > /dev/null 2> "$tmp/args.err" || rc=$?
((rc == 2)) && grep -q -- '--devices' "$tmp/args.err" || fail "missing --devices: rc $rc"
printf 'pk dn\n' > "$tmp/bad-devices"
rc=0; "$sim" --devices="$tmp/bad-devices" > /dev/null 2> "$tmp/args.err" || rc=$?
((rc == 2)) && grep -q "bad-devices:1:" "$tmp/args.err" || fail "malformed devices line: rc $rc"
for bad in --coap-port=70000 --listen=example.org --token-ttl=-1 --log-level=loud --no-such-option; do
        rc=0; "$sim" --devices="$tmp/devices" "$bad" > /dev/null 2>&1 || rc=$?
        ((rc == 2)) || fail "$bad: exit status $rc, expected 2"
done
"$sim" --help | grep -q -- '--strict-seq' || fail "--help does not describe --strict-seq"
pass "bad arguments give exit status 2 with a message"

start_sim main --record="$tmp/record.jsonl"
main_pid=$SIM_PID

# --- the normal path, a retransmission, and replays with new MIDs
out=$(run_probe a pub auth pub resend pub,seq=last pub,seq=offset pub,seq=offset pub,seq=0)
expect "$out" \
        'pub 4\.01 seq=0' \
        'auth 2\.05 seqOffset=[0-9]+ shape=ok' \
        "pub 2\.05 seq=[0-9]+ id=$id" \
        "resend 2\.05 id=$id same" \
        'pub 4\.02 seq=[0-9]+' \
        "pub 2\.05 seq=[0-9]+ id=$id" \
        'pub 4\.02 seq=[0-9]+' \
        'pub 4\.02 seq=0'
mapfile -t l <<< "$out"
[[ ${l[3]} == "resend 2.05 id=${l[2]##* id=} same" ]] || fail "retransmission got a different answer"
first_id=${l[2]##* id=}
pass "auth, publish, byte-identical answer to a retransmission, 4.02 for replayed and low seq"

# --- every rejection, and the lenient cases that must pass
out=$(run_probe a auth,sign=bad auth,dn=nobody auth,noseq auth,garbage auth,cf=60 auth,accept=42 \
        auth,method=get auth pub,path=foo/bar pub,path=topic pub,method=get pub,seqopt=none pub,seqopt=junk \
        pub,seqopt=text:12a pub,rawpayload pub,token=bogus pub,tokopt=none pub,cf=99 pub,accept=0 \
        pub,tokopt=61 pub,tokopt=query pub,cf=none,accept=none pub,cf=60,accept=50 pub,cf=0 pub,non \
        'pub,topic=/a1B2c3D4e5F/devA/user/a/b/c/d/e/f/g')
expect "$out" \
        'auth 4\.01' 'auth 4\.01' 'auth 4\.00' 'auth 4\.00' 'auth 4\.15' 'auth 4\.06' 'auth 4\.05' \
        'auth 2\.05 seqOffset=[0-9]+ shape=ok' \
        'pub 4\.04 seq=[0-9]+' 'pub 4\.04 seq=[0-9]+' 'pub 4\.05 seq=[0-9]+' \
        'pub 4\.02 seq=[0-9]+' 'pub 4\.02 seq=[0-9]+' 'pub 4\.02 seq=[0-9]+' 'pub 4\.00 seq=[0-9]+' \
        'pub 4\.01 seq=[0-9]+' 'pub 4\.01 seq=[0-9]+' 'pub 4\.15 seq=[0-9]+' 'pub 4\.06 seq=[0-9]+' \
        "pub 2\.05 seq=[0-9]+ id=$id" "pub 2\.05 seq=[0-9]+ id=$id" "pub 2\.05 seq=[0-9]+ id=$id" \
        "pub 2\.05 seq=[0-9]+ id=$id" "pub 2\.05 seq=[0-9]+ id=$id" "pub 2\.05 seq=[0-9]+ id=$id" \
        "pub 2\.05 seq=[0-9]+ id=$id"
pass "4.00/4.01/4.02/4.04/4.05/4.06/4.15 where PROTOCOL.md says; tokens in 2088, 61 and ?token="

# --- re-auth replaces the session; ackMode 1 gets an empty ACK and a separate response
out=$(run_probe b auth pub auth pub,token=old pub auth,ackmode pub resend)
expect "$out" \
        'auth 2\.05 seqOffset=[0-9]+ shape=ok' "pub 2\.05 seq=[0-9]+ id=$id" \
        'auth 2\.05 seqOffset=[0-9]+ shape=ok' 'pub 4\.01 seq=[0-9]+' "pub 2\.05 seq=[0-9]+ id=$id" \
        'auth 2\.05 separate seqOffset=[0-9]+ shape=ok' "pub 2\.05 seq=[0-9]+ id=$id" \
        "resend 2\.05 id=$id same"
pass "re-auth invalidates the old token; ackMode 1 answered separately"

# --- two devices at once
run_probe b auth pub pub pub pub pub > "$tmp/b.out" &
pb=$!
run_probe c auth pub pub pub pub pub > "$tmp/c.out" &
pc=$!
wait "$pb" && wait "$pc" || fail "concurrent probes failed"
for d in b c; do
        [[ $(grep -c '^pub 2\.05 ' "$tmp/$d.out") == 5 ]] || fail "device $d: $(cat "$tmp/$d.out")"
done
pass "two devices publishing concurrently"

stop_sim "$main_pid"
pass "SIGTERM: exit status 0"

# --- the record: one line per accepted message and auth, nothing for rejections or retransmissions
python3 - "$tmp/record.jsonl" "$first_id" <<'EOF' || fail "record check"
import base64, json, re, sys
events = [json.loads(line) for line in open(sys.argv[1])]
first_id = sys.argv[2]
def of(dev, kind):
    return [e for e in events if e["deviceName"] == dev and e["event"] == kind]
assert len(of("devA", "auth")) == 2, of("devA", "auth")
assert len(of("devA", "publish")) == 2 + 7, len(of("devA", "publish"))
assert len(of("devB", "auth")) == 4 and len(of("devB", "publish")) == 3 + 5
assert len(of("devC", "auth")) == 1 and len(of("devC", "publish")) == 5
ids = [e["messageId"] for e in events if e["event"] == "publish"]
assert len(ids) == len(set(ids)), "message ids are not unique"
assert ids.count(first_id) == 1, "the retransmitted publish was recorded more than once"
for e in events:
    assert e["transport"] == "coap-aes" and e["productKey"] == "a1B2c3D4e5F"
    assert isinstance(e["time"], int) and e["time"] > 1600000000000
    if e["event"] == "auth":
        assert list(e) == ["event", "transport", "productKey", "deviceName", "clientId", "time"], list(e)
        assert e["clientId"] == "a1B2c3D4e5F." + e["deviceName"]
        continue
    # A CBOR payload (Content-Format 60) is also written back as JSON ("json", null if not valid CBOR).
    assert list(e) == ["event", "transport", "productKey", "deviceName", "topic", "payload", "seq",
                       "contentFormat", "messageId", "time"] + (["json"] if e["contentFormat"] == 60 else []), list(e)
    assert re.fullmatch(r"[0-9]{19}", e["messageId"])
    assert json.loads(base64.b64decode(e["payload"]))["seq"] == e["seq"], e
first = next(e for e in events if e.get("messageId") == first_id)
assert first["topic"] == "/a1B2c3D4e5F/devA/user/update" and first["contentFormat"] == 50, first
cfs = [e["contentFormat"] for e in of("devA", "publish")]
assert None in cfs and 60 in cfs and 0 in cfs, cfs
assert any(e["topic"] == "/a1B2c3D4e5F/devA/user/a/b/c/d/e/f/g" for e in of("devA", "publish"))
EOF
pass "record: exact fields, decrypted payloads, unique 19-digit ids, retransmission recorded once"

# --- --strict-seq wants seq > seqOffset; --token-ttl=0 expires tokens at once; SIGINT exits 0
start_sim strict --strict-seq
out=$(run_probe a auth pub,seq=offset pub)
expect "$out" 'auth 2\.05 seqOffset=[0-9]+ shape=ok' 'pub 4\.02 seq=[0-9]+' "pub 2\.05 seq=[0-9]+ id=$id"
stop_sim "$SIM_PID" INT
start_sim ttl --token-ttl=0
out=$(run_probe a auth pub)
expect "$out" 'auth 2\.05 seqOffset=[0-9]+ shape=ok' 'pub 4\.01 seq=[0-9]+'
stop_sim "$SIM_PID"
pass "--strict-seq, --token-ttl=0, SIGINT"

if [[ -e /proc/net/if_inet6 ]]; then
        start_sim v6 --listen=::1
        stop_sim "$SIM_PID"
        pass "--listen=::1"
fi

# --- no secret in any log, the record or stdout
for s in "$secret_a" "$secret_b" "$secret_c"; do
        ! grep -rqF -- "$s" "$tmp"/*.err "$tmp"/*.out "$tmp/record.jsonl" || fail "a device secret leaked"
done
grep -q 'Rejected publish' "$tmp/main.err" || fail "rejections are not logged"
pass "no secret in cloudsim's stderr or the record"
