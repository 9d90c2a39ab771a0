#!/usr/bin/env bash
# CPU cost per request as an instruction count: the gateway runs under callgrind
# (valgrind), which counts every instruction of every thread, the ledger's writer
# included. Unlike wall-clock benchmarks on a shared 2-core box, the count repeats
# to within 1-3 % whatever else the machine is doing (the time-driven wake-ups vary with
# how many requests fit in the run), so two builds compare to a few percent.
#
#   bash scripts/bench-instructions.sh [GATEWAY_BIN...]   (default: target/release/llm-gateway)
#
# For each binary and each scenario: the gateway (under callgrind) in a temp HOME with
# the bench mock as its upstreams, a warm-up, then counters zeroed, N requests at one
# connection, 1 s for the ledger's batch to be written, counters dumped. Prints
# instructions per request. Needs valgrind (Debian package) and the release examples
# (`cargo build --release --bin llm-gateway --example bench_upstream --example bench_client`).
# Knobs: BI_REQUESTS_SECS (seconds of load per scenario, 8), BI_KEEP (a directory to copy
# the callgrind dumps to, for callgrind_annotate on a build with symbols).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MOCK="$ROOT/target/release/examples/bench_upstream"
CLIENT="$ROOT/target/release/examples/bench_client"
SECS=${BI_REQUESTS_SECS:-8}
command -v valgrind > /dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
command -v jq > /dev/null || { echo "jq is needed" >&2; exit 2; }
[ -x "$MOCK" ] && [ -x "$CLIENT" ] || { echo "build the release examples first (see the header)" >&2; exit 2; }
[ $# -gt 0 ] || set -- "$ROOT/target/release/llm-gateway"

TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

wait_for() { # wait_for FILE PATTERN SECONDS
    local i
    for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2> /dev/null && return 0; sleep 0.1; done
    return 1
}

"$MOCK" --port 0 --threads 1 > "$TMP/mock.json" 2> "$TMP/mock.err" &
PIDS+=($!)
wait_for "$TMP/mock.json" port 10 || { echo "mock did not start" >&2; exit 1; }
MP=$(jq -r .port "$TMP/mock.json")
"$CLIENT" body --format openai --model claude-sonnet-4-5 > "$TMP/oai-claude.json"
"$CLIENT" body --format anthropic --model claude-opus-4-1 > "$TMP/ant-opus.json"
"$CLIENT" body --format anthropic --model claude-sonnet-4-5 > "$TMP/ant.json"
"$CLIENT" body --format anthropic --model claude-sonnet-4-5 --stream > "$TMP/ant-stream.json"

# scenario NAME PATH BODY FORMAT
SCENARIOS=(
    "anthropic-passthrough /v1/messages ant.json anthropic"
    "openai-to-anthropic /v1/chat/completions oai-claude.json openai"
    "anthropic-to-openai /v1/messages ant-opus.json anthropic"
    "anthropic-stream /v1/messages ant-stream.json anthropic"
)

n=0
for G in "$@"; do
    n=$((n + 1))
    export HOME="$TMP/home-$n"
    mkdir -p "$HOME"
    KEY=$("$G" --json apikey add --name bench | jq -r .key)
    "$G" upstream add --type api-key --provider anthropic --name a --key sk-ant-bench-upstream \
        --base-url "http://127.0.0.1:$MP" > /dev/null
    "$G" upstream add --type api-key --provider openai --name o --key sk-openai-bench-upstream \
        --base-url "http://127.0.0.1:$MP/v1" > /dev/null
    "$G" route add --match 'claude-opus-*' --upstream o --model gpt-4o > /dev/null
    for s in "${SCENARIOS[@]}"; do
        read -r name path body fmt <<< "$s"
        out="$TMP/gw-$n-$name.out"
        env -u RUST_LOG valgrind --tool=callgrind --callgrind-out-file="$TMP/cg-$n-$name.%p" \
            "$G" server start --port 0 > "$out" 2> "$TMP/gw.err" &
        pid=$!
        PIDS+=("$pid")
        wait_for "$out" 'listening on' 120 || { echo "gateway did not start: $(tail -5 "$TMP/gw.err")" >&2; exit 1; }
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$out" | head -1)
        if [ "$fmt" = anthropic ]; then
            h=(-H "x-api-key: $KEY" -H "anthropic-version: 2023-06-01")
        else
            h=(-H "Authorization: Bearer $KEY")
        fi
        url="http://127.0.0.1:$port$path"
        "$CLIENT" load --url "$url" --body "$TMP/$body" "${h[@]}" --conns 1 --duration 3 > /dev/null
        sleep 1
        callgrind_control -z "$pid" > /dev/null 2>&1
        r=$("$CLIENT" load --url "$url" --body "$TMP/$body" "${h[@]}" --conns 1 --duration "$SECS")
        sleep 1
        callgrind_control -d "$pid" > /dev/null 2>&1
        kill -TERM "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
        reqs=$(jq -r .ok <<< "$r")
        errs=$(jq -r .error_total <<< "$r")
        # The dump made by -d (part 1): its totals line.
        total=$(grep -h '^totals:' "$TMP"/cg-"$n-$name".*.1 2> /dev/null | awk '{print $2}' | head -1)
        if [ -z "$total" ] || [ "$reqs" = 0 ]; then
            echo "$name: no count (requests $reqs)" >&2
            continue
        fi
        if [ -n "${BI_KEEP:-}" ]; then
            mkdir -p "$BI_KEEP"
            cp "$TMP"/cg-"$n-$name".*.1 "$BI_KEEP/" 2> /dev/null || true
        fi
        printf '%-24s %-40s %8d req  %6d err  %8.0f instructions/request\n' \
            "$name" "$G" "$reqs" "$errs" "$(echo "$total / $reqs" | bc -l)"
    done
done
