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

# run_together SCRIPT BASE-NAME TRANSPORT...: the transport runs of one test at the same time, each output
# printed whole when all have ended. For tests that mostly wait on timers (the loss test).
run_together() {
        local t=$1 base=$2 dir i n=0
        shift 2
        local names=() pids=()
        dir=$(mktemp -d "${TMPDIR:-/tmp}/iotpub-run.XXXXXX")
        for tr in "$@"; do
                local name="integration/$base[$tr]"
                [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
                (
                        f0=$failed
                        run_one "$name" 600 env IOTPUB_TRANSPORT="$tr" bash "$t"
                        [[ $failed == "$f0" ]] && echo pass >"$dir/$n.status"
                ) >"$dir/$n.log" 2>&1 &
                pids+=($!)
                names+=("$name")
                n=$((n + 1))
        done
        for ((i = 0; i < n; i++)); do
                wait "${pids[i]}"
                cat "$dir/$i.log"
                if [[ -f "$dir/$i.status" ]]; then
                        passed=$((passed + 1))
                else
                        failed=$((failed + 1))
                        failures+=("${names[i]}")
                fi
        done
        rm -rf "$dir"
}

for t in "$build"/tests/unit/test-*; do
        [[ -x "$t" ]] || continue
        run_one "unit/$(basename "$t")" 120 "$t"
done

# A test that declares "# transports: A B ..." runs once per transport, with IOTPUB_TRANSPORT set; with
# "# concurrent: yes" as well, those runs go at the same time.
for t in "$top"/tests/integration/test-*.sh; do
        [[ -f "$t" ]] || continue
        transports=$(sed -n 's/^# transports: *//p' "$t" | head -n1)
        if [[ -z "$transports" ]]; then
                run_one "integration/$(basename "$t" .sh)" 600 bash "$t"
                continue
        fi
        if grep -q '^# concurrent: yes$' "$t"; then
                # shellcheck disable=SC2086 # the list is split on blanks
                run_together "$t" "$(basename "$t" .sh)" $transports
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
