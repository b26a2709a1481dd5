"""Contacts: search by number and name, the consent ledger and its form, flagged
revocations, the records export and erasure, for every persona."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from gateway.contact_search import search_names
from gateway.contacts import find_or_create_contact, set_contact_name
from gateway.models import AuditEvent, ConsentEvent, ConsentReview, Contact
from gateway.outbound import SendRequest, enqueue
from tests.gateway.inbox_fixtures import add_lines, inbound
from tests.web.panel.conftest import Panel, PanelClient

NUMBER = "+15555550123"
ROLES = ("admin", "manager", "agent", "auditor")
WRITERS = ("admin", "manager", "agent")
LONG = "x" * 4001


def add_contact(panel: Panel, number: str = NUMBER, name: str | None = None) -> str:
    gateway = panel.gateway
    with gateway.sessions() as session:
        made = find_or_create_contact(session, gateway.vault, number)
        contact = session.get(Contact, made.id)
        assert contact is not None
        if name is not None:
            set_contact_name(gateway.vault, contact, name)
        session.commit()
        return contact.id


def send(panel: Panel, body: str, to: str = NUMBER, by: str | None = None) -> str:
    gateway = panel.gateway
    with gateway.sessions() as session:
        message = enqueue(
            session,
            gateway.vault,
            gateway.config,
            SendRequest(to=to, body=body, line="Front desk", created_by=by),
        )
        session.commit()
        return message.id


def audited(panel: Panel, action: str, subject: str | None = None) -> list[AuditEvent]:
    with panel.gateway.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        if subject is not None:
            query = query.where(AuditEvent.subject == subject)
        return list(session.scalars(query))


def ledger(panel: Panel, contact_id: str) -> list[ConsentEvent]:
    with panel.gateway.sessions() as session:
        return list(
            session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact_id))
        )


def text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


def consent_form(browser: PanelClient, contact_id: str, **fields: str) -> object:
    browser.get(f"/contacts/{contact_id}")
    return browser.post(f"/contacts/{contact_id}/consent", fields)


@pytest.fixture
def office(panel: Panel) -> Panel:
    add_lines(panel.gateway, ("ln_front", "Front desk"))
    return panel


@pytest.mark.parametrize("persona", ROLES)
def test_it_lets_every_role_search_and_open_contacts(panel: Panel, persona: str) -> None:
    contact_id = add_contact(panel, name="Maria José")
    browser = panel.sign_in(persona)
    listed = browser.get("/contacts")
    assert listed.status_code == 200
    assert "Maria José" in text(listed)
    assert browser.get(f"/contacts/{contact_id}").status_code == 200
    assert browser.get("/contacts/ct_NOBODY").status_code == 404
    assert browser.get("/contacts/" + "x" * 300).status_code == 404
    page = text(browser.get(f"/contacts/{contact_id}"))
    assert ('action="/contacts/' + contact_id + '/consent"' in page) == (persona in WRITERS)
    assert ("/export" in page) == (persona != "agent")
    assert ("/erase" in page) == (persona == "admin")


def test_it_asks_for_sign_in_first(panel: Panel) -> None:
    contact_id = add_contact(panel)
    browser = panel.anonymous()
    assert browser.get("/contacts").status_code == 302
    assert browser.get(f"/contacts/{contact_id}").status_code == 302


@pytest.mark.parametrize(
    "typed", [NUMBER, "+1 555 555 0123", "(555) 555-0123", "555-555-0123", "1 555 555 0123"]
)
def test_it_finds_a_number_in_national_and_international_formats(panel: Panel, typed: str) -> None:
    contact_id = add_contact(panel, name="Found Me")
    add_contact(panel, "+15555550199", name="Someone Else")
    page = panel.sign_in("agent").get("/contacts", query_string={"q": typed})
    assert page.status_code == 200
    assert contact_id in text(page)
    assert "Someone Else" not in text(page)


def test_it_says_so_when_a_number_is_unknown_or_unreadable(panel: Panel) -> None:
    add_contact(panel)
    browser = panel.sign_in("agent")
    unknown = browser.get("/contacts", query_string={"q": "+15555550177"})
    assert unknown.status_code == 200
    assert "No contact matches." in text(unknown)
    unreadable = browser.get("/contacts", query_string={"q": "12"})
    assert unreadable.status_code == 422
    assert "not a phone number we can read" in text(unreadable)
    assert 'value="12"' in text(unreadable)  # the search stays in its field
    too_long = browser.get("/contacts", query_string={"q": "a" * 200})
    assert too_long.status_code == 422
    assert "at most 128 characters" in text(too_long)


def test_it_finds_contacts_by_name_whatever_the_case(panel: Panel) -> None:
    maria = add_contact(panel, "+15555550101", "Maria José Silva")
    add_contact(panel, "+15555550102", "Mario Rossi")
    add_contact(panel, "+15555550103")  # no name
    browser = panel.sign_in("auditor")
    for typed in ("maria", "JOSÉ", "José Silva"):
        page = text(browser.get("/contacts", query_string={"q": typed}))
        assert maria in page
        assert "Mario Rossi" not in page
    assert "Mario Rossi" in text(browser.get("/contacts", query_string={"q": "ROSSI"}))
    assert "No contact matches." in text(browser.get("/contacts", query_string={"q": "Zed"}))


def test_it_searches_names_a_bounded_scan_at_a_time(panel: Panel) -> None:
    ids = [add_contact(panel, f"+1555555{1000 + n}", f"Patient {n}") for n in range(30)]
    gateway = panel.gateway
    with gateway.sessions() as session:
        first = search_names(session, gateway.vault, "patient", scan_limit=10, batch=4)
        assert first.scanned == 10 and len(first.found) == 10
        assert first.resume_after == sorted(ids)[9]
        rest = search_names(session, gateway.vault, "patient", after=first.resume_after)
        assert len(rest.found) == 20 and rest.resume_after is None
    browser = panel.sign_in("manager")
    page = text(browser.get("/contacts", query_string={"q": "patient"}))
    assert sum(contact_id in page for contact_id in ids) == 25
    assert "Search further" in page
    further = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    more = text(browser.get(further.replace("&amp;", "&")))
    assert sum(contact_id in more for contact_id in ids) == 5
    assert "Search further" not in more


def test_it_pages_through_every_contact_newest_first(panel: Panel) -> None:
    ids = [add_contact(panel, f"+1555555{2000 + n}") for n in range(30)]
    browser = panel.sign_in("agent")
    first = text(browser.get("/contacts"))
    assert ids[-1] in first and ids[0] not in first
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = text(browser.get(older))
    assert ids[0] in second and ids[-1] not in second
    assert browser.get("/contacts", query_string={"before": "not a cursor!"}).status_code == 400


def test_it_records_consent_through_the_form_into_the_ledger_and_state(panel: Panel) -> None:
    contact_id = add_contact(panel)
    browser = panel.sign_in("manager")
    done = consent_form(
        browser,
        contact_id,
        purpose="marketing",
        action="opted_in",
        source="web_form",
        evidence="Ticked 'Send me offers' on the spring signup form",
    )
    assert done.status_code == 303  # type: ignore[attr-defined]
    page = text(browser.get(f"/contacts/{contact_id}?done=consent"))
    assert "Consent event recorded." in page
    assert "marketing: opted in" in page
    assert "transactional: none" in page
    assert "Ticked &#39;Send me offers&#39; on the spring signup form" in page
    assert "web form" in page and "manager" in page
    [event] = ledger(panel, contact_id)
    assert (event.purpose, event.action, event.source) == ("marketing", "opted_in", "web_form")
    assert event.recorded_by == panel.ids["manager"]
    # The evidence was shown: audited as the API's reading of it is.
    assert audited(panel, "consent.exported", contact_id)


@pytest.mark.parametrize(
    ("fields", "words", "status"),
    [
        (
            {"purpose": "marketing", "action": "opted_in", "source": "paper", "evidence": ""},
            "A marketing opt-in needs its evidence",
            422,
        ),
        (
            {"purpose": "marketing", "action": "opted_in", "source": "paper", "evidence": "  "},
            "A marketing opt-in needs its evidence",
            422,
        ),
        (
            {"purpose": "billing", "action": "opted_in", "source": "paper", "evidence": "x"},
            "Purpose is transactional, marketing or all",
            422,
        ),
        (
            {"purpose": "all", "action": "opted_in", "source": "paper", "evidence": "x"},
            "An opt-in names its purpose",
            422,
        ),
        (
            {"purpose": "marketing", "action": "liked", "source": "paper", "evidence": "x"},
            "Action is opted_in, opted_out or revoked",
            422,
        ),
        (
            {"purpose": "marketing", "action": "opted_in", "source": "fax", "evidence": "x"},
            "Source is one of",
            422,
        ),
        (
            {"purpose": "all", "action": "opted_in", "source": "keyword", "evidence": "x"},
            "recorded by the box itself",
            422,
        ),
        (
            {
                "purpose": "marketing",
                "action": "opted_in",
                "source": "paper",
                "evidence": "x" * 4001,
            },
            "The evidence is at most 4000 characters",
            422,
        ),
    ],
)
def test_it_refuses_invalid_evidence_with_a_clear_message(
    panel: Panel, fields: dict[str, str], words: str, status: int
) -> None:
    contact_id = add_contact(panel)
    browser = panel.sign_in("agent")
    page = consent_form(browser, contact_id, **fields)
    assert page.status_code == status  # type: ignore[attr-defined]
    assert words in text(page)
    assert 'role="alert"' in text(page)
    assert ledger(panel, contact_id) == []
    if fields["source"] == "paper" and len(fields["evidence"]) <= 4000:
        assert 'value="paper" selected' in text(page)  # nothing typed is lost


def test_it_shows_a_stop_the_customer_sent_as_opted_out(office: Panel) -> None:
    received = inbound(office.gateway, NUMBER, "STOP", "ln_front")
    browser = office.sign_in("agent")
    page = text(browser.get(f"/contacts/{received.contact_id}"))
    assert "transactional: opted out" in page
    assert "marketing: opted out" in page
    assert "every purpose" in page and "keyword by text" in page and "the contact" in page
    listed = text(browser.get("/contacts", query_string={"q": "(555) 555-0123"}))
    assert "transactional: opted out" in listed


def test_it_lets_only_a_manager_with_written_consent_resubscribe_after_a_stop(
    office: Panel,
) -> None:
    contact_id = inbound(office.gateway, NUMBER, "STOP", "ln_front").contact_id
    again = {"purpose": "transactional", "action": "opted_in", "source": "verbal", "evidence": "x"}
    agent = office.sign_in("agent")
    refused = consent_form(agent, contact_id, **again)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "only the contact (START) or a manager" in text(refused)
    manager = office.sign_in("manager")
    refused = consent_form(manager, contact_id, **again)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "needs new written consent" in text(refused)
    written = {**again, "source": "paper", "evidence": "Signed form #1182, 2 May"}
    assert consent_form(manager, contact_id, **written).status_code == 303  # type: ignore[attr-defined]
    assert "transactional: opted in" in text(manager.get(f"/contacts/{contact_id}"))


@pytest.mark.parametrize("persona", ROLES)
def test_it_lets_the_writers_edit_the_name(panel: Panel, persona: str) -> None:
    contact_id = add_contact(panel, name="Old Name")
    browser = panel.sign_in(persona)
    browser.get(f"/contacts/{contact_id}")
    done = browser.post(f"/contacts/{contact_id}/name", {"name": "  New Name  "})
    if persona not in WRITERS:
        assert done.status_code == 403
        return
    assert done.status_code == 303
    assert "New Name" in text(browser.get(f"/contacts/{contact_id}"))
    for bad, words in (("n" * 129, "at most 128"), ("Eve\u202eevil", "printable")):
        page = browser.post(f"/contacts/{contact_id}/name", {"name": bad})
        assert page.status_code == 422
        assert words in text(page)
    assert browser.post("/contacts/ct_NOBODY/name", {"name": "x"}).status_code == 404
    assert "New Name" in text(browser.get(f"/contacts/{contact_id}"))


def test_it_refuses_every_write_of_an_auditor(office: Panel) -> None:
    received = inbound(office.gateway, NUMBER, "please stop texting me", "ln_front")
    with office.gateway.sessions() as session:
        review = session.scalars(select(ConsentReview)).one()
    auditor = office.sign_in("auditor")
    contact_id = received.contact_id
    page = text(auditor.get(f"/contacts/{contact_id}"))
    assert "please stop texting me" in page and "Record revocation" not in page
    form = {"purpose": "all", "action": "opted_out", "source": "email", "evidence": "x"}
    assert auditor.post(f"/contacts/{contact_id}/consent", form).status_code == 403
    path = f"/contacts/{contact_id}/reviews/{review.id}"
    assert auditor.post(path, {"outcome": "dismissed"}).status_code == 403
    assert auditor.post(f"/contacts/{contact_id}/erase", {"confirm": "ERASE"}).status_code == 403


@pytest.mark.parametrize("persona", WRITERS)
def test_it_decides_flagged_revocations(office: Panel, persona: str) -> None:
    received = inbound(office.gateway, NUMBER, "please stop texting me", "ln_front")
    other = inbound(office.gateway, "+15555550144", "remove me from your list", "ln_front")
    with office.gateway.sessions() as session:
        reviews = {r.contact_id: r.id for r in session.scalars(select(ConsentReview))}
    contact_id = received.contact_id
    browser = office.sign_in(persona)
    page = text(browser.get(f"/contacts/{contact_id}"))
    assert "please stop texting me" in page and "remove me" not in page
    mismatched = f"/contacts/{contact_id}/reviews/{reviews[other.contact_id]}"
    assert browser.post(mismatched, {"outcome": "revoked"}).status_code == 404
    path = f"/contacts/{contact_id}/reviews/{reviews[contact_id]}"
    bad = browser.post(path, {"outcome": "maybe"})
    assert bad.status_code == 422 and "Outcome is revoked or dismissed" in text(bad)
    assert browser.post(path, {"outcome": "revoked"}).status_code == 303
    page = text(browser.get(f"/contacts/{contact_id}"))
    assert "transactional: revoked" in page and "marketing: revoked" in page
    assert "Record revocation" not in page
    again = browser.post(path, {"outcome": "dismissed"})
    assert again.status_code == 409 and "already decided" in text(again)


def _export(browser: PanelClient, contact_id: str, kind: str) -> object:
    browser.get(f"/contacts/{contact_id}")
    return browser.post(f"/contacts/{contact_id}/export", {"format": kind})


@pytest.mark.parametrize("persona", ROLES)
def test_it_exports_a_contacts_records_to_the_roles_that_read_the_archive(
    office: Panel, persona: str
) -> None:
    contact_id = inbound(office.gateway, NUMBER, "Hello, is my order ready?", "ln_front").contact_id
    send(office, "Yes, come by after 3pm", by=office.ids["manager"])
    browser = office.sign_in(persona)
    response = _export(browser, contact_id, "json")
    if persona == "agent":
        assert response.status_code == 403  # type: ignore[attr-defined]
        assert not audited(office, "contact.exported")
        return
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "attachment" in response.headers["Content-Disposition"]  # type: ignore[attr-defined]
    record = json.loads(text(response))
    assert record["contact"]["number"] == NUMBER
    assert [m["body"] for m in record["messages"]] == [
        "Hello, is my order ready?",
        "Yes, come by after 3pm",
    ]
    assert [e["status"] for e in record["messages"][1]["events"]] == ["queued"]
    assert record["events"][0]["source"] == "inbound"
    assert record["state"]["transactional"]["status"] == "granted"
    [event] = audited(office, "contact.exported", contact_id)
    assert (event.actor, event.detail) == (office.ids[persona], "json")


def test_it_exports_csv_with_formula_cells_neutralised(office: Panel) -> None:
    contact_id = inbound(office.gateway, NUMBER, '=HYPERLINK("http://x")', "ln_front").contact_id
    send(office, "+1 then -2 and @sum", by=office.ids["manager"])
    browser = office.sign_in("auditor")
    response = _export(browser, contact_id, "csv")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.mimetype == "text/csv"  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0][0] == "section"
    sections = [row[0] for row in rows[1:]]
    assert sections.count("contact") == 1 and "consent" in sections
    assert sections.count("message") == 2 and "status" in sections
    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://x")' in cells
    assert "'+1 then -2 and @sum" in cells
    assert "'" + NUMBER in cells  # a number starts with "+" too
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert audited(office, "contact.exported", contact_id)[0].detail == "csv"
    assert _export(browser, contact_id, "xml").status_code == 422  # type: ignore[attr-defined]


@pytest.mark.parametrize("persona", ROLES)
def test_it_lets_only_an_admin_erase_after_typing_the_word(office: Panel, persona: str) -> None:
    contact_id = inbound(office.gateway, NUMBER, "Hi there", "ln_front").contact_id
    browser = office.sign_in(persona)
    page = text(browser.get(f"/contacts/{contact_id}"))
    if persona != "admin":
        assert (
            browser.post(f"/contacts/{contact_id}/erase", {"confirm": "ERASE"}).status_code == 403
        )
        assert not audited(office, "contact.erased")
        return
    assert 'data-confirm="Erase this contact for good?"' in page
    wrong = browser.post(f"/contacts/{contact_id}/erase", {"confirm": "erase it"})
    assert wrong.status_code == 422 and "Nothing was erased" in text(wrong)
    assert not audited(office, "contact.erased")
    assert browser.post("/contacts/ct_NOBODY/erase", {"confirm": "ERASE"}).status_code == 404
    done = browser.post(f"/contacts/{contact_id}/erase", {"confirm": "ERASE"})
    assert done.status_code == 303
    page = text(browser.get(done.headers["Location"]))
    assert "Contact erased" in page and NUMBER not in page and "erased" in page
    [event] = audited(office, "contact.erased", contact_id)
    assert event.actor == office.ids["admin"]
    record = json.loads(text(_export(browser, contact_id, "json")))
    assert record["messages"][0]["body"] == "(erased)"


HOSTILE = '<script>alert(1)</script> <img src=x onerror="alert(2)"> javascript:alert(3) \u202e'


def test_it_renders_hostile_names_evidence_and_bodies_inert(office: Panel) -> None:
    body = "<script>alert(1)</script>\u202e stop texting me please"  # one UCS-2 part
    received = inbound(office.gateway, NUMBER, body, "ln_front")
    contact_id = received.contact_id
    with office.gateway.sessions() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        # Straight to the store: the panel refuses this name, an import might not.
        contact.name_enc = office.gateway.vault.encrypt(
            contact.key_id, HOSTILE, "contacts", "name", contact.id
        )
        session.commit()
    browser = office.sign_in("manager")
    evidence = {"purpose": "all", "action": "opted_out", "source": "email", "evidence": HOSTILE}
    assert consent_form(browser, contact_id, **evidence).status_code == 303  # type: ignore[attr-defined]
    pages = [
        text(browser.get(f"/contacts/{contact_id}")),
        text(browser.get("/contacts")),
        text(browser.get("/contacts", query_string={"q": "script"})),
    ]
    for page in pages:
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "\u202e" not in page and "⟦U+202E⟧" in page
        assert 'href="javascript' not in page
