#!/usr/bin/env bash
# End-to-end tests: the official Python SDKs and the real Claude Code CLI against the
# real gateway binary and strict mock upstreams, all on 127.0.0.1.
#
#   bash scripts/e2e.sh                  # whole suite
#   bash scripts/e2e.sh -m conversion   # only the OpenAI<->Anthropic conversion tests
#   bash scripts/e2e.sh -k claude -x     # extra arguments go to pytest
#
# E2E_KEEP_TMP=1 keeps the temp dir (configs, gateway and mock logs) for inspection.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --bin llm-gateway --example mock_upstream
bash scripts/setup-e2e.sh

# A hard ceiling on the whole run; every test bounds itself well below it. The
# children of pytest die with it (PR_SET_PDEATHSIG), so nothing outlives a timeout.
exec timeout --kill-after=15 "${E2E_TIMEOUT:-900}" \
    .venv-e2e/bin/python -m pytest tests/e2e -q -rfEs -p no:cacheprovider "$@"
