"""The playground and CORS in a real browser: Debian's Chromium, the gateway on a loopback port.

Needs the built front-end (`make test` builds it) and Chromium (installed here when missing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.config import CorsSettings, GatewaySettings
from gateway.playground.examples import EXAMPLES
from gateway.playground.page import ASSETS, SCRIPT
from gateway.sandbox import Sandbox
from tests.gateway.playground.browser import (
    ARTIFACTS,
    chromium,
    console_errors,
    ensure_chromium,
    requested_urls,
    serve_on_loopback,
)

# One tab per example, every provider's, in the order the page opens them.
EXAMPLE_NAMES = [example.name for examples in EXAMPLES.values() for example in examples]

WAIT = 60  # an upper bound for slow machines, not a performance assertion
INTERNAL = ("data:", "blob:", "chrome:", "chrome-extension:", "about:")


@pytest.fixture(scope="module")
def binaries() -> tuple[str, str]:
    if not (ASSETS / SCRIPT).is_file():
        pytest.fail("the playground is not built: run `make playground` (make test does)")
    return ensure_chromium()


@pytest.fixture
def browser(binaries: tuple[str, str]) -> Iterator[webdriver.Chrome]:
    with chromium(*binaries) as chrome:
        requested_urls(chrome)  # drop what the browser fetched for itself before the test
        yield chrome


def network_requests(chrome: webdriver.Chrome) -> list[str]:
    return [url for url in requested_urls(chrome) if not url.startswith(INTERNAL)]


def editor_text(chrome: webdriver.Chrome, selector: str) -> str:
    return str(chrome.find_element(By.CSS_SELECTOR, selector).text)


def response_text(chrome: webdriver.Chrome) -> str:
    return editor_text(chrome, ".graphiql-response")


def run_tab(
    chrome: webdriver.Chrome,
    operation: str,
    expected: str,
    *,
    kind: str = "mutation",
    variable: str = '"provider"',
    variables: dict[str, Any] | None = None,
) -> str:
    """Switch to the tab of `operation`, wait until its editors show it, run it.

    `variables`, when given, replace the tab's variables first (as a user pasting them would).
    """
    tabs = chrome.find_elements(By.CSS_SELECTOR, ".graphiql-tab button")
    [tab for tab in tabs if tab.text == operation][-1].click()
    WebDriverWait(chrome, WAIT).until(
        lambda c: (
            f"{kind} {operation}" in editor_text(c, ".graphiql-query-editor")
            and variable in editor_text(c, ".graphiql-editor-tool")
        )
    )
    if variables is not None:
        # GraphiQL 4's editors are CodeMirror 5 instances; typing would meet auto-closed quotes.
        chrome.execute_script(
            "document.querySelector('.graphiql-editor-tool .CodeMirror').CodeMirror"
            ".setValue(arguments[0])",
            json.dumps(variables),
        )
    chrome.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    WebDriverWait(chrome, WAIT).until(lambda c: expected in response_text(c))
    return response_text(chrome)


def tab_titles(chrome: webdriver.Chrome) -> list[str]:
    return [str(tab.text) for tab in chrome.find_elements(By.CSS_SELECTOR, ".graphiql-tab")]


def open_playground(chrome: webdriver.Chrome, origin: str) -> None:
    chrome.get(f"{origin}/graphql")
    WebDriverWait(chrome, WAIT).until(
        lambda c: (
            c.find_elements(By.CSS_SELECTOR, '[data-testid="examples-panel"]')
            and c.find_elements(By.CSS_SELECTOR, ".graphiql-tab")
        )
    )


def test_the_playground_runs_the_upsert_example_with_no_request_beyond_the_gateway(
    browser: webdriver.Chrome,
) -> None:
    sandbox = Sandbox()
    with serve_on_loopback(create_app(sandbox.config(), sandbox=sandbox)) as origin:
        open_playground(browser, origin)
        assert tab_titles(browser) == EXAMPLE_NAMES
        hints = browser.find_element(By.CSS_SELECTOR, '[data-testid="sandbox-hints"]').text
        assert "+18005551234" in hints and "+14155550123" in hints
        facts = WebDriverWait(browser, 15).until(
            lambda c: c.find_element(By.CSS_SELECTOR, '[data-testid="facts-HEYMARKET"]').text
        )
        assert "plan" in facts and "at most 5 tags" in facts  # its catalogue, its capabilities
        lark = browser.find_element(By.CSS_SELECTOR, '[data-testid="facts-CAMPAIGNLARK"]').text
        assert "lead_source (required)" in lark
        answer = run_tab(browser, "TracklyUpsertContact", "UpsertContactSuccess")
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "playground.png"))
        urls = network_requests(browser)
        errors = console_errors(browser)
    assert '"created": true' in answer
    assert f"{origin}/graphql" in urls
    assert f"{origin}/playground/assets/{SCRIPT}" in urls
    assert [url for url in urls if not url.startswith(f"{origin}/")] == []
    assert errors == []  # a CSP violation would be reported here


def test_the_playground_starts_an_import_and_follows_its_progress_over_a_websocket(
    browser: webdriver.Chrome,
) -> None:
    sandbox = Sandbox()
    with serve_on_loopback(create_app(sandbox.config(), sandbox=sandbox)) as origin:
        open_playground(browser, origin)
        started = json.loads(run_tab(browser, "TracklyStartImport", "ContactImportStarted"))
        job = started["data"]["startContactImport"]["contactImport"]["id"]
        answer = run_tab(
            browser,
            "TracklyImportProgress",
            '"SUCCEEDED"',
            kind="subscription",
            variable='"id"',
            variables={"id": job},
        )
        urls = network_requests(browser)
        errors = console_errors(browser)
    progress = json.loads(answer)["data"]["contactImportProgress"]
    assert progress["id"] == job
    assert (progress["total"], progress["succeeded"], progress["failed"]) == (41, 40, 1)
    assert progress["errors"][0]["error"]["code"] == "INVALID_PHONE"
    assert [url for url in urls if not url.startswith(f"{origin}/")] == []
    assert errors == []


def test_the_playground_shows_a_typed_error_and_its_dialogs_keep_to_the_csp(
    browser: webdriver.Chrome,
) -> None:
    sandbox = Sandbox()
    with serve_on_loopback(create_app(sandbox.config(), sandbox=sandbox)) as origin:
        open_playground(browser, origin)
        # The Examples panel opens an example in a new tab, titled by its operation.
        (link,) = [
            link
            for link in browser.find_elements(
                By.CSS_SELECTOR, '[data-testid="examples-panel"] button'
            )
            if link.text == "TracklyNotSendable"
        ]
        link.click()
        WebDriverWait(browser, WAIT).until(lambda c: len(tab_titles(c)) == len(EXAMPLE_NAMES) + 1)
        assert tab_titles(browser)[-1] == "TracklyNotSendable"
        answer = run_tab(browser, "TracklyNotSendable", "NotSendableError")
        # A dialog makes Radix inject a <style>: it must carry the CSP nonce, or Chrome logs.
        browser.find_element(By.CSS_SELECTOR, '[aria-label="Open settings dialog"]').click()
        WebDriverWait(browser, WAIT).until(
            lambda c: c.execute_script(
                "return [...document.querySelectorAll('style')].some(s => s.nonce)"
            )
        )
        errors = console_errors(browser)
    assert '"code": "NOT_SENDABLE"' in answer
    assert errors == []


def test_with_client_keys_the_key_entered_on_the_page_is_sent_and_kept_out_of_storage(
    browser: webdriver.Chrome,
) -> None:
    sandbox = Sandbox()
    config = sandbox.config(GatewaySettings(api_keys=(SecretStr("pg-key-1"),)))
    with serve_on_loopback(create_app(config, sandbox=sandbox)) as origin:
        open_playground(browser, origin)
        assert "Bearer <key>" in run_tab(browser, "TracklyUpsertContact", "UNAUTHENTICATED")
        field = browser.find_element(By.CSS_SELECTOR, '[data-testid="api-key"]')
        field.send_keys("pg-key-1")
        field.submit()
        WebDriverWait(browser, WAIT).until(
            lambda c: "Bearer" in c.find_element(By.CSS_SELECTOR, '[data-testid="key-status"]').text
        )
        answer = run_tab(browser, "TracklyUpsertContact", "UpsertContactSuccess")
        sent = authorizations(browser)
        local = browser.execute_script("return JSON.stringify(window.localStorage)")
        cookies = browser.get_cookies()
    assert "UpsertContactSuccess" in answer
    assert "Bearer pg-key-1" in sent
    assert "pg-key-1" not in local and cookies == []


def authorizations(chrome: webdriver.Chrome) -> list[str]:
    found = []
    for entry in chrome.get_log("performance"):  # type: ignore[no-untyped-call]
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            headers = {k.lower(): v for k, v in message["params"]["request"]["headers"].items()}
            if "authorization" in headers:
                found.append(headers["authorization"])
    return found


FETCH = """
const [url, done] = [arguments[0], arguments[arguments.length - 1]];
fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({query: '{ providers { provider configured } }'})})
  .then(r => r.json()).then(body => done({ok: true, body}))
  .catch(error => done({ok: false, error: String(error)}));
