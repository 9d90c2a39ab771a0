"""Request ids and metrics as real clients see them: the OpenAI SDK reads the
gateway's `x-request-id` (the one it sent, or a new one) into `_request_id`, and
`GET /metrics` parses with the official Prometheus Python client's OpenMetrics parser,
counting exactly the requests the SDK made.
"""

from __future__ import annotations

import time
import urllib.request

import openai
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from conftest import HTTP_TIMEOUT, Gateway

pytestmark = [pytest.mark.observability, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "hi"}]


def test_the_openai_sdk_sees_the_request_id(openai_client: openai.OpenAI):
    raw = openai_client.chat.completions.with_raw_response.create(
        model=MODEL, messages=MESSAGES, extra_headers={"x-request-id": "e2e-trace-42"}
    )
    assert raw.headers["x-request-id"] == "e2e-trace-42"
    assert raw.parse()._request_id == "e2e-trace-42"
    # Without one, the gateway makes one.
    made = openai_client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert made._request_id and made._request_id.startswith("req_")
    # Error answers carry it too, and the SDK's error exposes it.
    with pytest.raises(openai.BadRequestError) as err:
        openai_client.chat.completions.create(
            model="", messages=MESSAGES, extra_headers={"x-request-id": "e2e-trace-bad"}
        )
    assert err.value.request_id == "e2e-trace-bad"


def requests_for(gateway: Gateway, model: str) -> float:
    with urllib.request.urlopen(gateway.url + "/metrics", timeout=HTTP_TIMEOUT) as r:
        assert r.headers["content-type"].startswith("application/openmetrics-text")
        text = r.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name != "llm_gateway_requests":
            continue
        assert family.type == "counter"
        for s in family.samples:
            if s.name == "llm_gateway_requests_total" and s.labels.get("model") == model:
                total += s.value
    return total


def test_metrics_count_what_the_sdk_sent(gateway: Gateway, openai_client: openai.OpenAI):
    before = requests_for(gateway, MODEL)
    for _ in range(3):
        openai_client.chat.completions.create(model=MODEL, messages=MESSAGES)
    # Counted when each answer's body has ended, a moment after the SDK has it.
    deadline = time.monotonic() + 5
    while requests_for(gateway, MODEL) - before < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert requests_for(gateway, MODEL) - before == 3
