"""Request pieces and expected answers shared by the e2e tests."""

from __future__ import annotations

import json

# What the mock "model" (tests/common/mock.rs `script`) says when no tool is offered.
MOCK_TEXT = "Hello from the mock upstream."
# Its usage numbers (non-streaming and streaming alike).
MOCK_USAGE = {"input": 12, "output": 5}
# What it answers once a tool result came back: f"The tool said: {result}".
TOOL_RESULT = "18C and sunny"
TOOL_ANSWER = f"The tool said: {TOOL_RESULT}"

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
# The same tool in each API's shape.
WEATHER_TOOL = {"name": "get_weather", "description": "Current weather in a city.", "input_schema": WEATHER_SCHEMA}
WEATHER_FUNCTION = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Current weather in a city.", "parameters": WEATHER_SCHEMA},
}

# A 1x1 red PNG.
PNG_1PX_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="

CLAUDE_MODEL = "claude-sonnet-5-5"  # a current (non-deprecated) model name for the SDK
OPENAI_MODEL = "gpt-4o-mini"


def anthropic_error_body(kind: str, message: str) -> str:
    """An error body as the Anthropic API sends it."""
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_upstream_err"})


def openai_error_body(kind: str, message: str, code: str | None = None) -> str:
    """An error body as the OpenAI API sends it."""
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}})
