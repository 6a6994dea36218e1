#!/usr/bin/env bash
# make check-valgrind: a short integration run with iotpubd and iotpub-cloudsim under valgrind memcheck (through
# the harness's IOTPUB_DAEMON_WRAPPER). Fails if a test fails, or if any valgrind log reports an error or a
# definite leak. Possible and still-reachable blocks (libcoap, GnuTLS, sd-bus caches at exit) are not counted.
#   tests/valgrind.sh BUILD_DIR
set -uo pipefail

build=${1:?usage: valgrind.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
command -v valgrind >/dev/null || { echo "valgrind: not installed (make deps)" >&2; exit 1; }
logs=$(mktemp -d "${TMPDIR:-/tmp}/iotpub-valgrind.XXXXXX")
trap 'rm -rf "$logs"' EXIT

# The harness splits this on blanks: one line, no quoting inside. Definite leaks count as errors, so one
# "ERROR SUMMARY: 0 errors" line per process means no error and no definite leak.
export IOTPUB_DAEMON_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
--errors-for-leak-kinds=definite --num-callers=30 --log-file=$logs/%p.log"
status=0
for t in "test-publish-client[coap-aes]" "test-transport[coap-aes]"; do
        "$top/tests/run-tests.sh" "$build" "$t" || status=1
done

bad=0 n=0
for f in "$logs"/*.log; do
        [[ -f "$f" ]] || continue
        n=$((n + 1))
        command=$(sed -n 's/^==[0-9]*== Command: //p' "$f" | head -n1)
        if grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
                echo "valgrind: clean: $(basename "${command%% *}")"
        else
                echo "----- valgrind: errors, definite leaks or no summary (killed?) in: $command"
                grep -v '^==[0-9]*== *$' "$f"
                bad=1
        fi
done
if ((bad)); then
        echo "valgrind: errors or definite leaks, see above"
        status=1
elif ((n == 0)); then
        echo "valgrind: no process ran under valgrind"
        status=1
else
        echo "valgrind: $n processes, no errors, no definite leaks"
fi
exit $status
