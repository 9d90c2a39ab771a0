"""The official OpenAI SDK's Responses API (`client.responses.create` / `.stream`)
through the gateway, converted to the Anthropic mock (`claude-*`) and to the Chat
Completions mock (`gpt-*`).

Each test checks what the SDK parsed and, where it matters, what the upstream got in
its own API's shape (the mocks validate strictly, as the real APIs do).
"""

from __future__ import annotations

import json

import openai
import pytest

from conftest import Gateway, Mocks
from payloads import (
    CLAUDE_MODEL,
    MOCK_TEXT,
    PNG_1PX_B64,
    TOOL_ANSWER,
    TOOL_RESULT,
    WEATHER_SCHEMA,
    anthropic_error_body,
)

pytestmark = pytest.mark.responses

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city.",
    "parameters": WEATHER_SCHEMA,
    "strict": False,
}
UPSTREAMS = [pytest.param(CLAUDE_MODEL, "anthropic", id="to-anthropic"), pytest.param("gpt-4o", "openai", id="to-chat")]


@pytest.mark.parametrize(("model", "upstream"), UPSTREAMS)
def test_create(openai_client: openai.OpenAI, mocks: Mocks, model: str, upstream: str):
    mock = getattr(mocks, upstream)
    mark = mock.mark()
    r = openai_client.responses.create(model=model, instructions="Be brief.", input="Say hello", max_output_tokens=200)
    assert r.output_text == MOCK_TEXT
    assert r.status == "completed"
    assert r.model == model
    assert r.id.startswith("resp_")
    assert r.usage is not None and r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    sent = [x for x in mock.since(mark) if x["method"] == "POST"][-1]["body"]
    if upstream == "anthropic":
        assert sent["system"] == "Be brief." and sent["max_tokens"] == 200
    else:
        assert sent["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize(("model", "upstream"), UPSTREAMS)
def test_stream(openai_client: openai.OpenAI, model: str, upstream: str):
    with openai_client.responses.stream(model=model, input="Say hello") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == MOCK_TEXT
    assert final.output_text == MOCK_TEXT
    assert final.status == "completed"
    assert final.usage is not None and final.usage.output_tokens > 0


@pytest.mark.parametrize(("model", "upstream"), UPSTREAMS)
@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
def test_tool_round_trip(openai_client: openai.OpenAI, model: str, upstream: str, streaming: bool):
    history: list = [{"role": "user", "content": "What's the weather in Paris?"}]

    def ask():
        if not streaming:
            return openai_client.responses.create(model=model, input=history, tools=[WEATHER])
        with openai_client.responses.stream(model=model, input=history, tools=[WEATHER]) as s:
            for _ in s:
                pass
            return s.get_final_response()

    first = ask()
    calls = [o for o in first.output if o.type == "function_call"]
    assert len(calls) == 1, first
    assert calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments) == {"city": "Paris"}
    history += [o.model_dump(exclude_none=True) for o in first.output]
    history.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": TOOL_RESULT})
    second = ask()
    assert second.output_text == TOOL_ANSWER


def test_json_schema_to_anthropic(openai_client: openai.OpenAI):
    model = CLAUDE_MODEL
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temperature_c": {"type": "number"}},
        "required": ["city", "temperature_c"],
        "additionalProperties": False,
    }
    r = openai_client.responses.create(
        model=model,
        input="Weather in Paris as JSON",
        text={"format": {"type": "json_schema", "name": "weather", "schema": schema, "strict": True}},
    )
    assert json.loads(r.output_text) == {"city": "Paris", "temperature_c": 21}


def test_image_and_reasoning_to_anthropic(openai_client: openai.OpenAI, mocks: Mocks):
    mark = mocks.anthropic.mark()
    r = openai_client.responses.create(
        model=CLAUDE_MODEL,
        reasoning={"effort": "low"},
        max_output_tokens=4000,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in this picture?"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG_1PX_B64}"},
                ],
            }
        ],
    )
    assert r.output_text == MOCK_TEXT
    sent = [x for x in mocks.anthropic.since(mark) if x["method"] == "POST"][-1]["body"]
    blocks = sent["messages"][0]["content"]
    assert blocks[1]["type"] == "image" and blocks[1]["source"]["data"] == PNG_1PX_B64
    assert sent["thinking"]["type"] == "enabled" and sent["thinking"]["budget_tokens"] >= 1024


def test_previous_response_id(openai_client: openai.OpenAI, mocks: Mocks):
    first = openai_client.responses.create(model=CLAUDE_MODEL, input="My name is Ada.")
    mark = mocks.anthropic.mark()
    second = openai_client.responses.create(model=CLAUDE_MODEL, input="And mine?", previous_response_id=first.id)
    assert second.output_text == MOCK_TEXT
    sent = [x for x in mocks.anthropic.since(mark) if x["method"] == "POST"][-1]["body"]
    assert len(sent["messages"]) == 3
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.responses.create(model=CLAUDE_MODEL, input="x", previous_response_id="resp_unknown")
    assert "resp_unknown" in str(e.value)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, anthropic_error_body("rate_limit_error", "Slow down"), openai.RateLimitError),
        (400, anthropic_error_body("invalid_request_error", "Bad thing"), openai.BadRequestError),
    ],
    ids=["rate-limit", "bad-request"],
)
def test_errors_reach_the_sdk_as_its_own_classes(openai_client, mocks: Mocks, gateway: Gateway, status, body, error):
    # Errors of the Anthropic upstream, for a Responses client, in OpenAI's shape.
    mocks.anthropic.behave(fail_with=(status, body))
    with pytest.raises(error) as e:
        openai_client.responses.create(model=CLAUDE_MODEL, input="hi")
    assert e.value.status_code == status
