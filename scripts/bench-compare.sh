#!/usr/bin/env bash
# Compare llm-gateway with LiteLLM and the Portkey AI gateway on the same mock upstream,
# on 127.0.0.1 only.
#
#   bash scripts/bench-compare.sh              # full run (~5 min once the tools are cached)
#   bash scripts/bench-compare.sh --no-build   # reuse target/release binaries
#   bash scripts/bench-compare.sh --no-docs    # print only; do not touch docs/
#   bash scripts/bench-compare.sh --tools llm-gateway,portkey   # a subset
#
# Every tool is configured to use examples/bench_upstream.rs (the mock of scripts/bench.sh)
# as its upstream, and every scenario sends the same request bodies (from
# `bench_client body`) straight to the mock ("direct", the baseline) and through each
# tool, in alternating rounds, in the same run:
#   - OpenAI client -> OpenAI upstream (JSON, pass-through)
#   - Anthropic client -> Anthropic upstream (JSON, pass-through)
#   - Anthropic client -> Anthropic upstream (SSE, pass-through)
#   - OpenAI client -> Anthropic upstream (conversion; JSON, and SSE with 20 deltas)
# Each (scenario, tool) is first probed with one request, whose answer must be 200 and
# carry the same text as the direct answer; otherwise the pair is reported as not
# available, with the answer, and not measured. Then: wrk (closed loop, Lua POST body)
# for throughput and p50/p99 at 32 connections, bench_client for p50 at 1 connection,
# and the RSS (sum of VmRSS) and CPU time of each tool's process tree under that load.
# Results: docs/bench/compare.json and the generated section of docs/benchmarks.md.
#
# The tools are installed once, pinned, into gitignored directories under the repo:
#   LiteLLM  (PyPI `litellm[proxy]`)     -> .venv-bench/   from scripts/bench-compare/requirements.txt
#   Portkey  (npm `@portkey-ai/gateway`) -> .bench-tools/  from scripts/bench-compare/package{,-lock}.json
# A tool that cannot be installed or started is reported as such; the rest still runs.
# The measuring phase holds `flock $BENCH_LOCK` so that it never overlaps another
# benchmark on the box.
#
# Knobs (environment): BENCH_ROUNDS (alternating rounds per scenario, 2; medians
# reported), BENCH_SECS (seconds per wrk run, 3), BENCH_WARMUP (seconds of wrk warm-up per
# tool and scenario, 1), BENCH_LAT_SECS (1-connection seconds, 2), BENCH_CONNS (32),
# WRK_THREADS (1), BENCH_DELTAS (20), BENCH_LITELLM_WORKERS (LiteLLM --num_workers; default
# the number of CPUs, as its docs advise for production), BENCH_QUIET_WAIT (seconds to wait for compilers before each scenario, 60),
# BENCH_LOCK (/tmp/llm-gateway-bench.lock), PYTHON (interpreter for the venv; default the
# newest python3.1x >= 3.10 on PATH).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

BUILD=1 DOCS=1 TOOLS_ARG="llm-gateway,litellm,portkey"
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) BUILD=0 ;;
        --no-docs) DOCS=0 ;;
        --tools) TOOLS_ARG=${2:?--tools needs a list}; shift ;;
        --tools=*) TOOLS_ARG=${1#--tools=} ;;
        -h | --help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
        *) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
ROUNDS=${BENCH_ROUNDS:-2}
SECS=${BENCH_SECS:-3}
WARMUP=${BENCH_WARMUP:-1}
LAT_SECS=${BENCH_LAT_SECS:-2}
CONNS=${BENCH_CONNS:-32}
WRK_THREADS=${WRK_THREADS:-1}
DELTAS=${BENCH_DELTAS:-20}
LL_WORKERS=${BENCH_LITELLM_WORKERS:-$(nproc)}
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}
LOCK=${BENCH_LOCK:-/tmp/llm-gateway-bench.lock}
COMMAND="bash scripts/bench-compare.sh"
[ "$TOOLS_ARG" = "llm-gateway,litellm,portkey" ] || COMMAND="$COMMAND --tools $TOOLS_ARG"

CMP="$ROOT/scripts/bench-compare"
REQS="$CMP/requirements.txt"
VENV="$ROOT/.venv-bench"
NPM_DIR="$ROOT/.bench-tools"
PORTKEY_JS="$NPM_DIR/node_modules/@portkey-ai/gateway/build/start-server.js"
LITELLM_PIN=$(sed -n 's/^litellm==//p' "$REQS")
PORTKEY_PIN=$(jq -r '.dependencies["@portkey-ai/gateway"]' "$CMP/package.json" 2> /dev/null || echo "?")

BENCH_NAME=bench-compare
# shellcheck source=scripts/bench-common.sh
. "$ROOT/scripts/bench-common.sh"
warn() { printf '\033[1;33m    %s\033[0m\n' "$*" >&2; }

# ---------------------------------------------------------------- tools
need_apt wrk wrk
need_apt jq jq
need_apt curl curl
need_apt flock util-linux

