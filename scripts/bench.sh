#!/usr/bin/env bash
# Benchmark llm-gateway against its own fast mock upstream, on 127.0.0.1 only.
#
#   bash scripts/bench.sh                 # full run (~6.5 min), writes docs/benchmarks.md
#   bash scripts/bench.sh --quick         # shorter runs (~2.5 min), same outputs
#   bash scripts/bench.sh --no-build      # reuse the release binaries ($CARGO_TARGET_DIR or target)
#   bash scripts/bench.sh --no-docs       # print only; do not touch docs/
#   bash scripts/bench.sh --perf          # also profile the gateway with `perf` (see below)
#
# Scenarios: pass-through and conversion between the four client formats (Anthropic
# Messages, OpenAI Chat Completions, OpenAI Responses, Gemini generateContent) and four
# upstreams on the mock: `a` (Anthropic), `o` (OpenAI Chat), `r` (OpenAI Responses,
# `--api responses`, serving gpt-5-codex; Claude Code's `claude-haiku-*` is routed there
# too) and `g` (Gemini, serving `gemini-*`; `claude-3-5-haiku-*` is routed there). The
# ids and order of the first eight are kept from before the Responses API, so that runs
# stay comparable; the Responses ones follow, then the Gemini ones. Gemini names the
# model and streaming in the path (/v1beta/models/M:generateContent,
# :streamGenerateContent?alt=sse), so its scenarios' paths carry them. Conversion
# scenarios answering 400 (or, for streams, not ending as they should) are reported as
# not available in this build; so are those needing an upstream (`r`, `g`) this build
# cannot add.
#
# Every scenario is measured directly against the mock (examples/bench_upstream.rs)
# AND through the gateway in the same run (direct = the mock's endpoint for the client's
# own format, same body and headers):
#   - throughput and p99 latency at 32 connections with wrk (closed loop, Lua POST body);
#   - p50 latency (and stream time-to-first-byte) at 1 connection with
#     examples/bench_client.rs;
# plus 1,000 concurrent held streams, gateway RSS (/proc VmRSS), CLI command time
# and one run with the default (info) logging. Results: docs/bench/results.json,
# docs/bench/throughput.svg and the generated section of docs/benchmarks.md.
#
# Knobs (environment): BENCH_ROUNDS (direct/gateway wrk pairs per scenario, default 3;
# the median is reported), BENCH_SECS (seconds per wrk run, 3), BENCH_LAT_SECS
# (1-connection seconds, 2), BENCH_WARMUP (0.5), BENCH_CONNS (32), BENCH_STREAMS (1000),
# BENCH_DELTAS (20), BENCH_PACED_RATE (2000 req/s), WRK_THREADS (1), BENCH_MOCK_THREADS (1), BENCH_QUIET_WAIT
# (seconds to wait, before each scenario, for compilers on the box to finish; 60),
# PERF_BIN (gateway binary with symbols for --perf; default: the measured gateway),
# BENCH_GATEWAY_BIN (measure this gateway binary instead, e.g. an older build),
# CARGO_TARGET_DIR (where the build goes and the binaries are taken from, as for cargo;
# default target) and BENCH_RESULTS (with --no-docs: where to keep the results JSON).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

BUILD=1 DOCS=1 PERF=0 QUICK=0
for a in "$@"; do
    case "$a" in
        --no-build) BUILD=0 ;;
        --no-docs) DOCS=0 ;;
        --perf) PERF=1 ;;
        --quick) QUICK=1 ;;
        -h | --help) sed -n '2,41p' "$0"; exit 0 ;;
        *) echo "unknown option $a (try --help)" >&2; exit 2 ;;
    esac
done
if [ "$QUICK" = 1 ]; then
    : "${BENCH_ROUNDS:=1}" "${BENCH_SECS:=2}" "${BENCH_LAT_SECS:=1.5}" "${BENCH_WARMUP:=0.5}"
fi
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECS:-3}
LAT_SECS=${BENCH_LAT_SECS:-2}
WARMUP=${BENCH_WARMUP:-0.5}
CONNS=${BENCH_CONNS:-32}
NSTREAMS=${BENCH_STREAMS:-1000}
DELTAS=${BENCH_DELTAS:-20}
PACED_RATE=${BENCH_PACED_RATE:-2000}
WRK_THREADS=${WRK_THREADS:-1}
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}
COMMAND="bash scripts/bench.sh $*"
COMMAND=${COMMAND% }

BENCH_NAME=bench
# shellcheck source=scripts/bench-common.sh
. "$ROOT/scripts/bench-common.sh"

# ---------------------------------------------------------------- tools
need_apt wrk wrk
need_apt jq jq
command -v hyperfine > /dev/null || need_apt hyperfine hyperfine || true
command -v curl > /dev/null || need_apt curl curl

# ---------------------------------------------------------------- build (one release build)
if [ "$BUILD" = 1 ]; then
    say "cargo build --release --bin llm-gateway --example bench_upstream --example bench_client"
    cargo build --release --bin llm-gateway --example bench_upstream --example bench_client >&2
fi
# BENCH_GATEWAY_BIN measures another gateway binary (an older build, for a
# before/after comparison) against the same mock and client. The binaries are where
# cargo puts them: CARGO_TARGET_DIR (relative to the repository, as for the build
# above) or target.
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
G="${BENCH_GATEWAY_BIN:-$TARGET_DIR/release/llm-gateway}"
MOCK="$TARGET_DIR/release/examples/bench_upstream"
CLIENT="$TARGET_DIR/release/examples/bench_client"
for b in "$G" "$MOCK" "$CLIENT"; do [ -x "$b" ] || die "$b is missing (run without --no-build)"; done

# ---------------------------------------------------------------- sandbox
bench_sandbox
[ "$(ulimit -n)" -ge $((NSTREAMS * 2 + 200)) ] ||
    echo "warning: ulimit -n is $(ulimit -n); $NSTREAMS streams need about $((NSTREAMS * 2 + 200))" >&2

