#!/usr/bin/env bash
# Access rules with real unprivileged callers (setpriv): default deny; user:NAME, user:UID, group:NAME (as a
# supplementary group) and * with ${ProductKey}/${DeviceName}/${user}; first match decides (deny before allow);
# '+' is one segment, '#' the rest; the device field restricts. ExplainAccess / 'iotpubctl acl explain' name
# the deciding rule and FILE:LINE, and a non-admin may not ask about another uid. A malformed rule at start
# denies everyone but root; Reload (method and SIGHUP) refuses a malformed acl.d file with
# InvalidConfiguration naming FILE:LINE and keeps the old rules; the fixed file is applied by the next Reload.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
IOTPUBCTL=$IOTPUB_BUILD/iotpubctl
harness_init test-acl "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT" "$IOTPUBCTL"

new_test_user U1
new_test_user U2
new_test_group G
GID=$(getent group "$G" | cut -d: -f3)
new_test_user U3
UID3=$(id -u "$U3") # named by number in the rules

start_bus
new_identity acl_dev
new_identity acl_two
start_cloudsim "$CLOUD_DEVICES"
configure_identity acl_dev
configure_identity acl_two
PK=${ID_PK[acl_dev]}
T=/$PK/acl_dev # topic prefix of acl_dev
T2=/${ID_PK[acl_two]}/acl_two

ACL=$CONFDIR/acl.conf
cat >"$ACL" <<EOF
# test-acl rules (line numbers are checked below)
deny  user:$U1  acl_dev  /\${ProductKey}/\${DeviceName}/user/secret/#
allow user:$U1  acl_dev  /\${ProductKey}/\${DeviceName}/user/#
allow group:$G  acl_dev  /\${ProductKey}/\${DeviceName}/group/+
allow *         acl_dev  /\${ProductKey}/\${DeviceName}/home/\${user}
allow user:$UID3  *  /+/+/num/+
EOF
start_daemon

DELIVERED=() # pubclient outputs of delivered publishes to acl_dev, in order
ok_as() { # ok_as [--groups=..] WHO TOPIC WHAT
        local g=()
        [[ $1 == --groups=* ]] && { g=("$1"); shift; }
        harness_next
        local out=$LOGDIR/ok.$HARNESS_SEQ.json
        expect_publish_ok_as "${g[@]}" "$1" "$out" "$3" --device=acl_dev --topic="$2" --prefix="ok$HARNESS_SEQ"
        DELIVERED+=("--pubclient=$out")
}
denied_as() { # denied_as [--groups=..] WHO DEVICE TOPIC WHAT
        local g=()
        [[ $1 == --groups=* ]] && { g=("$1"); shift; }
        expect_publish_error_as "${g[@]}" "$1" org.iotpub1.Error.AccessDenied "$4" --device="$2" --topic="$3"
}

# --- who, device, topic
denied_as "$U2" acl_dev "$T/user/x" "no rule for $U2 on .../user/x: default deny"
ok_as "$U1" "$T/user/x" "$U1 on .../user/x (allow user:NAME)"
denied_as "$U1" acl_dev "$T/other/x" "$U1 on a topic outside its pattern"
denied_as "$U1" acl_two "$T2/user/x" "$U1 on another device (rule names acl_dev)"
denied_as "$U1" acl_two "$T/user/x" "$U1 on another device with acl_dev's topic"
ok_as "$U1" "$T/user/a/b/c" "'#' matches the rest (three more segments)"
denied_as "$U1" acl_dev "$T/user/secret/x" "deny before allow: the first matching rule (deny) wins"
denied_as "$U1" acl_dev "$T/user/secret" "'/secret/#' also covers .../user/secret itself"
ok_as "$U1" "$T/user/secretive" "a deny for .../secret/# does not cover .../secretive"

# --- ${user}
ok_as "$U1" "$T/home/$U1" "\${user}: $U1 on its own .../home/$U1"
ok_as "$U2" "$T/home/$U2" "\${user}: $U2 on its own .../home/$U2"
denied_as "$U1" acl_dev "$T/home/$U2" "\${user}: $U1 on $U2's .../home/$U2"
denied_as "$U3" acl_dev "$T/home/$U2" "\${user}: $U3 on $U2's .../home/$U2"

