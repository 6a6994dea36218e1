#!/usr/bin/env bash
# Bad publishes are refused with the documented org.iotpub1.Error.* names and leave nothing behind: unknown
# device, malformed topics, an oversized payload, wrong argument types, invalid options. A valid publish at
# the end is delivered, which shows the empty queue and the single record entry are not vacuous.
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-bad-input "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
new_identity in_dev
start_cloudsim "$CLOUD_DEVICES"
configure_identity in_dev
start_daemon
topic=$(topic_of in_dev)

expect_publish_error org.iotpub1.Error.NoSuchDevice "unknown device" --device=no_such_device --topic="$topic"

long=$topic
while ((${#long} < 200)); do long+=/level; done
long=${long:0:200}
for t in "" "no-leading-slash" "/a//b" "/a/b/" "$long" "/a/+/b" "/a/#" "$topic/" "/$topic"; do
        expect_publish_error org.iotpub1.Error.InvalidTopic "topic '${t:0:40}' (${#t} chars)" \
                --device=in_dev --topic="$t"
done
expect_publish_error org.iotpub1.Error.InvalidTopic "Device.Publish, topic '/a//b'" --device=in_dev \
        --device-object --topic=/a//b

# Over the transport's limit (CoAP: one datagram; https: 128 KiB), checked at Publish.
case $HARNESS_TRANSPORT in
https) too_big=131073 way_too_big=262144 ;;
*) too_big=1300 way_too_big=65536 ;;
esac
expect_publish_error org.iotpub1.Error.PayloadTooLarge "$too_big-byte payload" --device=in_dev --topic="$topic" \
        --size="$too_big"
expect_publish_error org.iotpub1.Error.PayloadTooLarge "$way_too_big-byte payload via Device.Publish" \
        --device=in_dev --device-object --topic="$topic" --size="$way_too_big"

expect_publish_error org.iotpub1.Error.InvalidArgument "unknown content-type" --device=in_dev --topic="$topic" \
        --option=content-type=s:text/html
expect_publish_error org.iotpub1.Error.InvalidArgument "content-type of type u" --device=in_dev \
        --topic="$topic" --option=content-type=u:1
expect_publish_error org.iotpub1.Error.InvalidArgument "ttl of type s" --device=in_dev --topic="$topic" \
        --option=ttl=s:60

# Wrong argument types never reach the handler: the error names the signature mismatch.
if bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Publish ss in_dev "$topic" 2>"$LOGDIR/wrongtype.err"
then
        fail "Publish with signature 'ss' succeeded"
fi
assert_grep "$LOGDIR/wrongtype.err" '[Ii]nvalid arg|InvalidArgs|signature' "Publish(ss) is refused: $(head -c 160 "$LOGDIR/wrongtype.err")"
if bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Publish 'ssaya{ss}' in_dev "$topic" 1 65 1 ttl 60 \
        2>"$LOGDIR/wrongtype2.err"; then
        fail "Publish with options of type a{ss} succeeded"
fi
harness_log "ok: Publish(ssaya{ss}) is refused: $(head -c 160 "$LOGDIR/wrongtype2.err")"

# A non-UTF-8 topic cannot even be put into a D-Bus message.
if bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Publish 'ssaya{sv}' in_dev $'/\xff\xfe' 1 65 0 \
        2>"$LOGDIR/utf8.err"; then
        fail "a non-UTF-8 topic was sent"
fi
harness_log "ok: a non-UTF-8 topic is refused before it reaches the daemon: $(head -c 160 "$LOGDIR/utf8.err")"

assert_eq 0 "$(manager_prop QueueMessages)" "QueueMessages after refused publishes"
assert_eq 0 "$(device_prop in_dev QueueMessages)" "device QueueMessages after refused publishes"

# One valid message goes through, and only it is recorded.
out=$LOGDIR/pubclient-good.json
pubclient "$out" --device=in_dev --topic="$topic" --count=1 --prefix=good --timeout=30 ||
        fail "a valid publish after the bad ones was not delivered: $(cat "$out")"
wait_for --timeout=10 record_has 1 || fail "the valid message is not in the record"
assert_eq 1 "$(record_count)" "record entries (only the valid message)"
check_record in_dev --pubclient="$out" --topic="$topic" || fail "record differs"
wait_for --timeout=10 manager_prop_is QueueMessages 0 || fail "QueueMessages did not drop to 0"
