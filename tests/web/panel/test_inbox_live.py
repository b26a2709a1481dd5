"""Live updates and hostile text: the server-sent event stream (what it says, to whom, and
that it ends), the fragments the pages re-fetch, and customer text that tries to be markup
or to reorder what staff read."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from werkzeug.test import TestResponse

from gateway.app import Gateway
from gateway.conversations import close
from gateway.inbox_access import load_viewer
from gateway.inbox_changes import Mark, mark
from gateway.models import Contact
from tests.gateway.inbox_fixtures import inbound
from tests.web.panel.conftest import BASE_URL, Panel, PanelClient
from tests.web.panel.inbox_office import Office, build_office

HOSTILE = "\u202eevil <script>alert(1)</script> <img src=x onerror=alert(1)>"
HOSTILE_NAME = "Eve \u202eTNEMYAP javascript:alert(1)"


@pytest.fixture
def office(panel: Panel) -> Office:
    panel.app.config.update(PANEL_EVENTS_POLL_SECONDS=0.02, PANEL_EVENTS_SECONDS=5.0)
    return build_office(panel)


def _open(browser: PanelClient, path: str, **headers: str) -> TestResponse:
    response = browser.client.get(path, base_url=BASE_URL, buffered=False, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    return response


def _events(response: TestResponse) -> Iterator[str]:
    """The stream's blocks as they come (each ``next`` waits at most the stream's life)."""
    for chunk in response.response:
        yield chunk.decode() if isinstance(chunk, bytes) else chunk


def _until_changed(blocks: Iterator[str], deadline: float) -> dict[str, object] | None:
    for block in blocks:
        if "event: changed" in block:
            data = next(line for line in block.splitlines() if line.startswith("data: "))
            loaded: dict[str, object] = json.loads(data.removeprefix("data: "))
            return loaded
        if time.monotonic() > deadline:
            break
    return None


def test_it_streams_the_id_of_a_conversation_with_a_new_inbound_message(office: Office) -> None:
    response = _open(office.sign_in("agent"), "/inbox/events")
    blocks = _events(response)
    assert next(blocks).startswith("retry: ")
    assert next(blocks).startswith("id: ")  # where the stream starts
    inbound(office.panel.gateway, "+12015550104", "Are you there?", "ln_front")
    changed = _until_changed(blocks, time.monotonic() + 5)
    response.close()
    assert changed == {"ids": [office.ids["pool"]]}


def test_it_says_nothing_of_conversations_out_of_the_viewers_sight(office: Office) -> None:
    office.panel.app.config["PANEL_EVENTS_SECONDS"] = 0.3
    response = _open(office.sign_in("agent"), "/inbox/events")
    blocks = _events(response)
    next(blocks), next(blocks)
    inbound(office.panel.gateway, "+12015550103", "Back office only", "ln_back")
    rest = "".join(blocks)  # the stream ends by itself
    assert "event: changed" not in rest
    assert rest.endswith(": reconnect\n\n")
    assert "Back office only" not in rest and "5550103" not in rest


def test_it_streams_a_colleagues_action_and_only_for_the_watched_conversation(
    office: Office,
) -> None:
    agent = office.sign_in("agent")
    watched = _open(agent, f"/inbox/events?conversation={office.ids['front']}")
    blocks = _events(watched)
    next(blocks), next(blocks)
    gateway = office.panel.gateway
    with gateway.sessions() as session:
        manager = load_viewer(session, office.ids["manager"])
        close(session, manager, office.ids["pool"])  # not the watched one
        session.commit()
    inbound(gateway, "+12015550101", "Still waiting", "ln_front")
    changed = _until_changed(blocks, time.monotonic() + 5)
    watched.close()
    assert changed == {"ids": [office.ids["front"]]}


def test_it_resumes_from_the_last_event_id_so_nothing_is_missed(office: Office) -> None:
    gateway = office.panel.gateway
    with gateway.sessions() as session:
        before = mark(session)
    inbound(gateway, "+12015550102", "While you reconnected", "ln_front")
    response = _open(office.sign_in("agent"), "/inbox/events", **{"Last-Event-ID": before.token})
    blocks = _events(response)
    next(blocks)
    changed = _until_changed(blocks, time.monotonic() + 5)
    response.close()
    assert changed == {"ids": [office.ids["mine"]]}
    assert Mark.parse(before.token) == before
    for forged in ("", "x", "1.2.3", "9" * 30 + ".1", "-1.5"):
        assert Mark.parse(forged) is None


def _fragments(browser: PanelClient, office: Office, key: str) -> dict[str, str]:
    conversation = office.ids[key]
    return {
        "list": browser.get("/inbox?status=any").get_data(as_text=True),
        "list fragment": browser.get("/inbox?status=any&fragment=1").get_data(as_text=True),
        "conversation": browser.get(f"/inbox/{conversation}").get_data(as_text=True),
        "thread fragment": browser.get(f"/inbox/{conversation}?fragment=thread").get_data(
            as_text=True
        ),
    }


def _write_name(gateway: Gateway, contact_id: str, name: str) -> None:
    """A name the checks of today refuse (written before them, or restored from a backup)."""
    with gateway.sessions() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        contact.name_enc = gateway.vault.encrypt(
            contact.key_id, name, "contacts", "name", contact_id
        )
        session.commit()


@pytest.mark.parametrize("persona", ["manager", "agent"])
def test_it_shows_hostile_customer_text_inert_and_marked(office: Office, persona: str) -> None:
    gateway = office.panel.gateway
    received = inbound(gateway, "+12015550177", HOSTILE, "ln_front")
    _write_name(gateway, received.contact_id, HOSTILE_NAME)
    office.ids["hostile"] = received.conversation_id
    browser = office.sign_in(persona)
    for where, html in _fragments(browser, office, "hostile").items():
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, where
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, where
        assert "<script>alert" not in html and "<img src=x" not in html, where
        assert "\u202e" not in html, where
        assert "⟦U+202E⟧" in html, where
        assert 'href="javascript:' not in html, where
    thread = _fragments(browser, office, "hostile")["thread fragment"]
    assert "<html" not in thread and '<ol class="thread">' in thread