wait_for() { # wait_for FILE PATTERN SECONDS
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -q "$2" "$1" 2> /dev/null && return 0
        sleep 0.05
    done
    return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2> /dev/null || echo null; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2> /dev/null || echo null; }
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2> /dev/null | wc -l; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2> /dev/null || echo 0; }
# CPU ticks of the gateway's usage-ledger writer thread (named lgw-ledger); 0 without one.
ledger_ticks() {
    local t
    for t in /proc/"$1"/task/*; do
        if [ "$(cat "$t/comm" 2> /dev/null)" = lgw-ledger ]; then
            awk '{print $14 + $15}' "$t/stat" 2> /dev/null || echo 0
            return
        fi
    done
    echo 0
}
# Busy CPU ticks of the whole machine (user, nice, system, irq, softirq).
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- machine
NPROC=$(nproc)
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_START=$(compilers)
BUSY_START=${BUSY_START:-0}
COMMIT=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)
DIRTY=$(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock 2> /dev/null | wc -l)
say "machine: $NPROC cpu ($CPU), load $LOAD_START, $BUSY_START compiler processes running"

# ---------------------------------------------------------------- mock upstream
# One thread: on a 2-core box shared with wrk and the gateway, the mock is faster and
# its latency tail far shorter with one thread than with two (measured: ~175k vs
# ~150k req/s direct, p99 0.3 ms vs 2 ms).
"$MOCK" --port 0 --deltas "$DELTAS" --threads "${BENCH_MOCK_THREADS:-1}" > "$TMP/mock.json" 2> "$TMP/mock.err" &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
wait_for "$TMP/mock.json" port 10 || die "mock upstream did not start: $(cat "$TMP/mock.err")"
MP=$(jq -r .port "$TMP/mock.json")
DIRECT="http://127.0.0.1:$MP"

# ---------------------------------------------------------------- gateway config
KEY=$("$G" --json apikey add --name bench | jq -r .key)
ADMIN_KEY=$("$G" --json apikey add --name bench-admin --permissions admin | jq -r .key)
# A key with limits that are never reached, so every request runs the limit check and
# the settlement (locally, and in the shared-state section through Redis). A build
# without limits is measured without this section.
LIMITED_KEY=$("$G" --json apikey add --name bench-limited --rpm 1000000000 --tpm 1000000000000 \
    --budget 1000000000 2> /dev/null | jq -r '.key // empty') || LIMITED_KEY=
[ -n "$KEY" ] && [ "$KEY" != null ] || die "could not create a gateway key"
"$G" upstream add --type api-key --provider anthropic --name a --key sk-ant-bench-upstream \
    --base-url "http://127.0.0.1:$MP" > /dev/null
"$G" upstream add --type api-key --provider openai --name o --key sk-openai-bench-upstream \
    --base-url "http://127.0.0.1:$MP/v1" > /dev/null
# Claude Code asking for an Opus model, sent to the OpenAI upstream as gpt-4o.
"$G" route add --match 'claude-opus-*' --upstream o --model gpt-4o > /dev/null
# A Responses upstream that serves only gpt-5-codex (so gpt-4o keeps going to `o`), with
# a route naming it; and Claude Code's small model sent to it as gpt-5-codex. A build
# without the Responses API goes on: its Responses scenarios are reported as unavailable.
if "$G" upstream add --type api-key --provider openai --api responses --name r \
    --key sk-openai-bench-responses --models gpt-5-codex --base-url "http://127.0.0.1:$MP/v1" > /dev/null; then
    "$G" route add --match gpt-5-codex --upstream r > /dev/null
    "$G" route add --match 'claude-haiku-*' --upstream r --model gpt-5-codex > /dev/null
else
    echo "warning: this build cannot add a Responses upstream (--api responses); its scenarios will be unavailable" >&2
    NO_RESPONSES="no Responses upstream in this build (upstream add --api responses failed)"
fi
# A Gemini upstream (its base URL is the host: the gateway calls
# /v1beta/models/M:generateContent on it) serving gemini-*, and Claude Code's older small
# model sent to it as gemini-2.5-flash. Without Gemini support the Gemini scenarios are
# reported as unavailable (and not run: gemini-* and claude-3-5-haiku-* would go
# elsewhere or nowhere).
if "$G" upstream add --type api-key --provider gemini --name g --key AIza-bench-upstream \
    --models 'gemini-*' --base-url "http://127.0.0.1:$MP" > /dev/null; then
    "$G" route add --match 'claude-3-5-haiku-*' --upstream g --model gemini-2.5-flash > /dev/null
else
    echo "warning: this build cannot add a Gemini upstream (--provider gemini); its scenarios will be unavailable" >&2
    NO_GEMINI="no Gemini upstream in this build (upstream add --provider gemini failed)"
fi

GW_PID="" GP="" GW_N=0 NO_RESPONSES=${NO_RESPONSES-} NO_GEMINI=${NO_GEMINI-}
start_gateway() { # start_gateway LOGFILE [RUST_LOG]
    local log=$1 level=${2-} out
    GW_N=$((GW_N + 1))
    out="$TMP/gw-$GW_N.out"
    if [ -n "$level" ]; then
        RUST_LOG=$level "$G" server start --port 0 > "$out" 2> "$log" &
    else
        env -u RUST_LOG "$G" server start --port 0 > "$out" 2> "$log" &
    fi
    GW_PID=$!
    PIDS+=("$GW_PID")
    wait_for "$out" 'listening on' 10 || die "gateway did not start: $(cat "$log")"
    GP=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$out" | head -1)
    [ -n "$GP" ] || die "cannot read the gateway port from: $(cat "$out")"
}
stop_gateway() {
    kill -TERM "$GW_PID" 2> /dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$GW_PID" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$GW_PID" 2> /dev/null || true
    wait "$GW_PID" 2> /dev/null || true
}

# ---------------------------------------------------------------- request bodies
B="$TMP/bodies"
mkdir -p "$B"
"$CLIENT" body --format anthropic --model claude-sonnet-4-5 > "$B/ant.json"
"$CLIENT" body --format anthropic --model claude-sonnet-4-5 --stream > "$B/ant-stream.json"
"$CLIENT" body --format anthropic --model claude-opus-4-1 > "$B/ant-opus.json"
"$CLIENT" body --format anthropic --model claude-opus-4-1 --stream > "$B/ant-opus-stream.json"
"$CLIENT" body --format openai --model gpt-4o > "$B/oai.json"
"$CLIENT" body --format openai --model gpt-4o --stream > "$B/oai-stream.json"
"$CLIENT" body --format openai --model claude-sonnet-4-5 > "$B/oai-claude.json"
"$CLIENT" body --format openai --model claude-sonnet-4-5 --stream > "$B/oai-claude-stream.json"
"$CLIENT" body --format anthropic --model claude-sonnet-4-5 --size-kb 400 > "$B/ant-400k.json"
# Responses API: Codex-like requests (instructions, input items, a function tool).
"$CLIENT" body --format responses --model gpt-5-codex > "$B/resp.json"
"$CLIENT" body --format responses --model claude-sonnet-4-5 > "$B/resp-claude.json"
"$CLIENT" body --format responses --model claude-sonnet-4-5 --stream > "$B/resp-claude-stream.json"
"$CLIENT" body --format openai --model gpt-5-codex > "$B/oai-codex.json"
"$CLIENT" body --format openai --model gpt-5-codex --stream > "$B/oai-codex-stream.json"
"$CLIENT" body --format anthropic --model claude-haiku-4-5 > "$B/ant-haiku.json"
# Gemini: Gemini CLI-like requests (systemInstruction, contents, a function declaration).
# The model and streaming are in the path (see the scenarios), not in the body; the
# stream body is named *stream* for hdrs' x-bench-stream.
"$CLIENT" body --format gemini --model gemini-2.5-flash > "$B/gem.json"
"$CLIENT" body --format gemini --model claude-sonnet-4-5 --stream > "$B/gem-stream.json"
"$CLIENT" body --format openai --model gemini-2.5-flash > "$B/oai-gemini.json"
"$CLIENT" body --format openai --model gemini-2.5-flash --stream > "$B/oai-gemini-stream.json"
"$CLIENT" body --format anthropic --model claude-3-5-haiku-20241022 > "$B/ant-haiku35.json"

# Headers per client format.
# hdrs anthropic|openai|responses|gemini [BODY] -> one "Name: value" per line. x-bench-stream
# tells the mock whether the body asks for a stream, so that it need not scan 400 KB bodies
# (Gemini's path says it too; the gateway forwards the header to any upstream).
hdrs() {
    case "$1" in
        anthropic) printf 'x-api-key: %s\nanthropic-version: 2023-06-01\n' "$KEY" ;;
        gemini) printf 'x-goog-api-key: %s\n' "$KEY" ;;
        *) printf 'Authorization: Bearer %s\n' "$KEY" ;;
    esac
    if [ -n "${2-}" ]; then
        case "${2##*/}" in
            *stream*) echo 'x-bench-stream: 1' ;;
            *) echo 'x-bench-stream: 0' ;;
        esac
    fi
}

# ---------------------------------------------------------------- measuring tools
wrk_run() { # wrk_run URL BODY FORMAT SECONDS [EXTRA_HEADER] -> JSON on stdout
    local url=$1 body=$2 fmt=$3 secs=$4 extra=${5-} lua="$TMP/wrk-$RANDOM.lua"
    { hdrs "$fmt" "$body"; [ -z "$extra" ] || echo "$extra"; } | write_wrk_lua "$lua" "$body"
    if [ -z "${NOWARM:-}" ] && awk "BEGIN {exit !($WARMUP > 0)}"; then
        wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s -s "$lua" "$url" > /dev/null 2>&1 || true
    fi
    local g0 m0 l0 s0 g1 m1 l1 s1 out
    g0=$(cpu_ticks "$GW_PID") m0=$(cpu_ticks "$MOCK_PID") l0=$(ledger_ticks "$GW_PID") s0=$(machine_ticks)
    out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"${secs}s" --timeout 10s -s "$lua" "$url" 2>&1) || true
    g1=$(cpu_ticks "$GW_PID") m1=$(cpu_ticks "$MOCK_PID") l1=$(ledger_ticks "$GW_PID") s1=$(machine_ticks)
    local j
    j=$(sed -n 's/^WRKJSON //p' <<< "$out")
    # (Say why, e.g. "unable to connect": wrk_pair cannot summarize a failed run.)
    [ -n "$j" ] || echo "    wrk gave no results for $url: $(tail -n 3 <<< "$out" | tr -s ' \n' '  ')" >&2
    [ -n "$j" ] || j='{"requests":0,"rps":0,"non2xx":0,"err_connect":0,"err_read":0,"err_write":0,"err_timeout":0,"failed":true}'
    jq -c --argjson g "$((g1 - g0))" --argjson m "$((m1 - m0))" --argjson l "$((l1 - l0))" \
        --argjson s "$((s1 - s0))" --argjson tck "$TCK" '
        . + {errors: (.non2xx + .err_connect + .err_read + .err_write + .err_timeout),
             gw_cpu_s: ($g / $tck), mock_cpu_s: ($m / $tck), ledger_cpu_s: ($l / $tck),
             machine_cpu_s: ($s / $tck)}' <<< "$j"
}

