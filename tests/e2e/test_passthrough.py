"""Pass-through: each official SDK talks to the gateway in its own API, and the
gateway forwards to an upstream of the same API (the strict mocks).

What every test pins down, beyond "the SDK got an answer":
- the upstream saw the upstream key, never the gateway key, and only in its own
  auth header (the Anthropic mock refuses `Authorization`, the OpenAI one `x-api-key`);
- the request body arrived as the client sent it, and the client's
  `anthropic-version` / `anthropic-beta` headers and query string came along;
- errors reach the SDK as the right exception class with the upstream's message.
"""

from __future__ import annotations

import json
import time

import anthropic
import openai
import pytest
from anthropic._constants import ANTHROPIC_API_VERSION  # what the SDK sends

from conftest import ANTHROPIC_UPSTREAM_KEY, HTTP_TIMEOUT, OPENAI_UPSTREAM_KEY, Gateway, Mocks
from payloads import (
    CLAUDE_MODEL,
    MOCK_TEXT,
    OPENAI_MODEL,
    TOOL_ANSWER,
    TOOL_RESULT,
    WEATHER_FUNCTION,
    WEATHER_TOOL,
    anthropic_error_body,
    openai_error_body,
)


def assert_anthropic_upstream_auth(req: dict, gateway: Gateway) -> None:
    h = req["headers"]
    assert h["x-api-key"] == ANTHROPIC_UPSTREAM_KEY
    assert "authorization" not in h
    assert h["anthropic-version"] == ANTHROPIC_API_VERSION  # the client's, unchanged
    assert gateway.key not in json.dumps(h), "the gateway key leaked upstream"


def assert_openai_upstream_auth(req: dict, gateway: Gateway) -> None:
    h = req["headers"]
    assert h["authorization"] == f"Bearer {OPENAI_UPSTREAM_KEY}"
    assert "x-api-key" not in h
    assert gateway.key not in json.dumps(h), "the gateway key leaked upstream"


# =========================================================================== OpenAI SDK


