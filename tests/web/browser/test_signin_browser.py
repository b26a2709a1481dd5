"""Signing in as an office's first administrator would, in a real browser."""

from __future__ import annotations

from tests.web.browser.conftest import (
    ADMIN_PASSWORD,
    Browser,
    PanelBox,
    first_admin_sign_in,
    sign_in,
)


def test_it_signs_in_the_first_admin_with_a_one_time_password_then_totp(
    chrome: Browser, panel_box: PanelBox
) -> None:
    chrome.go("/")
    chrome.wait(lambda: chrome.path.startswith("/login"), "the sign-in page")
    chrome.screenshot("sign-in")
    first_admin_sign_in(chrome, panel_box)
    codes = [item.text for item in chrome.all("#recovery-codes code")]
    assert len(codes) == 10
    chrome.press("I have kept them; continue")
    chrome.wait(lambda: chrome.path == "/dashboard", "the dashboard")
    # Again, as on any later day: password, then a code from the authenticator.
    sign_in(chrome, panel_box.admin, ADMIN_PASSWORD, panel_box.totp_secret)
    chrome.wait(lambda: chrome.path == "/dashboard", "the dashboard after a TOTP code")
    assert chrome.console_problems() == []


def test_it_refuses_a_wrong_password_in_plain_words(chrome: Browser, panel_box: PanelBox) -> None:
    sign_in(chrome, panel_box.admin, "not the password at all")
    chrome.wait_text("The user name, password or code is not right")
    assert chrome.path.startswith("/login")
