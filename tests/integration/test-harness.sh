#!/usr/bin/env bash
# Self-test of the test machinery, needing only dbus-daemon: the private bus answers root and uid 65534,
# wait-ready reports a service that dies or never gets ready, wait_for gives up in time, and the secret
# check finds a planted secret.
set -euo pipefail
source "${IOTPUB_TOP:-$(dirname "$0")/../..}/tests/lib/harness.sh"
harness_init test-harness

start_bus
bctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId >/dev/null ||
        fail "root cannot call the private bus"
setpriv --reuid=65534 --regid=65534 --clear-groups \
        busctl --address="$BUS" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId \
        >/dev/null || fail "uid 65534 cannot call the private bus"
harness_log "ok: the bus answers root and uid 65534"

# wait-ready: success leaves the service running and prints its PID.
pid=$("$WAIT_READY" --timeout=10 -- sh -c 'systemd-notify --ready; exec sleep 60')
harness_register "$pid" sleeper
pid_alive "$pid" || fail "wait-ready's child is not running after READY=1"
harness_stop_pid "$pid" sleeper || fail "sleeper ignored SIGTERM"
harness_unregister "$pid"
harness_log "ok: wait-ready returned the PID of a ready service"

# wait-ready: a service that exits first, and one that never gets ready, are reported and fail.
if "$WAIT_READY" --timeout=10 -- sh -c 'exit 7' 2>"$LOGDIR/wr-exit.err"; then
        fail "wait-ready succeeded for a service that exited"
fi
assert_grep "$LOGDIR/wr-exit.err" 'exited with status 7 before sending READY=1' "wait-ready reports an early exit"
start=$SECONDS
if "$WAIT_READY" --timeout=1 -- sleep 60 2>"$LOGDIR/wr-timeout.err"; then
        fail "wait-ready succeeded for a service that never sent READY=1"
fi
assert_grep "$LOGDIR/wr-timeout.err" 'did not send READY=1 within 1 s' "wait-ready reports a timeout"
((SECONDS - start <= 8)) || fail "wait-ready took $((SECONDS - start)) s to give up after 1 s"

# wait_for gives up within its deadline.
start=$SECONDS
if wait_for --timeout=1 --quiet false; then fail "wait_for false succeeded"; fi
((SECONDS - start <= 3)) || fail "wait_for --timeout=1 took $((SECONDS - start)) s"
harness_log "ok: wait_for gives up in time"

# The secret check must catch a leak (checked in a subshell, then the plant is removed).
planted=$(harness_random 32)
echo "leak $planted" >"$LOGDIR/planted.log"
if (HARNESS_SECRETS=("$planted") && harness_check_secrets) 2>/dev/null; then
        fail "the secret check missed a planted secret"
fi
rm -f "$LOGDIR/planted.log"
harness_log "ok: the secret check finds a planted secret"
