"""The inbox as staff use it: a message arrives while the page is open, a reply goes out
through the emulated modem and turns delivered, hostile text stays text."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import NoAlertPresentException

from tests.web.browser.conftest import Browser, PanelBox, as_admin

CUSTOMER = "+12015550111"
HOSTILE = "+12015550166"
PAYLOAD = (
    "<script>window.__pwned = 1</script>"
    '<img src=x onerror="window.__pwned = 2">'
    '<a href="javascript:window.__pwned = 3">tap</a> '
    "call +1 555 \u202e0123"
)


@pytest.fixture(scope="module")
def admin(chrome: Browser, panel_box: PanelBox) -> Browser:
    as_admin(chrome, panel_box)
    return chrome


def _open_conversation_of(browser: Browser, text: str) -> None:
    browser.go("/inbox")
    for link in browser.all("#inbox-list a.open"):
        row = link.find_element("xpath", "./ancestor::tr")
        if text in row.text:
            link.click()
            browser.wait(lambda: browser.path.startswith("/inbox/"), "the conversation page")
            return
    raise AssertionError(f"no conversation showing {text!r}")


def test_it_shows_an_inbound_message_without_reloading(admin: Browser, panel_box: PanelBox) -> None:
    admin.go("/inbox")
    admin.wait(lambda: admin.find("#inbox-list"), "the conversation list")
    admin.driver.execute_script("window.__same_page = 'yes'")
    panel_box.inject(CUSTOMER, "Is the clinic open on Saturday?")
    admin.wait(
        lambda: "Is the clinic open on Saturday?" in admin.find("#inbox-list").text,
        "the new message in the list",
        timeout=30,
    )
    assert admin.driver.execute_script("return window.__same_page") == "yes"
    admin.screenshot("inbox")
    assert admin.console_problems() == []


def test_it_replies_and_shows_the_reply_delivered(admin: Browser, panel_box: PanelBox) -> None:
    _open_conversation_of(admin, "Is the clinic open on Saturday?")
    admin.fill("#reply-body", "Yes, from 9 to 12.")
    admin.press("Send reply")
    sent = admin.wait(
        lambda: [p for p in panel_box.outbox() if p["recipient"] == CUSTOMER],
        "the reply in the emulated modem's outbox",
        timeout=30,
    )
    assert sent[0]["text"].startswith("Yes, from 9 to 12.")
    admin.wait(
        lambda: any(b.text == "delivered" for b in admin.all("#thread .msg.out .badge")),
        "the reply shown delivered",
        timeout=30,
    )
    admin.screenshot("conversation")
    assert admin.console_problems() == []


def test_it_shows_hostile_text_literally_and_runs_none_of_it(
    admin: Browser, panel_box: PanelBox
) -> None:
    panel_box.inject(HOSTILE, PAYLOAD)
    admin.go("/inbox")
    admin.wait(lambda: "window.__pwned" in admin.find("#inbox-list").text, "the hostile text")
    _open_conversation_of(admin, "window.__pwned")
    shown = admin.find("#thread .msg.in .body-text").text
    assert "<script>window.__pwned = 1</script>" in shown
    assert 'onerror="window.__pwned = 2"' in shown
    assert "⟦U+202E⟧" in shown
    assert admin.all("#thread img") == []
    assert admin.all("#thread script") == []
    assert not [
        a for a in admin.all("#thread a") if "javascript" in (a.get_attribute("href") or "")
    ]
    assert admin.driver.execute_script("return window.__pwned") is None
    with pytest.raises(NoAlertPresentException):
        _ = admin.driver.switch_to.alert.text
    admin.screenshot("hostile-conversation")
