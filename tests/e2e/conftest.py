"""Session fixtures for the end-to-end suite.

Everything runs on 127.0.0.1: the strict mock upstreams (`examples/mock_upstream`,
built from tests/common/mock.rs) and the real `llm-gateway` binary, each in its own
process, configured through the gateway's own CLI in a throw-away HOME.

Guarantees:
- nothing can hang: every subprocess call has a timeout, every HTTP client has a
  timeout and `max_retries=0`, and process start-up waits are bounded;
- nothing is left behind: every child gets PR_SET_PDEATHSIG (it dies with pytest even
  if pytest is killed), runs in its own process group, and is torn down (SIGTERM, then
  SIGKILL to the whole group) when its fixture ends;
- no traffic leaves the machine: proxy variables are removed from the environment so
  the SDKs talk to 127.0.0.1 directly, and the gateway's upstreams are the mocks.

Run with `bash scripts/e2e.sh` (it builds the binaries and installs the SDKs first).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GATEWAY_BIN = Path(os.environ.get("E2E_GATEWAY_BIN", REPO / "target/debug/llm-gateway"))
MOCK_BIN = Path(os.environ.get("E2E_MOCK_BIN", REPO / "target/debug/examples/mock_upstream"))

# The keys the mock upstreams demand. Clients never see them: they hold gateway keys.
ANTHROPIC_UPSTREAM_KEY = "sk-ant-upstream-e2e-7f3a"
OPENAI_UPSTREAM_KEY = "sk-openai-upstream-e2e-91bc"
RESPONSES_UPSTREAM_KEY = "sk-responses-upstream-e2e-5d2e"
GEMINI_UPSTREAM_KEY = "AIza-gemini-upstream-e2e-c41d"

# Bounds, in seconds.
START_TIMEOUT = 20  # a process must print its address within this
CLI_TIMEOUT = 30  # one `llm-gateway ...` CLI call
HTTP_TIMEOUT = 30  # one SDK / control request
STOP_TIMEOUT = 10  # SIGTERM → exit, before SIGKILL

# Keep every client off any proxy configured in the environment: all traffic here is
# loopback, and a proxy would both break it and send it off the machine.
for _var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"
# The SDKs read these; a developer's real keys or endpoints must never leak in.
for _var in (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "LLM_GATEWAY_CONFIG",
):
    os.environ.pop(_var, None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "conversion: OpenAI<->Anthropic conversion tests (select with -m conversion)",
    )
    config.addinivalue_line("markers", "responses: the OpenAI SDK's Responses API (select with -m responses)")
    config.addinivalue_line("markers", "codex: the real Codex CLI through /v1/responses (select with -m codex)")
    config.addinivalue_line("markers", "governance: usage ledger, limits and budgets (select with -m governance)")
    config.addinivalue_line("markers", "observability: request ids and /metrics (select with -m observability)")
    config.addinivalue_line("markers", "dashboard: /ui in headless Chromium (select with -m dashboard)")
    config.addinivalue_line(
        "markers", "gemini: google-genai, Gemini CLI, and clients on a Gemini upstream (select with -m gemini)"
    )
    config.addinivalue_line(
        "markers", "team: team mode: CORS from a browser, HTTPS, shared state (select with -m team)"
    )


# --------------------------------------------------------------------------- processes


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when pytest goes away, however it goes."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def kill_group(proc: subprocess.Popen, grace: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process, wait up to `grace`, then SIGKILL its whole group.

    The process must have been started with `start_new_session=True`, so its group id
    is its pid and holds only it and its descendants.
    """
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=grace)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_TIMEOUT)