declare -A WANT=()
IFS=, read -r -a _tools <<< "$TOOLS_ARG"
for t in "${_tools[@]}"; do
    case "$t" in
        llm-gateway | litellm | portkey) WANT[$t]=1 ;;
        *) die "unknown tool $t (llm-gateway, litellm, portkey)" ;;
    esac
done

# ---------------------------------------------------------------- build (only what is needed)
G="$ROOT/target/release/llm-gateway"
MOCK="$ROOT/target/release/examples/bench_upstream"
CLIENT="$ROOT/target/release/examples/bench_client"
if [ "$BUILD" = 1 ] && { [ ! -x "$G" ] || [ ! -x "$MOCK" ] || [ ! -x "$CLIENT" ]; }; then
    say "cargo build --release --bin llm-gateway --example bench_upstream --example bench_client"
    cargo build --release --bin llm-gateway --example bench_upstream --example bench_client >&2
fi
for b in "$G" "$MOCK" "$CLIENT"; do [ -x "$b" ] || die "$b is missing (run without --no-build)"; done

# ---------------------------------------------------------------- sandbox
bench_sandbox
mkdir -p "$TMP/lua"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A process and all its descendants.
tree_pids() {
    ps -e -o pid=,ppid= | awk -v r="$1" '{par[$1] = $2} END {
        s[r] = 1; do { c = 0; for (p in par) if (!(p in s) && (par[p] in s)) { s[p] = 1; c = 1 } } while (c)
        for (p in s) print p }'
}
tree_rss_kb() {
    local t=0 p v
    for p in $(tree_pids "$1"); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2> /dev/null || true)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
tree_cpu_ticks() {
    local t=0 p v
    for p in $(tree_pids "$1"); do
        v=$(sed 's/.*) //' "/proc/$p/stat" 2> /dev/null | awk '{print $12 + $13}' || true)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- install LiteLLM and Portkey (cached)
declare -A AVAIL=() NOTE=() VERSION=() PID_OF=() BASE=() IDLE_RSS=() START_S=() LOGF=() NPROCS=()
AVAIL[direct]=1 AVAIL[llm-gateway]=0 AVAIL[litellm]=0 AVAIL[portkey]=0
NOTE[litellm]="not requested (--tools)" NOTE[portkey]="not requested (--tools)" NOTE[llm-gateway]="not requested (--tools)"

pick_python() {
    local p
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return 0; fi
    for p in python3.13 python3.12 python3.11 python3.10 python3; do
        command -v "$p" > /dev/null || continue
        "$p" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 14) else 1)' 2> /dev/null && { echo "$p"; return 0; }
    done
    return 1
}

install_litellm() {
    local py stamp want
    py=$(pick_python) || { NOTE[litellm]="not installed: LiteLLM $LITELLM_PIN needs Python 3.10-3.13 and none was found"; return 1; }
    want="$(sha256sum "$REQS" | cut -c1-16) $("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    stamp="$VENV/.bench-compare-stamp"
    if [ -x "$VENV/bin/litellm" ] && [ "$(cat "$stamp" 2> /dev/null)" = "$want" ]; then
        return 0
    fi
    say "installing LiteLLM $LITELLM_PIN into .venv-bench/ (pinned: scripts/bench-compare/requirements.txt; a few minutes, once)"
    if "$py" -m venv --clear "$VENV" > "$TMP/litellm-install.log" 2>&1 &&
        "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS" >> "$TMP/litellm-install.log" 2>&1 &&
        [ -x "$VENV/bin/litellm" ]; then
        echo "$want" > "$stamp"
        return 0
    fi
    NOTE[litellm]="not installed: pip failed: $(grep -E 'ERROR|error' "$TMP/litellm-install.log" | tail -2 | tr '\n' ' ' | head -c 300)"
    tail -n 15 "$TMP/litellm-install.log" >&2
    return 1
}

install_portkey() {
    local want
    command -v node > /dev/null && command -v npm > /dev/null ||
        { NOTE[portkey]="not installed: node and npm are needed (apt-get install nodejs npm)"; return 1; }
    want=$(cat "$CMP/package.json" "$CMP/package-lock.json" | sha256sum | cut -c1-16)
    if [ -f "$PORTKEY_JS" ] && [ "$(cat "$NPM_DIR/.bench-compare-stamp" 2> /dev/null)" = "$want" ]; then
        return 0
    fi
    say "installing @portkey-ai/gateway $PORTKEY_PIN into .bench-tools/ (pinned: scripts/bench-compare/package-lock.json)"
    mkdir -p "$NPM_DIR"
    cp "$CMP/package.json" "$CMP/package-lock.json" "$NPM_DIR/"
    # --ignore-scripts: the package's only install script is patch-package, with no patches shipped.
    if (cd "$NPM_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) > "$TMP/portkey-install.log" 2>&1 &&
        [ -f "$PORTKEY_JS" ]; then
        echo "$want" > "$NPM_DIR/.bench-compare-stamp"
        return 0
    fi
    NOTE[portkey]="not installed: npm ci failed: $(grep -i 'err' "$TMP/portkey-install.log" | tail -2 | tr '\n' ' ' | head -c 300)"
    tail -n 15 "$TMP/portkey-install.log" >&2
    return 1
}

LL_OK=0 PK_OK=0
if [ -n "${WANT[litellm]:-}" ]; then install_litellm && LL_OK=1 || warn "LiteLLM: ${NOTE[litellm]}"; fi
if [ -n "${WANT[portkey]:-}" ]; then install_portkey && PK_OK=1 || warn "Portkey: ${NOTE[portkey]}"; fi

# ---------------------------------------------------------------- machine
NPROC=$(nproc)
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
COMMIT=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)
DIRTY=$(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock 2> /dev/null | wc -l)
say "machine: $NPROC cpu ($CPU), load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- mock upstream
"$MOCK" --port 0 --deltas "$DELTAS" > "$TMP/mock.json" 2> "$TMP/mock.err" &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
for _ in $(seq 200); do grep -q port "$TMP/mock.json" 2> /dev/null && break; sleep 0.05; done
MP=$(jq -r .port "$TMP/mock.json" 2> /dev/null) || die "mock upstream did not start: $(cat "$TMP/mock.err")"
DIRECT="http://127.0.0.1:$MP"
BASE[direct]=$DIRECT PID_OF[direct]=$MOCK_PID VERSION[direct]="examples/bench_upstream.rs"
ANT_UP_KEY=sk-ant-bench-upstream OAI_UP_KEY=sk-openai-bench-upstream

