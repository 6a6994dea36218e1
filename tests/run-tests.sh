#!/usr/bin/env bash
# Runs every unit test binary and every integration test script, each under a time limit, and ends with
# one "N passed, N failed" line. Exit status is non-zero if anything failed.
#   tests/run-tests.sh BUILD_DIR [NAME-FILTER]
set -uo pipefail

build=${1:?usage: run-tests.sh BUILD_DIR [FILTER]}
filter=${2:-}
build=$(cd "$build" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
export IOTPUB_BUILD=$build IOTPUB_TOP=$top

passed=0
failed=0
failures=()

run_one() {
        local name=$1 limit=$2
        shift 2
        [[ -n "$filter" && "$name" != *"$filter"* ]] && return 0
        echo "=== $name"
        local start=$SECONDS
        if timeout --kill-after=10 "$limit" "$@"; then
                passed=$((passed + 1))
                echo "--- PASS $name ($((SECONDS - start)) s)"
        else
                failed=$((failed + 1))
                failures+=("$name")
                echo "--- FAIL $name ($((SECONDS - start)) s)"
        fi
}

for t in "$build"/tests/unit/test-*; do
        [[ -x "$t" ]] || continue
        run_one "unit/$(basename "$t")" 120 "$t"
done

# A test that declares "# transports: A B ..." runs once per transport, with IOTPUB_TRANSPORT set.
for t in "$top"/tests/integration/test-*.sh; do
        [[ -f "$t" ]] || continue
        transports=$(sed -n 's/^# transports: *//p' "$t" | head -n1)
        if [[ -z "$transports" ]]; then
                run_one "integration/$(basename "$t" .sh)" 600 bash "$t"
                continue
        fi
        for tr in $transports; do
                run_one "integration/$(basename "$t" .sh)[$tr]" 600 env IOTPUB_TRANSPORT="$tr" bash "$t"
        done
done

echo
if [[ ${#failures[@]} -gt 0 ]]; then
        printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