# ROUNDS alternating direct/gateway wrk runs (one warm-up each first); prints
# {"direct": SUMMARY, "gateway": SUMMARY, "ratio": median of per-round ratios,
#  "added_p99_us": median of per-round differences, "rounds": [...]}.
# Pairing each gateway run with the direct run next to it cancels slow drifts in
# what else the box is doing.
wrk_pair() { # wrk_pair DIRECT_URL GATEWAY_URL BODY FORMAT
    local i d g all="[]"
    NOWARM= wrk_run "$1" "$3" "$4" "$WARMUP" > /dev/null 2>&1
    NOWARM= wrk_run "$2" "$3" "$4" "$WARMUP" > /dev/null 2>&1
    for ((i = 0; i < ROUNDS; i++)); do
        d=$(NOWARM=1 wrk_run "$1" "$3" "$4" "$SECS")
        g=$(NOWARM=1 wrk_run "$2" "$3" "$4" "$SECS")
        all=$(jq -c --argjson d "$d" --argjson g "$g" '. + [{direct: $d, gateway: $g}]' <<< "$all")
    done
    jq -c '
      def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
                         else (.[length / 2 - 1] + .[length / 2]) / 2 end;
      def summary(k): map(.[k]) as $r | {
          rps: ($r | map(.rps) | median), p50_us: ($r | map(.p50_us) | median),
          p90_us: ($r | map(.p90_us) | median), p99_us: ($r | map(.p99_us) | median),
          max_us: ($r | map(.max_us) | max), requests: ($r | map(.requests) | add),
          errors: ($r | map(.errors) | add), non2xx: ($r | map(.non2xx) | add),
          gw_cpu_s: ($r | map(.gw_cpu_s) | add), mock_cpu_s: ($r | map(.mock_cpu_s) | add),
          ledger_cpu_s: ($r | map(.ledger_cpu_s // 0) | add),
          machine_cpu_s: ($r | map(.machine_cpu_s // 0) | add),
          rps_rounds: ($r | map(.rps))};
      {direct: summary("direct"), gateway: summary("gateway"),
       ratio: (map(if .direct.rps > 0 then .gateway.rps / .direct.rps else 0 end) | median),
       added_p99_us: (map(.gateway.p99_us - .direct.p99_us) | median),
       rounds: .}' <<< "$all"
}

# How an answer must end: TAIL is "" (anything), "event:NAME" (the last SSE event is
# NAME: Responses streams end with response.completed, whose data is the whole
# response), "data:TEXT" (the last SSE data line contains TEXT: Gemini streams have no
# end marker, but their last chunk carries finishReason) or a text the last 64 bytes
# must contain (message_stop, [DONE]).
tail_args() { # tail_args TAIL -> bench_client arguments, one per line
    case "$1" in
        "") ;;
        event:*) printf '%s\n' --expect-event "${1#event:}" ;;
        data:*) printf '%s\n' --expect-data "${1#data:}" ;;
        *) printf '%s\n' --expect-tail "$1" ;;
    esac
}
ends_ok() { # ends_ok FILE TAIL: does the answer in FILE end as TAIL says?
    case "$2" in
        "") return 0 ;;
        event:*) [ "$(grep -a '^event:' "$1" | tail -n 1 | sed 's/^event: *//; s/\r$//')" = "${2#event:}" ] ;;
        data:*) grep -a '^data:' "$1" | tail -n 1 | grep -qaF -- "${2#data:}" ;;
        *) tail -c 64 "$1" | grep -qaF -- "$2" ;;
    esac
}

lat_run() { # lat_run URL BODY FORMAT TAIL [--rate R --conns C] -> JSON on stdout
    local url=$1 body=$2 fmt=$3 tail=$4
    shift 4
    local args=() h
    while IFS= read -r h; do args+=(-H "$h"); done < <(hdrs "$fmt" "$body")
    while IFS= read -r h; do args+=("$h"); done < <(tail_args "$tail")
    "$CLIENT" load --url "$url" --body "$body" "${args[@]}" --conns 1 \
        --duration "$LAT_SECS" --warmup "$WARMUP" "$@" ||
        echo '{"failed": true}'
}

probe() { # probe URL BODY FORMAT -> "STATUS" ; body in $TMP/probe.out
    local args=() h
    while IFS= read -r h; do args+=(-H "$h"); done < <(hdrs "$3" "$2")
    curl -sS -o "$TMP/probe.out" -w '%{http_code}' --max-time 10 -X POST \
        -H 'content-type: application/json' "${args[@]}" --data-binary "@$2" "$1" || echo 000
}