# ---------------------------------------------------------------- request bodies (same bytes for every tool)
B="$TMP/bodies"
mkdir -p "$B"
"$CLIENT" body --format openai --model gpt-4o > "$B/oai.json"
"$CLIENT" body --format anthropic --model claude-sonnet-4-5 > "$B/ant.json"
"$CLIENT" body --format anthropic --model claude-sonnet-4-5 --stream > "$B/ant-stream.json"
"$CLIENT" body --format openai --model claude-sonnet-4-5 > "$B/oai-claude.json"
"$CLIENT" body --format openai --model claude-sonnet-4-5 --stream > "$B/oai-claude-stream.json"

# ---------------------------------------------------------------- start the tools
wait_http() { # wait_http URL SECONDS PID -> 0 when URL answers anything
    local i
    for ((i = 0; i < $2 * 4; i++)); do
        kill -0 "$3" 2> /dev/null || return 1
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2> /dev/null)" != 000 ] && return 0
        sleep 0.25
    done
    return 1
}

start_llm_gateway() {
    local key t0 i
    VERSION[llm-gateway]="$("$G" --version | awk '{print $NF}') (HEAD $COMMIT$([ "$DIRTY" -gt 0 ] && echo " + $DIRTY uncommitted file(s) in src/ or Cargo.*"); binary built $(date -u -r "$G" +%Y-%m-%dT%H:%MZ))"
    key=$("$G" --json apikey add --name bench | jq -r .key)
    [ -n "$key" ] && [ "$key" != null ] || { NOTE[llm-gateway]="could not create a gateway key"; return 1; }
    GW_KEY=$key
    "$G" upstream add --type api-key --provider anthropic --name a --key "$ANT_UP_KEY" --base-url "$DIRECT" > /dev/null
    "$G" upstream add --type api-key --provider openai --name o --key "$OAI_UP_KEY" --base-url "$DIRECT/v1" > /dev/null
    t0=$(date +%s%N)
    LOGF[llm-gateway]="$TMP/gw.log"
    RUST_LOG=warn "$G" server start --port 0 > "$TMP/gw.out" 2> "$TMP/gw.log" &
    PID_OF[llm-gateway]=$!
    PIDS+=("$!")
    for ((i = 0; i < 200; i++)); do grep -q 'listening on' "$TMP/gw.out" 2> /dev/null && break; sleep 0.05; done
    local gp
    gp=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$TMP/gw.out" | head -1)
    [ -n "$gp" ] || { NOTE[llm-gateway]="did not start: $(head -c 300 "$TMP/gw.log")"; return 1; }
    BASE[llm-gateway]="http://127.0.0.1:$gp"
    START_S[llm-gateway]=$(since "$t0")
}

since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN {printf "%.2f", (b - a) / 1e9}'; } # seconds since date +%s%N

# launched TOOL PID PORT HEALTH_PATH SECONDS T0: a tool just started in the background
# (its log in $TMP/TOOL.log); wait until it answers, then record where and how fast.
launched() {
    PID_OF[$1]=$2
    PIDS+=("$2")
    if ! wait_http "http://127.0.0.1:$3$4" "$5" "$2"; then
        NOTE[$1]="did not start within $5 s: $(tail -c 400 "$TMP/$1.log" | tr '\n' ' ')"
        return 1
    fi
    BASE[$1]="http://127.0.0.1:$3"
    START_S[$1]=$(since "$6")
}

LL_KEY=sk-bench-litellm-master
start_litellm() {
    local port t0
    port=$(free_port)
    VERSION[litellm]="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' 2> /dev/null || echo "?") (Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'), uvicorn, $LL_WORKERS worker(s))"
    cat > "$TMP/litellm.yaml" << EOF
model_list:
  - model_name: claude-sonnet-4-5
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_base: $DIRECT
      api_key: $ANT_UP_KEY
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: $DIRECT/v1
      api_key: $OAI_UP_KEY
litellm_settings:
  telemetry: false
  drop_params: true
general_settings:
  master_key: $LL_KEY
EOF
    # Warnings only: no uvicorn access line per request (the gateway runs with RUST_LOG=warn).
    cat > "$TMP/litellm-log.json" << 'EOF'
{"version": 1, "disable_existing_loggers": false,
 "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
 "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
 "loggers": {"uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": false},
             "uvicorn.error": {"handlers": ["stderr"], "level": "WARNING", "propagate": false},
             "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": false}}}
