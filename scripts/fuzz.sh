#!/usr/bin/env bash
# Runs the libFuzzer targets (fuzz/README.md).
#   scripts/fuzz.sh TARGET SECONDS    one target (gguf, tokenizer_spm, tokenizer_bpe, chat_template, session,
#                                     trace_json) for SECONDS
#   scripts/fuzz.sh all SECONDS       every target, one after another, SECONDS each
# Builds the fuzz preset (build-fuzz/, clang-14) if needed, writes the seed corpora (fuzz_make_corpus) into
# build-fuzz/corpus/seeds/, and keeps what the fuzzer learns in build-fuzz/corpus/<target>/ between runs.
# A crash, timeout or memory blow-up is copied to build-fuzz/findings/<target>/ and the script fails; to keep it as a
# regression test, fix the bug and copy the input to tests/data/fuzz/<target>/ (ctest replays that folder).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-fuzz"
TARGETS=(gguf tokenizer_spm tokenizer_bpe chat_template session trace_json)

if (($# != 2)) || ! [[ "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh TARGET|all SECONDS   (targets: ${TARGETS[*]})" >&2
    exit 2
fi
target="$1" seconds="$2"
if [[ "$target" == all ]]; then
    selected=("${TARGETS[@]}")
elif [[ " ${TARGETS[*]} " == *" $target "* ]]; then
    selected=("$target")
else
    echo "fuzz.sh: unknown target '$target' (targets: ${TARGETS[*]})" >&2
    exit 2
fi

# Longest input per target: a few seed models for gguf, a long prompt or conversation for the text targets,
# a small session or trace (the seeds are a few KB to a few hundred KB).
max_len() {
    case "$1" in
    gguf) echo 262144 ;;
    session | trace_json) echo 131072 ;;
    *) echo 16384 ;;
    esac
}

cd "$ROOT"
if [[ ! -f "$BUILD/build.ninja" ]]; then
    cmake --preset fuzz >/dev/null
fi
cmake --build "$BUILD" -- -j"$(nproc)" >&2
rm -rf "$BUILD/corpus/seeds"
# The seeds come from a real traced run: oneTBB's observer proxy is freed lazily (tests/lsan.supp says why).
LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp" "$BUILD/fuzz/fuzz_make_corpus" "$BUILD/corpus/seeds"

failed=()
for t in "${selected[@]}"; do
    corpus="$BUILD/corpus/$t" artifacts="$BUILD/artifacts/$t" findings="$BUILD/findings/$t"
    mkdir -p "$corpus" "$artifacts"
    rm -f "$artifacts"/*
    echo "fuzz.sh: fuzzing $t for ${seconds}s" >&2
    rc=0
    # -rss_limit_mb also limits any single allocation (-malloc_limit_mb defaults to it); -timeout is per input.
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
        "$BUILD/fuzz/fuzz_$t" "$corpus" "$BUILD/corpus/seeds/$t" "$ROOT/tests/data/fuzz/$t" \
        -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len "$t")" -max_total_time="$seconds" \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$BUILD/fuzz-$t.log" 2>&1 || rc=$?
    grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)" \
        "$BUILD/fuzz-$t.log" | sed "s/^/fuzz.sh: $t: /" >&2 || true
    if compgen -G "$artifacts/*" >/dev/null || ((rc != 0)); then
        mkdir -p "$findings"
        cp "$artifacts"/* "$findings"/ 2>/dev/null || true
        tail -n 60 "$BUILD/fuzz-$t.log" >&2
        echo "fuzz.sh: $t FOUND A PROBLEM (exit $rc); inputs in $findings/, log in $BUILD/fuzz-$t.log" >&2
        echo "fuzz.sh: reproduce with $BUILD/fuzz/fuzz_$t $findings/<file>" >&2
        failed+=("$t")
    fi
done
if ((${#failed[@]} > 0)); then
    echo "fuzz.sh: findings in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: no findings (${selected[*]}, ${seconds}s each)" >&2
