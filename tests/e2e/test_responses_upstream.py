"""Clients of every format on a Responses upstream (`upstream add --api responses`):
the official OpenAI SDK (Chat Completions and Responses) and Anthropic SDK, and the
real Claude Code, against the strict Responses mock.

The mock refuses what the Responses API refuses (Chat-only parameters, strict
schemas without `additionalProperties: false`, tool outputs without their call,
reasoning ids it never stored...), so a conversion mistake fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import openai
import pytest

from claude_cli import MARKER, run_claude
from conftest import HTTP_TIMEOUT, RESPONSES_UPSTREAM_KEY, Gateway, Mocks
from payloads import CLAUDE_MODEL, MOCK_TEXT, TOOL_ANSWER, TOOL_RESULT, WEATHER_FUNCTION, WEATHER_TOOL

pytestmark = pytest.mark.responses

MODEL = "gpt-5-codex"  # served by the Responses mock only


def posts(reqs: list[dict]) -> list[dict]:
    return [r for r in reqs if r["method"] == "POST"]


def assert_reached_responses(req: dict, gateway: Gateway) -> None:
    h = req["headers"]
    assert req["path"] == "/v1/responses"
    assert h["authorization"] == f"Bearer {RESPONSES_UPSTREAM_KEY}"
    assert gateway.key not in json.dumps(h)
    assert req["body"]["store"] is False


def test_chat_client_tool_round_trip(openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks):
    mark = mocks.responses.mark()
    messages: list = [{"role": "user", "content": "Weather in Paris?"}]
    first = openai_client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_FUNCTION])
    [call] = first.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert first.choices[0].finish_reason == "tool_calls"
    messages += [first.choices[0].message.model_dump(exclude_none=True)]
    messages.append({"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT})
    second = openai_client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_FUNCTION])
    assert second.choices[0].message.content == TOOL_ANSWER
    for req in posts(mocks.responses.since(mark)):
        assert_reached_responses(req, gateway)


def test_chat_client_stream(openai_client: openai.OpenAI):
    stream = openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == MOCK_TEXT
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_anthropic_client_stream_and_tools(gateway_to_responses: Gateway, mocks: Mocks):
    with anthropic.Anthropic(
        base_url=gateway_to_responses.url, api_key=gateway_to_responses.key, timeout=HTTP_TIMEOUT, max_retries=0
    ) as client:
        mark = mocks.responses.mark()
        with client.messages.stream(
            model=CLAUDE_MODEL, max_tokens=500, messages=[{"role": "user", "content": "hi"}]
        ) as s:
            final = s.get_final_message()
        assert "".join(b.text for b in final.content if b.type == "text") == MOCK_TEXT
        first = client.messages.create(
            model=CLAUDE_MODEL,
            max_tokens=500,
            tools=[WEATHER_TOOL],
            messages=[{"role": "user", "content": "Weather in Paris?"}],
        )
        assert first.stop_reason == "tool_use"
        [use] = [b for b in first.content if b.type == "tool_use"]
        second = client.messages.create(
            model=CLAUDE_MODEL,
            max_tokens=500,
            tools=[WEATHER_TOOL],
            messages=[
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": TOOL_RESULT}]},
            ],
        )
        assert "".join(b.text for b in second.content if b.type == "text") == TOOL_ANSWER
        for req in posts(mocks.responses.since(mark)):
            assert_reached_responses(req, gateway_to_responses)
            assert req["body"]["model"] == MODEL


def test_responses_client_passes_through(openai_client: openai.OpenAI, mocks: Mocks):
    mark = mocks.responses.mark()
    r = openai_client.responses.create(model=MODEL, input="hi", store=False)
    assert r.output_text == MOCK_TEXT
    [req] = posts(mocks.responses.since(mark))
    assert req["body"] == {"model": MODEL, "input": "hi", "store": False}


def test_claude_code_on_a_responses_upstream(gateway_to_responses: Gateway, mocks: Mocks, workdir: Path):
    mark = mocks.responses.mark()
    run = run_claude(gateway_to_responses, workdir / "claude-to-responses", "--allowedTools", "Bash")
    assert run.returncode == 0, run
    assert run.result["is_error"] is False, run
    assert MARKER in run.result["result"], run
    assert run.proxy_attempts == [], f"Claude Code tried to reach other hosts: {run.proxy_attempts}"
    seen = posts(mocks.responses.since(mark))
    assert seen, "no request reached the Responses upstream"
    for req in seen:
        assert_reached_responses(req, gateway_to_responses)
        assert req["body"]["stream"] is True
    last = seen[-1]["body"]["input"]
    [call] = [i for i in last if i.get("type") == "function_call" and i["name"] == "Bash"]
    [out] = [i for i in last if i.get("type") == "function_call_output"]
    assert out["call_id"] == call["call_id"]
    assert MARKER in out["output"]