EOF
    LOGF[litellm]="$TMP/litellm.log"
    t0=$(date +%s%N)
    # Everything local: the bundled model cost map (no fetch), no telemetry, no database,
    # no .env loading, no hub downloads; provider keys from the config only.
    (cd "$TMP" && exec env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY -u DATABASE_URL -u REDIS_HOST -u REDIS_URL \
        LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR LITELLM_MODE=PRODUCTION \
        HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=1 DISABLE_ADMIN_UI=True \
        "$VENV/bin/litellm" --config "$TMP/litellm.yaml" --host 127.0.0.1 --port "$port" \
        --num_workers "$LL_WORKERS" --telemetry False --log_config "$TMP/litellm-log.json") \
        > "$TMP/litellm.out" 2> "$TMP/litellm.log" &
    launched litellm $! "$port" /health/liveliness 120 "$t0"
}

start_portkey() {
    local port t0
    port=$(free_port)
    VERSION[portkey]="$(jq -r .version "$NPM_DIR/node_modules/@portkey-ai/gateway/package.json") (Node $(node --version | tr -d v), @hono/node-server $(jq -r .version "$NPM_DIR/node_modules/@hono/node-server/package.json"))"
    LOGF[portkey]="$TMP/portkey.log"
    t0=$(date +%s%N)
    # --headless: no web UI and no log streaming to it. It listens on all interfaces (it has no
    # host option); only 127.0.0.1 is ever sent to. Custom hosts on 127.0.0.1 are allowed.
    env -u NODE_OPTIONS NODE_ENV=production TRUSTED_CUSTOM_HOSTS=127.0.0.1 \
        node "$PORTKEY_JS" --port="$port" --headless > "$TMP/portkey.out" 2> "$TMP/portkey.log" &
    launched portkey $! "$port" / 60 "$t0"
}

TARGETS=(direct)
if [ -n "${WANT[llm-gateway]:-}" ]; then
    say "starting llm-gateway (RUST_LOG=warn)"
    if start_llm_gateway; then AVAIL[llm-gateway]=1; NOTE[llm-gateway]=""; else warn "llm-gateway: ${NOTE[llm-gateway]}"; fi
    TARGETS+=(llm-gateway)
fi
if [ -n "${WANT[litellm]:-}" ]; then
    if [ "$LL_OK" = 1 ]; then
        say "starting LiteLLM proxy $LITELLM_PIN ($LL_WORKERS worker(s))"
        if start_litellm; then AVAIL[litellm]=1; NOTE[litellm]=""; else warn "LiteLLM: ${NOTE[litellm]}"; fi
    fi
    TARGETS+=(litellm)
fi
if [ -n "${WANT[portkey]:-}" ]; then
    if [ "$PK_OK" = 1 ]; then
        say "starting Portkey gateway $PORTKEY_PIN"
        if start_portkey; then AVAIL[portkey]=1; NOTE[portkey]=""; else warn "Portkey: ${NOTE[portkey]}"; fi
    fi
    TARGETS+=(portkey)
fi
sleep 1
for t in "${TARGETS[@]}"; do
    if [ "${AVAIL[$t]}" = 1 ]; then
        IDLE_RSS[$t]=$(tree_rss_kb "${PID_OF[$t]}")
        NPROCS[$t]=$(tree_pids "${PID_OF[$t]}" | wc -l)
        say "$t: ${BASE[$t]}, idle RSS ${IDLE_RSS[$t]} kB in ${NPROCS[$t]} process(es)${START_S[$t]:+, ready after ${START_S[$t]} s}"
    fi
done

# ---------------------------------------------------------------- request headers per tool
# hdrs TARGET CLIENT_FORMAT UPSTREAM_PROVIDER -> one "Name: value" per line
hdrs() {
    local t=$1 fmt=$2 prov=$3 key
    case "$t" in
        direct) [ "$prov" = anthropic ] && key=$ANT_UP_KEY || key=$OAI_UP_KEY ;;
        llm-gateway) key=$GW_KEY ;;
        litellm) key=$LL_KEY ;;
        portkey)
            [ "$prov" = anthropic ] && key=$ANT_UP_KEY || key=$OAI_UP_KEY
            printf 'x-portkey-provider: %s\nx-portkey-custom-host: %s/v1\n' "$prov" "$DIRECT"
            ;;
    esac
    if [ "$fmt" = anthropic ]; then
        printf 'x-api-key: %s\nanthropic-version: 2023-06-01\n' "$key"
    else
        printf 'Authorization: Bearer %s\n' "$key"
    fi
}

