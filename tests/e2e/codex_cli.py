"""Running the real Codex CLI (pinned in tests/e2e/package.json) against a gateway's
Responses endpoint, for test_codex.py.

Codex only ever talks to the gateway here:
- CODEX_HOME and HOME are one fresh temp dir (no login, config, sessions or caches of
  anyone's), the working directory an empty one, and the environment is built from
  scratch: no OPENAI_API_KEY / CODEX_API_KEY, only the gateway key in LLM_GATEWAY_KEY;
- config.toml defines one model provider, the gateway (`wire_api = "responses"`), and
  turns off what the pinned Codex otherwise does on its own: OTLP metrics to
  ab.chatgpt.com (`analytics.enabled`), the curated-plugin sync from github.com and
  chatgpt.com (`features.plugins`), the update check. No `model_catalog_url`, so Codex
  does not call GET /models (it uses its bundled model metadata, or fallback metadata
  for names it does not know), and no WebSocket (`supports_websockets` unset);
- HTTP(S)_PROXY points at the trap from claude_cli.py: anything that tried to reach
  another host (including `git ls-remote`, which Codex shells out to) shows up in
  `CodexRun.proxy_attempts`, which the tests assert stays empty.

Retries are off (`request_max_retries = 0`, `stream_max_retries = 0`): by default Codex
repeats a failed request up to 30 times, which would only hide a gateway error behind
a time-out. What Codex sends and expects is written up in the project notes
(codex.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from claude_cli import MARKER, PROMPT, ProxyTrap, run_bounded
from conftest import REPO, Gateway

CODEX = REPO / "tests/e2e/node_modules/.bin/codex"
CODEX_TIMEOUT = 120  # seconds for one `codex exec` run, start to finish
PROVIDER = "llm-gateway"  # the model provider id in config.toml
KEY_ENV = "LLM_GATEWAY_KEY"  # the env var the provider's `env_key` names
CODEX_MODEL = "gpt-5.5"  # in the pinned Codex's bundled catalog: its full tool set

__all__ = ["CODEX_MODEL", "MARKER", "PROMPT", "CodexRun", "codex_or_skip", "run_codex", "write_config"]


def codex_or_skip() -> Path:
    """The CLI, or a skip saying precisely why it cannot run on this machine.

    Only problems outside the gateway (not installed, binary does not execute) skip;
    anything that goes wrong once it runs is a test failure.
    """
    if not CODEX.exists():
        pytest.skip(f"Codex is not installed at {CODEX} (run scripts/setup-e2e.sh)")
    try:
        # Codex writes helper links into CODEX_HOME (default ~/.codex) on every start.
        with tempfile.TemporaryDirectory(prefix="codex-version-") as home:
            r = subprocess.run(
                [str(CODEX), "--version"],
                capture_output=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "CODEX_HOME": home},
            )
    except OSError as e:
        pytest.skip(f"{CODEX} cannot be executed on this machine: {e}")
    except subprocess.TimeoutExpired:
        pytest.skip(f"`{CODEX} --version` did not answer within 60s")
    if r.returncode != 0:
        pytest.skip(
            f"`{CODEX} --version` exited {r.returncode}: "
            f"{(r.stderr or r.stdout).decode(errors='replace').strip()[-500:]}"
        )
    return CODEX


def _toml(v: object) -> str:
    """A TOML value for a str, bool, int or list of those (JSON strings are valid TOML)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def write_config(home: Path, base_url: str, model: str, provider: dict | None = None) -> Path:
    """Write CODEX_HOME/config.toml: the gateway as the only model provider.
    `provider` adds or overrides keys of the provider table (e.g. `supports_websockets`)."""
    prov = {
        "name": "llm-gateway",
        "base_url": base_url,  # Codex appends /responses
        "env_key": KEY_ENV,  # sent as `Authorization: Bearer <key>`
        "wire_api": "responses",
        "request_max_retries": 0,
        "stream_max_retries": 0,
        "stream_idle_timeout_ms": 60_000,
        **(provider or {}),
    }
    lines = [
        f"model = {_toml(model)}",
        f"model_provider = {_toml(PROVIDER)}",
        "check_for_update_on_startup = false",
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[features]",
        "plugins = false",
        "",
        f"[model_providers.{PROVIDER}]",
        *(f"{k} = {_toml(v)}" for k, v in prov.items()),
    ]
    path = home / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass(repr=False)
