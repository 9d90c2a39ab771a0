"""The real Codex CLI through the gateway's Responses endpoint (`POST /v1/responses`),
converted to the Anthropic mock and to the OpenAI Chat Completions mock.

`codex exec` runs one non-interactive turn (codex_cli.py). Codex offers its shell as
the function tool `exec_command` (argument `cmd`). The mock's scripted model answers
the first request with an `exec_command` call running `echo gateway-e2e-ok`; Codex runs
it, sends the output back as a `function_call_output` through the gateway, and the
mock answers "The tool said: <output>", which Codex prints as its last message. So the
final message, the command Codex reports, and what the upstream saw on the second
request together prove the whole round trip worked in both directions.

With `supports_websockets = true` the same round trip runs over the Responses
WebSocket mode (`GET /v1/responses` upgraded).

Select with `-m codex`.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from codex_cli import CODEX_MODEL, MARKER, CodexRun, run_codex
from conftest import ANTHROPIC_UPSTREAM_KEY, OPENAI_UPSTREAM_KEY, Gateway, Mocks, make_gateway
from payloads import CLAUDE_MODEL, MOCK_USAGE, anthropic_error_body

pytestmark = pytest.mark.codex

SHELL_TOOL = "exec_command"  # the pinned Codex's shell tool, for every model


@pytest.fixture(scope="module")
def gateway_codex_to_anthropic(workdir: Path, mocks: Mocks):
    """A gateway that sends Codex's default models (`gpt-5*`) to the Anthropic mock,
    renamed to a Claude model."""
    gw = make_gateway(
        workdir,
        "gateway-codex-to-anthropic",
        mocks,
        routes=[["--match", "gpt-5*", "--upstream", "ant", "--model", CLAUDE_MODEL]],
    )
    try:
        yield gw
    finally:
        gw.stop()


def posts(reqs: list[dict]) -> list[dict]:
    return [r for r in reqs if r["method"] == "POST"]


def text_of(content) -> str:
    """All text in an Anthropic `system`/`content` or an OpenAI `content` value."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def assert_codex_ran_the_tool(run: CodexRun) -> None:
    """What Codex itself reports: the command ran, the turn completed, the answer
    quotes the command's output, and nothing tried to leave the machine."""
    assert run.returncode == 0, run.report
    assert run.completed, run.report
    assert len(run.commands) == 1, run.report
    [cmd] = run.commands
    assert f"echo {MARKER}" in cmd["command"], run.report
    assert cmd["exit_code"] == 0 and cmd["status"] == "completed", run.report
    assert MARKER in cmd["aggregated_output"], run.report
    assert MARKER in run.final_message, run.report
    assert run.proxy_attempts == [], f"Codex tried to reach other hosts: {run.proxy_attempts}"
    # Two model calls (the tool call, then the answer), each with the mock's usage;
    # Codex adds them up for the turn.
    assert run.usage["input_tokens"] == 2 * MOCK_USAGE["input"], run.usage
    assert run.usage["output_tokens"] == 2 * MOCK_USAGE["output"], run.usage


def assert_reached_anthropic(req: dict, gateway: Gateway, model: str) -> None:
    h = req["headers"]
    assert req["path"].split("?")[0] == "/v1/messages"
    assert h["x-api-key"] == ANTHROPIC_UPSTREAM_KEY
    assert "authorization" not in h
    assert h.get("anthropic-version")
    assert gateway.key not in json.dumps(h)
    body = req["body"]
    assert body["model"] == model
    assert body["stream"] is True
    assert isinstance(body["max_tokens"], int) and body["max_tokens"] > 0