# The answer's text, whatever the format: what every tool must return intact.
answer_text() { # answer_text CLIENT_FORMAT STREAM FILE
    case "$1:$2" in
        openai:0) jq -j '.choices[0].message.content // empty' "$3" 2> /dev/null ;;
        anthropic:0) jq -j '[.content[]? | select(.type == "text") | .text] | join("")' "$3" 2> /dev/null ;;
        openai:1) jq -Rj 'select(startswith("data: ")) | .[6:] | fromjson? | .choices[0]?.delta?.content // empty' "$3" 2> /dev/null ;;
        anthropic:1) jq -Rj 'select(startswith("data: ")) | .[6:] | fromjson? | select(.type == "content_block_delta") | .delta.text // empty' "$3" 2> /dev/null ;;
    esac
}
stream_end_ok() { # stream_end_ok CLIENT_FORMAT FILE
    if [ "$1" = openai ]; then grep -q '^data: \[DONE\]' "$2"; else grep -q 'message_stop' "$2"; fi
}

probe() { # probe TARGET URL BODY FMT PROV -> HTTP status; answer in $TMP/probe.out
    local args=() h
    while IFS= read -r h; do args+=(-H "$h"); done < <(hdrs "$1" "$4" "$5")
    curl -sS -o "$TMP/probe.out" -w '%{http_code}' --max-time 30 -X POST \
        -H 'content-type: application/json' "${args[@]}" --data-binary "@$3" "$2" 2> "$TMP/probe.err" || true
}

# ---------------------------------------------------------------- measuring tools
mk_lua() { # mk_lua TARGET BODY FMT PROV -> path of a wrk script
    local lua="$TMP/lua/$1-$(basename "$2" .json).lua"
    hdrs "$1" "$3" "$4" | write_wrk_lua "$lua" "$2"
    echo "$lua"
}

SAMPLER_PID=""
start_sampler() { # start_sampler PID FILE: peak RSS of the process tree, every 0.25 s
    local pid=$1 out=$2
    echo 0 > "$out"
    (
        max=0
        while :; do
            v=$(tree_rss_kb "$pid")
            if [ "$v" -gt "$max" ]; then max=$v; echo "$max" > "$out"; fi
            sleep 0.25
        done
    ) &
    SAMPLER_PID=$!
    PIDS+=("$SAMPLER_PID")
}
stop_sampler() { kill "$SAMPLER_PID" 2> /dev/null || true; wait "$SAMPLER_PID" 2> /dev/null || true; }

wrk_run() { # wrk_run TARGET URL LUA SECONDS -> JSON
    local t=$1 url=$2 lua=$3 secs=$4 pid=${PID_OF[$1]} c0 c1 out j peak
    start_sampler "$pid" "$TMP/peak"
    c0=$(tree_cpu_ticks "$pid")
    out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"${secs}s" --timeout 10s -s "$lua" "$url" 2>&1) || true
    c1=$(tree_cpu_ticks "$pid")
    stop_sampler
    peak=$(cat "$TMP/peak")
    j=$(sed -n 's/^WRKJSON //p' <<< "$out")
    [ -n "$j" ] || j='{"requests":0,"rps":0,"non2xx":0,"err_connect":0,"err_read":0,"err_write":0,"err_timeout":0,"failed":true}'
    jq -c --argjson cpu "$((c1 - c0))" --argjson tck "$TCK" --argjson peak "${peak:-0}" '
        . + {errors: (.non2xx + .err_connect + .err_read + .err_write + .err_timeout),
             cpu_s: ($cpu / $tck), rss_peak_kb: $peak,
             cpu_us_per_req: (if .requests > 0 then (($cpu / $tck) * 1e6 / .requests * 10 | round) / 10 else null end)}' <<< "$j"
}

lat_run() { # lat_run TARGET URL BODY FMT PROV TAIL -> JSON (1 connection)
    local args=() h
    while IFS= read -r h; do args+=(-H "$h"); done < <(hdrs "$1" "$4" "$5")
    [ -n "$6" ] && args+=(--expect-tail "$6")
    "$CLIENT" load --url "$2" --body "$3" "${args[@]}" --conns 1 --duration "$LAT_SECS" --warmup 0.3 ||
        echo '{"failed": true}'
}

