#!/usr/bin/env bash
# Build every cargo-fuzz target under fuzz/ and run each for a bounded time.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]        (default 20)
#
# Installs cargo-fuzz when it is missing. The machine has one stable toolchain, so the
# nightly-only flags cargo-fuzz passes are unlocked with RUSTC_BOOTSTRAP=1. The targets
# are built once, then run one after another (one core each) with the seeds of
# fuzz/corpus/<target>/ and the saved crashes of fuzz/regressions/<target>/ (replayed
# first). Exits non-zero when a target crashes, and says where the crashing input is.
#
# Environment:
#   FUZZ_SANITIZER   none (default) or address. The library forbids unsafe code, so a
#                    panic is what there is to find; ASan doubles build and run times.
#   FUZZ_STRICT=1    also assert the cross-format properties that are off by default
#                    (see docs/testing.md, "Fuzzing").
#   FUZZ_TARGETS     space-separated subset of targets to run (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-20}"
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi
sanitizer="${FUZZ_SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# What a reproduction command needs in front of it.
replay_env="RUSTC_BOOTSTRAP=1"
if [ -n "${FUZZ_STRICT:-}" ]; then
    export LLM_GATEWAY_FUZZ_STRICT="$FUZZ_STRICT"
    replay_env+=" LLM_GATEWAY_FUZZ_STRICT=$FUZZ_STRICT"
fi

if cargo fuzz --version >/dev/null 2>&1; then
    echo "== cargo-fuzz: $(cargo fuzz --version)"
else
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# The same flags for build and run, so `cargo fuzz run` finds the build up to date.
flags=(--sanitizer "$sanitizer")

echo "== build (sanitizer: $sanitizer)"
start=$SECONDS
cargo fuzz build "${flags[@]}"
echo "== built in $((SECONDS - start)) s"

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo fuzz list)
fi

logs="fuzz/target/logs"
mkdir -p "$logs"
summary=()
failed=0
for t in "${targets[@]}"; do
    dict_args=()
    case "$t" in
        sse | convert_stream) dict_args=(-dict=fuzz/dict/sse.dict) ;;
        convert_*) dict_args=(-dict=fuzz/dict/json.dict) ;;
        config) dict_args=(-dict=fuzz/dict/yaml.dict) ;;
    esac
    corpus="fuzz/corpus/$t"
    mkdir -p "$corpus"
    regressions=()
    if [ -d "fuzz/regressions/$t" ]; then
        regressions=("fuzz/regressions/$t")
    fi
    log="$logs/$t.log"
    echo "== fuzz $t for ${secs} s (log: $log)"
    start=$SECONDS
    status=0
    # libFuzzer writes new inputs to the first corpus directory (git-ignored growth).
    cargo fuzz run "${flags[@]}" "$t" "$corpus" "${regressions[@]}" -- \
        "${dict_args[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    took=$((SECONDS - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2 || true)
    corp=$(grep -Eo 'corp: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2 || true)
    if [ "$status" -eq 0 ]; then
        summary+=("fuzz: $t: ok, ${runs:-?} runs in ${took} s (${speed:-?}/s), coverage ${cov:-?}, corpus ${corp:-?}")
        continue
    fi
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
    artifact="${artifact#"$PWD"/}"
    message=$(grep -A1 -m1 "panicked at" "$log" | tail -n1 || true)
    echo "-- $t failed (exit $status); from its log ($log):"
    grep -A3 -m1 "panicked at" "$log" || true
    grep -E "ERROR: libFuzzer|^SUMMARY|Test unit written" "$log" || true
    if [ -n "$artifact" ]; then
        summary+=("fuzz: $t: CRASH after ${took} s: ${message:-see $log}" \
            "      input:     $artifact" \
            "      reproduce: $replay_env cargo fuzz run -s $sanitizer $t $artifact" \
            "      minimize:  $replay_env cargo fuzz tmin -s $sanitizer $t $artifact")
    else
        summary+=("fuzz: $t: FAILED (exit $status) after ${took} s, no input saved; see $log")
        tail -n 30 "$log"
    fi
done

echo "== summary (${secs} s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
