#!/usr/bin/env bash
# Group membership cannot be borrowed (issue 10, item 3). A user outside group G connects, forks a child that
# keeps the connection, and execs a setgid-G program, so that the connection's PID now runs with effective group
# G. With "allow group:G ..." and AdminGroup=G, the child's Publish and Reload are AccessDenied: groups are the
# bus's credentials taken when the connection was made. A real member of G (supplementary group) may do both.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-borrow-groups "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

new_test_user U
new_test_group G
GID=$(getent group "$G" | cut -d: -f3)
start_bus
new_identity bdev
start_cloudsim "$CLOUD_DEVICES"
configure_identity bdev
printf '[Daemon]\nAdminGroup=%s\n' "$G" >"$CONFDIR/iotpubd.conf"
cat >"$CONFDIR/acl.conf" <<EOT
allow group:$G  bdev  /\${ProductKey}/\${DeviceName}/user/#
EOT
start_daemon
topic=$(topic_of bdev)

# The setgid program: sleep, owned by group G, mode 2755; and the tool, where U can run them.
harness_user_tools
install -m 0755 "$IOTPUB_BUILD/tests/bin/borrow-conn" "$HARNESS_DIR/bin/borrow-conn"
install -m 2755 -g "$G" "$(command -v sleep)" "$HARNESS_DIR/bin/sgid-sleep"

borrow() { # borrow CALL...: prints the outcome of CALL made on a connection whose PID runs setgid G
        as_user "$U" "$HARNESS_DIR/bin/borrow-conn" "$BUS" "$GID" "$@" -- "$HARNESS_DIR/bin/sgid-sleep" 30
}
out=$(borrow publish bdev "$topic") || fail "borrow-conn could not set up the trick (publish)"
assert_eq org.iotpub1.Error.AccessDenied "$out" "Publish on a connection whose PID borrowed group $G"
out=$(borrow reload) || fail "borrow-conn could not set up the trick (reload)"
assert_eq org.iotpub1.Error.AccessDenied "$out" "Reload on a connection whose PID borrowed group $G (AdminGroup=$G)"
assert_eq 0 "$(manager_prop QueueMessages)" "QueueMessages after the borrowed publish"
assert_eq 0 "$(record_count --device=bdev)" "record entries after the borrowed publish"

# A real member of G (a supplementary group when connecting) may publish and reload.
harness_next
expect_publish_ok_as --groups="$GID" "$U" "$LOGDIR/member.json" "a member of $G publishes" --device=bdev \
        --topic="$topic" --count=1
as_user --groups="$GID" "$U" busctl --address="$BUS" call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Reload ||
        fail "a member of AdminGroup $G may not Reload"
harness_log "ok: a member of $G may Reload"
harness_log "PASS"
