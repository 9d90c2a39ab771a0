"""Browser clients on another origin (CORS), in Debian's headless Chromium: a page
served from one origin calls the gateway on another with the headers the SDKs send in
browsers (Anthropic's `anthropic-dangerous-direct-browser-access`, `x-stainless-*`,
Google's `x-goog-api-key`). The browser's own preflight and CORS checks decide: an
allowed origin reads the answers (and `x-request-id`), another origin is blocked.

Select with `-m team`.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from browser import chromium, missing
from conftest import Gateway, Mocks, make_gateway

pytestmark = [pytest.mark.team, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


class Page:
    """An origin of its own: a tiny static server on 127.0.0.1:<free port>."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        (root / "index.html").write_text("<!doctype html><title>app</title><p>app</p>")
        handler = functools.partial(_Quiet, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def cors_setup(workdir: Path, mocks: Mocks):
    if why := missing():
        pytest.fail(why)
    allowed, other = Page(workdir / "page-allowed"), Page(workdir / "page-other")
    gw = make_gateway(workdir, "gateway-cors", mocks)
    cfg_path = gw.home / ".llm-gateway" / "config.yaml"
    # The config's `server:` section, with `cors` added (JSON is YAML).
    text = cfg_path.read_text()
    assert "\nserver:\n" in text, text
    cors = "  cors:\n    allowed_origins: " + json.dumps([allowed.origin]) + "\n"
    cfg_path.write_text(text.replace("\nserver:\n", "\nserver:\n" + cors, 1))
    wait_for_preflight(gw, allowed.origin)
    try:
        yield gw, allowed, other
    finally:
        gw.stop()
        allowed.close()
        other.close()


def preflight(gw: Gateway, origin: str) -> int:
    req = urllib.request.Request(
        gw.url + "/v1/messages",
        method="OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_for_preflight(gw: Gateway, origin: str) -> None:
    """The running gateway picks the config change up within a second or so."""
    deadline = time.monotonic() + 10
    while preflight(gw, origin) != 204:
        assert time.monotonic() < deadline, "the CORS config was never applied"
        time.sleep(0.2)


FETCH = """
const [url, headers, body, done] = arguments;
fetch(url, {method: "POST", headers, body})
  .then(async r => done({status: r.status, body: await r.text(), rid: r.headers.get("x-request-id")}))
  .catch(e => done({error: String(e)}));
"""


def browser_post(driver, page: str, url: str, headers: dict, body: dict) -> dict:
    driver.get(page + "/index.html")
    return driver.execute_async_script(FETCH, url, headers, json.dumps(body))


def anthropic_headers(key: str) -> dict:
    return {
        "content-type": "application/json",
        "x-api-key": key,
        "anthropic-version": "2023-06-01",
        "anthropic-dangerous-direct-browser-access": "true",
        "x-stainless-lang": "js",
        "x-stainless-retry-count": "0",
    }


def test_an_allowed_origin_reads_answers_and_another_is_blocked(cors_setup):
    gw, allowed, other = cors_setup
    msg = {"model": "claude-sonnet-4-5", "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
    gem = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    with chromium() as driver:
        r = browser_post(driver, allowed.origin, gw.url + "/v1/messages", anthropic_headers(gw.key), msg)
        assert r.get("status") == 200, r
        assert "Hello from the mock upstream" in r["body"], r
        assert r["rid"] and r["rid"].startswith("req_"), r  # an exposed header
        # Google's header style, to a Gemini endpoint.
        r = browser_post(
            driver,
            allowed.origin,
            gw.url + "/v1beta/models/claude-sonnet-4-5:generateContent",
            {"content-type": "application/json", "x-goog-api-key": gw.key, "x-goog-api-client": "genai-js/1.0"},
            gem,
        )
        assert r.get("status") == 200 and "candidates" in r["body"], r
        # A wrong key is still a 401 the page can read (CORS headers on errors too).
        r = browser_post(driver, allowed.origin, gw.url + "/v1/messages", anthropic_headers("lgw_wrong"), msg)
        assert r.get("status") == 401, r
        # Another origin: the browser's preflight is refused, the page never sees an answer.
        r = browser_post(driver, other.origin, gw.url + "/v1/messages", anthropic_headers(gw.key), msg)
        assert "error" in r and "Failed to fetch" in r["error"], r
    assert preflight(gw, other.origin) == 403
