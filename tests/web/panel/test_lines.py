"""The lines pages: details with masked identities, enabling and disabling a line (admins;
the worker's modems then take nothing new), a test send (admins and managers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gateway.app import Gateway
from gateway.models import AuditEvent, ConsentEvent, Line, Message
from gateway.outbound import SendRequest, enqueue
from gateway.wake import nudge
from modem.sim import SimBank
from tests.gateway.conftest import Rig, wait_until
from tests.web.panel.conftest import Panel

PERSONAS = ["admin", "manager", "agent", "auditor"]


@pytest.fixture
def line(panel: Panel) -> str:
    with panel.gateway.sessions() as session:
        session.add(
            Line(
                id="ln_front",
                name="Front desk",
                number="+12015550100",
                device="/dev/serial/by-id/usb-modem-if00",
                imei="356938035643809",
                imsi="310150123456789",
                state="ready",
                signal_dbm=-97,
                operator="AT&T",
                registration="home",
                hours="mon-fri 09:00-17:00",
                worker="box-1",
            )
        )
        session.commit()
    return "ln_front"


def line_row(gateway: Gateway, line_id: str) -> Line:
    with gateway.sessions() as session:
        found = session.get(Line, line_id)
        assert found is not None
        session.expunge(found)
        return found


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_shows_every_persona_the_lines_and_their_details(
    panel: Panel, line: str, persona: str
) -> None:
    browser = panel.sign_in(persona)
    listing = browser.get("/lines")
    assert listing.status_code == 200
    assert f'href="/lines/{line}"' in listing.get_data(as_text=True)
    page = browser.get(f"/lines/{line}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for shown in ("Front desk", "+12015550100", "usb-modem-if00", "-97 dBm (fair)", "AT&amp;T"):
        assert shown in html
    for shown in ("home", "mon-fri 09:00-17:00", "box-1", "ready"):
        assert shown in html
    # IMEI and IMSI: the last four digits only.
    assert "***********3809" in html and "***********6789" in html
    assert "356938035643809" not in html and "310150123456789" not in html
    assert ("Disable line" in html) == (persona == "admin")
    assert ("Send a test message" in html) == (persona in ("admin", "manager"))


def test_it_answers_404_for_an_unknown_line(panel: Panel, line: str) -> None:
    admin = panel.sign_in("admin")
    admin.get(f"/lines/{line}")
    assert admin.get("/lines/ln_nope").status_code == 404
    assert admin.get("/lines/" + "x" * 500).status_code == 404
    assert admin.post("/lines/ln_nope/enabled", {"enabled": "no"}).status_code == 404
    assert admin.post("/lines/ln_nope/test", {"to": "+12015550123"}).status_code == 404


def test_it_shows_an_empty_state_without_lines(panel: Panel) -> None:
    html = panel.sign_in("agent").get("/lines").get_data(as_text=True)
    assert "No lines yet" in html


@pytest.mark.parametrize("persona", ["manager", "agent", "auditor"])
def test_it_lets_only_admins_switch_a_line(panel: Panel, line: str, persona: str) -> None:
    browser = panel.sign_in(persona)
    browser.get(f"/lines/{line}")
    assert browser.post(f"/lines/{line}/enabled", {"enabled": "no"}).status_code == 403
    assert line_row(panel.gateway, line).enabled


def test_it_disables_and_enables_a_line_with_an_audit_trail(panel: Panel, line: str) -> None:
    admin = panel.sign_in("admin")
    admin.get(f"/lines/{line}")
    done = admin.post(f"/lines/{line}/enabled", {"enabled": "no"})
    assert done.status_code == 303
    assert not line_row(panel.gateway, line).enabled
    html = admin.get(done.headers["Location"]).get_data(as_text=True)
    assert "The line is disabled" in html and "Enable line" in html
    assert admin.post(f"/lines/{line}/enabled", {"enabled": "yes"}).status_code == 303
    assert line_row(panel.gateway, line).enabled
    with panel.gateway.sessions() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject == line).order_by(AuditEvent.id)
        ).all()
    assert actions == ["line.disabled", "line.enabled"]


def test_it_refuses_a_switch_without_a_choice_or_a_csrf_token(panel: Panel, line: str) -> None:
    admin = panel.sign_in("admin")
    admin.get(f"/lines/{line}")
    page = admin.post(f"/lines/{line}/enabled", {"enabled": "maybe"})
    assert page.status_code == 400
    assert "Choose to enable or to disable" in page.get_data(as_text=True)
    forged = admin.post(f"/lines/{line}/enabled", {"enabled": "no", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert line_row(panel.gateway, line).enabled


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_it_queues_a_test_message_on_the_line(panel: Panel, line: str, persona: str) -> None:
    browser = panel.sign_in(persona)
    browser.get(f"/lines/{line}")
    done = browser.post(f"/lines/{line}/test", {"to": "(201) 555-0123", "text": ""})
    assert done.status_code == 303
    location = done.headers["Location"]
    message_id = location.split("/messages/")[1].split("?")[0]
    with panel.gateway.sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert (message.status, message.line_id, message.direction) == ("queued", line, "out")
        assert message.purpose == "transactional"
        assert message.created_by == panel.ids[persona]
        body = panel.gateway.vault.decrypt(message.body_enc, "messages", "body", message.id)
        assert body == "Test message from Front desk"
        consent = session.scalars(
            select(ConsentEvent).where(ConsentEvent.contact_id == message.contact_id)
        ).all()
        assert [(c.source, c.action) for c in consent] == [("on_send", "opted_in")]
        evidence = panel.gateway.vault.decrypt(
            consent[0].evidence_enc, "consent_events", "evidence", consent[0].id
        )
        assert evidence == "test send from the panel"
    page = browser.get(location)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert message_id in html and "queued" in html and "+12015550123" in html


def test_it_sends_the_text_given(panel: Panel, line: str) -> None:
    manager = panel.sign_in("manager")
    manager.get(f"/lines/{line}")
    done = manager.post(f"/lines/{line}/test", {"to": "+12015550123", "text": "Ping 1"})
    message_id = done.headers["Location"].split("/messages/")[1].split("?")[0]
    with panel.gateway.sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert panel.gateway.vault.decrypt(message.body_enc, "messages", "body", message_id) == (
            "Ping 1"
        )


@pytest.mark.parametrize("persona", ["agent", "auditor"])
def test_it_refuses_a_test_send_to_agents_and_auditors(
    panel: Panel, line: str, persona: str
) -> None:
    browser = panel.sign_in(persona)
    browser.get(f"/lines/{line}")
    assert browser.post(f"/lines/{line}/test", {"to": "+12015550123"}).status_code == 403
    with panel.gateway.sessions() as session:
        assert session.query(Message).count() == 0


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"to": ""}, 422, "Enter the number"),
        ({"to": "not a number"}, 422, "not a phone number"),
        ({"to": "+1 555"}, 422, "not a possible phone number"),
        ({"to": "+1" + "2" * 40}, 422, "too long to be a phone number"),
        ({"to": "+12015550123", "text": "x" * 481}, 422, "at most 480 are allowed"),
        ({"to": "+12015550123", "text": "bad \x1b escape"}, 422, "control characters"),
    ],
)
def test_it_refuses_bad_input_and_keeps_what_was_typed(
    panel: Panel, line: str, form: dict[str, str], status: int, error: str
) -> None:
    admin = panel.sign_in("admin")
    admin.get(f"/lines/{line}")
    page = admin.post(f"/lines/{line}/test", form)
    assert page.status_code == status
    html = page.get_data(as_text=True)
    assert error in html and 'role="alert"' in html
    if form["to"] and len(form["to"]) < 30:
        assert f'value="{form["to"]}"' in html  # nothing typed is lost
    with panel.gateway.sessions() as session:
        assert session.query(Message).count() == 0


def test_it_refuses_a_test_send_on_a_disabled_line(panel: Panel, line: str) -> None:
    admin = panel.sign_in("admin")
    admin.get(f"/lines/{line}")
    admin.post(f"/lines/{line}/enabled", {"enabled": "no"})
    admin.get(f"/lines/{line}")
    page = admin.post(f"/lines/{line}/test", {"to": "+12015550123"})
    assert page.status_code == 409
    assert "This line is disabled" in page.get_data(as_text=True)


def test_it_shows_a_message_only_under_its_own_line(panel: Panel, line: str) -> None:
    with panel.gateway.sessions() as session:
        session.add(Line(id="ln_other", name="Other", device="/dev/null"))
        session.commit()
    admin = panel.sign_in("admin")
    admin.get(f"/lines/{line}")
    done = admin.post(f"/lines/{line}/test", {"to": "+12015550123"})
    message_id = done.headers["Location"].split("/messages/")[1].split("?")[0]
    assert admin.get(f"/lines/ln_other/messages/{message_id}").status_code == 404
    assert admin.get(f"/lines/{line}/messages/msg_nope").status_code == 404
    assert panel.sign_in("auditor").get(f"/lines/{line}/messages/{message_id}").status_code == 200


def test_it_renders_hostile_names_and_operators_inert(panel: Panel) -> None:
    with panel.gateway.sessions() as session:
        session.add(
            Line(
                id="ln_evil",
                name='<script>alert(1)</script>"\u202eevil',
                device="/dev/<b>x</b>",
                operator="\u202e<i>Op</i>",
                state_detail="<svg onload=alert(2)>",
                state="faulted",
            )
        )
        session.commit()
    browser = panel.sign_in("manager")
    for path in ("/lines", "/lines/ln_evil"):
        html = browser.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<i>Op" not in html and "<svg onload" not in html
        assert "<b>x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "\u202e" not in html and "U+202E" in html


# -- what the worker does -------------------------------------------------------------


@pytest.fixture
def rig(panel: Panel) -> Iterator[Rig]:
    bank = SimBank(panel.gateway.config.data_dir / "sim", 2, auto_report_delay=0.05).start()
    started = Rig(panel.gateway, bank).start()
    try:
        yield started
    finally:
        started.stop()
        bank.stop()


def _queue(gateway: Gateway, number: str, line: str | None = None) -> str:
    with gateway.sessions() as session, gateway.writing():
        message = enqueue(
            session, gateway.vault, gateway.config, SendRequest(to=number, body="hi", line=line)
        )
        session.commit()
    nudge(gateway.config.wake_socket_path)
    return message.id


def _message(gateway: Gateway, message_id: str) -> Message:
    with gateway.sessions() as session:
        found = session.get(Message, message_id)
        assert found is not None
        session.expunge(found)
        return found


def _sent(gateway: Gateway, message_id: str) -> Message | None:
    message = _message(gateway, message_id)
    return message if message.status in ("sent", "delivered") else None


def test_it_stops_a_disabled_line_s_modem_taking_messages(panel: Panel, rig: Rig) -> None:
    gateway = panel.gateway
    with gateway.sessions() as session:
        ids = dict(session.execute(select(Line.name, Line.id)).all())
    first, second = ids["Line 1"], ids["Line 2"]
    admin = panel.sign_in("admin")
    admin.get(f"/lines/{first}")
    assert admin.post(f"/lines/{first}/enabled", {"enabled": "no"}).status_code == 303

    bound = _queue(gateway, "+12015550111", line="Line 1")
    anywhere = [_queue(gateway, f"+1201555012{i}") for i in range(4)]
    for message_id in anywhere:
        sent = wait_until(lambda m=message_id: _sent(gateway, m), what="an unbound message sent")
        assert sent.via_line_id == second  # never the disabled line's modem
    # Four messages later, the one bound to the disabled line still waits.
    assert _message(gateway, bound).status == "queued"
    assert _message(gateway, bound).claimed_by is None

    admin.get(f"/lines/{first}")
    assert admin.post(f"/lines/{first}/enabled", {"enabled": "yes"}).status_code == 303
    sent = wait_until(lambda: _sent(gateway, bound), what="the bound message sent once enabled")
    assert sent.via_line_id == first
