#!/usr/bin/env bash
# Soak: 10 minutes (SOAK_SECONDS) of mixed traffic with injected failures through a
# release build of the gateway; prints a JSON report and PASS/FAIL (flat RSS, no
# unexpected answers). Everything on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin llm-gateway --example mock_upstream
BIN=target/release/llm-gateway
MOCK=target/release/examples/mock_upstream

TMP=$(mktemp -d)
export HOME=$TMP LLM_GATEWAY_CONFIG=$TMP/config.yaml RUST_LOG=warn
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

# Two mock processes: the first's Anthropic mock is the flaky preferred upstream.
start_mock() {
    local out=$1
    mkfifo "$out.in"
    "$MOCK" --anthropic-key sk-ant-soak --openai-key sk-oai-soak <"$out.in" >"$out" &
    pids+=($!)
    exec {fd}>"$out.in"   # keep stdin open: the mock serves until it closes
    for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
}
start_mock "$TMP/m1"; start_mock "$TMP/m2"
FLAKY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["anthropic"])' "$TMP/m1")
STEADY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["anthropic"])' "$TMP/m2")
OAI=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["openai"])' "$TMP/m2")

$BIN upstream add --type api-key --provider anthropic --name flaky --key sk-ant-soak --base-url "$FLAKY" --priority 10 >/dev/null
$BIN upstream add --type api-key --provider anthropic --name steady --key sk-ant-soak --base-url "$STEADY" >/dev/null
$BIN upstream add --type api-key --provider openai --name oai --key sk-oai-soak --base-url "$OAI" >/dev/null
$BIN route add --match via-gpt --upstream oai --model gpt-4o >/dev/null
KEY=$($BIN --json apikey add --name soak | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
python3 - "$TMP/config.yaml" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
s = s.replace("idle_stream_timeout_secs: 300", "idle_stream_timeout_secs: 2")
s = s.replace("consecutive_failures: 5", "consecutive_failures: 3").replace("cooldown_secs: 10", "cooldown_secs: 2")
open(p, "w").write(s)
PY

$BIN server start --port 0 >"$TMP/server.out" 2>"$TMP/server.err" &
GW_PID=$!; pids+=($GW_PID)
for _ in $(seq 100); do grep -q "listening on" "$TMP/server.out" 2>/dev/null && break; sleep 0.1; done
GW=$(sed -n 's/.*listening on http:\/\///p' "$TMP/server.out" | head -1)

SOAK_GATEWAY=$GW SOAK_KEY=$KEY SOAK_FLAKY_MOCK=${FLAKY#http://} SOAK_GATEWAY_PID=$GW_PID \
    python3 scripts/soak.py
