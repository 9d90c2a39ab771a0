#!/usr/bin/env bash
# Install the end-to-end suite's pinned dependencies:
#   - .venv-e2e/               python3 venv with tests/e2e/requirements.txt (openai, anthropic, google-genai,
#                              pytest, prometheus-client, selenium)
#   - tests/e2e/node_modules/  the real Claude Code, Codex and Gemini CLIs, from tests/e2e/package.json +
#                              package-lock.json
#   - Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver), for
#     the dashboard test; installed with apt-get when missing (as root, or with sudo)
#
# Idempotent: each half writes a stamp (the pinned versions and the interpreter) when
# it is done, and is skipped while the stamp matches. Works as root, without a TTY.
# Only the package registries are contacted (pip and npm, as configured on the machine).
set -euo pipefail
cd "$(dirname "$0")/.."

E2E=tests/e2e
VENV=.venv-e2e
REQ=$E2E/requirements.txt
PY_STAMP=$VENV/.e2e-installed
NODE_STAMP=$E2E/node_modules/.e2e-installed
CLAUDE=$E2E/node_modules/.bin/claude
CODEX=$E2E/node_modules/.bin/codex
GEMINI=$E2E/node_modules/.bin/gemini

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false \
    npm_config_progress=false npm_config_yes=true

log() { echo "setup-e2e: $*" >&2; }

# `codex --version`, run with a throw-away CODEX_HOME: Codex writes helper links into
# $CODEX_HOME (default ~/.codex) on every start, even for --version. Its stderr goes
# to stderr only when it fails.
codex_version() {
    local home rc=0
    home=$(mktemp -d)
    CODEX_HOME=$home "$CODEX" --version 2>"$home/.stderr" || { rc=$?; cat "$home/.stderr" >&2; }
    rm -rf "$home"
    return $rc
}

# `gemini --version`, likewise with a throw-away HOME: Gemini CLI writes ~/.gemini
# (projects.json, ...) on every start. Prints the bare version, e.g. `0.61.0`.
gemini_version() {
    local home rc=0
    home=$(mktemp -d)
    HOME=$home GEMINI_CLI_NO_RELAUNCH=true "$GEMINI" --version </dev/null 2>"$home/.stderr" ||
        { rc=$?; cat "$home/.stderr" >&2; }
    rm -rf "$home"
    return $rc
}

# ---- Python: the official SDKs and pytest -------------------------------------------
command -v python3 >/dev/null || { log "python3 is required"; exit 1; }
py_want="$(python3 -c 'import sys; print(sys.version.split()[0])') $(grep -Ev '^\s*(#|$)' "$REQ" | xargs)"
if [[ -x $VENV/bin/python && "$(cat "$PY_STAMP" 2>/dev/null)" == "$py_want" ]]; then
    log "python deps up to date ($py_want)"
else
    log "installing python deps: $py_want"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet -r "$REQ"
    # Prove the pins are what got installed before stamping.
    "$VENV/bin/python" - "$REQ" <<'EOF'
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, want = line.split("==")
        got = version(name)
        if got != want:
            sys.exit(f"{name}: wanted {want}, installed {got}")
EOF
    echo "$py_want" >"$PY_STAMP"
fi

# ---- Node: the real Claude Code, Codex and Gemini CLIs --------------------------------
command -v npm >/dev/null || { log "node and npm are required"; exit 1; }
claude_pin=$(node -p 'require("./tests/e2e/package.json").dependencies["@anthropic-ai/claude-code"]')
codex_pin=$(node -p 'require("./tests/e2e/package.json").dependencies["@openai/codex"]')
gemini_pin=$(node -p 'require("./tests/e2e/package.json").dependencies["@google/gemini-cli"]')
node_want="claude-code@$claude_pin codex@$codex_pin gemini-cli@$gemini_pin lock:$(sha256sum $E2E/package-lock.json | cut -c1-16) $(uname -m)"
if [[ -x $CLAUDE && -x $CODEX && -x $GEMINI && "$(cat "$NODE_STAMP" 2>/dev/null)" == "$node_want" ]]; then
    log "claude code, codex and gemini cli up to date ($node_want)"
else
    log "installing $node_want"
    rm -rf "$E2E/node_modules"
    # `npm ci` installs exactly the lockfile (`npm install` would re-resolve it).
    # Claude Code declares node>=22 but runs as a native binary, so an older node is fine.
    # --include=optional: Codex's native binary is an optional dependency.
    npm ci --prefix "$E2E" --no-audit --no-fund --engine-strict=false --include=optional --loglevel=error
    # The package's postinstall swaps bin/claude.exe (a stub) for the native binary
    # from the platform package. Should npm have skipped it, run it ourselves.
    if ! "$CLAUDE" --version >/dev/null 2>&1; then
        log "running claude-code's postinstall explicitly"
        (cd "$E2E/node_modules/@anthropic-ai/claude-code" && node install.cjs)
    fi
    got=$("$CLAUDE" --version 2>&1 | head -1) || { log "claude does not run: $got"; exit 1; }
    [[ $got == "$claude_pin "* ]] || { log "claude --version says '$got', wanted $claude_pin"; exit 1; }
    # Codex ships no install script: bin/codex.js runs the native binary from the
    # platform package npm picked among its optional dependencies
    # (@openai/codex-linux-x64 = npm:@openai/codex@<pin>-linux-x64, ...).
    got=$(codex_version) || { log "codex does not run (see above)"; exit 1; }
    [[ $got == "codex-cli $codex_pin" ]] || { log "codex --version says '$got', wanted codex-cli $codex_pin"; exit 1; }
    # Gemini CLI is one bundled JS file (bundle/gemini.js) run by this node (it needs
    # node>=20); its optional native helpers (node-pty, keytar) are not needed headless.
    got=$(gemini_version) || { log "gemini does not run (see above)"; exit 1; }
    [[ $got == "$gemini_pin" ]] || { log "gemini --version says '$got', wanted $gemini_pin"; exit 1; }
    echo "$node_want" >"$NODE_STAMP"
fi
# ---- Chromium: the dashboard test drives Debian's browser through its driver ----------
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    log "chromium and chromedriver present"
else
    log "installing Debian's chromium and chromium-driver"
    sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo -n)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        chromium chromium-driver >/dev/null
fi
chromium_version=$(/usr/bin/chromium --version 2>/dev/null | head -1) ||
    { log "chromium does not run"; exit 1; }

log "ready: $("$VENV/bin/python" -c 'from importlib.metadata import version as v; print(", ".join(f"{p} {v(p)}" for p in ("openai", "anthropic", "google-genai", "pytest", "selenium")))'), claude $("$CLAUDE" --version 2>/dev/null | head -1), $(codex_version 2>/dev/null), gemini-cli $(gemini_version 2>/dev/null), ${chromium_version% built on*}"