# --- user:UID, '+' (one segment, also in leading segments), '*' device
ok_as "$U3" "$T/num/1" "user:$UID3 (numeric) via /+/+/num/+"
denied_as "$U3" acl_dev "$T/num/1/2" "'+' matches one segment only"
denied_as "$U3" acl_dev "$T/num" "'+' does not match a missing segment"
harness_next
out=$LOGDIR/num-two.json
expect_publish_ok_as "$U3" "$out" "user:$UID3 on another device (DEVICE '*')" --device=acl_two \
        --topic="$T2/num/2" --prefix=num-two
check_record acl_two --pubclient="$out" || fail "acl_two record differs"
check_record acl_dev "${DELIVERED[@]}" || fail "acl_dev record differs from the allowed publishes"
assert_eq 0 "$(manager_prop QueueMessages)" "nothing refused was queued"

# --- ExplainAccess and 'iotpubctl acl explain'
N=0
explain() { # explain [--as=WHO] ARGS... -> JSON in $OUT
        local as=()
        [[ $1 == --as=* ]] && { as=(as_user "${1#--as=}"); shift; }
        N=$((N + 1))
        OUT=$LOGDIR/explain.$N.json
        harness_user_tools
        "${as[@]}" "$HARNESS_DIR/bin/iotpubctl" --address="$BUS" --json acl explain "$@" >"$OUT" \
                2>"$LOGDIR/explain.$N.err" || fail "iotpubctl acl explain $*: $(cat "$LOGDIR/explain.$N.err")"
}
j() { json_get "$OUT" "$1"; }

explain --user="$U1" acl_dev "$T/user/secret/x"
assert_eq False "$(j 'd["allowed"]')" "explain: $U1 .../user/secret/x denied"
assert_eq "deny user:$U1 acl_dev /\${ProductKey}/\${DeviceName}/user/secret/#" "$(j 'd["rule"]')" "explain: deciding rule"
assert_eq "$ACL:2" "$(j 'd["location"]')" "explain: deny rule location"
explain --user="$U1" acl_dev "$T/user/x"
assert_eq True "$(j 'd["allowed"]')" "explain: $U1 .../user/x allowed"
assert_eq "$ACL:3" "$(j 'd["location"]')" "explain: allow rule location"
explain --user="$U2" acl_dev "$T/home/$U2"
assert_eq "$ACL:5" "$(j 'd["location"]')" "explain: \${user} rule location"
explain --user="$U2" acl_dev "$T/other"
assert_eq False "$(j 'd["allowed"]')" "explain: no rule"
assert_eq "no rule matches (default deny)" "$(j 'd["rule"]')" "explain: default deny text"
assert_eq "" "$(j 'd["location"]')" "explain: default deny has no location"
explain --user=0 acl_dev "$T/other"
assert_eq "root is always allowed" "$(j 'd["rule"]')" "explain: root"
# Groups of a user that is not connected come from the group database.
usermod -a -G "$G" "$U2"
explain --user="$U2" acl_dev "$T/group/x"
assert_eq "$ACL:4" "$(j 'd["location"]')" "explain: $U2 (member of $G in /etc/group) matches the group rule"
gpasswd -d "$U2" "$G" >/dev/null
# A non-admin about itself: allowed; about someone else: AccessDenied.
explain --as="$U2" acl_dev "$T/home/$U2"
assert_eq True "$(j 'd["allowed"]')" "explain by $U2 about itself"
expect_gcall_ok --as="$U2" "ExplainAccess by $U2 about its own uid" /org/iotpub1 org.iotpub1.Manager.ExplainAccess \
        "$(id -u "$U2")" "" acl_dev "$T/home/$U2"
grep -qF "$ACL:5" "$GCALL_OUT" || fail "ExplainAccess reply lacks $ACL:5: $(cat "$GCALL_OUT")"
expect_gcall_error --as="$U2" org.iotpub1.Error.AccessDenied "ExplainAccess by $U2 about $U1" /org/iotpub1 \
        org.iotpub1.Manager.ExplainAccess "$(id -u "$U1")" "" acl_dev "$T/user/x"
expect_gcall_error --as="$U2" org.iotpub1.Error.AccessDenied "ExplainAccess by $U2 about root" /org/iotpub1 \
        org.iotpub1.Manager.ExplainAccess 0 "" acl_dev "$T/user/x"

