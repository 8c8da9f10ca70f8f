"""Real-browser test support: Debian's Chromium driven by selenium, the gateway on a real port.

The browser is installed by the tests themselves when missing (apt-get, as root); if that is
impossible the test fails with the reason, it never skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from starlette.types import ASGIApp

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
PACKAGES = ("chromium", "chromium-driver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
)


def _binaries() -> tuple[str | None, str | None]:
    return shutil.which("chromium"), shutil.which("chromedriver")


def ensure_chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver, installing Debian's packages when they are missing."""
    browser, driver = _binaries()
    if browser and driver:
        return browser, driver
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
    )
    for step in steps:
        try:
            done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"cannot install the test browser ({' '.join(step)}): {exc}", False)
        if done.returncode != 0:
            pytest.fail(
                f"cannot install the test browser: `{' '.join(step)}` exited "
                f"{done.returncode}:\n{done.stderr[-2000:]}",
                False,
            )
    browser, driver = _binaries()
    if not (browser and driver):
        pytest.fail(f"installed {' '.join(PACKAGES)} but chromium/chromedriver are not on PATH")
    return browser, driver


@contextlib.contextmanager
def chromium(browser: str, driver: str) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="playground-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    # Every request the pages make, and console messages (CSP violations land there).
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requested_urls(chrome: webdriver.Chrome) -> list[str]:
    """URLs of every request the browser sent since the last call (the log drains)."""
    urls = []
    for entry in chrome.get_log("performance"):  # type: ignore[no-untyped-call]
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def console_errors(chrome: webdriver.Chrome) -> list[str]:
    logged = chrome.get_log("browser")  # type: ignore[no-untyped-call]
    return [entry["message"] for entry in logged if entry["level"] == "SEVERE"]


@contextlib.contextmanager
def serve_on_loopback(app: ASGIApp) -> Iterator[str]:
    """Run `app` with uvicorn in a thread on a free loopback port; yields its origin."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
