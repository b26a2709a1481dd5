"""The audit log page: admins and auditors only, filters, pages newest first, and the CSV
export of the filtered log, itself audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.audit import Actor, audit
from gateway.models import AuditEvent
from tests.web.panel.conftest import Panel

ROLES = ("admin", "manager", "agent", "auditor")
READERS = ("admin", "auditor")
START = datetime(2026, 4, 1, 12, tzinfo=UTC)


def text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def logged(panel: Panel) -> Panel:
    """Three entries on three days: the manager erases, the auditor exports, the CLI reads."""
    with panel.gateway.sessions() as session:
        manager = Actor(panel.ids["manager"], "manager")
        audit(session, manager, "contact.erased", "ct_ERASED", now=START)
        auditor = Actor(panel.ids["auditor"], "auditor")
        audit(
            session,
            auditor,
            "contact.exported",
            "ct_EXPORTED",
            "json",
            now=START + timedelta(days=1),
        )
        audit(session, Actor("cli"), "consent.exported", "ct_CLI", now=START + timedelta(days=2))
        session.commit()
    return panel


def subjects(page: str) -> set[str]:
    return {s for s in ("ct_ERASED", "ct_EXPORTED", "ct_CLI") if s in page}


def exports(panel: Panel) -> list[AuditEvent]:
    with panel.gateway.sessions() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.exported"))
        )


@pytest.mark.parametrize("persona", ROLES)
def test_it_opens_the_log_to_admins_and_auditors_only(logged: Panel, persona: str) -> None:
    browser = logged.sign_in(persona)
    page = browser.get("/audit")
    assert page.status_code == (200 if persona in READERS else 403)
    browser.get("/dashboard")
    assert browser.post("/audit/export", {}).status_code == (200 if persona in READERS else 403)
    assert len(exports(logged)) == (1 if persona in READERS else 0)


def test_it_lists_newest_first_with_names_for_people(logged: Panel) -> None:
    page = text(logged.sign_in("auditor").get("/audit"))
    assert page.index("ct_CLI") < page.index("ct_EXPORTED") < page.index("ct_ERASED")
    assert "manager" in page and "(manager)" in page
    assert 'href="/contacts/ct_ERASED"' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"ct_ERASED", "ct_EXPORTED", "ct_CLI"}),
        ({"action": "contact.erased"}, {"ct_ERASED"}),
        ({"actor": "cli"}, {"ct_CLI"}),
        ({"subject": "ct_EXPORTED"}, {"ct_EXPORTED"}),
        ({"since": "2026-04-02"}, {"ct_EXPORTED", "ct_CLI"}),
        ({"until": "2026-04-02"}, {"ct_ERASED", "ct_EXPORTED"}),
        ({"since": "2026-04-02", "until": "2026-04-02"}, {"ct_EXPORTED"}),
        ({"action": "message.approved"}, set()),
    ],
)
def test_it_filters_the_log(logged: Panel, query: dict[str, str], expected: set[str]) -> None:
    page = logged.sign_in("admin").get("/audit", query_string=query)
    assert page.status_code == 200
    assert subjects(text(page)) == expected
    if not expected:
        assert "Nothing in the log matches." in text(page)


def test_it_filters_by_a_person(logged: Panel) -> None:
    browser = logged.sign_in("auditor")
    page = text(browser.get("/audit", query_string={"actor": logged.ids["manager"]}))
    assert subjects(page) == {"ct_ERASED"}
    assert f'value="{logged.ids["manager"]}" selected' in page


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"action": "contact.hugged"}, "Action: choose one of the listed values"),
        ({"since": "2026-13-01"}, "From is a date as YYYY-MM-DD"),
        ({"until": "2026-04-01T00:00"}, "To is a date as YYYY-MM-DD"),
        ({"since": "2026-04-03", "until": "2026-04-01"}, "the end date is before the start date"),
        ({"subject": "s" * 65}, "The subject is at most 64 characters"),
        ({"cursor": "-1"}, "not one the panel gave out"),
        ({"cursor": "²"}, "not one the panel gave out"),
    ],
)
def test_it_refuses_malformed_filters_clearly(
    logged: Panel, query: dict[str, str], words: str
) -> None:
    page = logged.sign_in("auditor").get("/audit", query_string=query)
    assert page.status_code in (400, 422)
    assert words in text(page)
    assert subjects(text(page)) == set()


def test_it_pages_newest_first(panel: Panel) -> None:
    with panel.gateway.sessions() as session:
        for n in range(60):
            audit(session, Actor("cli"), "consent.exported", f"ct_{n:03d}", now=START)
        session.commit()
    browser = panel.sign_in("auditor")
    first = text(browser.get("/audit", query_string={"action": "consent.exported"}))
    assert "ct_059" in first and "ct_010" in first and "ct_009" not in first
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = text(browser.get(older.replace("&amp;", "&")))
    assert "ct_009" in second and "ct_000" in second and "ct_010" not in second
    assert 'rel="next"' not in second


def test_it_exports_the_filtered_log_as_csv_and_audits_the_export(logged: Panel) -> None:
    browser = logged.sign_in("admin")
    browser.get("/audit")
    response = browser.post("/audit/export", {"action": "", "since": "2026-04-02"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))
    # The export's own entry, committed before the file is written, comes first.
    assert rows[0]["action"] == "audit.exported"
    assert [row["subject"] for row in rows[1:]] == ["ct_CLI", "ct_EXPORTED"]
    assert rows[2]["actor"] == logged.ids["auditor"] and rows[2]["detail"] == "json"
    [event] = exports(logged)
    assert event.actor == logged.ids["admin"] and event.actor_role == "admin"
    assert event.detail == "csv; since=2026-04-02 00:00:00+00:00"
    refused = browser.post("/audit/export", {"until": "someday"})
    assert refused.status_code == 422 and "To is a date" in text(refused)
    assert len(exports(logged)) == 1


def test_it_neutralises_formula_cells_in_the_export(panel: Panel) -> None:
    with panel.gateway.sessions() as session:
        audit(session, Actor("=cmd|' /C calc'!A0"), "contact.erased", "@SUM(1)", "-2+3")
        session.commit()
    browser = panel.sign_in("auditor")
    browser.get("/audit")
    rows = list(csv.reader(io.StringIO(text(browser.post("/audit/export", {})).lstrip("\ufeff"))))
    cells = [cell for row in rows for cell in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1)" in cells and "'-2+3" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_it_renders_hostile_entries_inert(panel: Panel) -> None:
    with panel.gateway.sessions() as session:
        hostile = '<script>alert(1)</script>"onerror=x javascript:y\u202e'
        audit(session, Actor(hostile[:64]), "contact.erased", hostile[:64], hostile)
        session.commit()
    page = text(panel.sign_in("admin").get("/audit"))
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "\u202e" not in page and "⟦U+202E⟧" in page
