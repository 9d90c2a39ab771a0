# Shared by scripts/bench.sh and scripts/bench-compare.sh (sourced, not run):
# messages, tool installs, waiting for a quiet box, and the throw-away sandbox.
# The sourcing script sets BENCH_NAME (for messages) and QUIET_WAIT (seconds).

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

need_apt() { # need_apt COMMAND PACKAGE
    command -v "$1" > /dev/null && return 0
    say "installing $2 (apt-get)"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq > /dev/null && $sudo apt-get install -y -qq "$2" > /dev/null ||
        die "$1 is missing and could not be installed; install $2 and re-run"
}

load1() { cut -d' ' -f1 /proc/loadavg; }
compilers() { ps -eo comm= | grep -cxE 'rustc|cargo|cc1|cc1plus|ld|ld\.lld|clang|cc' || true; }
# Other people's builds skew a 2-core box: wait (bounded) for them to finish.
wait_quiet() {
    local i n
    for ((i = 0; i < QUIET_WAIT; i++)); do
        n=$(compilers)
        [ "${n:-0}" = 0 ] && return 0
        [ "$i" = 0 ] && echo "    waiting up to ${QUIET_WAIT}s for $n compiler process(es) to finish" >&2
        sleep 1
    done
    echo "    still $(compilers) compiler process(es) running; measuring anyway" >&2
}

# bench_sandbox: a temporary directory TMP (removed on exit, with every process in
# PIDS killed) holding HOME, so no real config is touched; no proxies; many fds.
# The caller's HOME stays in REAL_HOME.
bench_sandbox() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/llm-gateway-$BENCH_NAME.XXXXXX")
    REAL_HOME=$HOME
    export HOME="$TMP/home"
    mkdir -p "$HOME" "$TMP/res"
    unset LLM_GATEWAY_CONFIG http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
    export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
    ulimit -n 16384 2> /dev/null || ulimit -n 8192 2> /dev/null || true
    PIDS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}
bench_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
    rm -rf "$TMP"
}

# splice_doc_section NAME FILE HEADING: put FILE (which starts with `<!-- NAME:begin`
# and ends with `<!-- NAME:end -->`) in place of that section of docs/benchmarks.md;
# when the document has no such section, append it under HEADING.
splice_doc_section() {
    local doc="$ROOT/docs/benchmarks.md"
    if [ -f "$doc" ] && grep -q "<!-- $1:begin" "$doc" && grep -q "<!-- $1:end -->" "$doc"; then
        awk -v sec="$2" -v begin="<!-- $1:begin" -v end="<!-- $1:end -->" '
            index($0, begin) == 1 { while ((getline l < sec) > 0) print l; skip = 1; next }
            index($0, end) == 1 { skip = 0; next }
            !skip { print }' "$doc" > "$TMP/doc.md"
        cp "$TMP/doc.md" "$doc"
    else
        { echo; echo "$3"; echo; cat "$2"; } >> "$doc"
    fi
}

# write_wrk_lua FILE BODY < "Name: value" header lines: a wrk script that POSTs the
# file BODY with those headers and, when done, prints one `WRKJSON {...}` line.
write_wrk_lua() {
    local h
    {
        echo 'wrk.method = "POST"'
        echo "local f = assert(io.open(\"$2\", \"rb\")); wrk.body = f:read(\"*a\"); f:close()"
        echo 'wrk.headers["Content-Type"] = "application/json"'
        while IFS= read -r h; do
            [ -n "$h" ] && echo "wrk.headers[\"${h%%: *}\"] = \"${h#*: }\""
        done
        cat << 'LUA'
done = function(s, lat, req)
  local e = s.errors
  local d = s.duration / 1e6
  io.write(string.format('WRKJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"non2xx":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f,"mean_us":%.1f}\n',
    s.requests, d, (s.requests - e.status) / d, e.status, e.connect, e.read, e.write, e.timeout,
    lat:percentile(50), lat:percentile(90), lat:percentile(99), lat.max, lat.mean))
end
LUA
    } > "$1"
}
