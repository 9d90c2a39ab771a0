"""Cross-format: a client speaks one API, the upstream serves the other, and the
gateway converts both ways.

Three paths:
- OpenAI SDK  → gateway → Anthropic mock: `claude-*` models through
  /v1/chat/completions on the pass-through gateway (family routing sends them to
  the Anthropic upstream);
- Anthropic SDK → gateway → OpenAI mock: the `gateway_to_openai` gateway routes
  `claude-*` to the OpenAI upstream as `gpt-4o` (`route add --match 'claude-*'
  --upstream oai --model gpt-4o`); plain `gpt-*` models on the pass-through gateway
  go there too;
- Claude Code → gateway → OpenAI mock, through `gateway_to_openai`.

Each test checks what the SDK got *and* what the upstream received, in its own API's
shape (the mocks are strict: wrong auth header, missing max_tokens, bad roles or
empty content are refused, as the real APIs do).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import anthropic
import openai
import pytest

from claude_cli import MARKER, run_claude
from conftest import ANTHROPIC_UPSTREAM_KEY, HTTP_TIMEOUT, OPENAI_UPSTREAM_KEY, Gateway, Mocks
from payloads import (
    CLAUDE_MODEL,
    MOCK_TEXT,
    PNG_1PX_B64,
    TOOL_ANSWER,
    TOOL_RESULT,
    WEATHER_FUNCTION,
    WEATHER_SCHEMA,
    WEATHER_TOOL,
    anthropic_error_body,
    openai_error_body,
)

pytestmark = pytest.mark.conversion


def posts(reqs: list[dict]) -> list[dict]:
    return [r for r in reqs if r["method"] == "POST"]


def text_of(content) -> str:
    """All text in an Anthropic `system`/`content` or an OpenAI `content` value."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def assert_reached_anthropic(req: dict, gateway: Gateway) -> None:
    """A converted request as the Anthropic API wants it."""
    h = req["headers"]
    assert req["path"].split("?")[0] == "/v1/messages"
    assert h["x-api-key"] == ANTHROPIC_UPSTREAM_KEY
    assert "authorization" not in h
    assert h.get("anthropic-version"), "an Anthropic upstream needs anthropic-version"
    assert gateway.key not in json.dumps(h)
    assert isinstance(req["body"]["max_tokens"], int) and req["body"]["max_tokens"] > 0


def assert_reached_openai(req: dict, gateway: Gateway, model: str = "gpt-4o") -> None:
    """A converted request as the OpenAI API wants it."""
    h = req["headers"]
    assert req["path"] == "/v1/chat/completions"
    assert h["authorization"] == f"Bearer {OPENAI_UPSTREAM_KEY}"
    assert "x-api-key" not in h
    assert gateway.key not in json.dumps(h)
    assert req["body"]["model"] == model


@pytest.fixture
def anthropic_to_openai(gateway_to_openai: Gateway):
    """Anthropic SDK on the gateway that sends `claude-*` to the OpenAI mock."""
    with anthropic.Anthropic(
        base_url=gateway_to_openai.url, api_key=gateway_to_openai.key, timeout=HTTP_TIMEOUT, max_retries=0
    ) as c:
        yield c


# =========================================================================== OpenAI SDK → Anthropic upstream


