"""The real Claude Code CLI through the gateway, pass-through to the Anthropic mock.

`claude -p` runs one non-interactive turn. The mock's scripted model answers the
first request (which offers the `Bash` tool) with a `Bash` call to
`echo gateway-e2e-ok`; Claude Code runs it (allowed by `--allowedTools Bash`: no
permission bypass is needed, also as root), sends the tool_result back through the
gateway, and the mock answers "The tool said: gateway-e2e-ok", which Claude Code
prints as its result. So the final output proves the whole round trip worked.
"""

from __future__ import annotations

import json
from pathlib import Path

from claude_cli import MARKER, run_claude
from conftest import ANTHROPIC_UPSTREAM_KEY, Gateway, Mocks


def test_claude_code_tool_round_trip(gateway: Gateway, mocks: Mocks, workdir: Path):
    mark = mocks.anthropic.mark()
    run = run_claude(gateway, workdir / "claude-passthrough", "--allowedTools", "Bash")

    assert run.returncode == 0, run
    result = run.result
    assert result["is_error"] is False, run
    assert MARKER in result["result"], run
    assert result["num_turns"] == 2, run  # tool call, then the answer
    assert run.proxy_attempts == [], f"Claude Code tried to reach other hosts: {run.proxy_attempts}"

    seen = [r for r in mocks.anthropic.since(mark) if r["method"] == "POST"]
    assert seen, "no request reached the upstream"
    for req in seen:
        h = req["headers"]
        # Claude Code's query string and beta flags arrive as it sent them.
        assert req["path"] == "/v1/messages?beta=true"
        assert "claude-code-20250219" in h["anthropic-beta"].split(","), h["anthropic-beta"]
        assert h["user-agent"].startswith("claude-cli/")
        assert h["anthropic-version"]
        # The upstream key replaced the gateway key, which went nowhere.
        assert h["x-api-key"] == ANTHROPIC_UPSTREAM_KEY
        assert "authorization" not in h
        assert gateway.key not in json.dumps(h)
        assert req["body"]["stream"] is True

    # The round trip, as the upstream saw it: Bash offered → tool_use → tool_result.
    first = seen[0]["body"]
    assert "Bash" in [t.get("name") for t in first["tools"]]
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
    assert [(t["name"], t["input"]["command"]) for t in tool_uses] == [("Bash", f"echo {MARKER}")]
    assert len(results) == 1 and results[0]["tool_use_id"] == tool_uses[0]["id"]
    assert not results[0].get("is_error"), results[0]
    assert MARKER in json.dumps(results[0]["content"])
