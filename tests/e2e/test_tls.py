"""The gateway over HTTPS with a certificate from a CA made by the test (openssl): the
official SDKs trusting only that CA, over HTTP/1.1 and HTTP/2 (ALPN), streaming, and
Claude Code with NODE_EXTRA_CA_CERTS, as a team would point them at a served gateway.

Select with `-m team`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import anthropic
import openai
import pytest

from claude_cli import MARKER, run_claude
from conftest import HTTP_TIMEOUT, Mocks, make_gateway

pytestmark = pytest.mark.team

httpx = pytest.importorskip("httpx2")


def make_ca_and_leaf(d: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for localhost and 127.0.0.1."""
    d.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=30)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=llm-gateway e2e CA")
    run("req", *ec, "-keyout", "gw.key", "-out", "gw.csr", "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    run(
        "x509", "-req", "-in", "gw.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "gw.pem", "-days", "2", "-extfile", "ext.cnf",
    )  # fmt: skip
    return d / "ca.pem", d / "gw.pem", d / "gw.key"


@pytest.fixture(scope="module")
def tls_gateway(workdir: Path, mocks: Mocks):
    ca, cert, key = make_ca_and_leaf(workdir / "tls")
    gw = make_gateway(workdir, "gateway-tls", mocks, start_args=["--tls-cert", str(cert), "--tls-key", str(key)])
    try:
        yield gw, ca
    finally:
        gw.stop()


def test_sdks_over_https_http1_and_http2(tls_gateway):
    gw, ca = tls_gateway
    assert gw.url.startswith("https://127.0.0.1:"), gw.url
    msg = [{"role": "user", "content": "Hello"}]
    for http2 in (False, True):
        with httpx.Client(verify=str(ca), http2=http2, timeout=HTTP_TIMEOUT) as hc:
            ac = anthropic.Anthropic(base_url=gw.url, api_key=gw.key, http_client=hc, max_retries=0)
            raw = ac.messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=32, messages=msg)
            assert raw.http_response.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
            assert "Hello from the mock upstream" in raw.parse().content[0].text
            with ac.messages.stream(model="claude-sonnet-4-5", max_tokens=32, messages=msg) as s:
                assert "Hello from the mock upstream" in s.get_final_text()
            oc = openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, http_client=hc, max_retries=0)
            raw = oc.chat.completions.with_raw_response.create(model="gpt-4o", messages=msg)
            assert raw.http_response.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
            assert "Hello" in raw.parse().choices[0].message.content


def test_an_sdk_without_the_ca_refuses_the_gateway(tls_gateway):
    gw, _ = tls_gateway
    with httpx.Client(timeout=HTTP_TIMEOUT) as hc:  # the system's roots only
        ac = anthropic.Anthropic(base_url=gw.url, api_key=gw.key, http_client=hc, max_retries=0)
        with pytest.raises(anthropic.APIConnectionError):
            ac.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])


def test_claude_code_over_https(tls_gateway, workdir: Path):
    gw, ca = tls_gateway
    run = run_claude(gw, workdir / "claude-https", "--allowedTools", "Bash", extra_env={"NODE_EXTRA_CA_CERTS": str(ca)})
    assert run.returncode == 0, run
    assert MARKER in run.result["result"], run


def test_status_over_https(tls_gateway):
    gw, _ = tls_gateway
    st = gw.cli("status")
    assert {u["name"] for u in st["upstreams"]} >= {"ant", "oai"}