# --- a malformed rule at start: logged with FILE:LINE, everyone but root denied
stop_daemon
mkdir -p "$CONFDIR/acl.d"
BAD=$CONFDIR/acl.d/50-bad.conf
printf '# comment\n\nallow user:%s acl_dev\n' "$U2" >"$BAD"
start_daemon
assert_grep "$DAEMON_LOG" "$BAD:3" "the start-up log names the malformed rule's FILE:LINE"
denied_as "$U1" acl_dev "$T/user/x" "malformed rules at start: $U1 (allowed by acl.conf) is denied"
denied_as "$U2" acl_dev "$T/home/$U2" "malformed rules at start: $U2 is denied"
harness_next
out=$LOGDIR/root.$HARNESS_SEQ.json
pubclient "$out" --device=acl_dev --topic="$T/root" --prefix=root-bad --timeout=30 ||
        fail "root could not publish while the rules are malformed: $(cat "$out")"
DELIVERED+=("--pubclient=$out")
harness_log "ok: root still publishes"

# --- fixing the file and reloading applies it
printf '# comment\n\nallow user:%s acl_dev /${ProductKey}/${DeviceName}/fixed/#\n' "$U2" >"$BAD"
bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Reload || fail "Reload with valid rules failed"
ok_as "$U1" "$T/user/y" "after the fix and Reload, acl.conf applies again"
ok_as "$U2" "$T/fixed/1" "after the fix and Reload, the acl.d rule applies"

# --- Reload with a malformed acl.d file is refused and the old rules stay
BAD2=$CONFDIR/acl.d/60-new.conf
printf 'allow user:%s acl_dev /${ProductKey}/${DeviceName}/new/#\nallow user:%s acl_dev /a/b?c\n' "$U2" "$U2" >"$BAD2"
if bctl call org.iotpub1 /org/iotpub1 org.iotpub1.Manager Reload 2>"$LOGDIR/reload-bad.err"; then
        fail "Reload accepted a malformed acl.d file"
fi
assert_grep "$LOGDIR/reload-bad.err" "$BAD2:2" "busctl Reload error names FILE:LINE"
expect_gcall_error org.iotpub1.Error.InvalidConfiguration "Reload with a malformed acl.d file" /org/iotpub1 \
        org.iotpub1.Manager.Reload
grep -qF "$BAD2:2" "$GCALL_ERR" || fail "the InvalidConfiguration message lacks $BAD2:2: $(cat "$GCALL_ERR")"
ok_as "$U1" "$T/user/z" "refused Reload: $U1 still allowed (old rules)"
ok_as "$U2" "$T/fixed/2" "refused Reload: $U2 still allowed by the old acl.d rule"
denied_as "$U2" acl_dev "$T/new/1" "refused Reload: the new file's valid rule is not applied"

# SIGHUP: same refusal, logged; the old rules stay.
n_before=$(grep -cF "$BAD2:2" "$DAEMON_LOG" || true)
kill -HUP "$DAEMON_PID"
log_grew() { (($(grep -cF "$BAD2:2" "$DAEMON_LOG" || true) > n_before)); }
wait_for --timeout=10 log_grew || fail "SIGHUP with a malformed acl.d file logged nothing naming $BAD2:2"
harness_log "ok: SIGHUP reload refusal logged with FILE:LINE"
pid_alive "$DAEMON_PID" || fail "iotpubd died on SIGHUP"
ok_as "$U1" "$T/user/w" "refused SIGHUP reload: $U1 still allowed"
denied_as "$U2" acl_dev "$T/new/2" "refused SIGHUP reload: the new rule is not applied"

# Fixed, then SIGHUP: applied.
printf 'allow user:%s acl_dev /${ProductKey}/${DeviceName}/new/#\n' "$U2" >"$BAD2"
kill -HUP "$DAEMON_PID"
explain_new() { explain --user="$U2" acl_dev "$T/new/3" && [[ $(j 'd["allowed"]') == True ]]; }
wait_for --timeout=10 explain_new || fail "the fixed acl.d file was not applied on SIGHUP"
ok_as "$U2" "$T/new/3" "after the fix and SIGHUP, the new rule applies"
assert_eq "$BAD2:1" "$(j 'd["location"]')" "explain names the new file's rule"

check_record acl_dev "${DELIVERED[@]}" || fail "acl_dev record differs from the allowed publishes"

# --- groups: the caller's supplementary groups (from its bus credentials) count. Last, so that everything
# above is checked even when this fails.
ok_as --groups="$GID" "$U2" "$T/group/x" "member of $G (supplementary) on .../group/x"
denied_as "$U2" acl_dev "$T/group/x" "$U2 without $G on .../group/x"
denied_as --groups="$GID" "$U2" acl_dev "$T/group/x/y" "group rule: '+' matches one segment only"
check_record acl_dev "${DELIVERED[@]}" || fail "acl_dev record differs from the allowed publishes"