class TestOpenAI:
    def test_chat_completion(self, openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks):
        mark = mocks.openai.mark()
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
        r = openai_client.chat.completions.create(model=OPENAI_MODEL, messages=messages, temperature=0.2, user="e2e")

        assert r.object == "chat.completion"
        assert r.model == OPENAI_MODEL
        assert r.choices[0].message.role == "assistant"
        assert r.choices[0].message.content == MOCK_TEXT
        assert r.choices[0].finish_reason == "stop"
        assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (12, 5, 17)
        # The gateway's x-request-id replaces the upstream's (which goes in its log line).
        assert r._request_id.startswith("req_") and r._request_id != "req_mock_123"

        [seen] = mocks.openai.since(mark)
        assert (seen["method"], seen["path"]) == ("POST", "/v1/chat/completions")
        assert_openai_upstream_auth(seen, gateway)
        assert seen["body"] == {"model": OPENAI_MODEL, "messages": messages, "temperature": 0.2, "user": "e2e"}

    def test_stream_with_usage(self, openai_client: openai.OpenAI, gateway: Gateway, mocks: Mocks):
        mocks.openai.behave(deltas=4)
        mark = mocks.openai.mark()
        stream = openai_client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[{"role": "user", "content": "Hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        with stream:
            chunks = list(stream)

        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == MOCK_TEXT
        assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 4
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
        # With include_usage the last chunk has no choices and carries the usage.
        assert chunks[-1].choices == []
        assert chunks[-1].usage.total_tokens == 17

        [seen] = mocks.openai.since(mark)
        assert_openai_upstream_auth(seen, gateway)
        assert seen["body"]["stream"] is True
        assert seen["body"]["stream_options"] == {"include_usage": True}

    def test_stream_broken_upstream_is_an_error(self, openai_client: openai.OpenAI, mocks: Mocks):
        """The upstream connection dies mid-stream: the SDK must raise, not end quietly."""
        mocks.openai.behave(deltas=6, break_after=3)  # role chunk + 2 text chunks
        pieces: list[str] = []
        with pytest.raises(openai.APIError) as e:
            stream = openai_client.chat.completions.create(
                model=OPENAI_MODEL, messages=[{"role": "user", "content": "Hello"}], stream=True
            )
            with stream:
                for c in stream:
                    pieces.extend(ch.delta.content or "" for ch in c.choices)
        assert "".join(pieces) == MOCK_TEXT[: len("".join(pieces))] and pieces, pieces
        assert "upstream" in str(e.value).lower(), e.value

    def test_tool_round_trip(self, openai_client: openai.OpenAI, mocks: Mocks):
        messages: list[dict] = [{"role": "user", "content": "What's the weather in Paris?"}]
        first = openai_client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_FUNCTION])
        assert first.choices[0].finish_reason == "tool_calls"
        [call] = first.choices[0].message.tool_calls
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}

        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT})
        final = openai_client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_FUNCTION])
        assert final.choices[0].finish_reason == "stop"
        assert final.choices[0].message.content == TOOL_ANSWER

    def test_models_list(self, openai_client: openai.OpenAI):
        ids = [m.id for m in openai_client.models.list()]
        # Both upstreams' catalogs, in the OpenAI shape.
        assert "gpt-mock-1" in ids
        assert "claude-mock-1" in ids

    def test_bad_gateway_key_is_authentication_error(self, gateway: Gateway, mocks: Mocks):
        mark = mocks.openai.mark()
        with openai.OpenAI(
            base_url=gateway.url + "/v1", api_key="lgw_not_a_real_key", timeout=HTTP_TIMEOUT, max_retries=0
        ) as c:
            with pytest.raises(openai.AuthenticationError) as e:
                c.chat.completions.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 401
        assert e.value.code == "invalid_api_key"
        assert mocks.openai.since(mark) == [], "a refused request must not reach the upstream"

    def test_upstream_429_is_rate_limit_error(self, openai_client: openai.OpenAI, mocks: Mocks):
        msg = "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3."
        mocks.openai.behave(fail_with=(429, openai_error_body("requests", msg, "rate_limit_exceeded")))
        with pytest.raises(openai.RateLimitError) as e:
            openai_client.chat.completions.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 429
        assert e.value.body["message"] == msg  # `body` is the `error` object
        assert e.value.code == "rate_limit_exceeded"
        assert e.value.response.headers["retry-after"] == "1"

    def test_unknown_model_is_not_found_error(self, openai_client: openai.OpenAI, mocks: Mocks):
        mark = mocks.openai.mark()
        with pytest.raises(openai.NotFoundError) as e:
            openai_client.chat.completions.create(
                model="no-such-model-e2e", messages=[{"role": "user", "content": "Hi"}]
            )
        assert e.value.status_code == 404
        assert "no-such-model-e2e" in e.value.message
        assert e.value.code == "model_not_found"
        assert mocks.openai.since(mark) == []

    def test_upstream_400_is_bad_request_error(self, openai_client: openai.OpenAI, mocks: Mocks):
        # The strict mock refuses an empty `messages`; the gateway passes its 400 on.
        with pytest.raises(openai.BadRequestError) as e:
            openai_client.chat.completions.create(model=OPENAI_MODEL, messages=[])
        assert e.value.status_code == 400
        assert "messages" in e.value.message

    def test_missing_model_is_bad_request_error(self, openai_client: openai.OpenAI, mocks: Mocks):
        mark = mocks.openai.mark()
        with pytest.raises(openai.BadRequestError) as e:
            openai_client.chat.completions.create(model="", messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 400
        assert "model" in e.value.message
        assert mocks.openai.since(mark) == []


# =========================================================================== Anthropic SDK


class TestAnthropic:
    def test_messages_create(self, anthropic_client: anthropic.Anthropic, gateway: Gateway, mocks: Mocks):
        mark = mocks.anthropic.mark()
        raw = anthropic_client.messages.with_raw_response.create(
            model=CLAUDE_MODEL,
            max_tokens=256,
            system="Be brief.",
            messages=[{"role": "user", "content": "Hello"}],
            metadata={"user_id": "e2e"},
        )
        msg = raw.parse()
        assert msg.type == "message"
        assert msg.role == "assistant"
        assert msg.model == CLAUDE_MODEL
        assert [b.type for b in msg.content] == ["text"]
        assert msg.content[0].text == MOCK_TEXT
        assert msg.stop_reason == "end_turn"
        assert (msg.usage.input_tokens, msg.usage.output_tokens) == (12, 5)
        assert msg._request_id == "req_mock_123"  # upstream's request-id header
        assert raw.headers["anthropic-ratelimit-requests-remaining"] == "99"
        assert raw.headers.get("x-request-id", "").startswith("req_")

        [seen] = mocks.anthropic.since(mark)
        assert (seen["method"], seen["path"]) == ("POST", "/v1/messages")
        assert_anthropic_upstream_auth(seen, gateway)
        assert seen["body"] == {
            "model": CLAUDE_MODEL,
            "max_tokens": 256,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hello"}],
            "metadata": {"user_id": "e2e"},
        }

    def test_beta_header_and_query_pass_through(
        self, anthropic_client: anthropic.Anthropic, gateway: Gateway, mocks: Mocks
    ):
        mark = mocks.anthropic.mark()
        msg = anthropic_client.beta.messages.create(
            model=CLAUDE_MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "Hello"}],
            betas=["interleaved-thinking-2025-05-14", "context-management-2025-06-27"],
            extra_query={"beta": "true"},  # as Claude Code sends it
        )
        assert msg.content[0].text == MOCK_TEXT
        [seen] = mocks.anthropic.since(mark)
        assert seen["path"] == "/v1/messages?beta=true"  # the query string survives
        assert seen["headers"]["anthropic-beta"] == "interleaved-thinking-2025-05-14,context-management-2025-06-27"
        assert_anthropic_upstream_auth(seen, gateway)

    def test_bearer_auth_token(self, gateway: Gateway, mocks: Mocks):
        """`auth_token=` (Authorization: Bearer, as Claude Code sends it) works too, and
        upstream still gets only x-api-key."""
        mark = mocks.anthropic.mark()
        with anthropic.Anthropic(
            base_url=gateway.url, auth_token=gateway.key, timeout=HTTP_TIMEOUT, max_retries=0
        ) as c:
            msg = c.messages.create(
                model="claude-haiku-5-5", max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
            )
        assert msg.content[0].text == MOCK_TEXT
        [seen] = mocks.anthropic.since(mark)
        assert_anthropic_upstream_auth(seen, gateway)

    def test_stream(self, anthropic_client: anthropic.Anthropic, gateway: Gateway, mocks: Mocks):
        # 5 deltas, 150 ms apart: the text must arrive piece by piece, not at the end.
        mocks.anthropic.behave(deltas=5, gap_ms=150)
        mark = mocks.anthropic.mark()
        arrivals: list[float] = []
        pieces: list[str] = []
        t0 = time.monotonic()
        with anthropic_client.messages.stream(
            model=CLAUDE_MODEL, max_tokens=128, messages=[{"role": "user", "content": "Hello"}]
        ) as stream:
            for piece in stream.text_stream:
                arrivals.append(time.monotonic() - t0)
                pieces.append(piece)
            final = stream.get_final_message()
        total = time.monotonic() - t0

        assert "".join(pieces) == MOCK_TEXT
        assert len(pieces) == 5
        assert final.content[0].text == MOCK_TEXT
        assert final.stop_reason == "end_turn"
        assert final.usage.output_tokens == 5
        # The first delta came well before the stream ended: the gateway does not buffer.
        assert arrivals[0] < total - 0.4, f"first text at {arrivals[0]:.2f}s of {total:.2f}s"

        [seen] = mocks.anthropic.since(mark)
        assert seen["body"]["stream"] is True
        assert_anthropic_upstream_auth(seen, gateway)

    def test_stream_broken_upstream_is_an_error(self, anthropic_client: anthropic.Anthropic, mocks: Mocks):
        """The upstream connection dies mid-stream: the SDK must raise (the gateway ends
        the stream with an `error` event), not return a truncated message as if complete."""
        mocks.anthropic.behave(deltas=6, break_after=5)  # message_start, ping, block start, 2 deltas
        pieces: list[str] = []
        with pytest.raises(anthropic.APIError) as e:
            with anthropic_client.messages.stream(
                model=CLAUDE_MODEL, max_tokens=128, messages=[{"role": "user", "content": "Hello"}]
            ) as stream:
                pieces.extend(stream.text_stream)
        assert "".join(pieces) == MOCK_TEXT[: len("".join(pieces))] and pieces, pieces
        assert "upstream" in str(e.value).lower(), e.value

    def test_count_tokens(self, anthropic_client: anthropic.Anthropic, gateway: Gateway, mocks: Mocks):
        mark = mocks.anthropic.mark()
        r = anthropic_client.messages.count_tokens(model=CLAUDE_MODEL, messages=[{"role": "user", "content": "Hello"}])
        assert r.input_tokens == 42  # the mock's count: proof it was forwarded, not estimated
        [seen] = mocks.anthropic.since(mark)
        assert seen["path"] == "/v1/messages/count_tokens"
        assert_anthropic_upstream_auth(seen, gateway)

    def test_models_list(self, anthropic_client: anthropic.Anthropic):
        ids = [m.id for m in anthropic_client.models.list()]
        assert "claude-mock-1" in ids
        assert "gpt-mock-1" in ids

    @pytest.mark.parametrize("streaming", [False, True], ids=["create", "stream"])
    def test_tool_round_trip(self, anthropic_client: anthropic.Anthropic, mocks: Mocks, streaming: bool):
        messages: list[dict] = [{"role": "user", "content": "What's the weather in Paris?"}]

        def ask():
            kw = dict(model=CLAUDE_MODEL, max_tokens=256, tools=[WEATHER_TOOL], messages=messages)
            if not streaming:
                return anthropic_client.messages.create(**kw)
            with anthropic_client.messages.stream(**kw) as s:
                return s.get_final_message()

        first = ask()
        assert first.stop_reason == "tool_use"
        [tool_use] = [b for b in first.content if b.type == "tool_use"]
        assert tool_use.name == "get_weather"
        assert tool_use.input == {"city": "Paris"}

        messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
        messages.append(
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": TOOL_RESULT}]}
        )
        final = ask()
        assert final.stop_reason == "end_turn"
        assert final.content[0].text == TOOL_ANSWER

    def test_bad_gateway_key_is_authentication_error(self, gateway: Gateway, mocks: Mocks):
        mark = mocks.anthropic.mark()
        with anthropic.Anthropic(
            base_url=gateway.url, api_key="lgw_not_a_real_key", timeout=HTTP_TIMEOUT, max_retries=0
        ) as c:
            with pytest.raises(anthropic.AuthenticationError) as e:
                c.messages.create(model=CLAUDE_MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 401
        assert e.value.body["error"]["type"] == "authentication_error"
        assert mocks.anthropic.since(mark) == [], "a refused request must not reach the upstream"

    def test_read_only_key_is_permission_denied(self, gateway: Gateway, mocks: Mocks):
        """A key without `write` may count tokens but not run inference (403)."""
        key = gateway.add_key("e2e-read-only", permissions="read")
        with anthropic.Anthropic(base_url=gateway.url, api_key=key, timeout=HTTP_TIMEOUT, max_retries=0) as c:
            assert (
                c.messages.count_tokens(model=CLAUDE_MODEL, messages=[{"role": "user", "content": "Hi"}]).input_tokens
                == 42
            )
            mark = mocks.anthropic.mark()
            with pytest.raises(anthropic.PermissionDeniedError) as e:
                c.messages.create(model=CLAUDE_MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 403
        assert e.value.body["error"]["type"] == "permission_error"
        assert mocks.anthropic.since(mark) == []

    @pytest.mark.parametrize("streaming", [False, True], ids=["create", "stream"])
    def test_upstream_429_is_rate_limit_error(
        self, anthropic_client: anthropic.Anthropic, mocks: Mocks, streaming: bool
    ):
        msg = "Number of request tokens has exceeded your per-minute rate limit"
        mocks.anthropic.behave(fail_with=(429, anthropic_error_body("rate_limit_error", msg)))
        with pytest.raises(anthropic.RateLimitError) as e:
            kw = dict(model=CLAUDE_MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
            if streaming:
                with anthropic_client.messages.stream(**kw) as s:
                    s.get_final_message()
            else:
                anthropic_client.messages.create(**kw)
        assert e.value.status_code == 429
        assert e.value.body["error"] == {"type": "rate_limit_error", "message": msg}
        assert msg in str(e.value)
        assert e.value.response.headers["retry-after"] == "1"

    def test_upstream_529_is_overloaded_error(self, anthropic_client: anthropic.Anthropic, mocks: Mocks):
        mocks.anthropic.behave(fail_with=(529, anthropic_error_body("overloaded_error", "Overloaded")))
        with pytest.raises(anthropic.OverloadedError) as e:
            anthropic_client.messages.create(
                model=CLAUDE_MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
            )
        assert e.value.status_code == 529

    def test_unknown_model_is_not_found_error(self, anthropic_client: anthropic.Anthropic, mocks: Mocks):
        mark = mocks.anthropic.mark()
        with pytest.raises(anthropic.NotFoundError) as e:
            anthropic_client.messages.create(
                model="no-such-model-e2e", max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
            )
        assert e.value.status_code == 404
        assert e.value.body["error"]["type"] == "not_found_error"
        assert "no-such-model-e2e" in e.value.body["error"]["message"]
        assert mocks.anthropic.since(mark) == []

    def test_upstream_400_is_bad_request_error(self, anthropic_client: anthropic.Anthropic, mocks: Mocks):
        # The strict mock refuses an empty `messages`; the gateway passes its 400 on.
        mark = mocks.anthropic.mark()
        with pytest.raises(anthropic.BadRequestError) as e:
            anthropic_client.messages.create(model=CLAUDE_MODEL, max_tokens=16, messages=[])
        assert e.value.status_code == 400
        assert e.value.body["error"]["type"] == "invalid_request_error"
        assert "messages" in e.value.body["error"]["message"]
        assert len(mocks.anthropic.since(mark)) == 1

    def test_missing_model_is_bad_request_error(self, anthropic_client: anthropic.Anthropic, mocks: Mocks):
        mark = mocks.anthropic.mark()
        with pytest.raises(anthropic.BadRequestError) as e:
            anthropic_client.messages.create(model="", max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
        assert e.value.status_code == 400
        assert e.value.body["error"]["type"] == "invalid_request_error"
        assert mocks.anthropic.since(mark) == []


# =========================================================================== the gateway's own view


def _upstream_requests(status: dict) -> dict[str, int]:
    return {u["name"]: u.get("stats", u).get("requests", 0) for u in status["upstreams"]}


def test_status_counts_the_traffic(
    anthropic_client: anthropic.Anthropic, openai_client: openai.OpenAI, gateway: Gateway
):
    """`llm-gateway status --json` (which asks the running server) counts the requests
    each upstream served, and never shows an upstream key."""
    before = _upstream_requests(gateway.cli("status"))
    anthropic_client.messages.create(model=CLAUDE_MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
    openai_client.chat.completions.create(model=OPENAI_MODEL, messages=[{"role": "user", "content": "Hi"}])
    status = gateway.cli("status")
    after = _upstream_requests(status)
    assert after["ant"] == before["ant"] + 1, (before, after)
    assert after["oai"] == before["oai"] + 1, (before, after)
    text = json.dumps(status)
    assert ANTHROPIC_UPSTREAM_KEY not in text and OPENAI_UPSTREAM_KEY not in text, "status must not show upstream keys"


def test_health_probes_every_upstream(gateway: Gateway):
    """`llm-gateway health --json` exits 0 and finds the four mocks reachable (the
    Responses one answers `/v1/models` like OpenAI's, the Gemini one `/v1beta/models`)."""
    health = gateway.cli("health")
    assert health["healthy"] is True, health
    assert {u["name"]: u["reachable"] for u in health["upstreams"]} == {"ant": True, "oai": True, "resp": True, "gem": True}
