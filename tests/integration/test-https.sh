#!/usr/bin/env bash
# https end to end: a payload of exactly 128 KiB is delivered byte for byte and one byte more is refused at
# Publish; one kept-alive connection per identity; the token is reused after a restart; a wrong secret (State
# error, "refused authentication", queued, backoff), another CA or a certificate for another host name
# ("certificate verification failed", nothing sent), an unreachable cloud (backoff, then all delivered).
# transports: https
set -euo pipefail
export IOTPUB_TRANSPORT=https
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-https "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

PKI=$HARNESS_DIR/pki
# certtool_quiet ARGS...: certtool with its chatter in the logs.
certtool_quiet() { certtool "$@" >>"$LOGDIR/certtool.log" 2>&1; }
# queue DEVICE COUNT PREFIX [PUBCLIENT-ARGS...]: publishes without waiting; prints pubclient's JSON path.
queue() {
        local json=$LOGDIR/queue-$1-$3.json
        pubclient "$json" --device="$1" --topic="$(topic_of "$1")" --count="$2" --prefix="$3" --no-wait \
                --timeout=20 "${@:4}" || fail "Publish to $1 failed: $(cat "$json")"
        echo "$json"
}
state_of() { device_prop "$1" State; }
has_state() { [[ $(state_of "$1") == "$2" ]]; }
error_mentions() { [[ $(device_prop "$1" LastError) == *"$2"* ]]; }
# refused_auths DEVICE-NAME: /auth requests of that device the emulator refused.
refused_auths() { grep -c "Rejected auth from .*/$1): 20000" "$SIM_LOG" || true; }
at_least_refused() { (($(refused_auths "$1") >= $2)); }

start_bus
harness_pki
# Another CA that signed nothing of the emulator's, and a server certificate of the test CA for "otherhost".
certtool_quiet --generate-privkey --key-type=ecdsa --outfile "$PKI/stranger-ca.key" &&
        certtool_quiet --generate-self-signed --load-privkey "$PKI/stranger-ca.key" --template "$PKI/ca.tmpl" \
                --outfile "$PKI/stranger-ca.crt" || fail "certtool could not make the second CA"
printf 'cn = "otherhost"\ndns_name = "otherhost"\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n' \
        >"$PKI/otherhost.tmpl"
certtool_quiet --generate-privkey --key-type=rsa --bits=2048 --outfile "$PKI/otherhost.key" &&
        certtool_quiet --generate-certificate --load-privkey "$PKI/otherhost.key" --load-ca-certificate "$PKI_CA" \
                --load-ca-privkey "$PKI/ca.key" --template "$PKI/otherhost.tmpl" --outfile "$PKI/otherhost.crt" ||
        fail "certtool could not make the otherhost certificate"

for d in big_dev bad_dev stranger_dev host_dev far_dev; do new_identity "$d"; done
start_cloudsim "$CLOUD_DEVICES" --log-level=debug
port=$CLOUDSIM_HTTPS_PORT
SIM_LOG=$LOGDIR/cloudsim.$HARNESS_SEQ.err
start_cloudsim "$CLOUD_DEVICES" --cert="$PKI/otherhost.crt" --key="$PKI/otherhost.key"
otherhost_port=$CLOUDSIM_HTTPS_PORT
far_port=$(free_port tcp)

printf '[Daemon]\nBackoffMinSec=1\nBackoffMaxSec=2\n' >"$CONFDIR/iotpubd.conf"
configure_identity big_dev "$port"
write_device bad_dev "${ID_PK[bad_dev]}" bad_dev "not-$(harness_random 28)" "https://localhost:$port" \
        "CAFile=$PKI_CA"
write_device stranger_dev "${ID_PK[stranger_dev]}" stranger_dev "${ID_SECRET[stranger_dev]}" \
        "https://localhost:$port" "CAFile=$PKI/stranger-ca.crt"
write_device host_dev "${ID_PK[host_dev]}" host_dev "${ID_SECRET[host_dev]}" "https://localhost:$otherhost_port" \
        "CAFile=$PKI_CA"
configure_identity far_dev "$far_port"
start_daemon

# --- 128 KiB exactly: accepted, delivered, recorded byte for byte. One byte more: PayloadTooLarge at Publish.
big=$LOGDIR/pubclient-big.json
pubclient "$big" --device=big_dev --topic="$(topic_of big_dev)" --count=1 --size=131072 --prefix=big \
        --timeout=60 || fail "the 131072-byte publish was not delivered: $(cat "$big")"
check_record big_dev --pubclient="$big" --topic="$(topic_of big_dev)" || fail "the 128 KiB payload differs"
harness_log "ok: a 131072-byte payload was delivered byte for byte"
expect_publish_error org.iotpub1.Error.PayloadTooLarge "131073-byte payload" --device=big_dev \
        --topic="$(topic_of big_dev)" --size=131073

