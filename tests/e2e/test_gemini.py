"""Gemini through the gateway, end to end:

- the official google-genai SDK (pinned), its base URL at the gateway, on all four
  upstream formats: the Gemini mock (pass-through), and Anthropic, Chat and Responses
  mocks (converted): generate_content, the stream, a manual function-calling round
  trip, a system instruction, count_tokens, and the error classes it raises;
- the real Gemini CLI (pinned) with GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY at the
  gateway, `-p`, running a shell tool and reading its result, on the Gemini mock and on
  the Anthropic mock;
- Claude Code and the OpenAI SDK on a Gemini upstream.

The Gemini mock serves Gemini 3 models strictly: a replayed function call without its
thought signature (or Google's documented skip value) is refused, as the real API does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_cli import MARKER, run_claude
from conftest import GEMINI_UPSTREAM_KEY, HTTP_TIMEOUT, Gateway, Mocks, make_gateway
from gemini_cli import run_gemini

pytestmark = pytest.mark.gemini

genai = pytest.importorskip("google.genai")
from google.genai import errors, types  # noqa: E402

RESULT = "sunny, 21 C"
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city"}},
    "required": ["city"],
}

# A model name per upstream format on the `gateway` fixture (family routing and the
# Responses upstream's --models).
MODELS = {
    "gemini": "gemini-3-pro-preview",
    "anthropic": "claude-sonnet-4-5",
    "chat": "gpt-4o",
    "responses": "gpt-5-codex",
}


def client(gw: Gateway, key: str | None = None) -> genai.Client:
    return genai.Client(
        api_key=key or gw.key,
        http_options=types.HttpOptions(base_url=gw.url, api_version="v1beta", timeout=int(HTTP_TIMEOUT * 1000)),
    )


def mock_for(mocks: Mocks, fmt: str):
    return {"gemini": mocks.gemini, "anthropic": mocks.anthropic, "chat": mocks.openai, "responses": mocks.responses}[
        fmt
    ]


def posts(reqs: list[dict]) -> list[dict]:
    return [r for r in reqs if r["method"] == "POST"]


def weather_config(**extra) -> types.GenerateContentConfig:
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather", description="Weather of a city", parameters_json_schema=WEATHER
            )
        ]
    )
    return types.GenerateContentConfig(
        tools=[tool],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        **extra,
    )


@pytest.mark.parametrize("fmt", list(MODELS))
def test_generate_and_stream(gateway: Gateway, mocks: Mocks, fmt: str):
    c = client(gateway)
    model = MODELS[fmt]
    mock = mock_for(mocks, fmt)
    mark = mock.mark()
    config = types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=200, temperature=0.2)
    r = c.models.generate_content(model=model, contents="Hello", config=config)
    assert r.text and "Hello from the mock upstream" in r.text, r
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.usage_metadata.prompt_token_count > 0 and r.usage_metadata.candidates_token_count > 0
    seen = posts(mock.since(mark))
    assert len(seen) == 1, seen
    body = seen[0]["body"]
    # The system instruction reached the upstream in its own format.
    assert "Be brief." in json.dumps(body), body

    chunks = list(c.models.generate_content_stream(model=model, contents="Hello", config=config))
    text = "".join(ch.text or "" for ch in chunks)
    assert "Hello from the mock upstream" in text, chunks
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.prompt_token_count > 0


@pytest.mark.parametrize("fmt", list(MODELS))
def test_function_calling_round_trip(gateway: Gateway, mocks: Mocks, fmt: str):
    c = client(gateway)
    model = MODELS[fmt]
    q = types.Content(role="user", parts=[types.Part(text="What is the weather in Paris?")])
    r = c.models.generate_content(model=model, contents=[q], config=weather_config())
    calls = r.function_calls or []
    assert [(f.name, f.args) for f in calls] == [("get_weather", {"city": "Paris"})], r
    model_turn = r.candidates[0].content
    answer = types.Part.from_function_response(name="get_weather", response={"result": RESULT})
    if calls[0].id:
        answer.function_response.id = calls[0].id
    mark = mock_for(mocks, fmt).mark()
    r2 = c.models.generate_content(
        model=model, contents=[q, model_turn, types.Content(role="user", parts=[answer])], config=weather_config()
    )
    assert "The tool said" in r2.text and RESULT in r2.text, r2
    if fmt == "gemini":
        # Pass-through: the thought signature went back as the mock signed it.
        replayed = posts(mocks.gemini.since(mark))[0]["body"]["contents"][1]["parts"]
        assert any(p.get("thoughtSignature") == "c2lnLW1vY2s=" for p in replayed), replayed

    # The same through the stream: the call arrives whole in one chunk.
    chunks = list(c.models.generate_content_stream(model=model, contents=[q], config=weather_config()))
    streamed = [f for ch in chunks for f in (ch.function_calls or [])]
    assert [(f.name, f.args) for f in streamed] == [("get_weather", {"city": "Paris"})], chunks


@pytest.mark.parametrize("fmt", ["gemini", "anthropic"])
def test_count_tokens(gateway: Gateway, mocks: Mocks, fmt: str):
    """A Gemini upstream counts; for another, the gateway estimates (no request)."""
    mock = mock_for(mocks, fmt)
    mark = mock.mark()
    c = client(gateway)  # kept in a variable: a collected Client closes its connection
    r = c.models.count_tokens(model=MODELS[fmt], contents="How many tokens is this?")
    assert r.total_tokens > 0
    counted = [x for x in mock.since(mark) if x["path"].endswith(":countTokens")]
    assert len(counted) == (1 if fmt == "gemini" else 0)


def test_error_classes(gateway: Gateway, mocks: Mocks):
    c, stranger = client(gateway), client(gateway, key="lgw_not_a_key")
    with pytest.raises(errors.ClientError) as e:
        stranger.models.generate_content(model=MODELS["gemini"], contents="hi")
    assert e.value.code == 401 and e.value.status == "UNAUTHENTICATED"
    with pytest.raises(errors.ClientError) as e:
        c.models.generate_content(model="mystery-model", contents="hi")
    assert e.value.code == 404 and e.value.status == "NOT_FOUND"
    # Refused by the conversion, with the reason, before any upstream.
    mark = mocks.anthropic.mark()
    with pytest.raises(errors.ClientError) as e:
        c.models.generate_content(
            model=MODELS["anthropic"], contents="hi", config=types.GenerateContentConfig(candidate_count=2)
        )
    assert e.value.code == 400 and "candidateCount" in e.value.message
    assert posts(mocks.anthropic.since(mark)) == []
    # An upstream failure reaches the SDK as a server error in Google's shape.
    mocks.anthropic.behave(
        fail_with=(529, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    )
    with pytest.raises(errors.ServerError) as e:
        c.models.generate_content(model=MODELS["anthropic"], contents="hi")
    assert e.value.code == 503 and e.value.status == "UNAVAILABLE"


def test_models_list_and_get(gateway: Gateway):
    c = client(gateway)
    names = [m.name for m in c.models.list()]
    assert "models/gemini-mock-1" in names, names
    m = c.models.get(model=MODELS["anthropic"])
    assert m.name == f"models/{MODELS['anthropic']}"


# --------------------------------------------------------------------------- Gemini CLI


@pytest.fixture(scope="module")
def gateway_gemini_to_anthropic(workdir: Path, mocks: Mocks):
    """Every `gemini-*` model to the Anthropic mock, as a Claude model."""
    gw = make_gateway(
        workdir,
        "gateway-gemini-to-anthropic",
        mocks,
        routes=[["--match", "gemini-*", "--upstream", "ant", "--model", "claude-sonnet-4-5"]],
    )
    try:
        yield gw
    finally:
        gw.stop()


def assert_cli_ran_the_tool(run) -> None:
    assert run.completed, run.report
    assert [u["tool_name"] for u in run.tool_uses] == ["run_shell_command"], run.report
    assert MARKER in json.dumps(run.tool_results), run.report
    assert MARKER in run.final_message, run.report
    assert run.proxy_attempts == [], f"Gemini CLI tried to reach other hosts: {run.proxy_attempts}"


def test_gemini_cli_on_anthropic_upstream(gateway_gemini_to_anthropic: Gateway, mocks: Mocks, workdir: Path):
    gw = gateway_gemini_to_anthropic
    mark = mocks.anthropic.mark()
    run = run_gemini(gw, workdir / "gemini-cli-to-anthropic", model="gemini-2.5-pro")
    assert_cli_ran_the_tool(run)
    seen = posts(mocks.anthropic.since(mark))
    assert len(seen) == 2, seen
    for req in seen:
        h = req["headers"]
        assert req["path"] == "/v1/messages"
        assert req["body"]["model"] == "claude-sonnet-4-5" and req["body"]["stream"] is True
        assert gw.key not in json.dumps(h) and "x-goog-api-key" not in h
    # The round trip as Anthropic saw it: a tool_use, then its tool_result.
    last = seen[-1]["body"]["messages"]
    uses = [b for m in last if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_use"]
    results = [
        b for m in last if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"
    ]
    assert [u["name"] for u in uses] == ["run_shell_command"]
    assert len(results) == 1 and results[0]["tool_use_id"] == uses[0]["id"]
    assert MARKER in json.dumps(results[0]["content"])


def test_gemini_cli_on_gemini_upstream(gateway: Gateway, mocks: Mocks, workdir: Path):
    """Pass-through: the CLI's own requests reach the Gemini mock, key replaced."""
    mark = mocks.gemini.mark()
    run = run_gemini(gateway, workdir / "gemini-cli-passthrough")
    assert_cli_ran_the_tool(run)
    seen = posts(mocks.gemini.since(mark))
    assert len(seen) == 2, seen
    for req in seen:
        assert req["path"].endswith(":streamGenerateContent?alt=sse"), req["path"]
        assert req["headers"]["x-goog-api-key"] == GEMINI_UPSTREAM_KEY
        assert gateway.key not in json.dumps(req["headers"])


