"""Running the real Gemini CLI (pinned in tests/e2e/package.json) against a Gemini API
endpoint (the gateway, or a mock upstream directly), for the Gemini end-to-end tests.

Gemini CLI only ever talks to that endpoint here:
- HOME is a fresh temp dir (no login, settings, GEMINI.md, history or caches of
  anyone's), the working directory an empty one, and the environment is built from
  scratch: only GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY say where to go;
- ~/.gemini/settings.json selects API-key auth (`security.auth.selectedType =
  gemini-api-key`: with only the environment, the pinned CLI picks its "gateway" auth
  type for GOOGLE_GEMINI_BASE_URL and then refuses it headless with "Invalid auth
  method selected."), and turns off what it otherwise does on its own: usage
  statistics (Clearcut, and the `x-gemini-api-privileged-user-id` header on every
  model request), telemetry, auto-update, the IDE companion, folder trust,
  checkpointing; the system settings files (/etc/gemini-cli/...) are pointed into the
  temp dir so a machine's admin settings cannot leak in;
- HTTP(S)_PROXY points at the trap from claude_cli.py (the CLI reads it, and NO_PROXY,
  for all its fetches): anything that tried to reach another host would show up in
  `GeminiRun.proxy_attempts`, which the tests assert stays empty.

Always pass a model: without `-m` the CLI's "auto" mode first asks a router model
(`gemini-3.5-flash-lite:generateContent` with a JSON `responseJsonSchema`) to rate the
prompt, and retries that with back-off when the answer is no such JSON. Model names
go into the URL as given, except the CLI's own aliases (`gemini-3-pro-preview` is sent
as `gemini-3.1-pro-preview`).

Retries are down to one attempt (`general.maxAttempts = 1`): by default the CLI repeats
a failed model request up to 10 times with back-off, which would only hide a gateway
error behind a time-out.

What the CLI sends, per turn: `POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`,
key in `x-goog-api-key`, `User-Agent: GeminiCLI-tui/<version>/<model> (linux; x64; terminal)`,
`x-goog-api-client: google-genai-sdk/<v> gl-node/<v>`; body `contents` (the first user
turn opens with a `<session_context>` text part), `systemInstruction`, `tools` (one
entry, `functionDeclarations` with `parametersJsonSchema`), `generationConfig`
(`temperature`, `topP`, `topK`, `thinkingConfig` {includeThoughts, thinkingBudget or,
for Gemini 3, thinkingLevel}). A tool result goes back as a user turn with one
`functionResponse` {id, name, response: {output}}; the model turn before it keeps the
`functionCall` {id, name, args} and its `thoughtSignature`. No countTokens, no
GET /models.
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

GEMINI = REPO / "tests/e2e/node_modules/.bin/gemini"
GEMINI_TIMEOUT = 120  # seconds for one `gemini -p` run, start to finish
# A Gemini 3 model: the mock upstream (and the real API) then insist that each
# functionCall of the current turn comes back with its thoughtSignature.
GEMINI_MODEL = "gemini-3.1-pro-preview"
MOCK_GEMINI_KEY = "gemini-mock-key"  # the mock upstream's default (--gemini-key)

__all__ = [
    "GEMINI_MODEL",
    "MARKER",
    "MOCK_GEMINI_KEY",
    "PROMPT",
    "Endpoint",
    "GeminiRun",
    "gemini_or_skip",
    "run_gemini",
    "write_settings",
]


@dataclass
class Endpoint:
    """Where the CLI goes: a base URL (it appends /v1beta/models/...) and the key it
    sends. A conftest `Gateway` has the same two attributes and can be passed instead."""

    url: str
    key: str


def gemini_or_skip() -> Path:
    """The CLI, or a skip saying precisely why it cannot run on this machine.

    Only problems outside the gateway (not installed, does not execute on this node)
    skip; anything that goes wrong once it runs is a test failure.
    """
    if not GEMINI.exists():
        pytest.skip(f"Gemini CLI is not installed at {GEMINI} (run scripts/setup-e2e.sh)")
    try:
        # Gemini CLI writes ~/.gemini (projects.json, ...) on every start.
        with tempfile.TemporaryDirectory(prefix="gemini-version-") as home:
            r = subprocess.run(
                [str(GEMINI), "--version"],
                capture_output=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "GEMINI_CLI_NO_RELAUNCH": "true"},
            )
    except OSError as e:
        pytest.skip(f"{GEMINI} cannot be executed on this machine: {e}")
    except subprocess.TimeoutExpired:
        pytest.skip(f"`{GEMINI} --version` did not answer within 60s")
    if r.returncode != 0:
        pytest.skip(
            f"`{GEMINI} --version` exited {r.returncode}: "
            f"{(r.stderr or r.stdout).decode(errors='replace').strip()[-500:]}"
        )
    return GEMINI


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def write_settings(home: Path, settings: dict | None = None) -> Path:
    """Write HOME/.gemini/settings.json: API-key auth, nothing phoning home, one attempt
    per model request. `settings` is merged over it (nested keys, e.g.
    `{"general": {"maxAttempts": 3}}`). Each key is in the pinned CLI's settings schema."""
    base = {
        "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": False}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {
            "enableAutoUpdate": False,
            "enableAutoUpdateNotification": False,
            "checkpointing": {"enabled": False},
            "maxAttempts": 1,
        },
        "ide": {"enabled": False},
    }
    path = home / ".gemini" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_merge(base, settings or {}), indent=2) + "\n")
    return path