# ---------------------------------------------------------------- scenarios
# scenario ID TITLE CLIENT_FORMAT PATH BODY UPSTREAM_PROVIDER STREAM
SCEN_IDS=()
scenario() {
    local id=$1 title=$2 fmt=$3 path=$4 body=$5 prov=$6 stream=$7
    local tail="" t st txt want url lua r i lat res
    [ "$stream" = 1 ] && { [ "$fmt" = openai ] && tail="[DONE]" || tail="message_stop"; }
    SCEN_IDS+=("$id")
    say "scenario $id: $title"
    mkdir -p "$TMP/res/$id"
    # Probe: the direct answer's text is the reference every tool must return.
    st=$(probe direct "$DIRECT$path" "$body" "$fmt" "$prov")
    want=$(answer_text "$fmt" "$stream" "$TMP/probe.out")
    [ "$st" = 200 ] && [ -n "$want" ] || die "the mock answered HTTP $st to $id: $(head -c 300 "$TMP/probe.out")"
    declare -A ok=()
    for t in "${TARGETS[@]}"; do
        if [ "${AVAIL[$t]}" != 1 ]; then
            jq -n --arg note "${NOTE[$t]}" '{available: false, note: $note}' > "$TMP/res/$id/$t.json"
            continue
        fi
        url="${BASE[$t]}$path"
        st=$(probe "$t" "$url" "$body" "$fmt" "$prov")
        txt=$(answer_text "$fmt" "$stream" "$TMP/probe.out")
        if [ "$st" = 200 ] && [ "$txt" = "$want" ] && { [ "$stream" = 0 ] || stream_end_ok "$fmt" "$TMP/probe.out"; }; then
            ok[$t]=1
            continue
        fi
        local why
        if [ "$st" != 200 ]; then why="answered HTTP $st"
        elif [ "$txt" != "$want" ]; then why="answered 200 but the text differs from the upstream's"
        else why="answered 200 but the stream did not end properly"; fi
        warn "$t cannot do $id: $why; its answer:"
        { head -c 600 "$TMP/probe.out"; echo; cat "$TMP/probe.err"; } | sed 's/^/      /' >&2
        # A line of the tool's own log, when it says why.
        case "$t" in
            litellm) grep -m1 -iE 'error|exception' "$TMP/litellm.log" 2> /dev/null | head -c 300 | sed 's/^/      log: /' >&2 || true ;;
            portkey) grep -m1 -iE 'error' "$TMP/portkey.log" 2> /dev/null | head -c 300 | sed 's/^/      log: /' >&2 || true ;;
        esac
        jq -n --arg note "$why" --arg st "$st" --arg body "$(head -c 600 "$TMP/probe.out")" \
            '{available: false, note: $note, probe_status: ($st | tonumber), probe_body: $body}' > "$TMP/res/$id/$t.json"
    done

    wait_quiet
    local l0
    l0=$(load1)
    # Warm-up (connection pools, JITs), then ROUNDS rounds over every tool in turn.
    for t in "${TARGETS[@]}"; do
        [ -n "${ok[$t]:-}" ] || continue
        lua=$(mk_lua "$t" "$body" "$fmt" "$prov")
        wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s -s "$lua" "${BASE[$t]}$path" > /dev/null 2>&1 || true
    done
    for ((i = 0; i < ROUNDS; i++)); do
        for t in "${TARGETS[@]}"; do
            [ -n "${ok[$t]:-}" ] || continue
            lua="$TMP/lua/$t-$(basename "$body" .json).lua"
            wrk_run "$t" "${BASE[$t]}$path" "$lua" "$SECS" >> "$TMP/res/$id/$t.rounds"
        done
    done
    for t in "${TARGETS[@]}"; do
        [ -n "${ok[$t]:-}" ] || continue
        lat=$(lat_run "$t" "${BASE[$t]}$path" "$body" "$fmt" "$prov" "$tail")
        jq -s -c --argjson lat "$lat" --argjson rss "$(tree_rss_kb "${PID_OF[$t]}")" '
            def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
                               else (.[length / 2 - 1] + .[length / 2]) / 2 end;
            def r1: if . == null then null else (. * 10 | round) / 10 end;
            {available: true, rounds: .,
             rps: (map(.rps) | median | r1), p50_us: (map(.p50_us) | median | r1), p99_us: (map(.p99_us) | median | r1),
             requests: (map(.requests) | add), errors: (map(.errors) | add), non2xx: (map(.non2xx) | add),
             cpu_us_per_req: (map(.cpu_us_per_req // empty) | median | r1),
             rss_peak_kb: (map(.rss_peak_kb) | max), rss_after_kb: $rss,
             c1: $lat}' "$TMP/res/$id/$t.rounds" > "$TMP/res/$id/$t.json"
    done
    # Ratios against direct, per round (same round, same box state), then the median.
    local d="$TMP/res/$id/direct.json"
    for t in "${TARGETS[@]}"; do
        [ -n "${ok[$t]:-}" ] && [ "$t" != direct ] || continue
        jq -c --slurpfile d "$d" '
            def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
                               else (.[length / 2 - 1] + .[length / 2]) / 2 end;
            . + {ratio: ([.rounds, $d[0].rounds] | transpose | map(if .[1].rps > 0 then .[0].rps / .[1].rps else 0 end)
                         | median * 100000 | round / 100000)}' "$TMP/res/$id/$t.json" > "$TMP/res/$id/$t.tmp"
        mv "$TMP/res/$id/$t.tmp" "$TMP/res/$id/$t.json"
    done
    res="{}"
    for t in "${TARGETS[@]}"; do
        res=$(jq -c --arg t "$t" --slurpfile r "$TMP/res/$id/$t.json" '. + {($t): $r[0]}' <<< "$res")
    done
    jq -n --arg id "$id" --arg title "$title" --arg fmt "$fmt" --arg prov "$prov" --argjson stream "$stream" \
        --argjson bytes "$(wc -c < "$body")" --arg load "$l0" --argjson res "$res" \
        '{id: $id, title: $title, client_format: $fmt, upstream: $prov, stream: ($stream == 1),
          request_bytes: $bytes, load1: ($load | tonumber), results: $res}' > "$TMP/res/$id.json"
    jq -r '.results | to_entries[] | "    \(.key): " + (if .value.available then
        "\(.value.rps) req/s\(if .value.ratio then " (\(.value.ratio)x direct)" else "" end), p50/p99 \(.value.p50_us)/\(.value.p99_us) us, p50@1 \(.value.c1.latency.p50_us // "?") us, errors \(.value.errors)+\(.value.c1.error_total // "?"), RSS peak \(.value.rss_peak_kb) kB"
        else "not available: \(.value.note)" end)' "$TMP/res/$id.json" >&2
}

