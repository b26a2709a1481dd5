"""The archive: search by contact, line, sender, direction, status and dates, a cursor
through the pages, a message's history, and the search exported as CSV (audited)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from gateway.models import AuditEvent, Message
from gateway.outbound import SendRequest, enqueue
from tests.gateway.inbox_fixtures import add_lines, inbound
from tests.web.panel.conftest import Panel

ROLES = ("admin", "manager", "agent", "auditor")
READERS = ("admin", "manager", "auditor")
ANA, BEN = "+15555550101", "+15555550102"


def send(panel: Panel, to: str, body: str, line: str, by: str | None) -> str:
    gateway = panel.gateway
    with gateway.sessions() as session:
        message = enqueue(
            session,
            gateway.vault,
            gateway.config,
            SendRequest(to=to, body=body, line=line, created_by=by),
        )
        session.commit()
        return message.id


def dated(panel: Panel, message_id: str, at: datetime) -> None:
    with panel.gateway.sessions() as session:
        session.execute(update(Message).where(Message.id == message_id).values(created_at=at))
        session.commit()


def text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def office(panel: Panel) -> dict[str, str]:
    """Four messages: Ana writes to the front desk, the manager and the agent answer, Ben
    writes to sales."""
    add_lines(panel.gateway, ("ln_front", "Front desk"), ("ln_sales", "Sales"))
    ids = {
        "ana_in": inbound(panel.gateway, ANA, "Is my order ready?", "ln_front").message_id,
        "manager_out": send(panel, ANA, "Yes, after 3pm", "Front desk", panel.ids["manager"]),
        "agent_out": send(panel, ANA, "See you soon", "Front desk", panel.ids["agent"]),
        "ben_in": inbound(panel.gateway, BEN, "Price list please", "ln_sales").message_id,
    }
    dated(panel, ids["ana_in"], datetime(2026, 3, 1, 9, tzinfo=UTC))
    dated(panel, ids["manager_out"], datetime(2026, 3, 1, 10, tzinfo=UTC))
    dated(panel, ids["agent_out"], datetime(2026, 3, 2, 10, tzinfo=UTC))
    dated(panel, ids["ben_in"], datetime(2026, 3, 3, 8, tzinfo=UTC))
    return ids


def found(page: str, office: dict[str, str]) -> set[str]:
    return {name for name, message_id in office.items() if f"/archive/{message_id}" in page}


@pytest.mark.parametrize("persona", ROLES)
def test_it_opens_the_archive_to_admins_managers_and_auditors(
    panel: Panel, office: dict[str, str], persona: str
) -> None:
    browser = panel.sign_in(persona)
    pages = [
        browser.get("/archive"),
        browser.get(f"/archive/{office['ana_in']}"),
    ]
    browser.get("/dashboard")
    pages.append(browser.post("/archive/export", {}))
    for page in pages:
        assert page.status_code == (200 if persona in READERS else 403)
    if persona in READERS:
        assert browser.get("/archive/msg_NOBODY").status_code == 404
        assert browser.get("/archive/" + "x" * 500).status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"ana_in", "manager_out", "agent_out", "ben_in"}),
        ({"number": "(555) 555-0101"}, {"ana_in", "manager_out", "agent_out"}),
        ({"number": "+1 555 555 0102"}, {"ben_in"}),
        ({"line": "Sales"}, {"ben_in"}),
        ({"direction": "out"}, {"manager_out", "agent_out"}),
        ({"direction": "in", "line": "Front desk"}, {"ana_in"}),
        ({"status": "received"}, {"ana_in", "ben_in"}),
        ({"status": "queued"}, {"manager_out", "agent_out"}),
        ({"since": "2026-03-02"}, {"agent_out", "ben_in"}),
        ({"until": "2026-03-01"}, {"ana_in", "manager_out"}),
        ({"since": "2026-03-02", "until": "2026-03-02"}, {"agent_out"}),
        ({"line": "Nowhere"}, set()),
    ],
)
def test_it_filters_the_archive(
    panel: Panel, office: dict[str, str], query: dict[str, str], expected: set[str]
) -> None:
    page = panel.sign_in("auditor").get("/archive", query_string=query)
    assert page.status_code == 200
    assert found(text(page), office) == expected
    if not expected:
        assert "No message matches this search." in text(page)


def test_it_filters_by_who_sent(panel: Panel, office: dict[str, str]) -> None:
    browser = panel.sign_in("manager")
    page = text(browser.get("/archive", query_string={"user": panel.ids["agent"]}))
    assert found(page, office) == {"agent_out"}
    assert f'value="{panel.ids["agent"]}" selected' in page
    page = text(browser.get("/archive", query_string={"user": panel.ids["manager"]}))
    assert found(page, office) == {"manager_out"}
    assert "manager" in page


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"since": "2026-02-30"}, "From is a date as YYYY-MM-DD"),
        ({"since": "yesterday"}, "From is a date as YYYY-MM-DD"),
        ({"until": "1999-12-31"}, "To lies between 2000 and 2999"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, "the end date is before the start date"),
        ({"number": "12"}, "not a phone number we can read"),
        ({"direction": "sideways"}, "Direction: choose one of the listed values"),
        ({"status": "lost"}, "Status: choose one of the listed values"),
        ({"line": "L" * 65}, "The line is at most 64 characters"),
        ({"cursor": "garbage!"}, "not one the panel gave out"),
    ],
)
def test_it_refuses_malformed_searches_clearly(
    panel: Panel, office: dict[str, str], query: dict[str, str], words: str
) -> None:
    page = panel.sign_in("auditor").get("/archive", query_string=query)
    assert page.status_code in (400, 422)
    assert words in text(page)
    assert found(text(page), office) == set()


def test_it_pages_through_the_archive_with_a_cursor(panel: Panel) -> None:
    add_lines(panel.gateway, ("ln_front", "Front desk"))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    for n in range(60):
        message_id = send(panel, ANA, f"Message {n}", "Front desk", panel.ids["agent"])
        dated(panel, message_id, start + timedelta(minutes=n))
        ids.append(message_id)
    browser = panel.sign_in("admin")
    first = text(browser.get("/archive", query_string={"direction": "out"}))
    assert sum(f"/archive/{i}" in first for i in ids) == 50
    assert f"/archive/{ids[-1]}" in first and f"/archive/{ids[9]}" not in first
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    older = older.replace("&amp;", "&")
    assert "direction=out" in older
    second = text(browser.get(older))
    assert {i for i in ids if f"/archive/{i}" in second} == set(ids[:10])
    assert 'rel="next"' not in second and 'rel="prev"' in second


def test_it_shows_a_message_with_its_history_and_contact(
    panel: Panel, office: dict[str, str]
) -> None:
    browser = panel.sign_in("auditor")
    page = text(browser.get(f"/archive/{office['manager_out']}"))
    assert "Yes, after 3pm" in page
    assert "queued" in page and "History" in page
    assert "Sent by</dt><dd>manager" in page
    with panel.gateway.sessions() as session:
        contact_id = session.get(Message, office["manager_out"]).contact_id  # type: ignore[union-attr]
    assert f"/contacts/{contact_id}" in page
    listed = text(browser.get("/archive"))
    assert f"/contacts/{contact_id}" in listed


def test_it_exports_the_current_search_as_csv_and_audits_it(
    panel: Panel, office: dict[str, str]
) -> None:
    browser = panel.sign_in("manager")
    browser.get("/archive", query_string={"number": "555-555-0101"})
    response = browser.post(
        "/archive/export",
        {"number": "555-555-0101", "direction": "out", "line": "", "since": "2026-03-01"},
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert [row["id"] for row in rows] == [office["agent_out"], office["manager_out"]]
    assert rows[0]["body"] == "See you soon" and rows[0]["number"] == "'" + ANA
    assert rows[0]["created_by"] == panel.ids["agent"]
    with panel.gateway.sessions() as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "messages.exported")
        ).all()
    assert event.actor == panel.ids["manager"]
    assert "direction=out" in (event.detail or "")
    assert "number=(given)" in (event.detail or "")
    assert ANA not in (event.detail or "") and "0101" not in (event.detail or "")


def test_it_refuses_a_malformed_export_and_audits_nothing(
    panel: Panel, office: dict[str, str]
) -> None:
    browser = panel.sign_in("admin")
    browser.get("/archive")
    refused = browser.post("/archive/export", {"since": "not a date"})
    assert refused.status_code == 422
    assert "From is a date as YYYY-MM-DD" in text(refused)
    with panel.gateway.sessions() as session:
        assert session.scalars(select(AuditEvent)).all() == []
    assert browser.post("/archive/export", {"csrf_token": "forged"}).status_code == 400


def test_it_renders_hostile_bodies_inert(panel: Panel) -> None:
    add_lines(panel.gateway, ("ln_front", "Front desk"))
    hostile = '<script>alert(1)</script><img src=x onerror="a()">\u202e'  # one part
    message_id = inbound(panel.gateway, ANA, hostile, "ln_front").message_id
    browser = panel.sign_in("auditor")
    for page in (text(browser.get("/archive")), text(browser.get(f"/archive/{message_id}"))):
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
        assert "\u202e" not in page and "⟦U+202E⟧" in page
