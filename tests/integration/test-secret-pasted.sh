#!/usr/bin/env bash
# A secret pasted into the wrong key of an identity file never reaches the log or a D-Bus reply. One file per
# key (Transport=, SignMethod=, PSKSignMethod=, PayloadEncoding=, CAFile=, SecretFile=, an unknown key, a
# section name, and ProductKey=, DeviceName=, ClientId=, Endpoint=, whose formats a secret can pass): each is
# refused, the message names the file, the line (where the parser knows it) and the key, and neither the
# daemon's log nor Reload's, CheckConfiguration's or `iotpubctl check`'s output holds the secret. The
# harness's secret check at exit reads all of them too.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
IOTPUBCTL=$IOTPUB_BUILD/iotpubctl
harness_init test-secret-pasted "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT" "$IOTPUBCTL"

M=/org/iotpub1 MI=org.iotpub1.Manager
start_bus
new_identity good_dev
new_identity paste_dev
start_cloudsim "$CLOUD_DEVICES"
configure_identity good_dev
S=${ID_SECRET[paste_dev]} # registered with the harness: found anywhere under logs/, the test fails
D=$CONFDIR/devices

# paste NAME LINE5: an identity whose line 5 is LINE5 (the secret on the wrong line); the secret is also given
# properly on line 4.
paste() {
        local endpoint="Endpoint=127.0.0.1:$CLOUDSIM_PORT"
        [[ $2 != Endpoint=* ]] || endpoint=Transport=coap-aes
        (umask 077 && printf '[Device]\nProductKey=%s\nDeviceName=paste_dev\nSecret=%s\n%s\n%s\n' \
                "${ID_PK[paste_dev]}" "$S" "$2" "$endpoint" >"$D/$1.conf")
}
# Refused by the parser: file, line 5 and key.
paste p_transport "Transport=$S"
paste p_sign "SignMethod=$S"
paste p_psk "PSKSignMethod=$S"
paste p_encoding "PayloadEncoding=$S"
paste p_cafile "CAFile=$S"
paste p_secretfile "SecretFile=$S"
paste p_key "$S=1"
paste p_section "[$S]"
# Well-formed values: refused once the secret is known; file and key.
paste p_pk "ProductKey=$S"
paste p_dn "DeviceName=$S"
paste p_clientid "ClientId=$S"
paste p_endpoint "Endpoint=$S"

start_daemon
expect_named() { # expect_named FILE TEXT WHERE
        grep -qF -- "$2" "$1" || fail "$3 does not name '$2': $(harness_redact <"$1" | grep -F "$D" | head -n 5)"
}
for k in p_transport:Transport p_sign:SignMethod p_psk:PSKSignMethod p_encoding:PayloadEncoding p_cafile:CAFile \
        p_secretfile:SecretFile; do
        expect_named "$DAEMON_LOG" "$D/${k%%:*}.conf:5: ${k#*:}=" "the log"
done
expect_named "$DAEMON_LOG" "$D/p_key.conf:5: unknown key" "the log"
# inih reports the first key of the section (line 6), not the section line.
expect_named "$DAEMON_LOG" "$D/p_section.conf:6: unknown section" "the log"
for k in p_pk:ProductKey p_dn:DeviceName p_clientid:ClientId p_endpoint:Endpoint; do
        expect_named "$DAEMON_LOG" "$D/${k%%:*}.conf: ${k#*:}= contains the device secret" "the log"
done
harness_log "ok: the log names file, line and key of every pasted secret"
for f in "$D"/p_*.conf; do
        n=$(basename "$f" .conf)
        ! bctl get-property org.iotpub1 "$(device_path "$n")" org.iotpub1.Device Name >/dev/null 2>&1 ||
                fail "$n was loaded"
done

expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with the pasted secrets" $M $MI.Reload
expect_gcall_ok "CheckConfiguration with the pasted secrets" $M $MI.CheckConfiguration
expect_named "$GCALL_OUT" "$D/p_transport.conf:5: Transport=" "CheckConfiguration"
expect_named "$GCALL_OUT" "$D/p_pk.conf: ProductKey= contains the device secret" "CheckConfiguration"
"$IOTPUBCTL" --address="$BUS" check >"$LOGDIR/ctl-check.out" 2>&1 || true
expect_named "$LOGDIR/ctl-check.out" "p_transport.conf:5: Transport=" "iotpubctl check"

for f in "$DAEMON_LOG" "$LOGDIR"/gcall.* "$LOGDIR/ctl-check.out"; do
        ! grep -qF -- "$S" "$f" || fail "the pasted secret appears in ${f#"$HARNESS_DIR"/}"
done
harness_log "ok: the secret is in none of the log, Reload, CheckConfiguration and iotpubctl check"