"""


def front_end_app() -> Starlette:
    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>front-end app</title><p>app</p>")

    return Starlette(routes=[Route("/", index)])


def test_a_front_end_app_on_an_allowed_origin_can_call_the_gateway_and_another_cannot(
    browser: webdriver.Chrome,
) -> None:
    with serve_on_loopback(front_end_app()) as app_origin:
        allowed, port = app_origin, app_origin.rsplit(":", 1)[1]
        refused = f"http://localhost:{port}"  # same server, another origin
        sandbox = Sandbox()
        config = sandbox.config(GatewaySettings(cors=CorsSettings(allow_origins=(allowed,))))
        with serve_on_loopback(create_app(config, sandbox=sandbox)) as gateway:
            browser.set_script_timeout(WAIT)
            browser.get(f"{allowed}/")
            let_in = browser.execute_async_script(FETCH, f"{gateway}/graphql")
            browser.get(f"{refused}/")
            kept_out = browser.execute_async_script(FETCH, f"{gateway}/graphql")
            errors = console_errors(browser)
    assert let_in["ok"], let_in
    assert {"provider": "TRACKLY", "configured": True} in let_in["body"]["data"]["providers"]
    assert not kept_out["ok"] and "Failed to fetch" in kept_out["error"]
    assert any("CORS policy" in error for error in errors), errors
