"""Consent and API keys as an administrator records and issues them, in a real browser."""

from __future__ import annotations

import pytest
import requests
from selenium.webdriver.support.select import Select

from tests.web.browser.conftest import Browser, PanelBox, as_admin

PATIENT = "+12015550177"
QUITTER = "+12015550188"


@pytest.fixture(scope="module")
def admin(chrome: Browser, panel_box: PanelBox) -> Browser:
    as_admin(chrome, panel_box)
    return chrome


def _open_contact(browser: Browser, number: str) -> None:
    browser.go("/contacts")
    browser.fill("#q", number)
    browser.press("Search")
    browser.wait(lambda: "q=" in browser.path, "the search's results")
    browser.click_first("main table a[href^='/contacts/']")
    browser.wait(lambda: browser.find("#record"), "the contact's page")


def _badge(browser: Browser, purpose: str) -> str:
    text: str = browser.find(f"main .badge[data-purpose='{purpose}']").text
    return text


def test_it_records_consent_with_its_evidence(admin: Browser, panel_box: PanelBox) -> None:
    panel_box.inject(PATIENT, "Hello, I booked online")
    admin.wait(lambda: _found(admin, PATIENT), "the contact of the new message", timeout=30)
    _open_contact(admin, PATIENT)
    Select(admin.find("#purpose")).select_by_value("marketing")
    Select(admin.find("#action")).select_by_value("opted_in")
    Select(admin.find("#source")).select_by_value("paper")
    admin.fill("#evidence", "Signed form 2026-12-06, ref P-1044")
    admin.press("Record")
    admin.wait(lambda: "opted in" in _badge(admin, "marketing"), "marketing shown opted in")
    assert "Signed form 2026-12-06, ref P-1044" in admin.find("main").text
    admin.screenshot("contact")
    assert admin.console_problems() == []


def test_it_shows_a_stop_in_the_contact_s_consent(admin: Browser, panel_box: PanelBox) -> None:
    panel_box.inject(QUITTER, "Hi, is my prescription ready?")
    admin.wait(lambda: _found(admin, QUITTER), "the contact of the first message", timeout=30)
    panel_box.inject(QUITTER, "STOP")

    def stopped() -> bool:
        _open_contact(admin, QUITTER)
        return "opted out" in _badge(admin, "transactional")

    admin.wait(stopped, "the STOP in the contact's consent", timeout=30)
    assert "opted out" in _badge(admin, "marketing")


def _found(browser: Browser, number: str) -> bool:
    browser.go(f"/contacts?q={number.replace('+', '%2B')}")
    return bool(browser.all("main table a[href^='/contacts/']"))


def test_it_creates_an_api_key_shown_once_and_revokes_it(
    admin: Browser, panel_box: PanelBox
) -> None:
    box = panel_box.box
    admin.go("/keys")
    for option in Select(admin.find("#key-user")).options:
        if option.text.split()[0] == panel_box.admin:
            option.click()
    for box_ in admin.all("#create-key input[name=scopes]"):
        if box_.get_attribute("value") == "messages:read":
            box_.click()
    admin.press("Create key")
    key = admin.wait(lambda: admin.find("#api-key").text.strip(), "the new key")
    admin.screenshot("api-key-created")
    headers = {"Authorization": f"Bearer {key}"}

    def answer() -> int:
        got = requests.get(box.url("/api/v1/lines"), headers=headers, verify=box.ca_path)
        return got.status_code

    assert answer() == 200
    admin.go("/keys")
    assert key not in admin.text()  # shown once only
    admin.press("Revoke", within="#keys")
    admin.driver.switch_to.alert.accept()
    admin.wait(
        lambda: admin.path.startswith("/keys") and not admin.all("#keys button.danger"),
        "the key shown revoked",
    )
    assert answer() == 401