def assert_anthropic_round_trip(seen: list[dict]) -> None:
    """Offered exec_command → tool_use with `cmd` → tool_result with the output."""
    assert len(seen) == 2, [r["body"].get("messages", [])[-1:] for r in seen]  # Codex retries are off
    first = seen[0]["body"]
    assert SHELL_TOOL in [t.get("name") for t in first["tools"]]
    # Codex's system prompt is a `developer` message in `input`; it belongs in `system`.
    assert "Codex" in text_of(first.get("system")), first.get("system")
    last = seen[-1]["body"]["messages"]
    tool_uses = [
        b
        for m in last
        if m["role"] == "assistant" and isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_use"
    ]
    results = [
        b
        for m in last
        if m["role"] == "user" and isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert [(t["name"], t["input"]["cmd"]) for t in tool_uses] == [(SHELL_TOOL, f"echo {MARKER}")]
    assert len(results) == 1 and results[0]["tool_use_id"] == tool_uses[0]["id"]
    assert not results[0].get("is_error"), results[0]
    assert MARKER in text_of(results[0]["content"])


def test_codex_on_anthropic_upstream(gateway_codex_to_anthropic: Gateway, mocks: Mocks, workdir: Path):
    """Codex with its default model (gpt-5.5, full tool set: functions, the freeform
    `apply_patch` custom tool, `tool_search`, `web_search`), routed to Claude: Responses
    converted to Messages and the Messages stream back to Responses events."""
    gw = gateway_codex_to_anthropic
    mark = mocks.anthropic.mark()
    run = run_codex(gw, workdir / "codex-to-anthropic")

    assert_codex_ran_the_tool(run)
    assert run.errors == [], run.report
    seen = posts(mocks.anthropic.since(mark))
    assert seen, "no request reached the Anthropic upstream"
    for req in seen:
        assert_reached_anthropic(req, gw, CLAUDE_MODEL)
    assert_anthropic_round_trip(seen)


def test_codex_with_claude_model_name(gateway: Gateway, mocks: Mocks, workdir: Path):
    """Codex asked for a Claude model by name: Codex knows no metadata for it, warns
    once, and uses its fallback tool set (which has a `namespace` tool); the family
    routing sends it to the Anthropic upstream."""
    mark = mocks.anthropic.mark()
    run = run_codex(gateway, workdir / "codex-claude-name", model=CLAUDE_MODEL)

    assert_codex_ran_the_tool(run)
    # Codex's own warning, not an error from the gateway.
    assert len(run.errors) == 1 and "Model metadata" in run.errors[0], run.report
    seen = posts(mocks.anthropic.since(mark))
    assert seen, "no request reached the Anthropic upstream"
    for req in seen:
        assert_reached_anthropic(req, gateway, CLAUDE_MODEL)
    assert_anthropic_round_trip(seen)


def test_codex_on_openai_chat_upstream(gateway: Gateway, mocks: Mocks, workdir: Path):
    """Codex with its default model on the OpenAI upstream, which speaks Chat
    Completions: Responses converted to Chat and the chunks back to Responses events."""
    mark = mocks.openai.mark()
    run = run_codex(gateway, workdir / "codex-to-openai-chat")

    assert_codex_ran_the_tool(run)
    assert run.errors == [], run.report
    seen = posts(mocks.openai.since(mark))
    assert seen, "no request reached the OpenAI upstream"
    assert len(seen) == 2, [r["path"] for r in seen]  # Codex retries are off
    for req in seen:
        h = req["headers"]
        assert req["path"] == "/v1/chat/completions"
        assert h["authorization"] == f"Bearer {OPENAI_UPSTREAM_KEY}"
        assert "x-api-key" not in h
        assert gateway.key not in json.dumps(h)
        assert req["body"]["model"] == CODEX_MODEL
        assert req["body"]["stream"] is True

    first = seen[0]["body"]
    assert SHELL_TOOL in [t["function"]["name"] for t in first["tools"] if t.get("type") == "function"]
    system = [m for m in first["messages"] if m["role"] in ("system", "developer")]
    assert any("Codex" in text_of(m["content"]) for m in system), first["messages"][:2]
    last = seen[-1]["body"]["messages"]
    [call] = [c for m in last if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    assert call["function"]["name"] == SHELL_TOOL
    assert json.loads(call["function"]["arguments"])["cmd"] == f"echo {MARKER}"
    [tool_msg] = [m for m in last if m["role"] == "tool"]
    assert tool_msg["tool_call_id"] == call["id"]
    assert MARKER in text_of(tool_msg["content"])


def websocket_closed_lines(gw: Gateway, since: int) -> list[str]:
    """The gateway's "websocket closed" access lines written after byte `since` of its log."""
    with gw.log.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    return [line for line in text.splitlines() if "websocket closed" in line]


def field(line: str, name: str) -> int:
    """An integer field (`name=N`) of a log line."""
    [value] = re.findall(rf"\b{name}=(\d+)", line)
    return int(value)


def test_codex_over_the_websocket(gateway_codex_to_anthropic: Gateway, mocks: Mocks, workdir: Path):
    """With `supports_websockets = true` Codex opens `GET /v1/responses` as a WebSocket
    and runs the whole turn over it: its warm-up (`generate: false`, answered by the
    gateway), then each model call as a `response.create` carrying only the new input
    after `previous_response_id`. The gateway expands the conversation and converts each
    call to the Anthropic mock like a POST; no POST /v1/responses fallback is used."""
    gw = gateway_codex_to_anthropic
    mark = mocks.anthropic.mark()
    log_mark = gw.log.stat().st_size
    run = run_codex(gw, workdir / "codex-websocket", provider={"supports_websockets": True})

    assert_codex_ran_the_tool(run)
    assert run.errors == [], run.report
    assert "falling back to HTTP" not in run.stderr, run.report
    seen = posts(mocks.anthropic.since(mark))
    for req in seen:
        assert_reached_anthropic(req, gw, CLAUDE_MODEL)
    # The second call carried the whole conversation although Codex sent only the
    # tool's output over the socket.
    assert_anthropic_round_trip(seen)
    # Codex is gone, so are its sockets: the gateway logged each one's requests.
    deadline = time.monotonic() + 10
    while not (closed := websocket_closed_lines(gw, log_mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert closed, "the gateway logged no WebSocket session"
    assert sum(field(line, "turns") for line in closed) == len(seen) == 2, closed


def test_codex_sees_upstream_error(gateway_codex_to_anthropic: Gateway, mocks: Mocks, workdir: Path):
    """An upstream 400 reaches Codex as a failed turn carrying the upstream's message,
    promptly and without a second upstream request."""
    mocks.anthropic.behave(fail_with=(400, anthropic_error_body("invalid_request_error", "mock refused this request")))
    mark = mocks.anthropic.mark()
    run = run_codex(gateway_codex_to_anthropic, workdir / "codex-upstream-error", timeout=60)

    assert run.returncode != 0, run.report
    assert not run.completed, run.report
    assert run.commands == [], run.report
    assert any("mock refused this request" in e for e in run.errors), run.report
    assert len(posts(mocks.anthropic.since(mark))) == 1
    assert run.proxy_attempts == []


@pytest.fixture(scope="module")
def gateway_codex_to_gemini(workdir: Path, mocks: Mocks):
    """Codex's default models sent to the Gemini mock as a Gemini 3 model."""
    gw = make_gateway(
        workdir,
        "gateway-codex-to-gemini",
        mocks,
        routes=[["--match", "gpt-5*", "--upstream", "gem", "--model", "gemini-3-pro-preview"]],
    )
    try:
        yield gw
    finally:
        gw.stop()


def test_codex_on_gemini_upstream(gateway_codex_to_gemini: Gateway, mocks: Mocks, workdir: Path):
    """Codex's Responses requests (function tools, the freeform `apply_patch`, hosted
    tools) converted to Gemini: the strict mock takes every tool schema, and the
    replayed call carries a thought signature Gemini 3 accepts."""
    gw = gateway_codex_to_gemini
    mark = mocks.gemini.mark()
    run = run_codex(gw, workdir / "codex-to-gemini")

    assert_codex_ran_the_tool(run)
    assert run.errors == [], run.report
    seen = posts(mocks.gemini.since(mark))
    assert len(seen) == 2, seen
    for req in seen:
        assert req["path"] == "/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse"
        assert gw.key not in json.dumps(req["headers"])
        names = [d["name"] for t in req["body"]["tools"] for d in t["functionDeclarations"]]
        assert SHELL_TOOL in names, names
    last = seen[-1]["body"]["contents"]
    calls = [p for c in last for p in c["parts"] if "functionCall" in p]
    results = [p for c in last for p in c["parts"] if "functionResponse" in p]
    assert [p["functionCall"]["name"] for p in calls] == [SHELL_TOOL]
    assert all(p.get("thoughtSignature") for p in calls), last
    assert len(results) == 1 and MARKER in json.dumps(results[0])