# ---------------------------------------------------------------- measure (one benchmark on the box at a time)
exec 9> "$LOCK"
if ! flock -n 9; then
    say "waiting for $LOCK (another benchmark is running)"
    flock 9
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_START=$(compilers)
T_START=$(date +%s)

scenario openai-passthrough "OpenAI client → OpenAI upstream (JSON, pass-through)" openai /v1/chat/completions "$B/oai.json" openai 0
scenario anthropic-passthrough "Anthropic client → Anthropic upstream (JSON, pass-through)" anthropic /v1/messages "$B/ant.json" anthropic 0
scenario anthropic-stream "Anthropic client → Anthropic upstream (SSE, $DELTAS deltas, pass-through)" anthropic /v1/messages "$B/ant-stream.json" anthropic 1
scenario openai-to-anthropic "OpenAI client → Anthropic upstream (conversion, JSON)" openai /v1/chat/completions "$B/oai-claude.json" anthropic 0
scenario stream-openai-to-anthropic "OpenAI client → Anthropic upstream (conversion, SSE, $DELTAS deltas)" openai /v1/chat/completions "$B/oai-claude-stream.json" anthropic 1

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_END=$(compilers)
MEASURE_S=$(($(date +%s) - T_START))
flock -u 9
exec 9>&-

# Anything the tools logged at warning level or above during the run (first lines).
for t in litellm portkey; do
    [ "${AVAIL[$t]}" = 1 ] || continue
    n=$(grep -ciE 'error|exception|warn' "$TMP/$t.log" 2> /dev/null || true)
    [ "${n:-0}" -gt 0 ] && { warn "$t logged $n warning/error line(s), first ones:"; grep -iE 'error|exception|warn' "$TMP/$t.log" | head -5 | cut -c1-300 | sed 's/^/      /' >&2; }
done

# ---------------------------------------------------------------- results
TOOLS_JSON="{}"
for t in "${TARGETS[@]}"; do
    TOOLS_JSON=$(jq -c --arg t "$t" --argjson avail "${AVAIL[$t]}" --arg note "${NOTE[$t]:-}" \
        --arg version "${VERSION[$t]:-}" --arg idle "${IDLE_RSS[$t]:-}" --arg start "${START_S[$t]:-}" \
        --argjson loglines "$(cat "${LOGF[$t]:-/dev/null}" 2> /dev/null | wc -l)" --arg nprocs "${NPROCS[$t]:-}" \
        '. + {($t): {available: ($avail == 1), note: $note, version: $version,
                     idle_rss_kb: (if $idle == "" then null else ($idle | tonumber) end),
                     ready_after_s: (if $start == "" then null else ($start | tonumber) end),
                     processes: (if $nprocs == "" then null else ($nprocs | tonumber) end),
                     log_lines: $loglines}}' <<< "$TOOLS_JSON")
done
SCEN_FILES=()
for id in "${SCEN_IDS[@]}"; do SCEN_FILES+=("$TMP/res/$id.json"); done
jq -s \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$COMMIT" --argjson dirty "$DIRTY" \
    --argjson nproc "$NPROC" --arg cpu "$CPU" --argjson mem "$MEM_MB" --arg kernel "$(uname -r)" \
    --arg load_start "$LOAD_START" --arg load_end "$LOAD_END" \
    --argjson busy_start "${BUSY_START:-0}" --argjson busy_end "${BUSY_END:-0}" \
    --arg command "$COMMAND" --argjson secs "$SECS" --argjson rounds "$ROUNDS" --argjson warmup "$WARMUP" \
    --arg lat_secs "$LAT_SECS" --argjson conns "$CONNS" --argjson wrk_threads "$WRK_THREADS" \
    --argjson deltas "$DELTAS" --argjson ll_workers "$LL_WORKERS" --argjson measure_s "$MEASURE_S" \
    --arg wrk "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)" --argjson tools "$TOOLS_JSON" '
    {meta: {date: $date, commit: $commit, src_dirty_files: $dirty, nproc: $nproc, cpu: $cpu, mem_mb: $mem,
            kernel: $kernel, load_start: $load_start, load_end: $load_end,
            compiler_processes_start: $busy_start, compiler_processes_end: $busy_end,
            command: $command, wrk: $wrk, wrk_threads: $wrk_threads, conns: $conns, wrk_seconds: $secs,
            rounds: $rounds, warmup_seconds: $warmup, c1_seconds: ($lat_secs | tonumber), deltas: $deltas,
            litellm_workers: $ll_workers, measuring_seconds: $measure_s},
     tools: $tools,
     scenarios: .}' "${SCEN_FILES[@]}" > "$TMP/compare.json"

