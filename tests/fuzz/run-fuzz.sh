#!/usr/bin/env bash
# Runs every libFuzzer target of BUILD_DIR/fuzz for SECONDS each on a scratch copy of its seed corpus
# (tests/fuzz/corpus/<target>), so the repository's corpus only grows by hand, FUZZ_JOBS at a time. Exit
# status 1 if any crashed.
#   tests/fuzz/run-fuzz.sh BUILD_DIR SECONDS [TARGET...]
set -uo pipefail

build=${1:?usage: run-fuzz.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: run-fuzz.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/iotpub-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
        for t in "$build"/fuzz/fuzz-*; do
                [[ -x "$t" ]] && targets+=("$(basename "$t" | sed 's/^fuzz-//')")
        done
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# run_target T: one target for SECONDS; its report goes to $work/T.out, "fail" to $work/T.failed if it crashed.
run_target() {
        local t=$1 corpus=$work/$1
        mkdir -p "$corpus" "$work/artifacts-$t"
        [[ -d "$top/tests/fuzz/corpus/$t" ]] && cp -r "$top/tests/fuzz/corpus/$t/." "$corpus/"
        {
                echo "=== fuzz-$t (${seconds} s, $(ls "$corpus" | wc -l) seeds)"
                # FUZZ_SEED fixes the order of libFuzzer's mutations; how far a timed run gets still depends on the
                # machine (CI found an overlong UTF-8 crash that 30 s here did not). Unset, each run explores anew.
                if "$build/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
                        ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
                        -artifact_prefix="$work/artifacts-$t/" "$corpus" >"$work/$t.log" 2>&1; then
                        echo "--- PASS fuzz-$t ($(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n1), $(ls "$corpus" | wc -l) inputs)"
                else
                        tail -n 60 "$work/$t.log"
                        for a in "$work/artifacts-$t"/*; do
                                [[ -f "$a" ]] || continue
                                mkdir -p "$top/build-fuzz-artifacts"
                                cp "$a" "$top/build-fuzz-artifacts/$t-$(basename "$a")"
                                echo "reproducer: build-fuzz-artifacts/$t-$(basename "$a") ($(od -An -c "$a" | head -n 3 | tr -s ' '))"
                        done
                        echo "--- FAIL fuzz-$t"
                        echo fail >"$work/$t.failed"
                fi
        } >"$work/$t.out"
}

# FUZZ_JOBS targets at a time (default: one per CPU); each still runs for SECONDS. Reports in target order.
jobs=${FUZZ_JOBS:-$(nproc)}
running=0
for t in "${targets[@]}"; do
        if ((running >= jobs)); then
                wait -n || true
                running=$((running - 1))
        fi
        run_target "$t" &
        running=$((running + 1))
done
wait
failed=()
for t in "${targets[@]}"; do
        cat "$work/$t.out"
        [[ -f "$work/$t.failed" ]] && failed+=("$t")
done
echo
if [[ ${#failed[@]} -gt 0 ]]; then
        echo "fuzz: crashes in ${failed[*]}"
        exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, no crash"
