#!/usr/bin/env bash
# The project's test command: Rust unit + integration tests, then the end-to-end
# suite with the official Python SDKs and the real Claude Code CLI (installed into
# .venv-e2e/ and tests/e2e/node_modules/ on first run).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --all-targets
bash scripts/e2e.sh "$@"