# Console summary.
echo
jq -r '
  "scenario | tool | req/s | x direct | p50/p99 @\(.meta.conns) us | p50 @1 us | CPU us/req | errors | RSS peak MB",
  (.scenarios[] | .id as $id | .results | to_entries[] |
     if .value.available then
       "\($id) | \(.key) | \(.value.rps) | \(.value.ratio // "-") | \(.value.p50_us)/\(.value.p99_us) | \(.value.c1.latency.p50_us // "?") | \(.value.cpu_us_per_req) | \(.value.errors + (.value.c1.error_total // 0)) | \((.value.rss_peak_kb / 1024 * 10 | round) / 10)"
     else "\($id) | \(.key) | not available: \(.value.note)" end)' "$TMP/compare.json" | column -t -s '|' || true
echo "load average: start $LOAD_START, end $LOAD_END; measuring took ${MEASURE_S}s"

[ "$DOCS" = 1 ] || { say "--no-docs: results not written"; exit 0; }

# ---------------------------------------------------------------- docs
mkdir -p "$ROOT/docs/bench"
cp "$TMP/compare.json" "$ROOT/docs/bench/compare.json"

jq -r '
  def k(x): if x == null then "–" elif x >= 1000 then "\((x / 100 | round) / 10)k" else "\(x | round)" end;
  def ms(x): if x == null then "–" elif x < 1000 then "\((x / 10 | round) / 100)" elif x < 10000 then "\((x / 100 | round) / 10)" else "\(x / 1000 | round)" end;
  def ratio(x): if x == null then "–" elif x >= 0.1 then "\((x * 1000 | round) / 1000)" elif x >= 0.01 then "\((x * 10000 | round) / 10000)" else "\((x * 100000 | round) / 100000)" end;
  def mb(x): if x == null then "–" else "\((x / 1024 * 10 | round) / 10)" end;
  def name(t): {"direct": "direct (mock)", "llm-gateway": "**llm-gateway**", "litellm": "LiteLLM", "portkey": "Portkey"}[t] // t;
  .meta as $m | .tools as $tools |
  "<!-- compare:begin (generated by scripts/bench-compare.sh; edits here are overwritten) -->",
  "",
  "### Last comparison run",
  "",
  "- **When / what:** \($m.date), commit `\($m.commit)`\(if $m.src_dirty_files > 0 then " + \($m.src_dirty_files) uncommitted change(s) under src/ or Cargo.*" else "" end); \($m.nproc) CPU \($m.cpu), \($m.mem_mb) MB RAM, Linux \($m.kernel); tools, mock and wrk all on this box",
  "- **Load average:** \($m.load_start) at start, \($m.load_end) at the end; compiler processes running: \($m.compiler_processes_start) at start, \($m.compiler_processes_end) at the end",
  "- **Command:** `\($m.command)` (\($m.wrk), \($m.wrk_threads) wrk thread, \($m.conns) connections, \($m.warmup_seconds) s warm-up then \($m.rounds) rounds of \($m.wrk_seconds) s per tool, the tools taking turns, medians reported; 1-connection runs \($m.c1_seconds) s; \($m.deltas) deltas per streamed answer; measuring phase \($m.measuring_seconds) s)",
  "",
  "| Tool | Version | Idle RSS (processes) | Ready after start | Status |",
  "|---|---|---|---|---|",
  ($tools | to_entries[] | select(.key != "direct") |
    "| \(name(.key)) | \(.value.version | if . == "" then "–" else . end) | \(if .value.idle_rss_kb then "\(mb(.value.idle_rss_kb)) MB (\(.value.processes))" else "–" end) | \(if .value.ready_after_s then "\(.value.ready_after_s) s" else "–" end) | \(if .value.available then "ran" else .value.note end) |"),
  "",
  "| Scenario | Tool | req/s @\($m.conns) conns | × direct | p50 / p99 @\($m.conns) (ms) | p50 @1 conn (ms) | CPU per request (ms) | Errors | RSS under load (MB) |",
  "|---|---|---|---|---|---|---|---|---|",
  (.scenarios[] | .title as $title | .results | to_entries[] |
    if .value.available then
      "| \($title) | \(name(.key)) | \(k(.value.rps)) | \(if .key == "direct" then "1" else "**\(ratio(.value.ratio))×**" end) | \(ms(.value.p50_us)) / \(ms(.value.p99_us)) | \(ms(.value.c1.latency.p50_us)) | \(ms(.value.cpu_us_per_req)) | \(.value.errors + (.value.c1.error_total // 0)) | \(if .key == "direct" then "(mock) " else "" end)\(mb(.value.rss_peak_kb)) |"
    else
      "| \($title) | \(name(.key)) | – | – | – | – | – | \(if .value.probe_status then "**cannot**: \(.value.note)" else "not run: \(.value.note)" end) | – |"
    end),
  "",
  "Raw numbers, with every round and the answer of any failed probe: [bench/compare.json](bench/compare.json).",
  "",
  "<!-- compare:end -->"' "$TMP/compare.json" > "$TMP/section.md"

splice_doc_section compare "$TMP/section.md" "## Comparison with LiteLLM and Portkey"
say "wrote docs/benchmarks.md (comparison section) and docs/bench/compare.json"
