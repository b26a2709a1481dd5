"""Signing in as an office's first administrator would, in a real browser."""

from __future__ import annotations

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

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


def test_it_signs_in_a_new_agent_with_the_keyboard_alone(
    chrome: Browser, panel_box: PanelBox
) -> None:
    password = panel_box.add_user("kim", "agent")
    chrome.sign_out()
    chrome.go("/login")
    keys = ActionChains(chrome.driver)
    assert chrome.driver.switch_to.active_element.get_attribute("id") == "name"  # autofocus
    keys.send_keys("kim", Keys.TAB, password, Keys.ENTER).perform()
    chrome.wait(lambda: chrome.path == "/login/password", "the new-password page")
    order = []
    for _ in range(4):
        ActionChains(chrome.driver).send_keys(Keys.TAB).perform()
        focused = chrome.driver.switch_to.active_element
        order.append(focused.get_attribute("id") or focused.text)
    assert order == ["Skip to content", "new_password", "new_password_again", "Save password"]
    chrome.find("#new_password").send_keys("a keyboard only passphrase")
    chrome.find("#new_password_again").send_keys("a keyboard only passphrase", Keys.ENTER)
    chrome.wait(lambda: chrome.path == "/dashboard", "the dashboard")
    assert chrome.console_problems() == []
