"""The settings page: admins change the texts customers get, quiet hours, retention and
lines' hours; managers read them; agents and auditors get 403. Refusals are shown next to
their field with nothing saved, hostile texts stay inert, and a saved away text is the one
the worker's next away reply carries."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gateway.audit import audit_events
from gateway.compliance import box_zone
from gateway.models import Line, Message, Setting
from gateway.settings import overrides
from tests.gateway.inbox_fixtures import add_lines, inbound
from tests.web.panel.conftest import Panel, PanelClient

FILE_AWAY = "{business}: thanks for your message. We are away now and answer when we are back."
TEXTS = {
    "group": "texts",
    "consent.business_name": "Bay Clinic",
    "inbox.away_reply": FILE_AWAY,
    "inbox.away_reply_hours": "12",
    "inbox.silence_minutes": "30",
    "inbox.signature": "- {agent} @ {business}",
    "consent.opt_out_reply": (
        "{business}: you are unsubscribed and get no more messages. Reply START to undo."
    ),
    "consent.opt_in_reply": "{business}: you are resubscribed. Reply STOP to opt out.",
    "consent.help_reply": (
        "{business}: reply to this message and a person will answer. Reply STOP to opt out."
    ),
}
QUIET = {"group": "quiet", "consent.quiet_start": "08:00", "consent.quiet_end": "21:00"}
POSTS = (
    ("/settings", TEXTS),
    ("/settings/reset", {"key": "inbox.away_reply"}),
    ("/settings/lines/ln_1", {"hours": "", "holidays": ""}),
)


def text_of(page: object) -> str:
    return page.get_data(as_text=True)  # type: ignore[attr-defined, no-any-return]


def stored(panel: Panel) -> dict[str, object]:
    with panel.gateway.sessions() as session:
        return overrides(session)


def admin_on_settings(panel: Panel) -> PanelClient:
    browser = panel.sign_in("admin")
    assert browser.get("/settings").status_code == 200
    return browser


def test_it_shows_each_section_and_where_each_value_comes_from(panel: Panel) -> None:
    add_lines(panel.gateway, ("ln_1", "Front desk"))
    page = text_of(admin_on_settings(panel).get("/settings"))
    for title in ("Business hours", "Away and keyword texts", "Quiet hours", "Retention"):
        assert title in page
    assert "Front desk" in page and "mon-fri 09:00-17:00" in page  # the syntax as a hint
    assert "Config file" in page and "Set in the panel" not in page
    assert "<code>{business}</code>" in page and "<code>{agent}</code>" in page
    # The default away reply with the business name: 81 characters, one GSM-7 SMS.
    assert "81 characters, GSM-7, 1 SMS." in page
    assert "From 5 to 100." in page  # consent years, with their minimum
    assert 'action="/settings/reset"' in page and 'name="csrf_token"' in page


def test_it_saves_a_text_shows_who_set_it_and_resets_it(panel: Panel) -> None:
    browser = admin_on_settings(panel)
    new = "{business}: closed for the holidays, back on Monday."
    done = browser.post("/settings", {**TEXTS, "inbox.away_reply": new})
    assert done.status_code == 302 and done.headers["Location"].endswith("#texts")
    assert stored(panel) == {"inbox.away_reply": new}  # only what changed is saved
    page = text_of(browser.get(done.headers["Location"]))
    assert "Away and keyword texts: saved." in page
    assert "Set in the panel</span> by admin" in page
    assert html.escape(FILE_AWAY, quote=False) in page  # the file's value, to go back to
    assert "Bay Clinic: closed for the holidays, back on Monday." not in page  # not sent text
    assert "52 characters, GSM-7, 1 SMS." in page
    done = browser.post("/settings/reset", {"key": "inbox.away_reply"})
    assert done.status_code == 302
    assert stored(panel) == {}
    page = text_of(browser.get(done.headers["Location"]))
    assert "Away reply: back to the config file&#39;s value." in page
    assert "Away reply: back" not in text_of(browser.get("/settings?done=reset&what=<b>"))
    with panel.gateway.sessions() as session:
        events = audit_events(session)
    assert [(e.action, e.detail) for e in events[:2]] == [
        ("settings.reset", "inbox.away_reply"),
        ("settings.changed", "inbox.away_reply"),
    ]
    assert all("holidays" not in (e.detail or "") + (e.subject or "") for e in events)


def test_it_shows_a_refusal_next_to_its_field_and_saves_nothing(panel: Panel) -> None:
    browser = admin_on_settings(panel)
    page = browser.post(
        "/settings", {**QUIET, "consent.quiet_start": "07:00", "consent.quiet_end": "25:00"}
    )
    assert page.status_code == 422
    body = text_of(page)
    assert "Nothing was saved" in body
    assert "Marketing until (recipient&#39;s local time): &#39;25:00&#39; must be a time" in body
    assert 'value="25:00"' in body and 'value="07:00"' in body  # what was typed is kept
    assert stored(panel) == {}


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({**TEXTS, "inbox.away_reply": "x" * 100_000}, 422, "at most 4096 characters"),
        ({**TEXTS, "inbox.away_reply": "x" * 321}, 422, "must be 1 to 320 characters"),
        ({**TEXTS, "inbox.away_reply": "Line one\r\nline two"}, 422, "control characters"),
        ({**TEXTS, "inbox.away_reply": "{busines}: away"}, 422, "placeholders it may use"),
        ({**TEXTS, "inbox.away_reply_hours": "soon"}, 422, "expected a number"),
        (
            {"group": "retention", "retention.body_days": "30", "retention.consent_years": "3"},
            422,
            "must be between 5 and 100",
        ),
        ({"group": "retention", "retention.body_days": "30"}, 400, "was not sent with the form"),
    ],
)
def test_it_refuses_malformed_input_with_a_clear_message(
    panel: Panel, form: dict[str, str], status: int, says: str
) -> None:
    browser = admin_on_settings(panel)
    page = browser.post("/settings", form)
    assert page.status_code == status
    assert says in text_of(page)
    assert len(text_of(page)) < 60_000  # an oversized value is not echoed whole
    assert stored(panel) == {}


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/settings", {"group": "everything"}),
        ("/settings", {}),
        ("/settings/reset", {"key": "web.bind"}),
        ("/settings/reset", {}),
    ],
)
def test_it_answers_400_to_a_form_the_page_never_sends(
    panel: Panel, path: str, form: dict[str, str]
) -> None:
    browser = admin_on_settings(panel)
    assert browser.post(path, form).status_code == 400
    assert stored(panel) == {}


def test_it_keeps_hostile_texts_inert(panel: Panel) -> None:
    browser = admin_on_settings(panel)
    script = "<script>alert(1)</script> {business}"
    assert browser.post("/settings", {**TEXTS, "inbox.away_reply": script}).status_code == 302
    page = text_of(browser.get("/settings"))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    hostile = "Bay Clinic\u202e: stop"
    refused = browser.post("/settings", {**TEXTS, "consent.opt_out_reply": hostile})
    assert refused.status_code == 422
    body = text_of(refused)
    assert "must be printable characters on one line" in body
    assert "\u202e" not in body  # shown back as a visible mark, never as an override
    assert stored(panel) == {"inbox.away_reply": script}


def test_it_counts_a_text_that_needs_ucs2(panel: Panel) -> None:
    browser = admin_on_settings(panel)
    text = "{business} — we are away until Monday."  # an em dash is outside GSM-7
    assert browser.post("/settings", {**TEXTS, "inbox.away_reply": text}).status_code == 302
    assert "38 characters, UCS-2, 1 SMS." in text_of(browser.get("/settings"))


def test_it_refuses_a_stale_or_missing_csrf_token(panel: Panel) -> None:
    browser = admin_on_settings(panel)
    done = browser.post(
        "/settings", {**TEXTS, "inbox.away_reply": "x {business}", "csrf_token": ""}
    )
    assert done.status_code in (400, 403)
    assert stored(panel) == {}


def test_it_saves_a_lines_hours_and_refuses_bad_ones_by_field(panel: Panel) -> None:
    add_lines(panel.gateway, ("ln_1", "Front desk"))
    browser = admin_on_settings(panel)
    done = browser.post(
        "/settings/lines/ln_1", {"hours": "Mon-Fri 9:00-17:00", "holidays": "2026-12-25"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("#line-ln_1")
    page = browser.post(
        "/settings/lines/ln_1", {"hours": "mon-fri 09:00-25:00", "holidays": "Christmas"}
    )
    assert page.status_code == 422
    body = text_of(page)
    assert (
        "Opening hours: bad time &#34;25:00&#34;" in body
        and "Holidays: holiday &#34;Christmas&#34; is not a date" in body
    )
    assert 'value="mon-fri 09:00-25:00"' in body
    with panel.gateway.sessions() as session:
        line = session.get(Line, "ln_1")
        assert line is not None
        assert (line.hours, line.holidays) == ("mon-fri 09:00-17:00", "2026-12-25")
        assert session.scalars(select(Setting)).all() == []
    assert "Last set in the panel by admin" in text_of(browser.get("/settings"))
    assert browser.post("/settings/lines/ln_9", {"hours": "", "holidays": ""}).status_code == 404
    assert browser.post("/settings/lines/ln_1", {"hours": ""}).status_code == 400


def test_it_lets_a_manager_read_the_settings_but_change_nothing(panel: Panel) -> None:
    add_lines(panel.gateway, ("ln_1", "Front desk"))
    browser = panel.sign_in("manager")
    page = browser.get("/settings")
    assert page.status_code == 200
    body = text_of(page)
    assert "Only an administrator can change these settings." in body
    assert "Bay Clinic" in body and "Open around the clock" in body
    assert 'action="/settings' not in body and "<textarea" not in body
    for path, form in POSTS:
        assert browser.post(path, form).status_code == 403
    assert stored(panel) == {}


@pytest.mark.parametrize("persona", ["agent", "auditor"])
def test_it_refuses_agents_and_auditors(panel: Panel, persona: str) -> None:
    add_lines(panel.gateway, ("ln_1", "Front desk"))
    browser = panel.sign_in(persona)
    assert browser.get("/settings").status_code == 403
    for path, form in POSTS:
        assert browser.post(path, form).status_code == 403
    assert stored(panel) == {}
    with panel.gateway.sessions() as session:
        line = session.get(Line, "ln_1")
        assert line is not None and line.hours is None


def test_it_sends_the_away_text_saved_here_with_the_workers_next_away_reply(
    panel: Panel,
) -> None:
    add_lines(panel.gateway, ("ln_1", "Front desk"))
    browser = admin_on_settings(panel)
    today = datetime.now(ZoneInfo(box_zone())).date()
    around = f"{today - timedelta(days=1)}, {today}, {today + timedelta(days=1)}"
    closed = {"hours": "daily 00:00-24:00", "holidays": around}
    assert browser.post("/settings/lines/ln_1", closed).status_code == 302
    away = "{business}: closed today. We answer tomorrow from 9."
    assert browser.post("/settings", {**TEXTS, "inbox.away_reply": away}).status_code == 302
    panel.gateway.office.invalidate()  # the worker's snapshot sees new hours within seconds
    received = inbound(panel.gateway, "+12015550123", "Are you open?", "ln_1")
    with panel.gateway.sessions() as session:
        replies = session.scalars(
            select(Message).where(
                Message.contact_id == received.contact_id, Message.direction == "out"
            )
        ).all()
        texts = [panel.gateway.vault.decrypt(m.body_enc, "messages", "body", m.id) for m in replies]
    assert texts == ["Bay Clinic: closed today. We answer tomorrow from 9."]
