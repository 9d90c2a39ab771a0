"""Headless Chromium for the dashboard test: Debian's `chromium` driven through its
`chromium-driver` with Selenium (both installed by scripts/setup-e2e.sh).

Nothing is downloaded: the browser and driver paths are given, so Selenium Manager is
never asked to find or fetch one. The browser runs with a new empty profile and
without its background networking (this machine's network is closed, and a browser
calling home is not what the test is about).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("E2E_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", Path(__file__).resolve().parents[2] / "target/e2e-artifacts"))

os.environ.setdefault("SE_AVOID_STATS", "true")
os.environ.setdefault("SE_OFFLINE", "true")


def missing() -> str | None:
    """Why the browser cannot run here, or None."""
    for p in (CHROMIUM, CHROMEDRIVER):
        if not p.exists():
            return f"{p} is missing: run scripts/setup-e2e.sh (it installs Debian's chromium and chromium-driver)"
    return None


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000, dark: bool = False) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="llm-gateway-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # the suite may run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        opts.add_argument(arg)
    if dark:
        opts.add_argument("--blink-settings=preferredColorScheme=0")
    # Console messages (and uncaught exceptions) come back through get_log("browser").
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(20)
    try:
        yield driver
    finally:
        with contextlib.suppress(Exception):
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver) -> list[str]:
    """The console's errors since the last call (reading the log empties it)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def wait_until(what: str, check: Callable[[], object], timeout: float = 20, driver=None):
    """Poll `check` until it returns something truthy; fail with `what` (and a
    screenshot, if a driver is given) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            got = check()
            if got:
                return got
        except Exception as e:  # a stale element while the page redraws
            last_error = e
        time.sleep(0.2)
    if driver is not None:
        save_screenshot(driver, "timeout-" + "".join(c if c.isalnum() else "-" for c in what)[:60])
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


def save_screenshot(driver, name: str, full_page: bool = True) -> Path:
    """A PNG of the whole page under target/e2e-artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if full_page:
        width = driver.execute_script("return window.innerWidth")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(int(height) + 40, 6000))
        time.sleep(0.3)  # let the charts redraw at the new size
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