# --------------------------------------------------------------------------- on a Gemini upstream


@pytest.fixture(scope="module")
def gateway_claude_to_gemini(workdir: Path, mocks: Mocks):
    """Claude Code's models sent to the Gemini mock as a Gemini 3 model."""
    gw = make_gateway(
        workdir,
        "gateway-claude-to-gemini",
        mocks,
        routes=[["--match", "claude-*", "--upstream", "gem", "--model", "gemini-3-pro-preview"]],
    )
    try:
        yield gw
    finally:
        gw.stop()


def test_claude_code_on_gemini_upstream(gateway_claude_to_gemini: Gateway, mocks: Mocks, workdir: Path):
    mark = mocks.gemini.mark()
    run = run_claude(gateway_claude_to_gemini, workdir / "claude-to-gemini", "--allowedTools", "Bash")
    assert run.returncode == 0, run
    assert run.result["is_error"] is False, run
    assert MARKER in run.result["result"], run
    seen = posts(mocks.gemini.since(mark))
    assert seen, "no request reached the Gemini upstream"
    for req in seen:
        assert req["path"].startswith("/v1beta/models/gemini-3-pro-preview:"), req["path"]
        # Claude Code's tool schemas were cut to Gemini's subset: the strict mock took them.
        decls = req["body"]["tools"][0]["functionDeclarations"]
        assert "Bash" in [d["name"] for d in decls]
    # The replayed call carries a signature Gemini 3 accepts.
    last = seen[-1]["body"]["contents"]
    calls = [p for c in last for p in c["parts"] if "functionCall" in p]
    assert calls and all(p.get("thoughtSignature") for p in calls), last


