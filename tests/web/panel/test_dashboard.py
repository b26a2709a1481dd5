"""The dashboard page: figures for seeded traffic, the server-drawn chart, attention items,
each persona's view, hostile line names."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from gateway.compliance import box_zone
from gateway.models import ConsentReview, Line, Message, utcnow
from gateway.quiet_hours import local_day_bounds
from tests.gateway.test_dashboard import seed_message, seed_review
from tests.web.panel.conftest import Panel

NOTHING = "Nothing needs attention"
_STAT = re.compile(r"<strong>(\d+)</strong> (sent|received|failed)</p>")
_BAR = re.compile(
    r'<rect class="(sent|received|failed)" x="[\d.]+" y="([\d.]+)" width="[\d.]+" '
    r'height="([\d.]+)"><title>([^<]*)</title></rect>'
)
_ROW = re.compile(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>')


def add_line(panel: Panel, line_id: str, name: str, **values: object) -> None:
    with panel.gateway.sessions() as session:
        session.add(Line(id=line_id, name=name, device="/dev/null", **values))
        session.commit()


@pytest.mark.parametrize("persona", ["admin", "manager", "agent", "auditor"])
def test_it_shows_every_persona_the_dashboard(panel: Panel, persona: str) -> None:
    page = panel.sign_in(persona).get("/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Last 24 hours" in html and NOTHING in html
    assert "No lines yet" in html


def test_it_sends_a_stranger_to_sign_in(panel: Panel) -> None:
    page = panel.anonymous().get("/dashboard")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_it_counts_today_and_draws_the_last_24_hours(panel: Panel) -> None:
    now = utcnow()
    day_start, _ = local_day_bounds(now, box_zone())
    today = max(day_start, now - timedelta(minutes=1))
    seeded = [
        *[(today, "out", "delivered")] * 4,
        (today, "out", "failed"),
        (day_start - timedelta(minutes=1), "out", "sent"),  # yesterday
        *[(now - timedelta(hours=23), "in", "received")] * 2,
        (now - timedelta(hours=25), "out", "failed"),  # before the chart's 24 hours
    ]
    for at, direction, status in seeded:
        seed_message(panel.gateway, at, direction=direction, status=status)

    html = panel.sign_in("agent").get("/dashboard").get_data(as_text=True)

    def category(direction: str, status: str) -> str:
        return "received" if direction == "in" else "failed" if status == "failed" else "sent"

    expected = {"sent": 0, "received": 0, "failed": 0}
    for at, direction, status in seeded:
        if at >= day_start:
            expected[category(direction, status)] += 1
    assert {name: int(count) for count, name in _STAT.findall(html)} == expected

    rows = _ROW.findall(html)
    assert len(rows) == 24  # the table beside the chart: one row per hour
    first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    in_chart = {"sent": 0, "received": 0, "failed": 0}
    for at, direction, status in seeded:
        if at >= first_hour:
            in_chart[category(direction, status)] += 1
    assert [sum(int(row[i]) for row in rows) for i in (1, 2, 3)] == list(in_chart.values())
    assert (
        f"{in_chart['sent']} sent, {in_chart['received']} received, {in_chart['failed']} failed"
        in html
    )

    # The busiest bar is 4 on a scale of 5: 80 of the plot's 100 units; 2 is 40, 1 is 20.
    bars = {
        (series, title.split(": ")[1]): float(height)
        for series, _, height, title in _BAR.findall(html)
    }
    assert bars[("sent", "4 sent")] == 80.0
    assert bars[("received", "2 received")] == 40.0
    assert bars[("failed", "1 failed")] == 20.0
    assert 'role="img"' in html and 'aria-label="Messages per hour' in html
    assert "The top of the chart is 5 messages per hour" in html


def test_it_lists_attention_items_until_they_are_dealt_with(panel: Panel) -> None:
    add_line(panel, "ln_ok", "Front desk", state="ready", signal_dbm=-70, operator="Op")
    manager = panel.sign_in("manager")
    html = manager.get("/dashboard").get_data(as_text=True)
    assert NOTHING in html
    assert "-70 dBm (good)" in html

    add_line(panel, "ln_gone", "Back office", state="gone", state_detail="device went away")
    unknown = seed_message(panel.gateway, utcnow(), status="unknown")
    waiting = seed_message(panel.gateway, utcnow(), status="pending_approval")
    flagged = seed_message(panel.gateway, utcnow(), direction="in", status="received")
    review = seed_review(panel.gateway, flagged, due_on=date.today() + timedelta(days=10))

    html = manager.get("/dashboard").get_data(as_text=True)
    assert NOTHING not in html
    assert '<a href="/lines/ln_gone">Back office</a>' in html and "device went away" in html
    assert "1 message handed to a modem with no outcome recorded" in html
    assert 'href="/archive?status=unknown"' in html
    assert "1 message reads like an opt-out and awaits a decision" in html
    with panel.gateway.sessions() as session:
        contact_id = session.get(ConsentReview, review).contact_id  # type: ignore[union-attr]
    assert f'<a href="/contacts/{contact_id}">Decide the one due first</a>' in html
    assert "1 message awaits your approval" in html and "/inbox/approvals" in html

    agent = panel.sign_in("agent").get("/dashboard").get_data(as_text=True)
    assert "awaits your approval" not in agent  # approvals are for managers and admins
    assert "/archive?status=unknown" not in agent  # agents do not open the archive
    assert "no outcome recorded" in agent

    with panel.gateway.sessions() as session:
        session.execute(update(Line).where(Line.id == "ln_gone").values(state="ready"))
        for message_id, status in ((unknown, "sent"), (waiting, "canceled")):
            session.execute(update(Message).where(Message.id == message_id).values(status=status))
        session.execute(
            update(ConsentReview).where(ConsentReview.id == review).values(status="dismissed")
        )
        session.commit()
    assert NOTHING in manager.get("/dashboard").get_data(as_text=True)


def test_it_renders_hostile_line_names_and_operators_inert(panel: Panel) -> None:
    add_line(
        panel,
        "ln_evil",
        "<script>alert(1)</script>\u202eevil",
        state="faulted",
        state_detail='<img src=x onerror="alert(2)">',
        operator="\u202e<b>Op</b>",
    )
    html = panel.sign_in("auditor").get("/dashboard").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Op" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\u202e" not in html
    assert "U+202E" in html  # shown as a visible mark instead


def test_it_names_the_time_zone_of_today(panel: Panel) -> None:
    html = panel.sign_in("admin").get("/dashboard").get_data(as_text=True)
    assert "the box's time zone" in html
    assert re.search(r"Since \d\d:\d\d \S+ time", html)
