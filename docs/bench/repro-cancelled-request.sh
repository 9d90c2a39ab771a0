#!/usr/bin/env bash
# Reproduces two effects of a client giving up while the gateway waits for the
# upstream's response head (found while benchmarking, fixed in 005053e; kept as a
# regression check — on a fixed build it prints in_flight 0 and 200s; see
# docs/benchmarks.md):
#
#  1. the upstream's `in_flight` counter (used by health-first selection) is never
#     decremented: it grows by one per abandoned request, forever;
#  2. if the abandoned request was the half-open circuit's probe, the probe slot is
#     never released: the upstream stays "half-open, probing" and every request for
#     its models gets 529 until the gateway restarts, although the upstream is healthy.
#
#   bash docs/bench/repro-cancelled-request.sh      (~45 s; needs python3, curl, jq)
#
# Uses target/release/llm-gateway, a temp HOME and a tiny stub upstream on 127.0.0.1
# whose behaviour (ok | fail | hang) is read from a file on each request.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
G=${GATEWAY_BIN:-$ROOT/target/release/llm-gateway}
T=$(mktemp -d)
export HOME=$T/home
mkdir -p "$HOME"
PIDS=()
trap 'kill "${PIDS[@]}" 2> /dev/null || true; rm -rf "$T"' EXIT

cat > "$T/up.py" << 'EOF'
import http.server, os, sys, time
MODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mode")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        mode = open(MODE).read().strip()
        if mode == "hang":
            time.sleep(30)
        ok = mode != "fail"
        body = (b'{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",'
                b'"content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn",'
                b'"usage":{"input_tokens":1,"output_tokens":1}}') if ok else \
               b'{"type":"error","error":{"type":"api_error","message":"boom"}}'
        try:
            self.send_response(200 if ok else 500)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the gateway dropped the request
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
echo ok > "$T/mode"
python3 "$T/up.py" > "$T/up.port" 2> "$T/up.err" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$T/up.port" ] && break; sleep 0.1; done
UP=$(cat "$T/up.port")

KEY=$("$G" --json apikey add --name repro | jq -r .key)
"$G" upstream add --type api-key --provider anthropic --name a --key sk-x \
    --base-url "http://127.0.0.1:$UP" > /dev/null
RUST_LOG=warn "$G" server start --port 0 > "$T/gw.out" 2> "$T/gw.err" &
PIDS+=($!)
for _ in $(seq 50); do grep -q 'listening on' "$T/gw.out" 2> /dev/null && break; sleep 0.1; done
GP=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$T/gw.out")

req() { # req MAX_TIME -> HTTP status (000 = the client gave up)
    curl -s -o "$T/body" -w '%{http_code}' --max-time "$1" -X POST "http://127.0.0.1:$GP/v1/messages" \
        -H "x-api-key: $KEY" -H 'content-type: application/json' \
        -d '{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}' || true
}
show() { "$G" --json status | jq -c '.upstreams[] | {name, in_flight: .stats.in_flight, breaker}'; }

echo "== 1. in_flight leak: 3 clients give up after 0.5 s while the upstream hangs"
echo hang > "$T/mode"
for _ in 1 2 3; do printf '%s ' "$(req 0.5)"; done
echo
echo ok > "$T/mode"
sleep 1
show
echo "   (expected in_flight 0; nothing is in flight)"

echo "== 2. stuck half-open circuit: open it, then abandon the probe"
echo fail > "$T/mode"
for _ in 1 2 3 4 5 6; do printf '%s ' "$(req 5)"; done
echo
show
echo "   waiting 11 s for the 10 s cool-down..."
sleep 11
echo hang > "$T/mode"
printf 'probe request, client gives up after 1 s: %s\n' "$(req 1)"
echo ok > "$T/mode"
echo "   the upstream is healthy again; 20 s later:"
sleep 20
for _ in 1 2 3; do printf '%s ' "$(req 5)"; done
echo
head -c 300 "$T/body"
echo
show
echo "   (expected 200 and breaker closed; the upstream answers 200 directly:" \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$UP/v1/messages" -d '{}'))"
