"""The dashboard in a real browser: headless Chromium opens /ui on a gateway that has
served the official SDKs, refuses a non-admin key, signs in with an admin key, and
shows the upstreams, an upstream's breaker opening when its account starts failing,
charts with bars in them, usage, budgets and the latest requests. Any error in the
browser's console fails the test. Screenshots land in target/e2e-artifacts/.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import anthropic
import openai
import pytest

from browser import chromium, console_errors, missing, save_screenshot, wait_until
from conftest import HTTP_TIMEOUT, Mocks, make_gateway

pytestmark = [pytest.mark.dashboard, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

BROKEN = (500, '{"error":{"message":"upstream exploded","type":"server_error"}}')


@pytest.fixture(scope="module")
def ui_gateway(workdir: Path, mocks: Mocks):
    if why := missing():
        pytest.fail(why)
    gw = make_gateway(workdir, "gateway-ui", mocks)
    try:
        yield gw
    finally:
        gw.stop()


def by_id(driver, element_id: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def upstream_states(driver) -> dict[str, str]:
    return {
        r.get_attribute("data-upstream"): r.get_attribute("data-state") for r in css(driver, "#upstreams tr[data-upstream]")
    }


def budget_of(gw, admin: str, name: str):
    status = http_json_auth(gw.url + "/admin/status", admin)
    return next(k["limits"]["budget_usd"] for k in status["keys"] if k["name"] == name)


def http_json_auth(url: str, key: str):
    req = urllib.request.Request(url, headers={"authorization": "Bearer " + key})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=HTTP_TIMEOUT) as r:
        return json.loads(r.read())


def sign_in(driver, key: str) -> None:
    field = by_id(driver, "key")
    field.clear()
    field.send_keys(key)
    by_id(driver, "login-button").click()


def test_the_dashboard_shows_upstreams_failures_charts_and_costs(ui_gateway, mocks: Mocks):
    gw = ui_gateway
    admin = gw.add_key("dashboard", "admin")
    gw.cli("apikey", "set", "e2e", "--budget", "5", "--budget-period", "month")
    wait_until("the server to load the budget", lambda: budget_of(gw, admin, "e2e") == 5)
    # Traffic from both SDKs: Anthropic (to `ant`) and OpenAI Chat (to `oai`).
    with anthropic.Anthropic(base_url=gw.url, api_key=gw.key, timeout=HTTP_TIMEOUT, max_retries=0) as a:
        for _ in range(3):
            a.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    with openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, timeout=HTTP_TIMEOUT, max_retries=0) as o:
        for _ in range(2):
            o.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    with chromium() as driver:
        driver.get(gw.url + "/ui")
        wait_until("the sign-in form", lambda: by_id(driver, "key").is_displayed(), driver=driver)
        assert not by_id(driver, "dash").is_displayed()

        # A key without the admin permission is refused, with what to do about it.
        sign_in(driver, gw.key)
        message = wait_until("the refusal", lambda: by_id(driver, "login-error").text, driver=driver)
        assert "not an admin key" in message, message
        assert not by_id(driver, "dash").is_displayed()
        # The browser logs the 403 it was answered; that one is expected.
        refused = console_errors(driver)
        assert all("403" in m for m in refused), refused

        sign_in(driver, admin)
        wait_until("the dashboard", lambda: by_id(driver, "dash").is_displayed(), driver=driver)
        states = wait_until(
            "the four upstreams", lambda: (s := upstream_states(driver)) and len(s) == 4 and s, driver=driver
        )
        assert set(states) == {"ant", "oai", "resp", "gem"}, states
        assert states["oai"] == "ok", states
        assert "up" in by_id(driver, "tile-upstreams").text

        # Charts drawn from the ledger: bars for the requests made above.
        wait_until(
            "requests in the chart",
            lambda: float(by_id(driver, "chart-requests").get_attribute("data-total") or 0) >= 5,
            driver=driver,
        )
        assert float(by_id(driver, "chart-tokens").get_attribute("data-total") or 0) > 0
        assert css(driver, "#chart-requests rect.ok"), "no bars drawn"
        # Costs and budgets, from the usage sums.
        wait_until("the 24 h cost", lambda: by_id(driver, "tile-cost-24h").text.count("$"), driver=driver)
        models = by_id(driver, "by-model").text
        assert "claude-sonnet-4-5" in models and "gpt-4o-mini" in models, models
        budget = wait_until("e2e's budget", lambda: css(driver, '.budget[data-key="e2e"]'), driver=driver)
        assert "of $5.00" in budget[0].text and not budget[0].text.startswith("e2e\n$0 of"), budget[0].text
        rows = css(driver, "#requests tbody tr")
        assert len(rows) >= 5, len(rows)
        assert "claude-sonnet-4-5" in by_id(driver, "requests").text

        # The OpenAI account starts failing: its breaker opens, and the page says so.
        mocks.openai.behave(fail_with=BROKEN)
        with openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.key, timeout=HTTP_TIMEOUT, max_retries=0) as o:
            for _ in range(6):
                with pytest.raises(openai.APIStatusError):
                    o.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        wait_until(
            "oai's breaker to show open",
            lambda: upstream_states(driver).get("oai") in ("open", "half-open", "cooling"),
            timeout=15,
            driver=driver,
        )
        tile = by_id(driver, "tile-upstreams")
        assert "down" in tile.text and "oai" in tile.text, tile.text
        assert "bad" in (tile.get_attribute("class") or "")
        wait_until(
            "the failed requests in the table",
            lambda: any(b.text in ("500", "503") for b in css(driver, "#requests .badge")),
            driver=driver,
        )
        shot = save_screenshot(driver, "dashboard")
        assert shot.stat().st_size > 10_000

        # Signing out forgets the key.
        by_id(driver, "signout").click()
        assert by_id(driver, "key").is_displayed()
        assert driver.execute_script("return sessionStorage.length") == 0

        errors = console_errors(driver)
        assert not errors, errors


def test_the_dashboard_fits_a_narrow_dark_window(ui_gateway):
    admin = ui_gateway.add_key("dashboard-narrow", "admin")
    with chromium(width=390, height=900, dark=True) as driver:
        driver.get(ui_gateway.url + "/ui")
        sign_in(driver, admin)
        wait_until("the upstreams", lambda: len(upstream_states(driver)) == 4, driver=driver)
        # Dark colours come from the system setting, and nothing is wider than the window.
        background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert background != "rgb(245, 246, 248)", background
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a 390px window"
        save_screenshot(driver, "dashboard-narrow-dark")
        errors = console_errors(driver)
        assert not errors, errors