class TestOpenAIClientAnthropicUpstream:
    def test_create(self, openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks):
        mark = mocks.anthropic.mark()
        r = openai_client.chat.completions.create(
            model=CLAUDE_MODEL,
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
            max_tokens=100,
            temperature=0.3,
            stop=["\n\nHuman:"],
        )
        assert r.object == "chat.completion"
        assert r.model == CLAUDE_MODEL
        assert r.choices[0].message.role == "assistant"
        assert r.choices[0].message.content == MOCK_TEXT
        assert r.choices[0].finish_reason == "stop"
        assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (12, 5, 17)

        [seen] = posts(mocks.anthropic.since(mark))
        assert_reached_anthropic(seen, gateway)
        body = seen["body"]
        assert body["model"] == CLAUDE_MODEL
        assert body["max_tokens"] == 100
        assert body["temperature"] == 0.3
        assert body["stop_sequences"] == ["\n\nHuman:"]
        # The system message moves to the top-level `system`.
        assert text_of(body["system"]) == "Be brief."
        assert [m["role"] for m in body["messages"]] == ["user"]
        assert text_of(body["messages"][0]["content"]) == "Hello"

    def test_create_without_max_tokens(self, openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks):
        """OpenAI makes max_tokens optional, Anthropic requires it: the gateway fills it in."""
        mark = mocks.anthropic.mark()
        r = openai_client.chat.completions.create(model=CLAUDE_MODEL, messages=[{"role": "user", "content": "Hello"}])
        assert r.choices[0].message.content == MOCK_TEXT
        [seen] = posts(mocks.anthropic.since(mark))
        assert_reached_anthropic(seen, gateway)

    def test_stream_with_usage(self, openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks):
        mocks.anthropic.behave(deltas=4)
        mark = mocks.anthropic.mark()
        stream = openai_client.chat.completions.create(
            model=CLAUDE_MODEL,
            messages=[{"role": "user", "content": "Hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        with stream:
            chunks = list(stream)
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == MOCK_TEXT
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
        assert chunks[-1].choices == []
        assert chunks[-1].usage.prompt_tokens == 12
        assert chunks[-1].usage.completion_tokens == 5
        [seen] = posts(mocks.anthropic.since(mark))
        assert_reached_anthropic(seen, gateway)
        assert seen["body"]["stream"] is True

    @pytest.mark.parametrize("streaming", [False, True], ids=["create", "stream"])
    def test_tool_round_trip(self, openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks, streaming: bool):
        mark = mocks.anthropic.mark()
        messages: list[dict] = [{"role": "user", "content": "What's the weather in Paris?"}]

        def ask() -> tuple[str | None, str | None, list[dict]]:
            """(finish_reason, content, tool_calls as dicts) for one turn."""
            kw = dict(model=CLAUDE_MODEL, messages=messages, tools=[WEATHER_FUNCTION], max_tokens=200)
            if not streaming:
                c = openai_client.chat.completions.create(**kw).choices[0]
                calls = [tc.model_dump() for tc in c.message.tool_calls or []]
                return c.finish_reason, c.message.content, calls
            content, finish, calls = "", None, {}
            with openai_client.chat.completions.create(**kw, stream=True) as s:
                for chunk in s:
                    for ch in chunk.choices:
                        content += ch.delta.content or ""
                        finish = ch.finish_reason or finish
                        for tc in ch.delta.tool_calls or []:
                            acc = calls.setdefault(
                                tc.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
                            )
                            acc["id"] = tc.id or acc["id"]
                            if tc.function:
                                acc["function"]["name"] += tc.function.name or ""
                                acc["function"]["arguments"] += tc.function.arguments or ""
            return finish, content, [calls[i] for i in sorted(calls)]

        finish, _, calls = ask()
        assert finish == "tool_calls"
        [call] = calls
        assert call["id"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}

        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT})
        finish, content, calls = ask()
        assert finish == "stop"
        assert calls == []
        assert content == TOOL_ANSWER

        # What the Anthropic upstream got: the tool in its shape, then a tool_use /
        # tool_result pair with matching ids.
        first, second = posts(mocks.anthropic.since(mark))
        assert first["body"]["tools"] == [WEATHER_TOOL]
        msgs = second["body"]["messages"]
        assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
        [tool_use] = [b for b in msgs[1]["content"] if b["type"] == "tool_use"]
        assert (tool_use["id"], tool_use["name"], tool_use["input"]) == (call["id"], "get_weather", {"city": "Paris"})
        [tool_result] = [b for b in msgs[2]["content"] if b["type"] == "tool_result"]
        assert tool_result["tool_use_id"] == call["id"]
        assert text_of(tool_result["content"]) == TOOL_RESULT

    def test_image(self, openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks):
        mark = mocks.anthropic.mark()
        r = openai_client.chat.completions.create(
            model=CLAUDE_MODEL,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX_B64}"}},
                    ],
                }
            ],
        )
        assert r.choices[0].message.content == MOCK_TEXT
        [seen] = posts(mocks.anthropic.since(mark))
        content = seen["body"]["messages"][0]["content"]
        assert {"type": "text", "text": "What is in this image?"} in content
        [image] = [b for b in content if b["type"] == "image"]
        assert image["source"] == {"type": "base64", "media_type": "image/png", "data": PNG_1PX_B64}

    def test_json_schema_response_format(self, openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks):
        mark = mocks.anthropic.mark()
        r = openai_client.chat.completions.create(
            model=CLAUDE_MODEL,
            messages=[{"role": "user", "content": "Weather in Paris as JSON"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "weather", "schema": WEATHER_SCHEMA, "strict": True},
            },
        )
        [seen] = posts(mocks.anthropic.since(mark))
        body = seen["body"]
        # Either Anthropic's native structured output, or (what works on every Claude
        # model) one forced tool whose input schema is the requested schema.
        fmt = (body.get("output_config") or {}).get("format")
        if fmt:
            assert fmt == {"type": "json_schema", "schema": WEATHER_SCHEMA}
        else:
            assert body["tool_choice"]["type"] == "tool"
            [tool] = [t for t in body["tools"] if t["name"] == body["tool_choice"]["name"]]
            assert tool["input_schema"] == WEATHER_SCHEMA
        # The answer comes back as JSON text in `content`, with no tool call showing.
        assert json.loads(r.choices[0].message.content)["city"] == "Paris"
        assert not r.choices[0].message.tool_calls

    def test_json_object_response_format(self, openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks):
        """`json_object` has no exact Anthropic twin: the gateway must still ask for
        JSON, either as a structured-output format or in the system prompt."""
        mark = mocks.anthropic.mark()
        r = openai_client.chat.completions.create(
            model=CLAUDE_MODEL,
            messages=[{"role": "user", "content": "Weather in Paris as JSON"}],
            response_format={"type": "json_object"},
        )
        assert r.choices[0].message.content is not None
        [seen] = posts(mocks.anthropic.since(mark))
        body = seen["body"]
        fmt = (body.get("output_config") or {}).get("format")
        forced = (body.get("tool_choice") or {}).get("type") == "tool"
        assert (fmt and fmt.get("type") == "json_schema") or forced or "json" in text_of(body.get("system")).lower(), body
        assert isinstance(json.loads(r.choices[0].message.content), dict)

    def test_upstream_429_is_rate_limit_error(self, openai_client: openai.OpenAI, mocks: Mocks):
        msg = "Number of request tokens has exceeded your per-minute rate limit"
        mocks.anthropic.behave(fail_with=(429, anthropic_error_body("rate_limit_error", msg)))
        with pytest.raises(openai.RateLimitError) as e:
            openai_client.chat.completions.create(model=CLAUDE_MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 429
        assert msg in e.value.body["message"]  # in OpenAI's error shape

    def test_upstream_400_is_bad_request_error(self, openai_client: openai.OpenAI, mocks: Mocks):
        msg = "messages.0.content: image too large"
        mocks.anthropic.behave(fail_with=(400, anthropic_error_body("invalid_request_error", msg)))
        with pytest.raises(openai.BadRequestError) as e:
            openai_client.chat.completions.create(model=CLAUDE_MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 400
        assert msg in e.value.body["message"]

    def test_bad_gateway_key_is_authentication_error(self, gateway: Gateway, mocks: Mocks):
        mark = mocks.anthropic.mark()
        with openai.OpenAI(
            base_url=gateway.url + "/v1", api_key="lgw_not_a_real_key", timeout=HTTP_TIMEOUT, max_retries=0
        ) as c:
            with pytest.raises(openai.AuthenticationError):
                c.chat.completions.create(model=CLAUDE_MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert mocks.anthropic.since(mark) == []

    def test_unknown_model_is_not_found_error(self, openai_client: openai.OpenAI):
        with pytest.raises(openai.NotFoundError) as e:
            openai_client.chat.completions.create(
                model="no-such-model-e2e", messages=[{"role": "user", "content": "Hi"}]
            )
        assert "no-such-model-e2e" in e.value.body["message"]


# =========================================================================== Anthropic SDK → OpenAI upstream


class TestAnthropicClientOpenAIUpstream:
    def test_create_via_route(self, anthropic_to_openai: anthropic.Anthropic, gateway_to_openai: Gateway, mocks: Mocks):
        mark = mocks.openai.mark()
        msg = anthropic_to_openai.messages.create(
            model=CLAUDE_MODEL,
            max_tokens=100,
            system="Be brief.",
            messages=[{"role": "user", "content": "Hello"}],
            stop_sequences=["STOP"],
        )
        assert msg.type == "message"
        assert msg.role == "assistant"
        assert msg.model == CLAUDE_MODEL  # the client's name for it, not the route's target
        assert [b.type for b in msg.content] == ["text"]
        assert msg.content[0].text == MOCK_TEXT
        assert msg.stop_reason == "end_turn"
        assert (msg.usage.input_tokens, msg.usage.output_tokens) == (12, 5)

        [seen] = posts(mocks.openai.since(mark))
        assert_reached_openai(seen, gateway_to_openai)
        body = seen["body"]
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert text_of(body["messages"][0]["content"]) == "Be brief."
        assert text_of(body["messages"][1]["content"]) == "Hello"
        assert (body.get("max_completion_tokens") or body.get("max_tokens")) == 100
        assert body["stop"] == ["STOP"]

    def test_gpt_model_by_family(self, anthropic_client: anthropic.Anthropic, gateway: Gateway, mocks: Mocks):
        """No route needed: a `gpt-*` model asked for in the Anthropic API."""
        mark = mocks.openai.mark()
        msg = anthropic_client.messages.create(
            model="gpt-4o-mini", max_tokens=50, messages=[{"role": "user", "content": "Hello"}]
        )
        assert msg.content[0].text == MOCK_TEXT
        [seen] = posts(mocks.openai.since(mark))
        assert_reached_openai(seen, gateway, model="gpt-4o-mini")

    def test_stream(self, anthropic_to_openai: anthropic.Anthropic, gateway_to_openai: Gateway, mocks: Mocks):
        mocks.openai.behave(deltas=4)
        mark = mocks.openai.mark()
        with anthropic_to_openai.messages.stream(
            model=CLAUDE_MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hello"}]
        ) as stream:
            pieces = list(stream.text_stream)
            final = stream.get_final_message()
        assert "".join(pieces) == MOCK_TEXT
        assert len(pieces) == 4
        assert final.content[0].text == MOCK_TEXT
        assert final.stop_reason == "end_turn"
        assert final.usage.output_tokens == 5
        [seen] = posts(mocks.openai.since(mark))
        assert_reached_openai(seen, gateway_to_openai)
        assert seen["body"]["stream"] is True

    @pytest.mark.parametrize("streaming", [False, True], ids=["create", "stream"])
    def test_tool_round_trip(
        self, anthropic_to_openai: anthropic.Anthropic, gateway_to_openai: Gateway, mocks: Mocks, streaming: bool
    ):
        mark = mocks.openai.mark()
        messages: list[dict] = [{"role": "user", "content": "What's the weather in Paris?"}]

        def ask():
            kw = dict(model=CLAUDE_MODEL, max_tokens=200, tools=[WEATHER_TOOL], messages=messages)
            if not streaming:
                return anthropic_to_openai.messages.create(**kw)
            with anthropic_to_openai.messages.stream(**kw) as s:
                return s.get_final_message()

        first = ask()
        assert first.stop_reason == "tool_use"
        [tool_use] = [b for b in first.content if b.type == "tool_use"]
        assert tool_use.name == "get_weather"
        assert tool_use.input == {"city": "Paris"}
        assert tool_use.id

        messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
        messages.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": TOOL_RESULT}]}
        )
        final = ask()
        assert final.stop_reason == "end_turn"
        assert final.content[0].text == TOOL_ANSWER

        # The OpenAI upstream got a function tool, then tool_calls / role:tool with matching ids.
        one, two = posts(mocks.openai.since(mark))
        [fn] = one["body"]["tools"]
        assert fn["type"] == "function"
        assert fn["function"]["name"] == "get_weather"
        assert fn["function"]["parameters"] == WEATHER_SCHEMA
        msgs = two["body"]["messages"]
        assistant = next(m for m in msgs if m["role"] == "assistant")
        [call] = assistant["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
        [tool_msg] = [m for m in msgs if m["role"] == "tool"]
        assert tool_msg["tool_call_id"] == call["id"]
        assert text_of(tool_msg["content"]) == TOOL_RESULT

    def test_image(self, anthropic_to_openai: anthropic.Anthropic, mocks: Mocks):
        mark = mocks.openai.mark()
        msg = anthropic_to_openai.messages.create(
            model=CLAUDE_MODEL,
            max_tokens=50,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1PX_B64}},
                        {"type": "text", "text": "What is in this image?"},
                    ],
                }
            ],
        )
        assert msg.content[0].text == MOCK_TEXT
        [seen] = posts(mocks.openai.since(mark))
        parts = seen["body"]["messages"][-1]["content"]
        [image] = [p for p in parts if p["type"] == "image_url"]
        url = image["image_url"]["url"]
        assert url.startswith("data:image/png;base64,")
        assert base64.b64decode(url.split(",", 1)[1]) == base64.b64decode(PNG_1PX_B64)
        assert {"type": "text", "text": "What is in this image?"} in parts

    def test_json_output_format(self, anthropic_to_openai: anthropic.Anthropic, mocks: Mocks):
        mark = mocks.openai.mark()
        anthropic_to_openai.messages.create(
            model=CLAUDE_MODEL,
            max_tokens=100,
            messages=[{"role": "user", "content": "Weather in Paris as JSON"}],
            output_config={"format": {"type": "json_schema", "schema": WEATHER_SCHEMA}},
        )
        [seen] = posts(mocks.openai.since(mark))
        rf = seen["body"]["response_format"]
        assert rf["type"] == "json_schema"
        assert rf["json_schema"]["schema"] == WEATHER_SCHEMA
        assert rf["json_schema"]["name"]

    def test_count_tokens(self, anthropic_to_openai: anthropic.Anthropic):
        """The OpenAI API has no token counter: the gateway estimates."""
        r = anthropic_to_openai.messages.count_tokens(
            model=CLAUDE_MODEL, messages=[{"role": "user", "content": "Hello, world"}]
        )
        assert r.input_tokens > 0

    @pytest.mark.parametrize("streaming", [False, True], ids=["create", "stream"])
    def test_upstream_429_is_rate_limit_error(
        self, anthropic_to_openai: anthropic.Anthropic, mocks: Mocks, streaming: bool
    ):
        msg = "Rate limit reached for gpt-4o on requests per min (RPM): Limit 3, Used 3."
        mocks.openai.behave(fail_with=(429, openai_error_body("requests", msg, "rate_limit_exceeded")))
        kw = dict(model=CLAUDE_MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
        with pytest.raises(anthropic.RateLimitError) as e:
            if streaming:
                with anthropic_to_openai.messages.stream(**kw) as s:
                    s.get_final_message()
            else:
                anthropic_to_openai.messages.create(**kw)
        assert e.value.status_code == 429
        assert e.value.body["type"] == "error"
        assert e.value.body["error"]["type"] == "rate_limit_error"
        assert msg in e.value.body["error"]["message"]

    def test_upstream_401_is_not_the_clients_fault(self, anthropic_to_openai: anthropic.Anthropic, mocks: Mocks):
        """An upstream refusing the *upstream* key must reach the client in Anthropic's
        error shape; the SDK raises an APIStatusError subclass, never a parse error."""
        mocks.openai.behave(
            fail_with=(401, openai_error_body("invalid_request_error", "Incorrect API key provided", "invalid_api_key"))
        )
        with pytest.raises(anthropic.APIStatusError) as e:
            anthropic_to_openai.messages.create(
                model=CLAUDE_MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
            )
        assert e.value.body["type"] == "error"
        assert e.value.body["error"]["type"] in {"authentication_error", "api_error", "permission_error"}

    def test_bad_gateway_key_is_authentication_error(self, gateway_to_openai: Gateway, mocks: Mocks):
        mark = mocks.openai.mark()
        with anthropic.Anthropic(
            base_url=gateway_to_openai.url, api_key="lgw_not_a_real_key", timeout=HTTP_TIMEOUT, max_retries=0
        ) as c:
            with pytest.raises(anthropic.AuthenticationError):
                c.messages.create(model=CLAUDE_MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
        assert mocks.openai.since(mark) == []

    def test_unknown_model_is_not_found_error(self, anthropic_to_openai: anthropic.Anthropic):
        with pytest.raises(anthropic.NotFoundError) as e:
            anthropic_to_openai.messages.create(
                model="no-such-model-e2e", max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
            )
        assert e.value.body["error"]["type"] == "not_found_error"


# =========================================================================== Claude Code → OpenAI upstream


def test_claude_code_through_openai_upstream(gateway_to_openai: Gateway, mocks: Mocks, workdir: Path):
    """Claude Code's full request (system blocks, role:system messages, thinking,
    context management, dozens of tools, streaming) converted to Chat Completions,
    and the OpenAI mock's tool call converted back so Claude Code runs Bash."""
    mark = mocks.openai.mark()
    run = run_claude(gateway_to_openai, workdir / "claude-to-openai", "--allowedTools", "Bash")

    assert run.returncode == 0, run
    result = run.result
    assert result["is_error"] is False, run
    assert MARKER in result["result"], run
    assert run.proxy_attempts == [], f"Claude Code tried to reach other hosts: {run.proxy_attempts}"

    seen = posts(mocks.openai.since(mark))
    assert seen, "no request reached the OpenAI upstream"
    for req in seen:
        assert_reached_openai(req, gateway_to_openai)
        assert req["body"]["stream"] is True
        assert "?beta=true" not in req["path"]
    assert "Bash" in [t["function"]["name"] for t in seen[0]["body"]["tools"]]
    last = seen[-1]["body"]["messages"]
    [call] = [c for m in last if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    assert call["function"]["name"] == "Bash"
    assert json.loads(call["function"]["arguments"])["command"] == f"echo {MARKER}"
    [tool_msg] = [m for m in last if m["role"] == "tool"]
    assert tool_msg["tool_call_id"] == call["id"]
    assert MARKER in text_of(tool_msg["content"])
