#!/usr/bin/env bash
# The project's test command: Rust unit + integration tests, then the end-to-end
# suite with the official Python SDKs and the real Claude Code, Codex and Gemini CLIs
# (installed into .venv-e2e/ and tests/e2e/node_modules/ on first run). Installs
# Debian's redis-server (integration) and chromium (end-to-end) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# The shared-state tests start a real redis-server (Debian's package).
if ! command -v redis-server >/dev/null; then
    echo "test.sh: installing Debian's redis-server for the shared-state tests" >&2
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo -n)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq redis-server >/dev/null
    # Only the binary is wanted; the package's own service is not.
    "${sudo[@]}" service redis-server stop >/dev/null 2>&1 || true
fi

cargo test --all-targets
# The deployment files (compose, Kubernetes, HAProxy, the example config) validated
# offline; uses the debug binary the tests just built for the config check.
LLM_GATEWAY_BIN=target/debug/llm-gateway bash deploy/check.sh
bash scripts/e2e.sh "$@"
