#!/usr/bin/env bash
# coap-dtls failure modes a user can act on: a wrong secret (State error, "refused authentication", messages
# stay queued, retries back off), an unreachable cloud (backoff, then everything delivered), and the server
# certificate mode: the test CA works, another CA or a host name the certificate lacks fail verification.
# transports: coap-dtls
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-dtls "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

# pki_cert NAME TEMPLATE-LINES: a server certificate from the test CA, made now.
pki_cert() {
        local d=$HARNESS_DIR/pki
        printf '%s\n' "${@:2}" tls_www_server encryption_key signing_key 'expiration_days = 2' >"$d/$1.tmpl"
        certtool --generate-privkey --key-type=rsa --bits=2048 --outfile "$d/$1.key" >/dev/null 2>&1 &&
                certtool --generate-certificate --load-privkey "$d/$1.key" --load-ca-certificate "$PKI_CA" \
                        --load-ca-privkey "$d/ca.key" --template "$d/$1.tmpl" --outfile "$d/$1.crt" \
                        >/dev/null 2>&1 || fail "certtool could not make the $1 certificate"
}
# publish_n DEVICE N PREFIX: queues N messages without waiting for delivery.
publish_n() {
        local out=$LOGDIR/pubclient-$1-$3.json
        pubclient "$out" --device="$1" --topic="$(topic_of "$1")" --count="$2" --prefix="$3" --no-wait --timeout=20 ||
                fail "publishing to $1: $(cat "$out")"
        echo "$out"
}
state_is() { [[ $(device_prop "$1" State) == "$2" ]]; }
last_error_has() { [[ $(device_prop "$1" LastError) == *"$2"* ]]; }
handshakes_at_least() { (($(handshakes "$1") >= $2)); }
handshakes() { grep -c "DTLS PSK handshake from .*$1" "$CLOUDSIM_ERR" || true; }

start_bus
harness_pki
# A second, unrelated CA: its certificate must not verify the cloud.
certtool --generate-privkey --key-type=ecdsa --outfile "$HARNESS_DIR/pki/other-ca.key" >/dev/null 2>&1 &&
        certtool --generate-self-signed --load-privkey "$HARNESS_DIR/pki/other-ca.key" \
                --template "$HARNESS_DIR/pki/ca.tmpl" --outfile "$HARNESS_DIR/pki/other-ca.crt" >/dev/null 2>&1 ||
        fail "certtool could not make the second CA"
pki_cert dnsonly 'cn = "localhost"' 'dns_name = "localhost"'

for d in bad_dev far_dev silent_dev cert_dev wrongca_dev host_dev; do new_identity "$d"; done
start_cloudsim "$CLOUD_DEVICES" --cert="$PKI_CERT" --key="$PKI_KEY"
port=$(transport_port)
CLOUDSIM_ERR=$LOGDIR/cloudsim.$HARNESS_SEQ.err
# The host name case needs a certificate without the 127.0.0.1 address.
start_cloudsim "$CLOUD_DEVICES" --cert="$HARNESS_DIR/pki/dnsonly.crt" --key="$HARNESS_DIR/pki/dnsonly.key"
dnsonly_port=$(transport_port)
far_port=$(free_port udp)
# A server that swallows every datagram: no ICMP, no handshake; that is unreachable, not a refused key.
silent_port_file=$HARNESS_DIR/silent.port
python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); __import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
while True: s.recv(4096)' "$silent_port_file" &
harness_register $! silent-udp
wait_for --timeout=10 test -s "$silent_port_file" || fail "the silent UDP server did not start"

printf '[Daemon]\nBackoffMinSec=1\nBackoffMaxSec=2\n' >"$CONFDIR/iotpubd.conf"
write_device bad_dev "${ID_PK[bad_dev]}" bad_dev "wrong-$(harness_random 26)" "127.0.0.1:$port"
configure_identity far_dev "$far_port"
configure_identity silent_dev "$(cat "$silent_port_file")"
write_device cert_dev "${ID_PK[cert_dev]}" cert_dev "${ID_SECRET[cert_dev]}" "localhost:$port" "CAFile=$PKI_CA"
write_device wrongca_dev "${ID_PK[wrongca_dev]}" wrongca_dev "${ID_SECRET[wrongca_dev]}" "localhost:$port" \
        "CAFile=$HARNESS_DIR/pki/other-ca.crt"
