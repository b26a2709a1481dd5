"""Webhooks in the panel: administrators only, the secret shown once, clear refusals, a
test delivery sent signed by the worker's own sending code, deliveries without payloads."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from gateway.audit import audit_events
from gateway.delivery import deliver_due
from gateway.models import Webhook, WebhookDelivery
from gateway.webhooks import create_webhook
from tests.gateway.test_delivery import SECRET, Receiver
from tests.web.panel.conftest import Panel

_SECRET = re.compile(r'<code id="webhook-secret">(whsec_[^<]+)</code>')


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def subscription(panel: Panel, url: str = "http://crm.lan/hooks") -> str:
    with panel.gateway.sessions() as session:
        webhook, _ = create_webhook(session, panel.gateway.vault, url, ["message.status"])
        session.commit()
        return webhook.id


@pytest.mark.parametrize("persona", ["manager", "agent", "auditor"])
def test_it_keeps_webhooks_to_admins(panel: Panel, persona: str) -> None:
    hook = subscription(panel)
    browser = panel.sign_in(persona)
    assert browser.get("/webhooks").status_code == 403
    assert browser.get(f"/webhooks/{hook}").status_code == 403
    for path, data in (
        ("/webhooks", {"url": "http://crm.lan/x", "events": ["message.status"]}),
        (f"/webhooks/{hook}/test", {}),
        (f"/webhooks/{hook}/delete", {}),
    ):
        assert browser.post(path, data).status_code == 403, path
    with panel.gateway.sessions() as session:
        assert session.query(Webhook).count() == 1
        assert session.query(Webhook).one().disabled_at is None
        assert session.query(WebhookDelivery).count() == 0


def test_it_adds_a_webhook_showing_its_secret_once(panel: Panel) -> None:
    admin = panel.sign_in("admin")
    assert "No webhooks" in admin.get("/webhooks").get_data(as_text=True)
    page = admin.post(
        "/webhooks",
        {
            "url": "http://crm.lan/hooks?token=abc",
            "events": ["message.received", "consent.changed"],
        },
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 201
    assert 'class="shown-once"' in html and 'data-copy="webhook-secret"' in html
    secret = _SECRET.search(html).group(1)  # type: ignore[union-attr]
    listing = admin.get("/webhooks").get_data(as_text=True)
    assert secret not in listing and "message.received, consent.changed" in listing
    with panel.gateway.sessions() as session:
        webhook = session.query(Webhook).one()
        (event,) = audit_events(session, action="webhook.added")
        assert event.subject == webhook.id and event.actor == panel.ids["admin"]
    assert secret not in admin.get(f"/webhooks/{webhook.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "events", "words"),
    [
        ("", ["message.status"], "give the URL as text"),
        ("ftp://crm.lan/x", ["message.status"], "must start with http:// or https://"),
        ("http://169.254.169.254/latest/meta-data/", ["message.status"], "cloud metadata"),
        ("http://169.254.10.1/hook", ["message.status"], "link-local"),
        ("http://[fe80::1]/hook", ["message.status"], "link-local"),
        ("http://8.8.8.8/hook", ["message.status"], "not on the LAN"),
        ("http://user:pw@crm.lan/x", ["message.status"], "user name or password"),
        ("http://crm.lan/<script>", ["message.status"], ""),
        ("http://crm.lan/x", [], "give at least one event"),
        ("http://crm.lan/x", ["message.deleted"], "unknown event"),
        ("http://crm.lan/" + "x" * 3000, ["message.status"], "longer than 2048"),
    ],
)
def test_it_refuses_a_bad_webhook_clearly_and_keeps_the_form(
    panel: Panel, url: str, events: list[str], words: str
) -> None:
    admin = panel.sign_in("admin")
    admin.get("/webhooks")
    page = admin.post("/webhooks", {"url": url, "events": events})
    html = page.get_data(as_text=True)
    if "<script>" in url:  # a valid URL: added, and shown inert
        assert page.status_code == 201 and "<script>" not in html and "&lt;script&gt;" in html
        return
    assert page.status_code == 422, html
    assert 'class="error"' in html and words in html and "shown-once" not in html
    for event in events:
        if event == "message.status":
            assert 'value="message.status" checked' in html
    with panel.gateway.sessions() as session:
        assert session.query(Webhook).count() == 0


def test_it_refuses_a_bad_own_secret_without_quoting_it(panel: Panel) -> None:
    admin = panel.sign_in("admin")
    admin.get("/webhooks")
    page = admin.post(
        "/webhooks",
        {"url": "http://crm.lan/x", "events": ["message.status"], "secret": "whsec_not*base64"},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "not base64" in html and "not*base64" not in html


def test_a_test_delivery_arrives_signed_and_shows_in_the_deliveries(
    panel: Panel, receiver: Receiver
) -> None:
    admin = panel.sign_in("admin")
    admin.get("/webhooks")
    page = admin.post(
        "/webhooks", {"url": receiver.url(), "events": ["message.status"], "secret": SECRET}
    )
    assert page.status_code == 201
    assert SECRET in page.get_data(as_text=True)  # one's own, shown back this once
    with panel.gateway.sessions() as session:
        hook = session.query(Webhook).one().id
    admin.get(f"/webhooks/{hook}")
    done = admin.post(f"/webhooks/{hook}/test", {})
    assert done.status_code == 302
    queued = admin.get(done.headers["Location"]).get_data(as_text=True)
    assert "webhook.test event is queued" in queued and "pending" in queued
    # The worker's webhooks thread runs exactly this.
    assert deliver_due(panel.gateway) == 1
    (request,) = receiver.wait_for(1)
    payload = request.json()  # the Standard Webhooks check of signature and timestamp
    assert payload["type"] == "webhook.test"
    assert payload["data"] == {"webhook_id": hook}
    page = admin.get(f"/webhooks/{hook}").get_data(as_text=True)
    assert "delivered" in page and '"webhook_id"' not in page and "timestamp" not in page
    assert re.search(r'class="status-code">HTTP 2\d\d<', page)  # what the receiver said
    with panel.gateway.sessions() as session:
        (event,) = audit_events(session, action="webhook.tested")
        assert event.subject == hook


def test_failed_deliveries_show_their_outcome_and_next_try(
    panel: Panel, receiver: Receiver
) -> None:
    receiver.answers = [(503, {})]
    hook = subscription(panel, receiver.url())
    admin = panel.sign_in("admin")
    admin.get(f"/webhooks/{hook}")
    admin.post(f"/webhooks/{hook}/test", {})
    assert deliver_due(panel.gateway) == 1
    page = admin.get(f"/webhooks/{hook}").get_data(as_text=True)
    assert "HTTP 503" in page and "pending" in page and '<td data-label="Attempts">1</td>' in page


def test_it_removes_a_webhook(panel: Panel) -> None:
    hook = subscription(panel)
    admin = panel.sign_in("admin")
    admin.get("/webhooks")
    assert 'data-confirm="Remove this webhook?' in admin.get("/webhooks").get_data(as_text=True)
    assert admin.post(f"/webhooks/{hook}/delete", {}).status_code == 302
    assert admin.post(f"/webhooks/{hook}/delete", {}).status_code == 404
    assert admin.post(f"/webhooks/{hook}/test", {}).status_code == 404
    assert admin.post("/webhooks/wh_nope/test", {}).status_code == 404
    assert admin.get("/webhooks/wh_nope").status_code == 404
    assert "removed" in admin.get(f"/webhooks/{hook}").get_data(as_text=True)
    with panel.gateway.sessions() as session:
        assert session.get(Webhook, hook).disabled_at is not None  # type: ignore[union-attr]
        (event,) = audit_events(session, action="webhook.deleted")
        assert event.subject == hook


def test_it_pages_the_deliveries(panel: Panel) -> None:
    hook = subscription(panel)
    admin = panel.sign_in("admin")
    from gateway.webhooks import queue_test_event

    with panel.gateway.sessions() as session:
        for _ in range(30):
            queue_test_event(session, panel.gateway.vault, hook)
        session.commit()
    first = admin.get(f"/webhooks/{hook}").get_data(as_text=True)
    assert 'rel="next"' in first
    second = admin.get(f"/webhooks/{hook}?page=2").get_data(as_text=True)
    assert second.count('data-label="Event"') == 5
    assert admin.get(f"/webhooks/{hook}?page=0").status_code == 400