# --- Keep-alive: the auth and every publish of big_dev came over one TCP connection (one client port).
many=$LOGDIR/pubclient-many.json
pubclient "$many" --device=big_dev --topic="$(topic_of big_dev)" --count=20 --prefix=many --timeout=60 ||
        fail "20 publishes to big_dev: $(cat "$many")"
check_record big_dev --pubclient="$big" --pubclient="$many" --topic="$(topic_of big_dev)" ||
        fail "record differs for big_dev"
peers=$(grep -E "(Auth|Publish) from [^ ]+: ${ID_PK[big_dev]}/big_dev" "$SIM_LOG" | sed -E 's/.* from ([^ ]+):.*/\1/' |
        sort -u | wc -l)
assert_eq 1 "$peers" "client ports used by big_dev (one kept-alive connection)"

# --- The token is cached: after a restart big_dev publishes without a new /auth.
stop_daemon
start_daemon
again=$LOGDIR/pubclient-again.json
pubclient "$again" --device=big_dev --topic="$(topic_of big_dev)" --count=1 --prefix=again --timeout=60 ||
        fail "publish after the restart: $(cat "$again")"
assert_eq 1 "$(record_count --event=auth --device=big_dev)" "auths of big_dev across a restart (cached token)"

# --- Wrong secret: refused (20000); State error, LastError says so, messages stay queued, retries back off.
bad=$(queue bad_dev 3 bad)
wait_for --timeout=20 has_state bad_dev error || fail "bad_dev did not reach State error (State=$(state_of bad_dev))"
error_mentions bad_dev "refused authentication" ||
        fail "bad_dev LastError does not say refused authentication: $(device_prop bad_dev LastError)"
harness_log "ok: bad_dev LastError: $(device_prop bad_dev LastError)"
t0=${EPOCHREALTIME/./}
first=$(refused_auths bad_dev)
wait_for --timeout=30 at_least_refused bad_dev $((first + 3)) || fail "bad_dev stopped retrying"
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
n=$(refused_auths bad_dev)
# Three more attempts wait out at least three backoffs of >= 1 s; a tight loop would make hundreds.
((ms >= 2000 && n <= first + 6)) || fail "bad_dev retried too fast: $n refused auths, 3 more in $ms ms"
harness_log "ok: bad_dev backs off ($((n - first)) attempts in $ms ms)"
assert_eq 3 "$(json_get "$bad" 'd["published"]')" "messages accepted for bad_dev"
assert_eq 0 "$(record_count --device=bad_dev)" "messages recorded for bad_dev"
wait_for --timeout=10 has_state bad_dev error || fail "bad_dev left State error"

# --- Certificates: a CA that did not sign the server's certificate, and a certificate for another host name.
stranger=$(queue stranger_dev 2 stranger)
host=$(queue host_dev 2 host)
for d in stranger_dev host_dev; do
        wait_for --timeout=20 error_mentions "$d" "certificate verification failed" ||
                fail "$d LastError does not mention certificate verification: $(device_prop "$d" LastError)"
        harness_log "ok: $d LastError: $(device_prop "$d" LastError)"
        wait_for --timeout=10 has_state "$d" error || fail "$d is not in State error ($(state_of "$d"))"
        assert_eq 0 "$(record_count --event=auth --device="$d")" "auths recorded for $d"
        assert_eq 0 "$(record_count --device="$d")" "messages recorded for $d"
done
[[ -s $stranger && -s $host ]] || fail "pubclient wrote no summary"

# --- Unreachable, then reachable: backoff without losing anything, then everything delivered in order.
far=$(queue far_dev 5 far)
wait_for --timeout=20 error_mentions far_dev "cannot reach" ||
        fail "far_dev LastError does not say the endpoint is unreachable: $(device_prop far_dev LastError)"
harness_log "ok: far_dev LastError: $(device_prop far_dev LastError)"
[[ $(state_of far_dev) != error ]] || fail "an unreachable endpoint must not put far_dev in State error"
start_cloudsim "$CLOUD_DEVICES" --https-port="$far_port"
assert_eq "$far_port" "$CLOUDSIM_HTTPS_PORT" "the late emulator's port"
wait_for --timeout=30 record_has 5 --device=far_dev ||
        fail "only $(record_count --device=far_dev) of 5 messages of far_dev arrived"
check_record far_dev --pubclient="$far" --topic="$(topic_of far_dev)" || fail "far_dev lost or reordered messages"
wait_for --timeout=10 has_state far_dev idle || fail "far_dev did not become idle ($(state_of far_dev))"
harness_log "ok: far_dev delivered everything once the cloud was reachable"