write_device host_dev "${ID_PK[host_dev]}" host_dev "${ID_SECRET[host_dev]}" "127.0.0.1:$dnsonly_port" \
        "CAFile=$PKI_CA"
start_daemon

# --- Wrong secret: the PSK handshake fails; the device says so and keeps its messages.
publish_n bad_dev 3 bad >/dev/null
wait_for --timeout=20 state_is bad_dev error ||
        fail "bad_dev did not reach State error (State=$(device_prop bad_dev State))"
last=$(device_prop bad_dev LastError)
[[ $last == *"refused authentication"* ]] || fail "bad_dev LastError does not say refused authentication: $last"
harness_log "ok: bad_dev LastError: $last"
# Backoff, not a tight loop: four handshakes take at least three backoff waits of >= 1 s.
start=${EPOCHREALTIME/./}
wait_for --timeout=30 handshakes_at_least "|${ID_PK[bad_dev]}&bad_dev|" 4 ||
        fail "bad_dev stopped retrying ($(handshakes "|${ID_PK[bad_dev]}&bad_dev|") handshakes)"
elapsed_ms=$(((${EPOCHREALTIME/./} - start) / 1000))
n=$(handshakes "|${ID_PK[bad_dev]}&bad_dev|")
((elapsed_ms >= 2000 && n <= 8)) || fail "bad_dev retried too fast: $n handshakes, 4th after $elapsed_ms ms"
harness_log "ok: bad_dev backs off ($n handshakes, the 4th after $elapsed_ms ms)"
wait_for --timeout=10 state_is bad_dev error || fail "bad_dev left State error"
assert_eq 0 "$(record_count --event=auth --device=bad_dev)" "auth events for bad_dev"
retries=$(device_prop bad_dev Retries)
((retries <= n)) || fail "bad_dev Retries ($retries) grew faster than the handshakes ($n)"

# --- Cloud unreachable, then reachable: backoff, then every message delivered.
far=$(publish_n far_dev 5 far)
wait_for --timeout=20 state_is far_dev backoff ||
        fail "far_dev did not back off (State=$(device_prop far_dev State))"
harness_log "ok: far_dev backs off: $(device_prop far_dev LastError)"
start_cloudsim "$CLOUD_DEVICES" --dtls-port="$far_port"
wait_for --timeout=30 record_has 5 --device=far_dev || fail "far_dev's messages were not delivered"
check_record far_dev --pubclient="$far" --topic="$(topic_of far_dev)" --allow-duplicates ||
        fail "far_dev lost or reordered messages"

# A silent server: backoff with "no answer", not State error.
publish_n silent_dev 1 silent >/dev/null
wait_for --timeout=60 last_error_has silent_dev "no answer" ||
        fail "silent_dev LastError does not say no answer: $(device_prop silent_dev LastError)"
state=$(device_prop silent_dev State)
[[ $state == backoff || $state == authenticating ]] || fail "silent_dev is in State $state, expected backoff"
harness_log "ok: silent_dev: $(device_prop silent_dev LastError)"

# --- Certificate mode against the test CA, by host name.
out=$LOGDIR/pubclient-cert.json
pubclient "$out" --device=cert_dev --topic="$(topic_of cert_dev)" --count=3 --prefix=cert --timeout=30 ||
        fail "certificate mode with the test CA: $(cat "$out")"
check_record cert_dev --pubclient="$out" --topic="$(topic_of cert_dev)" || fail "record differs for cert_dev"

# --- Another CA, and a host name the certificate does not carry: verification fails, nothing is sent.
publish_n wrongca_dev 2 wrongca >/dev/null
publish_n host_dev 2 host >/dev/null
for d in wrongca_dev host_dev; do
        wait_for --timeout=20 last_error_has "$d" "certificate verification failed" ||
                fail "$d LastError does not say certificate verification failed: $(device_prop "$d" LastError)"
        harness_log "ok: $d LastError: $(device_prop "$d" LastError)"
        wait_for --timeout=10 state_is "$d" error || fail "$d is not in State error"
        assert_eq 0 "$(record_count --event=auth --device="$d")" "auth events for $d"
        assert_eq 0 "$(record_count --device="$d")" "messages recorded for $d"
done
for d in bad_dev:3 wrongca_dev:2 host_dev:2; do
        assert_eq "${d#*:}" "$(device_prop "${d%:*}" QueueMessages)" "${d%:*} messages still queued"
done
