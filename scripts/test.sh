#!/usr/bin/env bash
# Installs what is missing, then what CI runs (.ci/run), each step timed:
#   1. format: every tracked .cpp/.h as clang-format-14 would write it (scripts/check-format.sh)
#   2. the release build in build/ with warnings as errors (preset ci), and every test
#   3. the libFuzzer targets (preset fuzz, clang-14, build-fuzz/), each fuzzed briefly from its seed corpus
#      (scripts/fuzz.sh all; PLAYGROUND_FUZZ_SECONDS per target, default 15): any finding fails
#   4. the AddressSanitizer + UBSan build in build-sanitize/ (preset sanitize, -O1), and every test
#   5. the ThreadSanitizer build in build-tsan/ (preset tsan): only the tests whose threads hand data over in
#      ways TSan can judge (the trace recorder and its pump; the run controller's GUI and engine threads), built
#      alone to keep CI's time
# PLAYGROUND_SKIP_FUZZ=1 skips step 3 and PLAYGROUND_SKIP_SANITIZE=1 steps 4 and 5, for a quick local run. Extra
# arguments go to the release and ASan ctest runs (e.g. -R test_cli).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="$(nproc)"
timings=()

# step <name> <command...>: runs the command, records how long it took.
step() {
    local name="$1" start=$SECONDS
    shift
    echo "test.sh: == $name" >&2
    "$@"
    timings+=("$(printf '%-24s %4ds' "$name" $((SECONDS - start)))")
}
report() {
    local rc=$?
    ((${#timings[@]} > 0)) && printf 'test.sh: %s\n' "${timings[@]}" >&2
    ((rc != 0)) && echo "test.sh: FAILED (exit $rc)" >&2
    return $rc
}
trap report EXIT

step "deps" "$ROOT/scripts/deps.sh"
step "format check" "$ROOT/scripts/check-format.sh"

cd "$ROOT"
step "release configure" cmake --preset ci >/dev/null
step "release build" cmake --build build -- -j"$JOBS"
step "release tests" ctest --test-dir build --output-on-failure -j"$JOBS" "$@"

if [[ "${PLAYGROUND_SKIP_FUZZ:-0}" == "0" ]]; then
    step "fuzz configure" cmake --preset fuzz >/dev/null
    step "fuzz build" cmake --build build-fuzz -- -j"$JOBS"
    step "fuzz run" "$ROOT/scripts/fuzz.sh" all "${PLAYGROUND_FUZZ_SECONDS:-15}"
fi

if [[ "${PLAYGROUND_SKIP_SANITIZE:-0}" != "0" ]]; then
    echo "test.sh: PLAYGROUND_SKIP_SANITIZE set; skipping the sanitizer build" >&2
    exit 0
fi
step "sanitize configure" cmake --preset sanitize >/dev/null
step "sanitize build" cmake --build build-sanitize -- -j"$JOBS"
step "sanitize tests" ctest --test-dir build-sanitize --output-on-failure -j"$JOBS" "$@"

# ThreadSanitizer: oneTBB and Qt are Debian's, not instrumented; tests/tsan.supp says what is suppressed in them
# and why (races in our code are fixed, not suppressed). TBB's parallel regions cannot be judged without an
# instrumented oneTBB, so test_run and test_scaling (7+ minutes under TSan) are not run here.
# test_runcontroller_races: the controller's hand-over functions only (tests/CMakeLists.txt says which and why).
tsan_tests=(test_trace test_runcontroller)
tsan_regex="^(test_trace|test_runcontroller_races)\$"
step "tsan configure" cmake --preset tsan >/dev/null
step "tsan build" cmake --build build-tsan --target "${tsan_tests[@]}" -- -j"$JOBS"
step "tsan tests" ctest --test-dir build-tsan --output-on-failure -j"$JOBS" -R "$tsan_regex"
