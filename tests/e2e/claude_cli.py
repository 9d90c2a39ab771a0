"""Running the real Claude Code CLI (pinned in tests/e2e/package.json) against a
gateway, for test_claude_code.py and test_conversion.py.

Claude Code only ever talks to the gateway here:
- HOME is a fresh temp dir (no login, settings or history of anyone's), the working
  directory an empty one, and the environment is built from scratch;
- every switch the pinned CLI honours for non-essential traffic (telemetry, error
  reports, auto-update, feature flags, ...) is turned off;
- HTTP(S)_PROXY points at a trap on 127.0.0.1 that refuses every request and records
  it; NO_PROXY exempts only loopback, where the gateway is. Anything that tried to
  reach another host would show up in `ClaudeRun.proxy_attempts` (the tests assert it
  stays empty) and could not leave the machine anyway.
"""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, Gateway, _die_with_parent, kill_group

CLAUDE = REPO / "tests/e2e/node_modules/.bin/claude"
CLAUDE_TIMEOUT = 120  # seconds for one `claude -p` run, start to finish
MARKER = "gateway-e2e-ok"  # what the mock model's Bash call echoes (tests/common/mock.rs)
PROMPT = f"Run the shell command `echo {MARKER}` and tell me what it printed."

# Switches the pinned Claude Code honours (each name checked against its binary)
# that stop traffic other than the model API, and interactive extras.
QUIET_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",  # umbrella: telemetry, error reports, updates, ...
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_UPDATES": "1",
    "DISABLE_BUG_COMMAND": "1",
    "DISABLE_GROWTHBOOK": "1",  # the feature-flag service
    "CLAUDE_CODE_DISABLE_FEATURE_FLAGS": "1",
    "DISABLE_INSTALLATION_CHECKS": "1",
    "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
    "CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL": "1",
    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
    "DISABLE_COST_WARNINGS": "1",
}


def claude_or_skip() -> Path:
    """The CLI, or a skip saying precisely why it cannot run on this machine.

    Only problems outside the gateway (not installed, binary does not execute) skip;
    anything that goes wrong once it runs is a test failure.
    """
    if not CLAUDE.exists():
        pytest.skip(f"Claude Code is not installed at {CLAUDE} (run scripts/setup-e2e.sh)")
    try:
        r = subprocess.run([str(CLAUDE), "--version"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    except OSError as e:
        pytest.skip(f"{CLAUDE} cannot be executed on this machine: {e}")
    except subprocess.TimeoutExpired:
        pytest.skip(f"`{CLAUDE} --version` did not answer within 60s")
    if r.returncode != 0:
        pytest.skip(
            f"`{CLAUDE} --version` exited {r.returncode}: "
            f"{(r.stderr or r.stdout).decode(errors='replace').strip()[-500:]}"
        )
    return CLAUDE


class ProxyTrap(socketserver.ThreadingTCPServer):
    """An HTTP proxy on 127.0.0.1 that refuses every request and remembers it."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        self.attempts: list[str] = []
        trap = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5

            def handle(self) -> None:
                try:
                    line = self.rfile.readline(8192).decode("latin-1").strip()
                except OSError:
                    return
                trap.attempts.append(line)  # e.g. "CONNECT some.host:443 HTTP/1.1"
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        super().__init__(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ProxyTrap:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


@dataclass(repr=False)
class ClaudeRun:
    returncode: int
    stdout: str
    stderr: str
    proxy_attempts: list[str]

    @property
    def result(self) -> dict:
        """The `--output-format json` result object (the last JSON line printed)."""
        for line in reversed(self.stdout.strip().splitlines()):
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if isinstance(v, dict):
                return v
        raise AssertionError(
            f"claude printed no JSON result\nstdout: {self.stdout[-3000:]}\nstderr: {self.stderr[-3000:]}"
        )

    def __repr__(self) -> str:  # what an assertion message shows
        return f"claude exited {self.returncode}\nstdout: {self.stdout[-3000:]}\nstderr: {self.stderr[-3000:]}"


def run_bounded(name: str, cmd: list[str], cwd: Path, env: dict, timeout: float) -> tuple[int, str, str]:
    """Run an agent CLI in its own process group with stdin closed (else `-p` / `exec`
    would read it into the prompt), bounded by `timeout`: on a timeout the whole group
    (the CLI and any shell it started) is killed and the test fails. Returns the exit
    code, stdout and stderr; whatever the CLI left behind in its group is reaped."""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc, grace=2)
        out, err = proc.communicate(timeout=10)
        pytest.fail(
            f"{name} did not finish within {timeout}s\n"
            f"stdout: {out.decode(errors='replace')[-3000:]}\nstderr: {err.decode(errors='replace')[-3000:]}"
        )
    finally:
        kill_group(proc, grace=2)
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def run_claude(
    gateway: Gateway, root: Path, *args: str, prompt: str = PROMPT, extra_env: dict | None = None
) -> ClaudeRun:
    """`claude -p PROMPT --output-format json ARGS` against `gateway`, with a fresh HOME
    and project dir under `root`, bounded by CLAUDE_TIMEOUT; on a timeout the whole
    process group (the CLI and any shell it started) is killed and the test fails."""
    claude = claude_or_skip()
    home, project = root / "home", root / "project"
    home.mkdir(parents=True, exist_ok=True)
    project.mkdir(parents=True, exist_ok=True)
    with ProxyTrap() as trap:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "ANTHROPIC_BASE_URL": gateway.url,
            "ANTHROPIC_AUTH_TOKEN": gateway.key,  # sent as `Authorization: Bearer`
            **{k: trap.url for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            **QUIET_ENV,
            **(extra_env or {}),  # e.g. NODE_EXTRA_CA_CERTS for an HTTPS gateway
        }
        code, out, err = run_bounded(
            "claude", [str(claude), "-p", prompt, "--output-format", "json", *args], project, env, CLAUDE_TIMEOUT
        )
        return ClaudeRun(code, out, err, list(trap.attempts))