def spawn(
    cmd: list[str], *, env: dict, cwd: Path | None = None, stderr_path: Path, stdin=subprocess.DEVNULL
) -> subprocess.Popen:
    """Start a long-running child in its own process group, stderr to a log file."""
    with open(stderr_path, "wb") as err:
        return subprocess.Popen(
            [str(c) for c in cmd],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def read_first_line(proc: subprocess.Popen, timeout: float, what: str, log: Path) -> str:
    """The first stdout line of `proc`, waiting at most `timeout` seconds."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    try:
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{what} printed no address within {timeout}s; log: {tail(log)}")
            if not sel.select(left):
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"{what} exited (code {proc.poll()}) before printing its address; log: {tail(log)}")
            buf += chunk
    finally:
        sel.close()
    _drain(proc)
    return buf.partition(b"\n")[0].decode()


def _drain(proc: subprocess.Popen) -> None:
    """Keep reading a child's stdout so it can never block on a full pipe."""
    out = proc.stdout
    assert out is not None
    fd = out.fileno()

    def pump() -> None:
        try:
            while os.read(fd, 65536):
                pass
        except OSError:
            pass

    threading.Thread(target=pump, daemon=True).start()


def tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "<no log>"


def http_json(method: str, url: str, body: object | None = None, timeout: float = HTTP_TIMEOUT):
    """A bare JSON request with no proxy, for control endpoints."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


# --------------------------------------------------------------------------- mock upstreams


@dataclass
class MockApi:
    """One mock upstream (Anthropic, OpenAI Chat, OpenAI Responses or Gemini flavour)
    and its control endpoints."""

    base_url: str  # what `upstream add --base-url` gets
    root: str  # scheme://host:port, where /__mock/* lives
    failing: bool = False  # told to fail since the last reset (see _reset_mock_behavior)

    def requests(self) -> list[dict]:
        """Every API request this upstream saw: [{method, path, headers, body}]."""
        return http_json("GET", self.root + "/__mock/requests")

    def mark(self) -> int:
        """A position in the request log; see `since`."""
        return len(self.requests())

    def since(self, mark: int) -> list[dict]:
        """Requests seen after `mark` (tests run one at a time)."""
        return self.requests()[mark:]

    def behave(
        self,
        *,
        fail_with: tuple[int, str] | None = None,
        delay_ms: int = 0,
        gap_ms: int = 0,
        deltas: int = 3,
        break_after: int | None = None,
        fail_in_stream: str | None = None,
    ) -> None:
        """Steer the mock; every call replaces the whole behaviour. `fail_with`:
        answer inference with (status, body); `delay_ms`: before the headers;
        `gap_ms`: between stream events; `deltas`: text pieces per stream;
        `break_after`: cut the connection after that many stream events;
        `fail_in_stream` (Responses mock): a 200 stream that ends in `response.failed`
        with this error code (e.g. "rate_limit_exceeded", "server_is_overloaded")."""
        http_json(
            "POST",
            self.root + "/__mock/behavior",
            {
                "fail_with": list(fail_with) if fail_with else None,
                "delay_ms": delay_ms,
                "gap_ms": gap_ms,
                "deltas": deltas,
                "break_after": break_after,
                "fail_in_stream": fail_in_stream,
            },
        )
        self.failing = self.failing or any(x is not None for x in (fail_with, break_after, fail_in_stream))

    def reset(self) -> None:
        self.behave()


@dataclass
class Mocks:
    anthropic: MockApi
    openai: MockApi
    responses: MockApi  # the OpenAI Responses API mock
    gemini: MockApi  # the Gemini API mock
    log: Path

    def all(self) -> list[MockApi]:
        return [self.anthropic, self.openai, self.responses, self.gemini]


_WORKDIR: Path | None = None  # for attaching logs to failure reports


@pytest.fixture(scope="session")
def workdir():
    global _WORKDIR
    d = _WORKDIR = Path(tempfile.mkdtemp(prefix="llm-gateway-e2e-"))
    yield d
    if os.environ.get("E2E_KEEP_TMP") != "1":
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def mocks(workdir: Path):
    if not MOCK_BIN.exists():
        pytest.exit(f"{MOCK_BIN} is missing: run `cargo build --example mock_upstream` (scripts/e2e.sh does)", 2)
    log = workdir / "mock.log"
    # The mock serves until its stdin closes, so keep a pipe open to it.
    proc = spawn(
        [
            MOCK_BIN,
            "--anthropic-key",
            ANTHROPIC_UPSTREAM_KEY,
            "--openai-key",
            OPENAI_UPSTREAM_KEY,
            "--responses-key",
            RESPONSES_UPSTREAM_KEY,
            "--gemini-key",
            GEMINI_UPSTREAM_KEY,
        ],
        env=dict(os.environ),
        stderr_path=log,
        stdin=subprocess.PIPE,
    )
    try:
        urls = json.loads(read_first_line(proc, START_TIMEOUT, "mock_upstream", log))
        oai_root = urls["openai"].removesuffix("/v1")
        resp_root = urls["responses"].removesuffix("/v1")
        yield Mocks(
            MockApi(urls["anthropic"], urls["anthropic"]),
            MockApi(urls["openai"], oai_root),
            MockApi(urls["responses"], resp_root),
            MockApi(urls["gemini"], urls["gemini"]),
            log,
        )
    finally:
        if proc.stdin:
            proc.stdin.close()
        kill_group(proc, grace=5)


@pytest.fixture(autouse=True)
def _reset_mock_behavior(request: pytest.FixtureRequest):
    """Tests that steer a mock get a well-behaved one back afterwards. If a mock was
    told to fail, also wait until every gateway has stopped resting that upstream
    (a 429 makes the gateway cool the upstream down for its retry-after), so the
    next test starts from a healthy gateway."""
    yield
    if "mocks" not in request.fixturenames:
        return
    m: Mocks = request.getfixturevalue("mocks")
    failed = any(api.failing for api in m.all())
    for api in m.all():
        api.reset()
        api.failing = False
    if failed:
        for gw in list(_GATEWAYS):
            gw.wait_upstreams_ready()


# --------------------------------------------------------------------------- gateway


@dataclass
class Gateway:
    home: Path  # HOME of the gateway (config in home/.llm-gateway/config.yaml)
    env: dict
    log: Path
    url: str = ""  # http://127.0.0.1:PORT
    key: str = ""  # a read+write gateway key
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def cli(self, *args: str, check: bool = True) -> dict | list | None:
        """Run `llm-gateway --json ARGS` against this gateway's config."""
        r = subprocess.run(
            [str(GATEWAY_BIN), "--json", *args],
            env=self.env,
            capture_output=True,
            timeout=CLI_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        if check and r.returncode != 0:
            raise RuntimeError(
                f"llm-gateway {' '.join(args)} failed ({r.returncode}): {r.stderr.decode(errors='replace')}"
            )
        out = r.stdout.decode().strip()
        return json.loads(out) if out else None

    def start(self, *args: str) -> None:
        self.proc = spawn([GATEWAY_BIN, "server", "start", "--port", "0", *args], env=self.env, stderr_path=self.log)
        line = read_first_line(self.proc, START_TIMEOUT, "llm-gateway server", self.log)
        # "llm-gateway X listening on http(s)://127.0.0.1:PORT"
        assert " listening on http://127.0.0.1:" in line or " listening on https://127.0.0.1:" in line, line
        self.url = line.rsplit(" ", 1)[1].strip()
        if self.url.startswith("https://"):
            return  # /health over HTTPS is the test's to check, with its CA
        # /health needs no key; wait until it answers (it should at once).
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if http_json("GET", self.url + "/health", timeout=2).get("status") == "ok":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway at {self.url} never became healthy; log: {tail(self.log)}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)
            self.proc = None
        if self in _GATEWAYS:
            _GATEWAYS.remove(self)

    def add_key(self, name: str, permissions: str = "read,write") -> str:
        """Create a gateway key with the CLI and wait until the running server has
        hot-reloaded it (it re-reads the config within about a second)."""
        key = self.cli("apikey", "add", "--name", name, "--permissions", permissions)["key"]
        deadline = time.monotonic() + 10
        while True:
            # /admin/status: 401 for a key the server does not know yet, 403 (or 200
            # for an admin key) once it does. It never touches an upstream.
            req = urllib.request.Request(self.url + "/admin/status", headers={"x-api-key": key})
            try:
                urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=5).close()
                return key
            except urllib.error.HTTPError as e:
                if e.code != 401:
                    return key
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway never picked up key {name!r}; log: {tail(self.log)}")
            time.sleep(0.1)

    def wait_upstreams_ready(self, timeout: float = 20) -> None:
        """Wait until `status` shows no upstream cooling down or with an open breaker.
        A half-open breaker is ready: it lets the next request through as its probe."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.cli("status") or {}
            busy = [
                u.get("name")
                for u in status.get("upstreams", [])
                if u.get("cooling_until") or u.get("breaker") == "open"
            ]
            if not busy:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"upstreams {busy} still resting after {timeout}s: {status}")
            time.sleep(0.2)


_GATEWAYS: list[Gateway] = []  # running ones, for the reset fixture


def make_gateway(
    root: Path, name: str, mocks: Mocks, routes: list[list[str]] = (), start_args: list[str] = ()
) -> Gateway:
    """A configured, running gateway in its own HOME, with the four mocks as upstreams."""
    if not GATEWAY_BIN.exists():
        pytest.exit(f"{GATEWAY_BIN} is missing: run `cargo build --bin llm-gateway` (scripts/e2e.sh does)", 2)
    home = root / name
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_GATEWAY")}
    env.update(HOME=str(home), NO_COLOR="1", RUST_LOG=os.environ.get("E2E_RUST_LOG", "info"))
    gw = Gateway(home=home, env=env, log=root / f"{name}.log")
    gw.key = gw.cli("apikey", "add", "--name", "e2e")["key"]
    gw.cli(
        "upstream", "add", "--type", "api-key", "--provider", "anthropic", "--name", "ant",
        "--key", ANTHROPIC_UPSTREAM_KEY, "--base-url", mocks.anthropic.base_url,
    )  # fmt: skip
    gw.cli(
        "upstream", "add", "--type", "api-key", "--provider", "openai", "--name", "oai",
        "--key", OPENAI_UPSTREAM_KEY, "--base-url", mocks.openai.base_url,
    )  # fmt: skip
    # The Responses mock serves only the models named for it (gpt-* stays on `oai`).
    gw.cli(
        "upstream", "add", "--type", "api-key", "--provider", "openai", "--api", "responses",
        "--name", "resp", "--key", RESPONSES_UPSTREAM_KEY, "--base-url", mocks.responses.base_url,
        "--models", "gpt-5-codex,resp-*",
    )  # fmt: skip
    # `gemini-*` by family.
    gw.cli(
        "upstream", "add", "--type", "api-key", "--provider", "gemini", "--name", "gem",
        "--key", GEMINI_UPSTREAM_KEY, "--base-url", mocks.gemini.base_url,
    )  # fmt: skip
    for r in routes:
        gw.cli("route", "add", *r)
    try:
        gw.start(*start_args)
    except BaseException:
        gw.stop()
        raise
    _GATEWAYS.append(gw)
    return gw


@pytest.fixture(scope="session")
def gateway(workdir: Path, mocks: Mocks):
    """The pass-through gateway: both mocks as upstreams, family routing only
    (`claude-*` → the Anthropic mock, `gpt-*` → the OpenAI mock)."""
    gw = make_gateway(workdir, "gateway", mocks)
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="session")
def gateway_to_openai(workdir: Path, mocks: Mocks):
    """A second gateway that sends every `claude-*` model to the OpenAI mock as
    `gpt-4o` (for Anthropic clients → OpenAI upstream conversion tests)."""
    gw = make_gateway(
        workdir, "gateway-to-openai", mocks, routes=[["--match", "claude-*", "--upstream", "oai", "--model", "gpt-4o"]]
    )
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="session")
def gateway_to_responses(workdir: Path, mocks: Mocks):
    """A gateway that sends every `claude-*` model to the Responses mock as
    `gpt-5-codex` (Anthropic clients, Claude Code included, on a Responses upstream)."""
    gw = make_gateway(
        workdir,
        "gateway-to-responses",
        mocks,
        routes=[["--match", "claude-*", "--upstream", "resp", "--model", "gpt-5-codex"]],
    )
    try:
        yield gw
    finally:
        gw.stop()


# --------------------------------------------------------------------------- SDK clients


@pytest.fixture
def anthropic_client(gateway: Gateway):
    import anthropic

    with anthropic.Anthropic(base_url=gateway.url, api_key=gateway.key, timeout=HTTP_TIMEOUT, max_retries=0) as c:
        yield c


@pytest.fixture
def openai_client(gateway: Gateway):
    import openai

    with openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.key, timeout=HTTP_TIMEOUT, max_retries=0) as c:
        yield c


# --------------------------------------------------------------------------- failure reports


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """On a failure, attach the tail of the gateway and mock logs to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    if _WORKDIR is None:
        return
    for log in sorted(_WORKDIR.glob("*.log")):
        rep.sections.append((f"{log.name} (tail)", tail(log, 3000)))