class CodexRun:
    returncode: int
    stdout: str
    stderr: str
    proxy_attempts: list[str]

    @property
    def events(self) -> list[dict]:
        """The `--json` event stream (one JSON object a line)."""
        out = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def items(self, kind: str) -> list[dict]:
        """Completed items of one type: agent_message, command_execution, reasoning,
        file_change, error, ..."""
        return [
            e["item"]
            for e in self.events
            if e.get("type") == "item.completed" and e.get("item", {}).get("type") == kind
        ]

    @property
    def commands(self) -> list[dict]:
        """Shell commands Codex ran: {command, aggregated_output, exit_code, status}."""
        return self.items("command_execution")

    @property
    def final_message(self) -> str:
        """The text of the last agent message."""
        msgs = self.items("agent_message")
        if not msgs:
            raise AssertionError(f"codex printed no agent message\n{self.report}")
        return msgs[-1].get("text", "")

    @property
    def turn(self) -> dict:
        """The `turn.completed` ({usage}) or `turn.failed` ({error}) event."""
        for e in reversed(self.events):
            if e.get("type") in ("turn.completed", "turn.failed"):
                return e
        raise AssertionError(f"codex printed no turn.completed/turn.failed\n{self.report}")

    @property
    def completed(self) -> bool:
        return self.turn["type"] == "turn.completed"

    @property
    def usage(self) -> dict:
        return self.turn.get("usage") or {}

    @property
    def errors(self) -> list[str]:
        """Messages of `error` items and events (warnings Codex prints, and failures)."""
        out = [i.get("message", "") for i in self.items("error")]
        out += [e.get("message", "") for e in self.events if e.get("type") == "error"]
        if self.events and self.turn["type"] == "turn.failed":
            out.append(self.turn.get("error", {}).get("message", ""))
        return out

    @property
    def report(self) -> str:
        """For assertion messages (pytest shortens a non-str message to one line)."""
        try:
            errors = self.errors
        except AssertionError:
            errors = []
        return (
            f"codex exited {self.returncode}; errors: {errors}\n"
            f"stdout (JSONL): {self.stdout[-4000:]}\nstderr: {self.stderr[-3000:]}"
        )

    def __repr__(self) -> str:
        return self.report


def run_codex(
    gateway: Gateway,
    root: Path,
    *args: str,
    model: str = CODEX_MODEL,
    prompt: str = PROMPT,
    provider: dict | None = None,
    timeout: float = CODEX_TIMEOUT,
) -> CodexRun:
    """`codex exec --json PROMPT` against `gateway`'s /v1, with a fresh CODEX_HOME and
    project dir under `root`, bounded by `timeout`; on a timeout the whole process group
    (the CLI and any shell it started) is killed and the test fails.

    Runs with `-s danger-full-access` (no sandbox, and `codex exec` never asks for
    approval), so the model's shell command runs as is; `--skip-git-repo-check` since
    the project dir is no git repo, `--ephemeral` so no session files are written.
    Extra `args` go before the prompt.
    """
    codex = codex_or_skip()
    home, project = root / "codex-home", root / "project"
    home.mkdir(parents=True, exist_ok=True)
    project.mkdir(parents=True, exist_ok=True)
    write_config(home, gateway.url + "/v1", model, provider)
    with ProxyTrap() as trap:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "CODEX_HOME": str(home),
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "RUST_LOG": os.environ.get("E2E_CODEX_LOG", "warn"),  # Codex's own log, on stderr
            KEY_ENV: gateway.key,
            **{k: trap.url for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")},
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        cmd = [
            str(codex), "exec", "--json", "--color", "never", "--skip-git-repo-check", "--ephemeral",
            "-s", "danger-full-access", "-C", str(project), *args, prompt,
        ]  # fmt: skip
        code, out, err = run_bounded("codex", cmd, project, env, timeout)
        return CodexRun(code, out, err, list(trap.attempts))
