#!/usr/bin/env bash
# Topics cannot escape the access rules (issue 10, item 1). With "allow user:U dev /${ProductKey}/${DeviceName}/
# user/app1/#", U's publishes with "." or ".." levels (which URL normalisation would turn into /sys/... or
# .../app2/...) are InvalidTopic and nothing reaches the cloud; a direct publish to app2 is AccessDenied; topics
# with characters that a URL must escape arrive byte for byte as the access rules matched them.
# transports: coap-aes coap-dtls https
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-topic-bypass "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

new_test_user U
start_bus
new_identity sdev
start_cloudsim "$CLOUD_DEVICES"
configure_identity sdev
PK=${ID_PK[sdev]}
T=/$PK/sdev
cat >"$CONFDIR/acl.conf" <<EOF
allow user:$U  sdev  /\${ProductKey}/\${DeviceName}/user/app1/#
EOF
start_daemon

bypasses=(
        "$T/user/app1/../../../../sys/$PK/sdev/thing/event/property/post"
        "$T/user/app1/../app2/x"
        "$T/user/app1/./x"
        "$T/user/app1/x/.."
        "$T/user/app1/x/."
        "$T/user/app1/.."
)
for topic in "${bypasses[@]}"; do
        expect_publish_error_as "$U" org.iotpub1.Error.InvalidTopic "dot levels: $topic" --device=sdev --topic="$topic"
done
# The same through busctl, as root (root may publish anywhere; the topic is still refused).
if bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Publish 'ssaya{sv}' sdev \
        "$T/user/app1/../app2/x" 1 0x61 0 2>"$LOGDIR/busctl-dots.err"; then
        fail "root's busctl publish with a '..' level was accepted"
fi
grep -q 'org.iotpub1.Error.InvalidTopic\|Invalid topic' "$LOGDIR/busctl-dots.err" ||
        fail "root's '..' publish failed with another error: $(cat "$LOGDIR/busctl-dots.err")"
expect_publish_error_as "$U" org.iotpub1.Error.AccessDenied "a direct publish to app2" --device=sdev --topic="$T/user/app2/x"
assert_eq 0 "$(manager_prop QueueMessages)" "QueueMessages after the refused publishes"

# Allowed topics whose bytes a URL must escape; each must be recorded under exactly that topic.
odd=(
        "$T/user/app1/a%2fb"
        "$T/user/app1/a%2e%2e"
        "$T/user/app1/!\$&'()*,;=:@"
        "$T/user/app1/température/温度"
        "$T/user/app1/.hidden/v1..2/..."
)
n=0
for topic in "${odd[@]}"; do
        harness_next
        out=$LOGDIR/ok.$HARNESS_SEQ.json
        expect_publish_ok_as "$U" "$out" "allowed topic $topic" --device=sdev --topic="$topic" --count=1 \
                --prefix="odd$HARNESS_SEQ"
        n=$((n + 1))
        wait_for --timeout=10 record_has "$n" --device=sdev || fail "message to $topic is not recorded"
        got=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]["topic"])' \
                "$RECORD")
        assert_eq "$topic" "$got" "the cloud recorded the topic byte for byte"
done
# Nothing else reached the cloud: no /sys/... and no .../app2/... from the bypass attempts.
assert_eq "$n" "$(record_count --device=sdev)" "record entries (the allowed publishes only)"
harness_log "PASS"
