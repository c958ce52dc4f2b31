#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the dependencies, builds a normal and an
# AddressSanitizer+UndefinedBehaviorSanitizer build, runs every CTest label (unit, fuzz corpus
# replay, integration) in both, runs each libFuzzer target for a bounded time when clang's fuzzer
# runtime is there, checks formatting, and ends with one summary line "N passed, M failed".
#
# Environment: HAF_FUZZ_SECONDS (default 20; 13 targets, so the whole run stays under 30 minutes on
# 2 cores) per fuzz target; HAF_JOBS (default nproc).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

scripts/install-deps.sh || { echo "test: installing dependencies failed"; exit 1; }

jobs=${HAF_JOBS:-$(nproc)}
fuzz_seconds=${HAF_FUZZ_SECONDS:-20}
passed=0
failed=0
failures=()

# Runs one ctest invocation and adds its counts to the totals.
run_ctest() {
    local label=$1 dir=$2 out
    shift 2
    out=$(ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@" 2>&1)
    echo "$out" >"$dir/ctest-$label.log"
    if grep -q 'tests failed out of' <<<"$out" && ! grep -q ' 0 tests failed' <<<"$out"; then
        # Everything but the passing tests' lines: the failures' own output is in there.
        echo "$out" | grep -v -E '^ *Start +[0-9]+:|Passed +[0-9.]+ sec$|^Test project' | tail -n 400
    else
        echo "$out" | grep -v '^Test project' | tail -n 40
    fi
    local line total nfail
    line=$(echo "$out" | grep -E '[0-9]+% tests passed' | tail -n 1)
    if [ -z "$line" ]; then
        echo "test: $label: ctest printed no result"
        failed=$((failed + 1))
        failures+=("$label")
        return
    fi
    nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/')
    total=$(echo "$line" | sed -E 's/.* out of ([0-9]+).*/\1/')
    passed=$((passed + total - nfail))
    failed=$((failed + nfail))
    [ "$nfail" -eq 0 ] || failures+=("$label")
}

build() {
    local dir=$1
    shift
    cmake -S "$top" -B "$dir" "$@" >"$dir.cmake.log" 2>&1 || { cat "$dir.cmake.log"; return 1; }
    cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 || { tail -n 60 "$dir.build.log"; return 1; }
}

mkdir -p build
echo "== formatting (clang-format)"
bad=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run 2>&1 | grep -c 'warning:' || true)
if [ "$bad" -eq 0 ]; then passed=$((passed + 1)); echo "formatting ok"
else failed=$((failed + 1)); failures+=("clang-format"); echo "clang-format: $bad places differ (run scripts/format.sh)"; fi

echo "== normal build (-Wall -Wextra -Werror): unit, fuzz corpora, integration, reliability"
export HAF_RELIABILITY_RESULTS=$top/build/reliability-results.txt
rm -f "$HAF_RELIABILITY_RESULTS"
if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    run_ctest "normal" build
else
    failed=$((failed + 1)); failures+=("normal build")
fi

if [ -s "$HAF_RELIABILITY_RESULTS" ]; then
    echo "== reliability summary"
    tests/reliability/summary.sh "$HAF_RELIABILITY_RESULTS" 2>/dev/null || cat "$HAF_RELIABILITY_RESULTS"
fi
unset HAF_RELIABILITY_RESULTS

echo "== sanitizer build (ASan + UBSan): unit, fuzz corpora, integration"
if build build-asan -DCMAKE_BUILD_TYPE=Debug -DHAF_SANITIZE=ON; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_ctest "sanitizer" build-asan -LE reliability
else
    failed=$((failed + 1)); failures+=("sanitizer build")
fi

echo "== fuzzing (libFuzzer, ${fuzz_seconds}s per target)"
if command -v clang >/dev/null && echo 'int LLVMFuzzerTestOneInput(const char*d,long n){return 0;}' |
        clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    if cmake -S "$top" -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DHAF_FUZZ=ON >build-fuzz.cmake.log 2>&1 &&
        cmake --build build-fuzz --target fuzzers -j "$jobs" >build-fuzz.build.log 2>&1; then
        for bin in build-fuzz/tests/fuzz_*; do
            [ -x "$bin" ] || continue
            case "$bin" in *_replay) continue ;; esac
            name=$(basename "$bin"); target=${name#fuzz_}
            work=$(mktemp -d)
            if "$bin" -max_total_time="$fuzz_seconds" -print_final_stats=1 -timeout=10 \
                    -rss_limit_mb=2048 "$work" "tests/fuzz/corpus/$target" >"$work.log" 2>&1; then
                execs=$(grep -E 'stat::number_of_executed_units' "$work.log" | awk '{print $2}')
                echo "fuzz $target: ok, ${execs:-?} executions in ${fuzz_seconds}s"
                passed=$((passed + 1))
            else
                echo "fuzz $target: FAILED"; tail -n 40 "$work.log"
                failed=$((failed + 1)); failures+=("fuzz $target")
            fi
            rm -rf "$work" "$work.log"
        done
    else
        echo "fuzz build failed"; tail -n 40 build-fuzz.build.log
        failed=$((failed + 1)); failures+=("fuzz build")
    fi
else
    echo "fuzz: clang's libFuzzer runtime is not available; corpus replay ran above"
fi

echo "== summary"
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