@dataclass(repr=False)
class GeminiRun:
    returncode: int
    stdout: str
    stderr: str
    proxy_attempts: list[str]

    @property
    def events(self) -> list[dict]:
        """The `-o stream-json` events (one JSON object a line): init, message (role
        user/assistant; assistant text comes as `delta` pieces), tool_use, tool_result,
        error, result."""
        out = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e.get("type") == kind]

    @property
    def tool_uses(self) -> list[dict]:
        """Tools the CLI ran: {tool_name, tool_id, parameters}."""
        return self.of("tool_use")

    @property
    def tool_results(self) -> list[dict]:
        """Their results: {tool_id, status, output}."""
        return self.of("tool_result")

    @property
    def final_message(self) -> str:
        """The assistant text after the last tool result (all of it if no tool ran)."""
        events = self.events
        last_tool = max((i for i, e in enumerate(events) if e.get("type") == "tool_result"), default=-1)
        return "".join(
            e.get("content", "")
            for e in events[last_tool + 1 :]
            if e.get("type") == "message" and e.get("role") == "assistant"
        )

    @property
    def result(self) -> dict:
        """The closing `result` event: {status: success|error, error?, stats}."""
        for e in reversed(self.events):
            if e.get("type") == "result":
                return e
        raise AssertionError(f"gemini printed no result event\n{self.report}")

    @property
    def completed(self) -> bool:
        return self.result.get("status") == "success"

    @property
    def errors(self) -> list[str]:
        """Messages of `error` events, and of a failed result (an API error's message
        holds the upstream's JSON error body)."""
        out = [str(e.get("message", e)) for e in self.of("error")]
        with contextlib.suppress(AssertionError):
            r = self.result
            if r.get("status") == "error":
                out.append(str((r.get("error") or {}).get("message", r)))
        return out

    @property
    def report(self) -> str:
        """For assertion messages (pytest shortens a non-str message to one line)."""
        return (
            f"gemini exited {self.returncode}; errors: {self.errors}\n"
            f"stdout (JSONL): {self.stdout[-4000:]}\nstderr: {self.stderr[-3000:]}"
        )

    def __repr__(self) -> str:
        return self.report


def run_gemini(
    endpoint: Endpoint | Gateway,
    root: Path,
    *args: str,
    model: str = GEMINI_MODEL,
    prompt: str = PROMPT,
    settings: dict | None = None,
    timeout: float = GEMINI_TIMEOUT,
) -> GeminiRun:
    """`gemini -p PROMPT -m MODEL -o stream-json --approval-mode yolo ARGS` against
    `endpoint` (a conftest `Gateway` or an `Endpoint`: `.url`, `.key`), with a fresh HOME
    and project dir under `root`, bounded by `timeout`; on a timeout the whole process
    group (the CLI and any shell it started) is killed and the test fails.

    `--approval-mode yolo` runs the model's tool calls without asking (headless, the
    default mode would leave run_shell_command and the edit tools out of the request's
    tools); `--skip-trust` is belt and braces with `security.folderTrust.enabled =
    false` (headless, an untrusted folder exits 55). Extra `args` go last and may
    override these (yargs takes the last value).
    """
    gemini = gemini_or_skip()
    home, project = root / "gemini-home", root / "project"
    home.mkdir(parents=True, exist_ok=True)
    project.mkdir(parents=True, exist_ok=True)
    write_settings(home, settings)
    with ProxyTrap() as trap:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "GOOGLE_GEMINI_BASE_URL": endpoint.url,
            "GEMINI_API_KEY": endpoint.key,  # sent as `x-goog-api-key`
            # One process: by default bundle/gemini.js re-spawns itself with a bigger heap
            # (and its parent ignores SIGTERM).
            "GEMINI_CLI_NO_RELAUNCH": "true",
            "GEMINI_CLI_SYSTEM_SETTINGS_PATH": str(root / "gemini-system-settings.json"),
            "GEMINI_CLI_SYSTEM_DEFAULTS_PATH": str(root / "gemini-system-defaults.json"),
            **{k: trap.url for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        cmd = [
            str(gemini), "-p", prompt, "-m", model, "-o", "stream-json",
            "--approval-mode", "yolo", "--skip-trust", *args,
        ]  # fmt: skip
        code, out, err = run_bounded("gemini", cmd, project, env, timeout)
        return GeminiRun(code, out, err, list(trap.attempts))
