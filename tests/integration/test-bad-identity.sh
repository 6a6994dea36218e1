#!/usr/bin/env bash
# Broken identity files do not stop the daemon: each is refused with a log line naming the file (and the line
# for a syntax error), the good identity is served, and the broken ones answer NoSuchDevice. A secret in a
# world-readable file is refused with a message that says how to fix the mode.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-bad-identity "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
for d in good_dev syntax_dev typo_dev nopk_dev open_dev; do new_identity "$d"; done
start_cloudsim "$CLOUD_DEVICES"
endpoint=127.0.0.1:$CLOUDSIM_PORT
configure_identity good_dev

# bad_syntax.conf: line 4 has no '='.
write_device bad_syntax "${ID_PK[syntax_dev]}" syntax_dev "${ID_SECRET[syntax_dev]}" "$endpoint"
sed -i '4i this line has no equals sign' "$CONFDIR/devices/bad_syntax.conf"
# typo.conf: line 4 is "Secret <secret>" (':' or ' ' for '='); echoing the line would leak the secret.
(umask 077 && printf '[Device]\nProductKey=%s\nDeviceName=typo_dev\nSecret %s\nTransport=coap-aes\nEndpoint=%s\n' \
        "${ID_PK[typo_dev]}" "${ID_SECRET[typo_dev]}" "$endpoint" >"$CONFDIR/devices/typo.conf")
# no_pk.conf: no ProductKey.
write_device no_pk "${ID_PK[nopk_dev]}" nopk_dev "${ID_SECRET[nopk_dev]}" "$endpoint"
sed -i '/^ProductKey=/d' "$CONFDIR/devices/no_pk.conf"
# open.conf: complete, but mode 0644 with an inline secret.
write_device open "${ID_PK[open_dev]}" open_dev "${ID_SECRET[open_dev]}" "$endpoint"
chmod 0644 "$CONFDIR/devices/open.conf"

start_daemon

assert_grep "$DAEMON_LOG" 'bad_syntax\.conf.*\b4\b' "error names bad_syntax.conf and line 4"
assert_grep "$DAEMON_LOG" 'typo\.conf.*\b4\b' "error names typo.conf and line 4"
assert_grep "$DAEMON_LOG" 'no_pk\.conf.*ProductKey' "error names no_pk.conf and the missing ProductKey"
assert_grep "$DAEMON_LOG" 'open\.conf.*(chmod|0600|0640|0[0-7]?[0-7]0\b)' \
        "error names open.conf and how to fix its mode"

out=$LOGDIR/pubclient-good.json
pubclient "$out" --device=good_dev --topic="$(topic_of good_dev)" --count=3 --timeout=30 ||
        fail "the good identity does not work next to broken ones: $(cat "$out")"
check_record good_dev --pubclient="$out" --topic="$(topic_of good_dev)" || fail "record differs for good_dev"

for name in bad_syntax typo no_pk open; do
        expect_publish_error org.iotpub1.Error.NoSuchDevice "publish to refused identity $name" --device="$name" \
                --topic=/x/y/user/update
done
assert_eq 3 "$(record_count)" "record entries (only good_dev's)"
