"""Headless Chromium (Debian's chromium and chromium-driver, driven by Selenium) against a
whole box: `smsgw init` (whose one-time admin password the tests sign in with), then
`smsgw run --simulate 2` serving the panel over HTTPS, the worker and two emulated modems.

Screenshots of the main pages go to ``$TEST_SMSGW_SCREENSHOTS`` (default
``build/screenshots``). Where no browser is installed the tests are skipped with the reason;
``.ci/run`` installs it and sets ``TEST_SMSGW_REQUIRE_BROWSER=1``, so there they fail instead.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.web.conftest import Box, _start, cli, short_temp_dir

CHROMIUM = Path(os.environ.get("TEST_SMSGW_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("TEST_SMSGW_CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOTS = Path(os.environ.get("TEST_SMSGW_SCREENSHOTS", "build/screenshots"))
WAIT_SECONDS = 20.0
ADMIN_PASSWORD = "shelf box keeper passphrase"


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    missing = _browser_missing()
    if missing is None:
        return
    if os.environ.get("TEST_SMSGW_REQUIRE_BROWSER") == "1":
        pytest.fail(f"TEST_SMSGW_REQUIRE_BROWSER=1 but {missing}")
    pytest.skip(missing)


@dataclass
class PanelBox:
    """A started box and what `smsgw init` printed for its first administrator."""

    box: Box
    admin: str
    one_time_password: str
    totp_secret: str | None = None
    passwords: dict[str, str] = field(default_factory=dict)

    def inject(self, sender: str, text: str) -> None:
        done = self.box.smsgw(
            "sim", "inject", "--control", self.box.control, "--from", sender, "--text", text
        )
        assert done.returncode == 0, done.stderr

    def outbox(self) -> list[dict[str, Any]]:
        done = self.box.smsgw("sim", "outbox", "--control", self.box.control)
        assert done.returncode == 0, done.stderr
        parts: list[dict[str, Any]] = json.loads(done.stdout or "[]")
        return parts

    def add_user(self, name: str, role: str) -> str:
        """`smsgw user add`: the one-time password it prints."""
        done = self.box.smsgw("user", "add", name, "--role", role, "--json")
        assert done.returncode == 0, done.stderr
        password: str = json.loads(done.stdout)["one_time_password"]
        return password


@pytest.fixture(scope="module")
def panel_box(browser_available: None) -> Iterator[PanelBox]:
    directory = short_temp_dir()
    try:
        init = cli("init", "--data-dir", str(directory))
        assert init.returncode == 0, init.stderr
        found = re.search(r"first admin\s+(\S+), one-time password (\S+)", init.stdout)
        assert found, init.stdout
        config_path = directory / "smsgw.toml"
        env = {**os.environ, "SMSGW_CONFIG": str(config_path)}
        env["SMSGW_CONSENT_TRANSACTIONAL"] = "on_send"
        box = _start(directory, config_path, env)
        try:
            yield PanelBox(box, found.group(1), found.group(2))
        finally:
            code = box.stop()
        assert code == 0, f"smsgw run exited with {code}:\n{box.output.text()}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class Browser:
    """One headless Chromium window on the box, with the few verbs the tests need."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    def go(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        url: str = self.driver.current_url
        return url.removeprefix(self.base_url)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self) -> str:
        body: str = self.find("body").text
        return body

    def fill(self, css: str, value: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(value)

    def press(self, label: str, within: str = "main") -> None:
        """Click the button (or link) reading ``label`` (the page may be changing live)."""

        def click() -> bool:
            for element in self.all(f"{within} button, {within} a, {within} input[type=submit]"):
                if element.is_displayed() and (element.text or "").strip() == label:
                    element.click()
                    return True
            return False

        self.wait(click, f"a button or link {label!r}", timeout=5)

    def click_first(self, css: str) -> None:
        """Click the first element matching ``css`` once there is one."""

        def click() -> bool:
            found = self.all(css)
            if found:
                found[0].click()
            return bool(found)

        self.wait(click, f"an element {css!r}")

    def wait(self, check: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
        """Poll the page with a deadline (the page changes on its own: live updates)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = check()
            except (NoSuchElementException, StaleElementReferenceException):
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                shown = self.text()[:1500]
                raise AssertionError(f"{what} not seen within {timeout}s on {self.path}:\n{shown}")
            time.sleep(0.05)

    def wait_text(self, text: str, timeout: float = WAIT_SECONDS) -> None:
        self.wait(lambda: text in self.text(), f"text {text!r}", timeout)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        # The whole page, not only the window's height (Chromium's own full-page capture).
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"captureBeyondViewport": True, "fromSurface": True, "clip": self._page_clip()},
        )
        target.write_bytes(base64.b64decode(shot["data"]))
        return target

    def _page_clip(self) -> dict[str, float]:
        width, height = self.driver.execute_script(
            "return [document.documentElement.scrollWidth,"
            " Math.min(document.documentElement.scrollHeight, 6000)]"
        )
        return {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}

    def console_problems(self) -> list[str]:
        """Script errors and Content-Security-Policy violations the page logged."""
        entries = self.driver.get_log("browser")
        return [e["message"] for e in entries if e["level"] in ("SEVERE", "WARNING")]

    def sign_out(self) -> None:
        self.driver.delete_all_cookies()
        self.driver.get_log("browser")  # what earlier pages logged is theirs


def new_driver(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        # The box's own CA is not in this throwaway profile; the certificate chain itself is
        # tested with real TLS clients in tests/web/test_tls.py.
        "--ignore-certificate-errors",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER))
    try:
        return webdriver.Chrome(options=options, service=service)
    except WebDriverException as exc:
        raise AssertionError(f"Chromium did not start: {exc.msg}") from None


@pytest.fixture(scope="module")
def chrome(panel_box: PanelBox) -> Iterator[Browser]:
    driver = new_driver()
    try:
        yield Browser(driver, panel_box.box.base_url)
    finally:
        driver.quit()


def sign_in(browser: Browser, name: str, password: str, secret: str | None = None) -> None:
    """Through the sign-in form; a TOTP code from ``secret`` when asked for one.

    A code is accepted once per 30-second step: the next step's code (accepted too, for
    clock drift) lets a test sign in again within the step it last used.
    """
    browser.sign_out()
    browser.go("/login")
    browser.fill("#name", name)
    browser.fill("#password", password)
    browser.press("Sign in")
    browser.wait(
        lambda: browser.path != "/login" or browser.all("main .error"), "the answer to sign-in"
    )
    if browser.path.startswith("/login/code"):
        assert secret is not None, "asked for a code without a TOTP secret"
        code = pyotp.TOTP(secret).at(time.time() + 30)
        browser.fill("#code", code)
        browser.press("Continue")


def as_admin(browser: Browser, box: PanelBox) -> None:
    """Signed in as the box's administrator: the first sign-in if it has not happened."""
    if box.totp_secret is None:
        first_admin_sign_in(browser, box)
        browser.press("I have kept them; continue")
    else:
        sign_in(browser, box.admin, box.passwords[box.admin], box.totp_secret)
    browser.wait(lambda: browser.path == "/dashboard", "the dashboard")


def first_admin_sign_in(browser: Browser, box: PanelBox) -> None:
    """The first administrator's first sign-in: one-time password, own password, TOTP."""
    sign_in(browser, box.admin, box.one_time_password)
    browser.wait(lambda: browser.path == "/login/password", "the new-password page")
    browser.fill("#new_password", ADMIN_PASSWORD)
    browser.fill("#new_password_again", ADMIN_PASSWORD)
    browser.press("Save password")
    browser.wait(lambda: browser.path == "/login/two-factor", "the two-factor set-up page")
    secret = browser.find("#totp-secret").text.strip()
    browser.fill("#code", pyotp.TOTP(secret).now())
    browser.press("Turn on")
    browser.wait_text("Your recovery codes")
    box.totp_secret = secret
    box.passwords[box.admin] = ADMIN_PASSWORD
