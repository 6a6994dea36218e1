#!/usr/bin/env bash
# Nothing iotpubd creates follows the umask. Started under umask 022 with a 0755 state directory, it makes the
# directory 0700 (with a warning), and outbox.db, its -wal and -shm, the space reserve and the token cache are
# 0600 while messages wait for an absent cloud and after they are delivered; another user cannot read the
# queued topics. An outbox left 0644 by an older version is tightened, and so is a damaged one moved aside.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-state-modes "$IOTPUBD" "$CLOUDSIM" "$PUBCLIENT"

start_bus
new_identity mode_dev
PORT=$(free_port)
configure_identity mode_dev "$PORT" # nobody listens there yet: the cloud is away
chmod 0755 "$STATEDIR"

# check_modes WHEN: the directory is 0700 and every file below it 0600 (directories 0700).
check_modes() {
        local f bad=0
        assert_eq 700 "$(stat -c %a "$STATEDIR")" "$1: mode of the state directory"
        while IFS= read -r f; do
                harness_log "$1: $(stat -c '%a %U:%G' "$f") ${f#"$STATEDIR"/}"
                if [[ -d $f ]]; then
                        [[ $(stat -c %a "$f") == 700 ]] || { harness_log "FAIL: $f is not 0700"; bad=1; }
                else
                        [[ $(stat -c %a "$f") == 600 ]] || { harness_log "FAIL: $f is not 0600"; bad=1; }
                fi
        done < <(find "$STATEDIR" -mindepth 1)
        ((bad == 0)) || fail "$1: files in the state directory are readable by others"
        harness_log "ok: $1: every file is 0600"
}

umask 022 # for iotpubd and for everything this test creates
start_daemon
assert_eq 0077 "$(awk '/^Umask:/ { print $2 }' "/proc/$DAEMON_PID/status")" "iotpubd's own umask"
grep -qF "The state directory $STATEDIR had mode 0755" "$DAEMON_LOG" ||
        fail "no warning about the 0755 state directory in ${DAEMON_LOG#"$HARNESS_DIR"/}"
harness_log "ok: the 0755 state directory was tightened with a warning"

out=$LOGDIR/queued.json
pubclient "$out" --device=mode_dev --topic="$(topic_of mode_dev)/private-topic" --count=5 --no-wait ||
        fail "publishing while the cloud is away failed: $(cat "$out")"
wait_for --timeout=10 device_prop_is mode_dev QueueMessages 5 || fail "mode_dev does not hold 5 queued messages"
[[ -s $STATEDIR/outbox.db-wal || -s $STATEDIR/outbox.db ]] || fail "the outbox is empty on disk"
check_modes "5 messages queued"

harness_user_tools
if as_user 65534 head -c 1 "$STATEDIR/outbox.db" >/dev/null 2>&1; then
        fail "user nobody can read outbox.db"
fi
# Even with the directory opened up again, the files themselves keep others out.
chmod 0755 "$STATEDIR"
for f in outbox.db outbox.db-wal; do
        ! as_user 65534 head -c 1 "$STATEDIR/$f" >/dev/null 2>&1 || fail "user nobody can read $f"
done
chmod 0700 "$STATEDIR"
harness_log "ok: user nobody cannot read the outbox"

# The cloud comes back: the token cache appears, and the queue drains.
start_cloudsim "$CLOUD_DEVICES" --coap-port="$PORT"
wait_for --timeout=30 device_prop_is mode_dev QueueMessages 0 || fail "the queue did not drain"
wait_for --timeout=10 test -e "$STATEDIR/tokens/mode_dev.json" || fail "no token cache was written"
check_modes "delivered, token cached"

# An outbox left 0644 (by an older version, under umask 022) is tightened at start; a damaged one is moved aside
# with the same 0600.
stop_daemon
chmod 0644 "$STATEDIR/outbox.db"
start_daemon
check_modes "restarted with a 0644 outbox"
stop_daemon
rm -f "$STATEDIR"/outbox.db-wal "$STATEDIR"/outbox.db-shm
head -c 8192 /dev/urandom >"$STATEDIR/outbox.db"
chmod 0644 "$STATEDIR/outbox.db"
start_daemon
compgen -G "$STATEDIR/outbox.db.corrupt-*" >/dev/null || fail "the damaged outbox was not moved aside"
check_modes "a damaged outbox moved aside"