def test_openai_sdk_on_gemini_upstream(gateway: Gateway, mocks: Mocks):
    import openai

    oc = openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.key, timeout=HTTP_TIMEOUT, max_retries=0)
    model = MODELS["gemini"]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    msgs = [{"role": "user", "content": "What is the weather in Paris?"}]
    r = oc.chat.completions.create(model=model, messages=msgs, tools=tools)
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    echoed = call.model_dump()  # keeps extra_content.google.thought_signature
    assert echoed["extra_content"]["google"]["thought_signature"] == "c2lnLW1vY2s="
    mark = mocks.gemini.mark()
    msgs += [
        {"role": "assistant", "content": None, "tool_calls": [echoed]},
        {"role": "tool", "tool_call_id": call.id, "content": RESULT},
    ]
    r2 = oc.chat.completions.create(model=model, messages=msgs, tools=tools)
    assert RESULT in r2.choices[0].message.content
    assert r2.usage.prompt_tokens > 0
    replayed = posts(mocks.gemini.since(mark))[0]["body"]["contents"]
    assert any(p.get("thoughtSignature") == "c2lnLW1vY2s=" for c in replayed for p in c["parts"]), replayed
    text = ""
    with oc.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hi"}], stream=True, stream_options={"include_usage": True}
    ) as s:
        usage = None
        for ch in s:
            if ch.choices:
                text += ch.choices[0].delta.content or ""
            usage = ch.usage or usage
    assert "Hello from the mock upstream" in text and usage and usage.completion_tokens > 0