# ---------------------------------------------------------------- scenarios
# [UNAVAILABLE=NOTE] scenario ID TITLE CLIENT_FORMAT PATH BODY TAIL CONVERSION
# With a non-empty UNAVAILABLE (the build lacks an upstream the scenario needs), the
# scenario is recorded as unavailable with that note, without a request: its model
# would be served by another upstream, or by none.
scenario() {
    local id=$1 title=$2 fmt=$3 path=$4 body=$5 tail=$6 conv=$7
    local gw="http://127.0.0.1:$GP$path" direct="$DIRECT$path" st avail=true note=""
    say "scenario $id: $title"
    if [ -n "${UNAVAILABLE-}" ]; then
        echo "    $UNAVAILABLE" >&2
        jq -n --arg id "$id" --arg title "$title" --argjson conv "$conv" --arg note "$UNAVAILABLE" \
            '{id: $id, title: $title, conversion: ($conv == 1), available: false,
              probe_status: null, note: $note, probe_body: null}' > "$TMP/res/$id.json"
        return 0
    fi
    st=$(probe "$gw" "$body" "$fmt")
    if [ "$st" = 200 ] && [ "$conv" = 1 ] && ! ends_ok "$TMP/probe.out" "$tail"; then
        st=200-incomplete
    fi
    if [ "$st" != 200 ]; then
        if [ "$conv" = 1 ] && [ "$st" = 400 ]; then
            avail=false note="conversion not available in this build"
        elif [ "$st" = 200-incomplete ]; then
            avail=false note="stream conversion not available in this build (the answer does not end with ${tail#*:})"
            st=200
        else
            avail=false note="gateway answered HTTP $st"
        fi
        echo "    $note: $(head -c 300 "$TMP/probe.out")" >&2
        jq -n --arg id "$id" --arg title "$title" --argjson conv "$conv" --arg note "$note" \
            --arg probe "$(head -c 500 "$TMP/probe.out")" --arg st "$st" \
            '{id: $id, title: $title, conversion: ($conv == 1), available: false,
              probe_status: ($st | tonumber), note: $note, probe_body: $probe}' > "$TMP/res/$id.json"
        return 0
    fi
    local l0 dw gw_w dl gl c0 c1 pair
    wait_quiet
    l0=$(load1) c0=$(compilers)
    pair=$(wrk_pair "$direct" "$gw" "$body" "$fmt")
    dw=$(jq -c .direct <<< "$pair")
    gw_w=$(jq -c .gateway <<< "$pair")
    dl=$(lat_run "$direct" "$body" "$fmt" "$tail")
    gl=$(lat_run "$gw" "$body" "$fmt" "$tail")
    c1=$(compilers)
    jq -n --arg id "$id" --arg title "$title" --argjson conv "$conv" --arg load "$l0" \
        --argjson busy "$(( ${c0:-0} > ${c1:-0} ? ${c0:-0} : ${c1:-0} ))" \
        --argjson dw "$dw" --argjson gw "$gw_w" --argjson dl "$dl" --argjson gl "$gl" --argjson pair "$pair" \
        --argjson bytes "$(wc -c < "$body")" --argjson rss "$(rss_kb "$GW_PID")" \
        --argjson fds "$(fds_of "$GW_PID")" '
        def r(x): (x * 10 | round) / 10;
        {id: $id, title: $title, conversion: ($conv == 1), available: true,
         request_bytes: $bytes, load1: ($load | tonumber), compilers_running: $busy,
         direct: {wrk: $dw, c1: $dl}, gateway: {wrk: $gw, c1: $gl},
         ratio: (($pair.ratio * 1000 | round) / 1000), rounds: $pair.rounds,
         added_p50_c1_us: r($gl.latency.p50_us - $dl.latency.p50_us),
         added_p99_c32_us: r($pair.added_p99_us),
         added_ttfb_c1_us: r($gl.ttfb.p50_us - $dl.ttfb.p50_us),
         gw_cpu_us_per_req: (if $gw.requests > 0 then r($gw.gw_cpu_s * 1e6 / $gw.requests) else null end),
         ledger_cpu_us_per_req: (if $gw.requests > 0 then ($gw.ledger_cpu_s * 1e7 / $gw.requests | round) / 10 else null end),
         ledger_share_of_machine_pct: (if $gw.machine_cpu_s > 0 then ($gw.ledger_cpu_s * 1000 / $gw.machine_cpu_s | round) / 10 else null end),
         errors: ($dw.errors + $gw.errors + ($dl.error_total // 1) + ($gl.error_total // 1)),
         rss_after_kb: $rss, fds_after: $fds}' > "$TMP/res/$id.json"
    jq -r '"    direct \(.direct.wrk.rps) req/s, gateway \(.gateway.wrk.rps) req/s (\(.ratio)x); added p50@1 \(.added_p50_c1_us) us, p99@'"$CONNS"' \(.added_p99_c32_us) us, ttfb \(.added_ttfb_c1_us) us; gateway CPU \(.gw_cpu_us_per_req) us/req (ledger writer \(.ledger_cpu_us_per_req) us, \(.ledger_share_of_machine_pct) % of the machine); errors \(.errors)"' \
        "$TMP/res/$id.json" >&2
}

streams_run() { # streams_run ID URL BODY FORMAT TAIL PID_TO_SAMPLE -> JSON
    local args=() h
    while IFS= read -r h; do args+=(-H "$h"); done < <(hdrs "$4" "$3")
    while IFS= read -r h; do args+=("$h"); done < <(tail_args "$5")
    "$CLIENT" streams --url "$2" --body "$3" "${args[@]}" -H 'x-bench-interval-ms: 250' \
        --n "$NSTREAMS" --connect-concurrency 100 --timeout 60 --rss-pid "$6" ||
        echo '{"failed": true}'
}

say "gateway with RUST_LOG=warn"
start_gateway "$TMP/gw-warn.log" warn
sleep 0.5
RSS_IDLE=$(rss_kb "$GW_PID")
FDS_IDLE=$(fds_of "$GW_PID")
say "idle gateway: VmRSS ${RSS_IDLE} kB, $FDS_IDLE fds"

scenario anthropic-passthrough "Anthropic → gateway → Anthropic (JSON)" anthropic /v1/messages "$B/ant.json" "" 0
scenario openai-passthrough "OpenAI → gateway → OpenAI (JSON)" openai /v1/chat/completions "$B/oai.json" "" 0
scenario openai-to-anthropic "OpenAI client → Anthropic upstream (conversion, JSON)" openai /v1/chat/completions "$B/oai-claude.json" "" 1
scenario anthropic-to-openai "Anthropic client → OpenAI upstream (conversion, JSON)" anthropic /v1/messages "$B/ant-opus.json" "" 1
scenario anthropic-stream "Anthropic SSE pass-through ($DELTAS deltas)" anthropic /v1/messages "$B/ant-stream.json" message_stop 0
scenario stream-openai-to-anthropic "OpenAI client → Anthropic upstream (conversion, SSE, $DELTAS deltas)" openai /v1/chat/completions "$B/oai-claude-stream.json" "[DONE]" 1
scenario stream-anthropic-to-openai "Anthropic client → OpenAI upstream (conversion, SSE, $DELTAS deltas)" anthropic /v1/messages "$B/ant-opus-stream.json" message_stop 1
scenario large-body "400 KB Anthropic request (pass-through, JSON)" anthropic /v1/messages "$B/ant-400k.json" "" 0
# The Responses API (after the original eight, so that their ids and order stay).
UNAVAILABLE=$NO_RESPONSES scenario responses-passthrough "Responses → gateway → Responses (JSON)" responses /v1/responses "$B/resp.json" "" 0
scenario responses-to-anthropic "Responses client → Anthropic upstream (conversion, JSON)" responses /v1/responses "$B/resp-claude.json" "" 1
scenario stream-responses-to-anthropic "Responses client → Anthropic upstream (conversion, SSE, $DELTAS deltas)" responses /v1/responses "$B/resp-claude-stream.json" event:response.completed 1
UNAVAILABLE=$NO_RESPONSES scenario openai-to-responses "OpenAI client → Responses upstream (conversion, JSON)" openai /v1/chat/completions "$B/oai-codex.json" "" 1
UNAVAILABLE=$NO_RESPONSES scenario stream-openai-to-responses "OpenAI client → Responses upstream (conversion, SSE, $DELTAS deltas)" openai /v1/chat/completions "$B/oai-codex-stream.json" "[DONE]" 1
UNAVAILABLE=$NO_RESPONSES scenario anthropic-to-responses "Anthropic client → Responses upstream (conversion, JSON)" anthropic /v1/messages "$B/ant-haiku.json" "" 1
# Gemini (after the Responses ones). Gemini clients name the model in the path, and ask
# for SSE with :streamGenerateContent?alt=sse; the direct runs POST the same path to the
# mock's Gemini endpoint.
GEM=/v1beta/models
UNAVAILABLE=$NO_GEMINI scenario gemini-passthrough "Gemini → gateway → Gemini (JSON)" gemini "$GEM/gemini-2.5-flash:generateContent" "$B/gem.json" "" 0
UNAVAILABLE=$NO_GEMINI scenario gemini-to-anthropic "Gemini client → Anthropic upstream (conversion, JSON)" gemini "$GEM/claude-sonnet-4-5:generateContent" "$B/gem.json" "" 1
UNAVAILABLE=$NO_GEMINI scenario stream-gemini-to-anthropic "Gemini client → Anthropic upstream (conversion, SSE, $DELTAS deltas)" gemini "$GEM/claude-sonnet-4-5:streamGenerateContent?alt=sse" "$B/gem-stream.json" data:finishReason 1
UNAVAILABLE=$NO_GEMINI scenario openai-to-gemini "OpenAI client → Gemini upstream (conversion, JSON)" openai /v1/chat/completions "$B/oai-gemini.json" "" 1
UNAVAILABLE=$NO_GEMINI scenario stream-openai-to-gemini "OpenAI client → Gemini upstream (conversion, SSE, $DELTAS deltas)" openai /v1/chat/completions "$B/oai-gemini-stream.json" "[DONE]" 1
UNAVAILABLE=$NO_GEMINI scenario anthropic-to-gemini "Anthropic client → Gemini upstream (conversion, JSON)" anthropic /v1/messages "$B/ant-haiku35.json" "" 1

# Open-loop (paced) latency: 32 connections at a fixed rate well below saturation, so
# that p99 shows the gateway's own cost rather than queueing on a saturated 2-core box.
say "paced: $PACED_RATE req/s over $CONNS connections (open loop), direct vs gateway"
wait_quiet
PACED_D=$(lat_run "$DIRECT/v1/messages" "$B/ant.json" anthropic "" --conns "$CONNS" --rate "$PACED_RATE" --duration "$SECS")
PACED_G=$(lat_run "http://127.0.0.1:$GP/v1/messages" "$B/ant.json" anthropic "" --conns "$CONNS" --rate "$PACED_RATE" --duration "$SECS")
jq -n --argjson d "$PACED_D" --argjson g "$PACED_G" --argjson rate "$PACED_RATE" \
    '{rate: $rate, direct: $d, gateway: $g,
      added_p50_us: (((($g.latency.p50_us // 0) - ($d.latency.p50_us // 0)) * 10 | round) / 10),
      added_p99_us: (((($g.latency.p99_us // 0) - ($d.latency.p99_us // 0)) * 10 | round) / 10)}' > "$TMP/res/paced.json"
jq -r '"    p99 direct \(.direct.latency.p99_us) us, gateway \(.gateway.latency.p99_us) us, added \(.added_p99_us) us; errors \(.direct.error_total) / \(.gateway.error_total)"' "$TMP/res/paced.json" >&2

# GET /metrics after all the scenarios' traffic: what a Prometheus scrape costs. A
# build without /metrics answers 404 and is reported as unavailable.
say "GET /metrics: 20 scrapes after the scenarios"
METRICS_STATUS=$(curl -s -o "$TMP/metrics.txt" -w '%{http_code}' "http://127.0.0.1:$GP/metrics" || echo 000)
if [ "$METRICS_STATUS" = 200 ]; then
    start_ns=$(date +%s%N)
    for _ in $(seq 20); do curl -s -o /dev/null "http://127.0.0.1:$GP/metrics"; done
    scrape_ms=$(( ($(date +%s%N) - start_ns) / 20000000 ))
    jq -n --argjson ms "$scrape_ms" --argjson bytes "$(wc -c < "$TMP/metrics.txt")" \
        --argjson series "$(grep -vc '^#' "$TMP/metrics.txt")" \
        '{available: true, ms_per_scrape_with_curl: $ms, bytes: $bytes, series: $series}' > "$TMP/res/metrics.json"
else
    echo '{"available": false}' > "$TMP/res/metrics.json"
fi
jq -r 'if .available then "    \(.ms_per_scrape_with_curl) ms per scrape (curl included), \(.bytes) bytes, \(.series) samples" else "    not available in this build" end' "$TMP/res/metrics.json" >&2

# One refresh of the /ui dashboard (the four or five admin GETs it makes every 5 s) after
# the scenarios' traffic is in the ledger. A build without /ui is reported as unavailable.
say "GET /ui's refresh: 20 rounds of its admin requests after the scenarios"
if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GP/ui")" = 200 ]; then
    rows=$(curl -s -H "authorization: Bearer $ADMIN_KEY" "http://127.0.0.1:$GP/admin/usage?since=7d" | jq '.totals.requests // 0')
    start_ns=$(date +%s%N)
    for _ in $(seq 20); do
        for path in status "usage?since=24h" "usage?since=7d" "timeseries?since=60m" "requests?limit=100"; do
            curl -s -o /dev/null -H "authorization: Bearer $ADMIN_KEY" "http://127.0.0.1:$GP/admin/$path"
        done
    done
    refresh_ms=$(( ($(date +%s%N) - start_ns) / 20000000 ))
    jq -n --argjson ms "$refresh_ms" --argjson rows "$rows" \
        '{available: true, ms_per_refresh_with_curl: $ms, ledger_rows: $rows}' > "$TMP/res/dashboard.json"
else
    echo '{"available": false}' > "$TMP/res/dashboard.json"
fi
jq -r 'if .available then "    \(.ms_per_refresh_with_curl) ms per refresh (5 requests, curl included) over \(.ledger_rows) ledger rows" else "    not available in this build" end' "$TMP/res/dashboard.json" >&2

# The limit check with the shared state in Redis (team mode) against the same check on
# this instance's own counters: a second gateway with the same config plus
# server.shared_state at a redis-server on loopback, both measured in alternating
# rounds with the limited key (Anthropic pass-through). A machine without
# redis-server, or a build without shared state, reports the section as unavailable.
say "key limits: local counters vs shared in Redis (Anthropic pass-through, limited key)"
SHARED_NOTE=""
command -v redis-server > /dev/null || SHARED_NOTE="redis-server is not installed"
[ -n "$LIMITED_KEY" ] || SHARED_NOTE="this build has no key limits"
if [ -z "$SHARED_NOTE" ]; then
    RP=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no > "$TMP/redis.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 50); do redis-cli -p "$RP" ping > /dev/null 2>&1 && break; sleep 0.1; done
    H2="$TMP/home-shared"
    mkdir -p "$H2/.llm-gateway"
    sed "s|^server:\$|server:\n  shared_state: redis://127.0.0.1:$RP/0|" "$HOME/.llm-gateway/config.yaml" \
        > "$H2/.llm-gateway/config.yaml"
    HOME="$H2" env -u RUST_LOG "$G" server start --port 0 > "$TMP/gw-shared.out" 2> "$TMP/gw-shared.log" &
    SH_PID=$!
    PIDS+=("$SH_PID")
    if wait_for "$TMP/gw-shared.out" 'listening on' 10; then
        SP=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$TMP/gw-shared.out" | head -1)
    else
        SHARED_NOTE="the shared-state gateway did not start: $(head -c 300 "$TMP/gw-shared.log")"
    fi
fi
if [ -z "$SHARED_NOTE" ]; then
    SAVED_KEY=$KEY
    KEY=$LIMITED_KEY
    wait_quiet
    local_url="http://127.0.0.1:$GP/v1/messages" shared_url="http://127.0.0.1:$SP/v1/messages"
    [ "$(probe "$shared_url" "$B/ant.json" anthropic)" = 200 ] ||
        SHARED_NOTE="the shared-state gateway answered: $(head -c 300 "$TMP/probe.out")"
fi
if [ -z "$SHARED_NOTE" ]; then
    pair=$(wrk_pair "$local_url" "$shared_url" "$B/ant.json" anthropic)
    ll=$(lat_run "$local_url" "$B/ant.json" anthropic "")
    sl=$(lat_run "$shared_url" "$B/ant.json" anthropic "")
    KEY=$SAVED_KEY
    keys_in_redis=$(redis-cli -p "$RP" --scan --pattern 'lgw:*' | wc -l)
    degraded=$(HOME="$H2" "$G" --json status 2> /dev/null | jq -r '.shared_state.state // "?"')
    jq -n --argjson pair "$pair" --argjson ll "$ll" --argjson sl "$sl" \
        --argjson keys "$keys_in_redis" --arg state "$degraded" '
        def r(x): (x * 10 | round) / 10;
        {available: true, local: {wrk: $pair.direct, c1: $ll}, shared: {wrk: $pair.gateway, c1: $sl},
         ratio: (($pair.ratio * 1000 | round) / 1000),
         added_p50_c1_us: r($sl.latency.p50_us - $ll.latency.p50_us),
         added_p99_c32_us: r($pair.added_p99_us), redis_keys: $keys, shared_state: $state,
         errors: ($pair.direct.errors + $pair.gateway.errors + ($ll.error_total // 1) + ($sl.error_total // 1))}' \
        > "$TMP/res/shared.json"
else
    KEY=${SAVED_KEY:-$KEY}
    jq -n --arg note "$SHARED_NOTE" '{available: false, note: $note}' > "$TMP/res/shared.json"
fi
jq -r 'if .available then "    local \(.local.wrk.rps) req/s, shared \(.shared.wrk.rps) req/s (\(.ratio)x); added p50@1 \(.added_p50_c1_us) us, p99@'"$CONNS"' \(.added_p99_c32_us) us; shared state \(.shared_state), \(.redis_keys) keys in Redis; errors \(.errors)" else "    not available: \(.note)" end' "$TMP/res/shared.json" >&2
[ -z "${SH_PID-}" ] || kill -TERM "$SH_PID" 2> /dev/null || true

# 1,000 concurrent open streams (each lasts DELTAS x 250 ms).
say "$NSTREAMS concurrent streams held open: direct, then through the gateway"
wait_quiet
ST_D=$(streams_run direct "$DIRECT/v1/messages" "$B/ant-stream.json" anthropic message_stop "$MOCK_PID")
ST_G=$(streams_run gateway "http://127.0.0.1:$GP/v1/messages" "$B/ant-stream.json" anthropic message_stop "$GW_PID")
ST_CONV=null
if [ "$(jq -r .available "$TMP/res/stream-openai-to-anthropic.json")" = true ]; then
    say "$NSTREAMS concurrent converted streams (OpenAI client → Anthropic upstream)"
    ST_CONV=$(streams_run gateway "http://127.0.0.1:$GP/v1/chat/completions" "$B/oai-claude-stream.json" openai "[DONE]" "$GW_PID")
fi
sleep 1
RSS_AFTER=$(rss_kb "$GW_PID")
HWM=$(hwm_kb "$GW_PID")
FDS_AFTER=$(fds_of "$GW_PID")
jq -n --argjson d "$ST_D" --argjson g "$ST_G" --argjson c "$ST_CONV" --argjson after "$RSS_AFTER" \
    --argjson hwm "$HWM" --argjson fds "$FDS_AFTER" \
    '{direct: $d, gateway: $g, gateway_converted: $c, rss_after_kb: $after, hwm_kb: $hwm, fds_after: $fds}' > "$TMP/res/streams.json"
jq -r '"    direct: \(.direct.completed_ok)/\(.direct.n) ok, errors \(.direct.error_total); gateway: \(.gateway.completed_ok)/\(.gateway.n) ok, errors \(.gateway.error_total), \(.gateway.held_open_at_sample) held at sample, VmRSS \(.gateway.server_at_peak.vm_rss_kb) kB, fds \(.gateway.server_at_peak.fds); after: VmRSS \(.rss_after_kb) kB, \(.fds_after) fds"' "$TMP/res/streams.json" >&2
stop_gateway

# Default logging (info: one access line per request, to a file).
say "gateway with the default logging (info, stderr to a file)"
wait_quiet
start_gateway "$TMP/gw-info.log" ""
sleep 0.3
LOG0=$(wc -c < "$TMP/gw-info.log")
INFO_P=$(wrk_pair "$DIRECT/v1/messages" "http://127.0.0.1:$GP/v1/messages" "$B/ant.json" anthropic)
INFO_W=$(jq -c '.gateway + {ratio: .ratio}' <<< "$INFO_P")
LOG1=$(wc -c < "$TMP/gw-info.log")
INFO_L=$(lat_run "http://127.0.0.1:$GP/v1/messages" "$B/ant.json" anthropic "")
jq -n --argjson w "$INFO_W" --argjson l "$INFO_L" --argjson bytes "$((LOG1 - LOG0))" \
    --arg line "$(grep -m1 'request' "$TMP/gw-info.log" | sed 's/\x1b\[[0-9;]*m//g' | head -c 400)" \
    '{wrk: $w, c1: $l, log_bytes: $bytes, sample_line: $line}' > "$TMP/res/logging.json"
jq -r '"    info logging: \(.wrk.rps) req/s at '"$CONNS"' conns (\(.wrk.ratio | . * 1000 | round / 1000)x direct), p50@1 \(.c1.latency.p50_us) us"' "$TMP/res/logging.json" >&2
stop_gateway

# CLI command time.
say "CLI: llm-gateway apikey list"
if command -v hyperfine > /dev/null; then
    hyperfine -N --warmup 5 --runs 50 --export-json "$TMP/cli.json" "$G apikey list" > /dev/null 2>&1 ||
        hyperfine --warmup 5 --runs 50 --export-json "$TMP/cli.json" "$G apikey list" > /dev/null 2>&1
    jq '{tool: "hyperfine", mean_ms: (.results[0].mean * 1000), median_ms: (.results[0].median * 1000),
         min_ms: (.results[0].min * 1000), max_ms: (.results[0].max * 1000), runs: (.results[0].times | length)}' \
        "$TMP/cli.json" > "$TMP/res/cli.json"
else
    ts=()
    for _ in $(seq 30); do
        t0=$(date +%s%N)
        "$G" apikey list > /dev/null
        ts+=($((($(date +%s%N) - t0) / 1000)))
    done
    printf '%s\n' "${ts[@]}" | jq -s '{tool: "date loop", mean_ms: (add / length / 1000),
        median_ms: (sort | .[length / 2 | floor] / 1000), min_ms: (min / 1000), max_ms: (max / 1000), runs: length}' \
        > "$TMP/res/cli.json"
fi
jq -r '"    mean \(.mean_ms * 100 | round / 100) ms, median \(.median_ms * 100 | round / 100) ms (\(.tool))"' "$TMP/res/cli.json" >&2

# Optional profile: one `perf record` per load, on a gateway binary with symbols.
if [ "$PERF" = 1 ]; then
    command -v perf > /dev/null || die "--perf needs perf (apt-get install linux-perf)"
    PB=${PERF_BIN:-$G}
    say "perf: profiling $PB"
    G_SAVE=$G
    G=$PB
    start_gateway "$TMP/gw-perf.log" warn
    G=$G_SAVE
    mkdir -p "$ROOT/docs/bench"
    perf_load() { # perf_load NAME PATH BODY FORMAT
        wrk_run "http://127.0.0.1:$GP$2" "$3" "$4" 1 > /dev/null # warm the pool
        perf record -F 1999 -g -p "$GW_PID" -o "$TMP/perf-$1.data" -- sleep "$SECS" > /dev/null 2>&1 &
        local pp=$!
        sleep 0.2
        WARMUP=0 wrk_run "http://127.0.0.1:$GP$2" "$3" "$4" "$SECS" > /dev/null
        wait "$pp" || true
        {
            echo "# perf record -F 1999 -g on the gateway only; $1: POST $2, $(wc -c < "$3")-byte body, $CONNS conns (wrk), ${SECS}s"
            echo "# binary: $PB ($(stat -c %y "$PB" | cut -d. -f1)); $(uptime | sed 's/^ *//')"
            echo
            echo "## CPU by binary"
            perf report -i "$TMP/perf-$1.data" --no-children --sort dso --stdio 2> /dev/null |
                grep -E '^ +[0-9]' | sed 's/ *$//' | head -6
            echo
            echo "## Self time by symbol, >= 0.8% (perf report --no-children --sort symbol)"
            perf report -i "$TMP/perf-$1.data" --no-children --sort symbol --stdio --percent-limit 0.8 -g none 2> /dev/null |
                grep -E '^ +[0-9]' | sed 's/ *- *- *$//; s/ *$//' | head -45
            echo
            echo "## Inclusive time of the gateway's own functions, JSON, SSE, allocator, >= 0.7% (perf report --children)"
            perf report -i "$TMP/perf-$1.data" --children --sort symbol --stdio --percent-limit 0.7 -g none 2> /dev/null |
                grep -E '^ +[0-9]' | sed 's/ *- *- *$//; s/ *$//' |
                grep -E 'llm_gateway|serde|tracing|malloc|_int_free|cfree|fmt::|Sleep|clock_gettime|writev|recv' |
                grep -v -F 'serve::{{closure}}' | head -50
        } > "$ROOT/docs/bench/profile-$1.txt"
        say "    docs/bench/profile-$1.txt"
    }
    perf_load json /v1/messages "$B/ant.json" anthropic
    perf_load sse /v1/messages "$B/ant-stream.json" anthropic
    perf_load large-body /v1/messages "$B/ant-400k.json" anthropic
    if [ "$(jq -r .available "$TMP/res/openai-to-anthropic.json")" = true ]; then
        perf_load conversion /v1/chat/completions "$B/oai-claude.json" openai
        perf_load conversion-sse /v1/chat/completions "$B/oai-claude-stream.json" openai
    fi
    stop_gateway
fi

# ---------------------------------------------------------------- results
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_END=$(compilers)
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$COMMIT" --argjson dirty "$DIRTY" \
    --argjson nproc "$NPROC" --arg cpu "$CPU" --argjson mem "$MEM_MB" --arg kernel "$(uname -r)" \
    --arg load_start "$LOAD_START" --arg load_end "$LOAD_END" \
    --argjson busy_start "$BUSY_START" --argjson busy_end "${BUSY_END:-0}" \
    --arg command "$COMMAND" --argjson secs "$SECS" --argjson rounds "$ROUNDS" --arg lat_secs "$LAT_SECS" --argjson conns "$CONNS" \
    --argjson wrk_threads "$WRK_THREADS" --argjson deltas "$DELTAS" --argjson nstreams "$NSTREAMS" \
    --arg wrk "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)" \
    --argjson rss_idle "$RSS_IDLE" --argjson fds_idle "$FDS_IDLE" \
    --slurpfile s1 "$TMP/res/anthropic-passthrough.json" --slurpfile s2 "$TMP/res/openai-passthrough.json" \
    --slurpfile s3 "$TMP/res/openai-to-anthropic.json" --slurpfile s4 "$TMP/res/anthropic-to-openai.json" \
    --slurpfile s5 "$TMP/res/anthropic-stream.json" --slurpfile s6 "$TMP/res/stream-openai-to-anthropic.json" \
    --slurpfile s7 "$TMP/res/stream-anthropic-to-openai.json" --slurpfile s8 "$TMP/res/large-body.json" \
    --slurpfile s9 "$TMP/res/responses-passthrough.json" --slurpfile s10 "$TMP/res/responses-to-anthropic.json" \
    --slurpfile s11 "$TMP/res/stream-responses-to-anthropic.json" --slurpfile s12 "$TMP/res/openai-to-responses.json" \
    --slurpfile s13 "$TMP/res/stream-openai-to-responses.json" --slurpfile s14 "$TMP/res/anthropic-to-responses.json" \
    --slurpfile s15 "$TMP/res/gemini-passthrough.json" --slurpfile s16 "$TMP/res/gemini-to-anthropic.json" \
    --slurpfile s17 "$TMP/res/stream-gemini-to-anthropic.json" --slurpfile s18 "$TMP/res/openai-to-gemini.json" \
    --slurpfile s19 "$TMP/res/stream-openai-to-gemini.json" --slurpfile s20 "$TMP/res/anthropic-to-gemini.json" \
    --slurpfile paced "$TMP/res/paced.json" --slurpfile streams "$TMP/res/streams.json" \
    --slurpfile logging "$TMP/res/logging.json" --slurpfile cli "$TMP/res/cli.json" \
    --slurpfile metrics "$TMP/res/metrics.json" --slurpfile dashboard "$TMP/res/dashboard.json" \
    --slurpfile shared "$TMP/res/shared.json" '
    def r1(x): if x == null then null else (x * 10 | round) / 10 end;
    ($s1 + $s2 + $s3 + $s4 + $s5 + $s6 + $s7 + $s8 + $s9 + $s10 + $s11 + $s12 + $s13 + $s14
     + $s15 + $s16 + $s17 + $s18 + $s19 + $s20) as $sc
    | ($sc | map(select(.conversion and .available and (.id | test("stream") | not)))) as $conv
    | ($sc | map(select(.conversion and .available and (.id | test("stream"))))) as $sconv
    | ($sc | map(select(.id == "anthropic-passthrough"))[0]) as $pt
    | ($sc | map(select(.id == "anthropic-stream"))[0]) as $st
    | $streams[0] as $S
    | {
      meta: {date: $date, commit: $commit, src_dirty_files: $dirty, nproc: $nproc, cpu: $cpu,
             mem_mb: $mem, kernel: $kernel, load_start: $load_start, load_end: $load_end,
             compiler_processes_start: $busy_start, compiler_processes_end: $busy_end,
             command: $command, wrk: $wrk, wrk_threads: $wrk_threads, wrk_seconds: $secs, rounds: $rounds,
             c1_seconds: ($lat_secs | tonumber), conns: $conns, deltas: $deltas, streams: $nstreams},
      scenarios: $sc,
      paced: $paced[0],
      streams: $S,
      memory: {idle_kb: $rss_idle, idle_fds: $fds_idle,
               streams_peak_kb: $S.gateway.server_at_peak.vm_rss_kb,
               after_kb: $S.rss_after_kb, hwm_kb: $S.hwm_kb, fds_after: $S.fds_after},
      logging: ($logging[0] + {warn_rps: $pt.gateway.wrk.rps, warn_ratio: $pt.ratio,
               info_ratio: (($logging[0].wrk.ratio // 0) * 1000 | round / 1000),
               rps_ratio_info_vs_warn: (if ($pt.ratio // 0) > 0 then (($logging[0].wrk.ratio / $pt.ratio) * 1000 | round) / 1000 else null end),
               log_bytes_per_req: (if $logging[0].wrk.requests > 0 then r1($logging[0].log_bytes / $logging[0].wrk.requests) else null end)}),
      cli: $cli[0],
      metrics_scrape: $metrics[0],
      dashboard_refresh: $dashboard[0],
      shared_state: $shared[0],
      targets: [
        {name: "conversion throughput at \($conns) conns ≥ 0.25 × direct",
         value: (if ($conv | length) == 0 then "conversion not available in this build"
                 else ($conv | map("\(.id) \(.ratio)×") | join(", ")) end),
         pass: (if ($conv | length) == 0 then null else ($conv | all(.ratio >= 0.25)) end)},
        {name: "added p99 latency at \($conns) conns ≤ 1 ms on the JSON conversions (wrk, saturated)",
         value: (if ($conv | length) == 0 then "conversion not available in this build"
                 else ($conv | map("\(.id) \(r1(.added_p99_c32_us)) µs") | join(", ")) end),
         pass: (if ($conv | length) == 0 then null else ($conv | all(.added_p99_c32_us <= 1000)) end)},
        {name: "for reference, not a target: streamed conversion (\($deltas) deltas per answer) at \($conns) conns",
         value: ($sconv | map("\(.id) \(.ratio)×") | join(", ")), pass: null},
        {name: "added p50 latency at 1 conn ≤ 0.1 ms (Anthropic pass-through)",
         value: "\(r1($pt.added_p50_c1_us)) µs", pass: ($pt.added_p50_c1_us <= 100)},
        {name: "added p99 latency at \($conns) conns ≤ 1 ms (Anthropic pass-through, wrk, saturated)",
         value: "\(r1($pt.added_p99_c32_us)) µs", pass: ($pt.added_p99_c32_us <= 1000)},
        {name: "stream TTFB overhead ≤ 0.2 ms (Anthropic SSE, p50 at 1 conn)",
         value: "\(r1($st.added_ttfb_c1_us)) µs", pass: ($st.added_ttfb_c1_us <= 200)},
        {name: "\($nstreams) concurrent streams without errors",
         value: ("\($S.gateway.completed_ok // 0)/\($nstreams) ok, \($S.gateway.error_total // "?") errors"
                + (if $S.gateway_converted then "; converted: \($S.gateway_converted.completed_ok)/\($nstreams) ok, \($S.gateway_converted.error_total) errors" else "" end)),
         pass: (($S.gateway.error_total == 0) and ($S.gateway.completed_ok == $nstreams)
                and (($S.gateway_converted == null) or ($S.gateway_converted.error_total == 0)))},
        {name: "RSS idle ≤ 20 MB", value: "\(r1($rss_idle / 1024)) MB", pass: ($rss_idle <= 20480)},
        {name: "RSS with \($nstreams) streams ≤ 150 MB",
         value: "\(r1([$S.gateway.server_at_peak.vm_rss_kb, ($S.gateway_converted.server_at_peak.vm_rss_kb // 0)] | max / 1024)) MB",
         pass: ([$S.gateway.server_at_peak.vm_rss_kb, ($S.gateway_converted.server_at_peak.vm_rss_kb // 0)] | max <= 153600)},
        {name: "CLI command ≤ 20 ms (apikey list)", value: "\(r1($cli[0].mean_ms)) ms",
         pass: ($cli[0].mean_ms <= 20)},
        {name: "limit check in Redis: added p50 at 1 conn ≤ 0.3 ms (vs local counters)",
         value: (if $shared[0].available then "\(r1($shared[0].added_p50_c1_us)) µs" else $shared[0].note end),
         pass: (if $shared[0].available then ($shared[0].added_p50_c1_us <= 300) else null end)},
        {name: "limit check in Redis: throughput at \($conns) conns ≥ 0.8 × local counters",
         value: (if $shared[0].available then "\($shared[0].ratio)×" else $shared[0].note end),
         pass: (if $shared[0].available then ($shared[0].ratio >= 0.8) else null end)}
      ]
    }' > "$TMP/results.json"

# Console summary.
echo
jq -r '
  "Scenario | direct req/s | gateway req/s | ratio | +p50@1 µs | +p99@\(.meta.conns) µs | +TTFB µs | gw CPU µs/req | errors",
  (.scenarios[] | if .available then
     "\(.id) | \(.direct.wrk.rps) | \(.gateway.wrk.rps) | \(.ratio) | \(.added_p50_c1_us) | \(.added_p99_c32_us) | \(if (.id | test("stream")) then .added_ttfb_c1_us else "-" end) | \(.gw_cpu_us_per_req) | \(.errors)"
   else "\(.id) | \(.note)" end)' "$TMP/results.json" | column -t -s '|' || true
echo
jq -r '.targets[] | "\(if .pass == null then "N/A " elif .pass then "PASS" else "FAIL" end)  \(.name): \(.value)"' "$TMP/results.json"
echo "load average: start $LOAD_START, end $LOAD_END"

if [ "$DOCS" != 1 ]; then
    # BENCH_RESULTS keeps the results of a --no-docs run (e.g. the baseline of a
    # before/after comparison).
    if [ -n "${BENCH_RESULTS:-}" ]; then
        cp "$TMP/results.json" "$BENCH_RESULTS"
        say "--no-docs: results in $BENCH_RESULTS"
    else
        say "--no-docs: results not written"
    fi
    exit 0
fi

# ---------------------------------------------------------------- docs
mkdir -p "$ROOT/docs/bench"
cp "$TMP/results.json" "$ROOT/docs/bench/results.json"

# Chart: gateway throughput as a share of direct, per scenario.
jq -r '
  def esc: gsub("&"; "&amp;") | gsub("<"; "&lt;") | gsub(">"; "&gt;");
  def k(x): if x >= 1000 then "\((x / 100 | round) / 10)k" else "\(x | round)" end;
  .scenarios as $s | ($s | length) as $n
  | 300 as $x0 | 360 as $w | 34 as $rh | 70 as $y0
  | ($y0 + $n * $rh + 50) as $h
  | "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"\($h)\" viewBox=\"0 0 900 \($h)\" font-family=\"Helvetica,Arial,sans-serif\" font-size=\"13\">",
    "<rect width=\"900\" height=\"\($h)\" fill=\"#fff\"/>",
    "<text x=\"20\" y=\"28\" font-size=\"17\" font-weight=\"bold\">llm-gateway throughput as a share of direct-to-mock (\(.meta.conns) connections, wrk)</text>",
    "<text x=\"20\" y=\"48\" fill=\"#555\">\(.meta.nproc) CPU \(.meta.cpu | esc); load \(.meta.load_start); commit \(.meta.commit); \(.meta.date)</text>",
    ([0, 0.25, 0.5, 0.75, 1] | .[] as $t
      | "<line x1=\"\($x0 + $t * $w)\" y1=\"\($y0 - 8)\" x2=\"\($x0 + $t * $w)\" y2=\"\($y0 + $n * $rh)\" stroke=\"\(if $t == 0.25 then "#c0392b" else "#ddd" end)\" \(if $t == 0.25 then "stroke-dasharray=\"5,4\"" else "" end)/>",
        "<text x=\"\($x0 + $t * $w)\" y=\"\($y0 + $n * $rh + 16)\" text-anchor=\"middle\" fill=\"#555\">\($t * 100 | round)%</text>"),
    "<text x=\"\($x0 + 0.25 * $w + 4)\" y=\"\($y0 - 12)\" fill=\"#c0392b\" font-size=\"11\">conversion target 25%</text>",
    ($s | to_entries[] | .key as $i | .value as $v | ($y0 + $i * $rh) as $y
      | "<text x=\"\($x0 - 10)\" y=\"\($y + 20)\" text-anchor=\"end\">\($v.id | esc)</text>",
        (if $v.available then
           ([$v.ratio, 1] | min) as $r
           | "<rect x=\"\($x0)\" y=\"\($y + 6)\" width=\"\($r * $w | . * 10 | round / 10)\" height=\"20\" fill=\"\(if $v.conversion then "#8e44ad" else "#2980b9" end)\"/>",
             "<text x=\"\($x0 + $r * $w + 6)\" y=\"\($y + 20)\" fill=\"#222\">\(($v.ratio * 1000 | round) / 10)%  (\(k($v.gateway.wrk.rps)) vs \(k($v.direct.wrk.rps)) req/s)</text>"
         else
           "<text x=\"\($x0 + 6)\" y=\"\($y + 20)\" fill=\"#999\" font-style=\"italic\">\($v.note | esc)</text>"
         end)),
    "<text x=\"20\" y=\"\($h - 10)\" fill=\"#555\" font-size=\"11\">blue: pass-through, purple: conversion; bar = gateway req/s ÷ direct req/s; generated by scripts/bench.sh</text>",
    "</svg>"' "$TMP/results.json" > "$ROOT/docs/bench/throughput.svg"

# The generated section of docs/benchmarks.md (between the markers).
jq -r '
  def f(x): if x == null then "–" else (x | tostring) end;
  def us(x): if x == null then "–" else ((x * 10 | round) / 10 | tostring) end;
  def k(x): if x == null then "–" elif x >= 1000 then "\((x / 100 | round) / 10)k" else "\(x | round)" end;
  .meta as $m |
  "<!-- bench:begin (generated by scripts/bench.sh; edits here are overwritten) -->",
  "",
  "### Last run",
  "",
  "- **When / what:** \($m.date), commit `\($m.commit)`\(if $m.src_dirty_files > 0 then " + \($m.src_dirty_files) uncommitted change(s) under src/ or Cargo.*" else "" end)",
  "- **Machine:** \($m.nproc) CPU, \($m.cpu), \($m.mem_mb) MB RAM, Linux \($m.kernel); gateway, mock and load generator all on this box",
  "- **Load average:** \($m.load_start) at start, \($m.load_end) at the end; compiler processes running: \($m.compiler_processes_start) at start, \($m.compiler_processes_end) at the end",
  "- **Command:** `\($m.command)` (\($m.wrk), \($m.wrk_threads) wrk thread(s), \($m.conns) connections, \($m.rounds) alternating direct/gateway rounds of \($m.wrk_seconds) s after a warm-up, medians reported; 1-connection runs \($m.c1_seconds) s; \($m.deltas) deltas per streamed answer)",
  "",
  "![gateway throughput as a share of direct](bench/throughput.svg)",
  "",
  "#### Targets",
  "",
  "| | Target | Measured |",
  "|---|---|---|",
  (.targets[] | "| \(if .pass == null then "N/A" elif .pass then "**PASS**" else "**FAIL**" end) | \(.name) | \(.value) |"),
  "",
  "#### Scenarios (direct = same request straight to the mock; gateway = through llm-gateway)",
  "",
  "Four client formats (Anthropic Messages, OpenAI Chat Completions, OpenAI Responses, Gemini generateContent), each passed through and converted to and from the upstreams of the others, all served by the mock.",
  "",
  "| Scenario | Request | Direct req/s | Gateway req/s | Ratio | p50 @1 conn direct / gateway (µs) | Added p50 | p99 @\($m.conns) direct / gateway (µs) | Added p99 | Stream TTFB @1 direct / gateway (µs) | Added TTFB | Gateway CPU µs/req | Errors | load1 |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  (.scenarios[] | if .available then
    "| \(.title) | \((.request_bytes / 1024 * 10 | round) / 10) KB | \(k(.direct.wrk.rps)) | \(k(.gateway.wrk.rps)) | **\(.ratio)×**\(if (.rounds | length) > 1 then " (\(.rounds | map(.gateway.rps / .direct.rps * 100 | round / 100) | min)–\(.rounds | map(.gateway.rps / .direct.rps * 100 | round / 100) | max))" else "" end) | \(us(.direct.c1.latency.p50_us)) / \(us(.gateway.c1.latency.p50_us)) | \(us(.added_p50_c1_us)) | \(us(.direct.wrk.p99_us)) / \(us(.gateway.wrk.p99_us)) | \(us(.added_p99_c32_us)) | \(if (.id | test("stream")) then "\(us(.direct.c1.ttfb.p50_us)) / \(us(.gateway.c1.ttfb.p50_us))" else "–" end) | \(if (.id | test("stream")) then us(.added_ttfb_c1_us) else "–" end) | \(f(.gw_cpu_us_per_req)) | \(.errors) | \(.load1)\(if .compilers_running > 0 then " (\(.compilers_running) compilers)" else "" end) |"
  else
    "| \(.title) | – | – | – | – | – | – | – | – | – | – | – | \(.note)\(if .probe_status then " (HTTP \(.probe_status))" else "" end) | – |"
  end),
  "",
  "#### Latency when not saturated (open loop, \(.paced.rate) req/s over \($m.conns) connections, Anthropic pass-through)",
  "",
  "| | p50 (µs) | p99 (µs) | p99.9 (µs) | errors |",
  "|---|---|---|---|---|",
  "| direct | \(us(.paced.direct.latency.p50_us)) | \(us(.paced.direct.latency.p99_us)) | \(us(.paced.direct.latency.p999_us)) | \(f(.paced.direct.error_total)) |",
  "| gateway | \(us(.paced.gateway.latency.p50_us)) | \(us(.paced.gateway.latency.p99_us)) | \(us(.paced.gateway.latency.p999_us)) | \(f(.paced.gateway.error_total)) |",
  "| added | \(us(.paced.added_p50_us)) | \(us(.paced.added_p99_us)) | | |",
  "",
  "#### Key limits checked in Redis (team mode) vs on local counters (Anthropic pass-through, a key with limits never reached)",
  "",
  (if .shared_state.available then
    (.shared_state as $x |
    "| | req/s at \($m.conns) conns | p99 at \($m.conns) conns (µs) | p50 at 1 conn (µs) |",
    "|---|---|---|---|",
    "| local counters | \(k($x.local.wrk.rps)) | \(us($x.local.wrk.p99_us)) | \(us($x.local.c1.latency.p50_us)) |",
    "| shared in Redis | \(k($x.shared.wrk.rps)) | \(us($x.shared.wrk.p99_us)) | \(us($x.shared.c1.latency.p50_us)) |",
    "| shared vs local | **\($x.ratio)×** | +\(us($x.added_p99_c32_us)) | +\(us($x.added_p50_c1_us)) |",
    "",
    "Redis on loopback held \($x.redis_keys) gateway keys after the run; the instance reported its shared state as `\($x.shared_state)`; errors \($x.errors).")
  else "Not measured: \(.shared_state.note)." end),
  "",
  "#### \($m.streams) concurrent streams (Anthropic SSE, \($m.deltas) deltas 250 ms apart, each on its own connection)",
  "",
  "| | completed ok | errors | held open at sample | all open after | TTFB p50 / p99 (ms) | VmRSS of the mock (direct) or gateway, all open | its fds, all open |",
  "|---|---|---|---|---|---|---|---|",
  (.streams as $S | ["direct", "gateway", "gateway_converted"][] as $k | $S[$k] | select(. != null) |
    "| \($k | sub("_"; " ")) | \(.completed_ok)/\(.n) | \(.error_total) \(.errors | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | if length > 0 then "(" + join(", ") + ")" else "" end) | \(.held_open_at_sample) | \(.all_open_after_ms) ms | \(us((.ttfb.p50_us // 0) / 1000)) / \(us((.ttfb.p99_us // 0) / 1000)) | \(if .server_at_peak.vm_rss_kb then "\((.server_at_peak.vm_rss_kb / 1024 * 10 | round) / 10) MB" else "–" end) | \(f(.server_at_peak.fds)) |"),
  "",
  "#### Memory, logging, CLI",
  "",
  "| | |",
  "|---|---|",
  "| Gateway VmRSS idle (after start) | \((.memory.idle_kb / 1024 * 10 | round) / 10) MB, \(.memory.idle_fds) fds |",
  "| Gateway VmRSS with \($m.streams) streams open | \((.memory.streams_peak_kb / 1024 * 10 | round) / 10) MB pass-through\(if .streams.gateway_converted then ", \((.streams.gateway_converted.server_at_peak.vm_rss_kb / 1024 * 10 | round) / 10) MB converted (measured after the pass-through round)" else "" end) |",
  "| Gateway VmRSS after all load (1 s after the streams ended) | \((.memory.after_kb / 1024 * 10 | round) / 10) MB (peak VmHWM \((.memory.hwm_kb / 1024 * 10 | round) / 10) MB), \(.memory.fds_after) fds |",
  "| Default logging (info, access line per request, to a file) | \(k(.logging.wrk.rps)) req/s at \($m.conns) conns = \(.logging.info_ratio)× direct, vs \(.logging.warn_ratio)× with RUST_LOG=warn (info costs \(((1 - .logging.rps_ratio_info_vs_warn) * 100) | round)% of throughput); p50 @1 conn \(us(.logging.c1.latency.p50_us)) µs; \(.logging.log_bytes_per_req) log bytes/request |",
  "| CLI `llm-gateway apikey list` | mean \((.cli.mean_ms * 100 | round) / 100) ms, median \((.cli.median_ms * 100 | round) / 100) ms, min \((.cli.min_ms * 100 | round) / 100) ms (\(.cli.runs) runs, \(.cli.tool)) |",
  "",
  "Raw numbers: [bench/results.json](bench/results.json).",
  "",
  "<!-- bench:end -->"' "$TMP/results.json" > "$TMP/section.md"

splice_doc_section bench "$TMP/section.md" "# Benchmarks"
say "wrote docs/benchmarks.md, docs/bench/results.json, docs/bench/throughput.svg"
