"""Budgets as the official SDKs see them: a key whose budget is spent is refused with
a 429 that carries `x-should-retry: false`, and neither SDK retries it (with their
default of 2 retries, a retried refusal would show as 3 refusals in the ledger).
"""

from __future__ import annotations

import time

import anthropic
import openai
import pytest

from conftest import HTTP_TIMEOUT, Gateway
# A priced model (the e2e default, claude-sonnet-5-5, is not in the price table).
CLAUDE_MODEL = "claude-sonnet-4-5"

pytestmark = [pytest.mark.governance, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def refusals(gateway: Gateway, key_name: str) -> int:
    rows = gateway.cli("usage", "--since", "1d", "--key", key_name) or {}
    return int(rows.get("totals", {}).get("errors", 0))


def wait_refusals(gateway: Gateway, key_name: str, n: int) -> int:
    deadline = time.monotonic() + 5
    while True:
        seen = refusals(gateway, key_name)
        if seen >= n or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


def test_sdks_do_not_retry_a_spent_budget(gateway: Gateway):
    key = gateway.cli("apikey", "add", "--name", "tight-e2e", "--budget", "0.0001", "--budget-period", "day")["key"]
    time.sleep(1.2)  # the running server picks the new key up on its next reload
    with anthropic.Anthropic(base_url=gateway.url, api_key=key, timeout=HTTP_TIMEOUT) as client:
        # The first answer spends more than the whole budget.
        client.messages.create(model=CLAUDE_MODEL, max_tokens=50, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(anthropic.RateLimitError) as e:
            client.messages.create(model=CLAUDE_MODEL, max_tokens=50, messages=[{"role": "user", "content": "hi"}])
        assert "budget" in str(e.value)
    assert wait_refusals(gateway, "tight-e2e", 1) == 1
    with openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, timeout=HTTP_TIMEOUT) as client:
        with pytest.raises(openai.RateLimitError) as e:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert e.value.code == "insufficient_quota"
    # One refusal per call: no SDK retried (default max_retries is 2).
    time.sleep(0.5)
    assert wait_refusals(gateway, "tight-e2e", 2) == 2
