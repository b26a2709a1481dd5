"""Subscriptions, the deliveries events write, the worker sending them, and the CLI."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select

from gateway.app import Gateway
from gateway.cli import main
from gateway.contacts import find_or_create_contact
from gateway.errors import NotFound
from gateway.housekeeping import expire_queued, promote_scheduled
from gateway.lifecycle import record
from gateway.models import Line, Message, Webhook, WebhookDelivery, new_id, utcnow
from gateway.sending import claim_next, finish_sent, part_sent, start_sending
from gateway.webhooks import (
    EVENTS,
    MAX_WEBHOOKS,
    InvalidWebhookEvents,
    InvalidWebhookSecret,
    InvalidWebhookUrl,
    TooManyWebhooks,
    attach_vault,
    consent_changed,
    create_webhook,
    delete_webhook,
    list_webhooks,
    secret_key,
)
from tests.gateway.conftest import Rig, wait_until
from tests.gateway.test_delivery import SECRET, Receiver, deliveries, subscribe
from tests.gateway.test_engine import send


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hooks(gateway: Gateway) -> Gateway:
    attach_vault(gateway.engine, gateway.vault)
    return gateway


def payloads(gateway: Gateway) -> list[dict[str, Any]]:
    """The deliveries' payloads, decrypted, in the order they were written."""
    return [
        json.loads(gateway.vault.decrypt(row.payload_enc, "webhook_deliveries", "payload", row.id))
        for row in deliveries(gateway)
    ]


# -- subscriptions -------------------------------------------------------------------------


def test_it_creates_a_webhook_and_shows_the_secret_once(hooks: Gateway) -> None:
    with hooks.sessions() as session:
        webhook, secret = create_webhook(
            session,
            hooks.vault,
            "http://crm.office.lan:8080/hooks/sms?source=smsgw",
            ["message.status", "message.received", "message.status"],
            created_by="usr_admin",
        )
        session.commit()
    assert secret.startswith("whsec_") and len(secret_key(secret)) == 32
    assert webhook.events == "message.received message.status"
    with hooks.sessions() as session:
        (listed,) = list_webhooks(session)
        assert secret.encode() not in listed.secret_enc
        shown = hooks.vault.decrypt(listed.secret_enc, "webhooks", "secret", listed.id)
    assert shown == secret
    assert listed.id == webhook.id and listed.created_by == "usr_admin"


def test_it_keeps_a_secret_of_your_own(hooks: Gateway) -> None:
    with hooks.sessions() as session:
        _, secret = create_webhook(
            session, hooks.vault, "https://10.0.0.5/", ["message.status"], secret=SECRET
        )
    assert secret == SECRET


@pytest.mark.parametrize(
    "url",
    [
        "",
        None,
        "ftp://crm.lan/",
        "crm.lan/hooks",
        "http://",
        "http://user:pw@crm.lan/",
        "http://crm.lan/#part",
        "http://crm.lan:0/",
        "http://crm.lan:99999/",
        "http://crm .lan/",
        "http://crm.lan/\r\nX-Injected: 1",
        "http://crmé.lan/",
        "http://-crm.lan/",
        "http://2130706433/",
        "http://[not-v6]/",
        "http://" + "a" * 2100 + ".lan/",
    ],
)
def test_it_refuses_a_bad_url_clearly(hooks: Gateway, url: Any) -> None:
    with hooks.sessions() as session, pytest.raises(InvalidWebhookUrl) as refused:
        create_webhook(session, hooks.vault, url, ["message.status"])
    assert refused.value.code == "invalid_webhook_url"
    assert "user:pw" not in str(refused.value)


@pytest.mark.parametrize("events", [[], ["message.sent"], "message.status", None, [1]])
def test_it_refuses_unknown_events(hooks: Gateway, events: Any) -> None:
    with hooks.sessions() as session, pytest.raises(InvalidWebhookEvents) as refused:
        create_webhook(session, hooks.vault, "http://crm.lan/", events)
    assert refused.value.code == "invalid_webhook_events"
    assert all(name in str(refused.value) for name in EVENTS)


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_",
        "whsec_not base64!",
        "whsec_" + base64.b64encode(b"x" * 16).decode(),
        "whsec_" + base64.b64encode(b"x" * 65).decode(),
        "whsec_" + "A" * 5000,
    ],
)
def test_it_refuses_a_bad_secret_without_quoting_it(hooks: Gateway, secret: str) -> None:
    with hooks.sessions() as session, pytest.raises(InvalidWebhookSecret) as refused:
        create_webhook(session, hooks.vault, "http://crm.lan/", ["message.status"], secret=secret)
    assert refused.value.code == "invalid_webhook_secret"
    assert secret.removeprefix("whsec_") not in str(refused.value) or secret == "whsec_"


def test_it_limits_the_number_of_webhooks(hooks: Gateway) -> None:
    with hooks.sessions() as session:
        for n in range(MAX_WEBHOOKS):
            create_webhook(session, hooks.vault, f"http://crm.lan/{n}", ["message.status"])
        with pytest.raises(TooManyWebhooks):
            create_webhook(session, hooks.vault, "http://crm.lan/x", ["message.status"])


def test_it_removes_a_webhook_once(hooks: Gateway) -> None:
    webhook_id = subscribe(hooks, "http://crm.lan/")
    with hooks.sessions() as session:
        delete_webhook(session, webhook_id)
        session.commit()
    with hooks.sessions() as session:
        assert list_webhooks(session) == []
        assert session.get(Webhook, webhook_id).disabled_at is not None
        with pytest.raises(NotFound):
            delete_webhook(session, webhook_id)
        with pytest.raises(NotFound):
            delete_webhook(session, "wh_nonexistent")


# -- what events write -------------------------------------------------------------------


def test_it_writes_nothing_without_subscriptions(hooks: Gateway) -> None:
    send(hooks, "hello")
    assert deliveries(hooks) == []


def test_it_writes_one_delivery_per_subscription_to_the_event(hooks: Gateway) -> None:
    status_hook = subscribe(hooks, "http://crm.lan/status")
    subscribe(hooks, "http://crm.lan/inbox", ("message.received",))
    both = subscribe(hooks, "http://crm.lan/all", EVENTS)
    send(hooks, "hello")
    rows = deliveries(hooks)
    status_rows = [row for row in rows if row.event == "message.status"]
    assert sorted(row.webhook_id for row in status_rows) == sorted([status_hook, both])
    # The first send recorded that the sender attests the customer's number (on_send).
    assert [(row.webhook_id, row.event) for row in rows if row not in status_rows] == [
        (both, "consent.changed")
    ]


def test_an_event_costs_no_statement_without_subscriptions(hooks: Gateway) -> None:
    """The send path's budget: with nobody listening, an event adds no database work."""
    line = add_line(hooks)
    send(hooks, "the subscriptions are read here, then kept for two seconds")
    statements: list[str] = []

    def seen(_connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(hooks.engine, "before_cursor_execute", seen)
    try:
        with hooks.engine.connect() as connection:
            claimed = claim_next(connection, "w", line)
            start_sending(connection, claimed, line, "w")
            finish_sent(connection, claimed, "w")
            connection.commit()
    finally:
        event.remove(hooks.engine, "before_cursor_execute", seen)
    assert claimed is not None
    assert not any("webhook_deliveries" in statement for statement in statements)
    # At most the one re-read of the subscriptions, if two seconds have passed meanwhile.
    assert sum("FROM webhooks" in statement for statement in statements) <= 1


def add_line(gateway: Gateway) -> str:
    with gateway.sessions() as session:
        session.add(Line(id="ln_a", name="Front desk", device="/dev/a", number="+12015550100"))
        session.commit()
    return "ln_a"


def test_it_numbers_a_messages_events_in_order(hooks: Gateway) -> None:
    line = add_line(hooks)
    subscribe(hooks, "http://crm.lan/")
    message_id = send(hooks, "Your order is ready", to="+12015550123")
    with hooks.engine.connect() as connection:  # the send path, in Core statements
        claimed = claim_next(connection, "w", line)
        start_sending(connection, claimed, line, "w")
        connection.commit()
        part_sent(connection, claimed, 1, 42, line)
        finish_sent(connection, claimed, "w")
        connection.commit()
    with hooks.sessions() as session:  # a delivery report, through the ORM
        message = session.get(Message, message_id)
        record(session, message, "delivered", "worker")
        session.commit()
    sent = payloads(hooks)
    assert [p["data"]["sequence"] for p in sent] == [1, 2, 3, 4]
    assert [p["type"] for p in sent] == ["message.status"] * 4
    statuses = [
        (p["data"]["message"]["previous_status"], p["data"]["message"]["status"]) for p in sent
    ]
    assert statuses == [
        (None, "queued"),
        ("queued", "sending"),
        ("sending", "sent"),
        ("sent", "delivered"),
    ]
    last = sent[-1]["data"]["message"]
    assert last == {
        "id": message_id,
        "direction": "out",
        "status": "delivered",
        "previous_status": "sent",
        "to": "+12015550123",
        "from": "+12015550100",
        "line": "Front desk",
        "segments": 1,
        "encoding": "gsm7",
        "error_code": None,
        "created_at": last["created_at"],
        "updated_at": last["updated_at"],
    }
    assert last["created_at"].endswith("Z") and last["updated_at"] >= last["created_at"]
    assert "body" not in last


def test_it_records_consent_changes(hooks: Gateway) -> None:
    with hooks.sessions() as session:
        contact = find_or_create_contact(session, hooks.vault, "+12015550123")
        assert consent_changed(session, hooks.vault, contact, {"purpose": "marketing"}) == 0
        session.commit()
    webhook_id = subscribe(hooks, "http://crm.lan/consent", ("consent.changed",))
    change = {"purpose": "marketing", "status": "opted_out", "source": "keyword"}
    with hooks.sessions() as session:
        contact = find_or_create_contact(session, hooks.vault, "+12015550123")
        assert consent_changed(session, hooks.vault, contact, change) == 1
        session.commit()
    (row,) = deliveries(hooks)
    assert (row.webhook_id, row.event, row.message_id) == (webhook_id, "consent.changed", None)
    (payload,) = payloads(hooks)
    assert payload["type"] == "consent.changed"
    assert payload["data"] == {
        "contact": {"id": contact.id, "number": "+12015550123"},
        "consent": change,
    }


def test_status_callbacks_skip_what_twilio_has_no_name_for(hooks: Gateway) -> None:
    with hooks.sessions() as session:
        contact = find_or_create_contact(session, hooks.vault, "+12015550123")
        message_id = new_id("msg")
        message = Message(
            id=message_id,
            direction="out",
            contact_id=contact.id,
            status="",
            body_enc=hooks.vault.encrypt(contact.key_id, "x", "messages", "body", message_id),
            encoding="gsm7",
            segments=1,
            status_callback="http://crm.lan/cb",
            callback_style="twilio",
            created_at=utcnow(),
        )
        session.add(message)
        record(session, message, "pending_approval", "usr_agent")  # Twilio has no such status
        record(session, message, "canceled", "usr_manager")
        session.commit()
    (row,) = deliveries(hooks)
    assert (row.style, row.url, row.webhook_id) == ("twilio", "http://crm.lan/cb", None)
    assert "MessageStatus=canceled" in hooks.vault.decrypt(
        row.payload_enc, "webhook_deliveries", "payload", row.id
    )


# -- with the worker ---------------------------------------------------------------------


def test_the_worker_delivers_status_changes_in_order(
    hooks: Gateway, receiver: Receiver, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    subscribe(hooks, receiver.url())
    message_id = send(rig.gateway, "Your order is ready", to="+12015550123")
    rig.worker.work.notify()  # as `smsgw send` and the web process do
    requests = receiver.wait_for(4)
    received = sorted((r.json() for r in requests), key=lambda p: p["data"]["sequence"])
    assert [p["data"]["message"]["status"] for p in received] == [
        "queued",
        "sending",
        "sent",
        "delivered",
    ]
    assert [p["data"]["sequence"] for p in received] == [1, 2, 3, 4]
    assert {p["data"]["message"]["id"] for p in received} == {message_id}
    with hooks.sessions() as session:
        line = session.scalar(select(Line))
    delivered = received[-1]["data"]["message"]
    assert (delivered["line"], delivered["from"]) == (line.name, line.number)
    wait_until(lambda: {row.status for row in deliveries(hooks)} == {"delivered"})


def test_the_worker_delivers_received_messages_with_their_body(
    hooks: Gateway, receiver: Receiver, make_rig: Callable[..., Rig]
) -> None:
    subscribe(hooks, receiver.url(), ("message.received",))
    rig = make_rig(1)
    rig.bank[0].inject("+12015550199", "Can I come at 3? 👋")
    (request,) = receiver.wait_for(1)
    payload = request.json()
    message = payload["data"]["message"]
    assert payload["type"] == "message.received"
    assert payload["data"]["sequence"] == 1
    assert (message["direction"], message["status"]) == ("in", "received")
    assert message["body"] == "Can I come at 3? 👋"
    assert message["from"] == "+12015550199"
    with hooks.sessions() as session:
        line = session.scalar(select(Line))
    assert (message["to"], message["line"]) == (line.number, line.name)


# -- the command line ----------------------------------------------------------------------


def smsgw(data_dir: Path, *args: str) -> Any:
    (data_dir / "smsgw.toml").touch()
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args])
    return result


def test_the_cli_manages_webhooks(hooks: Gateway, data_dir: Path) -> None:
    added = smsgw(
        data_dir,
        *("webhook", "add", "http://crm.lan/hooks", "--event", "message.status", "--json"),
    )
    assert added.exit_code == 0, added.output
    shown = json.loads(added.output)
    assert shown["events"] == ["message.status"] and shown["secret"].startswith("whsec_")

    listed = smsgw(data_dir, "webhook", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line)["id"] for line in listed.output.splitlines()] == [shown["id"]]
    assert "whsec_" not in listed.output

    send(hooks, "Your order is ready")
    history = smsgw(data_dir, "webhook", "deliveries", "--json")
    assert history.exit_code == 0, history.output
    (row,) = [json.loads(line) for line in history.output.splitlines()]
    assert (row["webhook_id"], row["status"], row["attempts"]) == (shown["id"], "pending", 0)
    assert "Your order" not in history.output and "payload" not in row
    assert smsgw(data_dir, "webhook", "deliveries").output.startswith(row["id"])

    removed = smsgw(data_dir, "webhook", "remove", shown["id"])
    assert removed.exit_code == 0 and shown["id"] in removed.output
    again = smsgw(data_dir, "webhook", "remove", shown["id"])
    assert again.exit_code != 0 and "not_found" in again.output
    assert smsgw(data_dir, "webhook", "list").output == ""


def test_the_cli_refuses_bad_input_clearly(hooks: Gateway, data_dir: Path) -> None:
    bad_url = smsgw(data_dir, "webhook", "add", "ftp://crm.lan/", "--event", "message.status")
    assert bad_url.exit_code != 0 and "invalid_webhook_url" in bad_url.output
    metadata = ("http://169.254.169.254/latest/meta-data", "--event", "message.status")
    never_sent = smsgw(data_dir, "webhook", "add", *metadata)
    assert never_sent.exit_code != 0 and "not sent there" in never_sent.output
    bad_event = smsgw(data_dir, "webhook", "add", "http://crm.lan/", "--event", "message.sent")
    assert bad_event.exit_code != 0 and "message.status" in bad_event.output
    secret = "whsec_c2hvcnQ="
    add = ("webhook", "add", "http://crm.lan/", "--event", "message.status")
    bad_secret = smsgw(data_dir, *add, "--secret", secret)
    assert bad_secret.exit_code != 0 and "invalid_webhook_secret" in bad_secret.output
    assert "c2hvcnQ" not in bad_secret.output


def test_the_cli_prints_the_callback_secret(hooks: Gateway, data_dir: Path) -> None:
    first = smsgw(data_dir, "webhook", "callback-secret")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("whsec_")
    assert smsgw(data_dir, "webhook", "callback-secret").output == first.output
    with hooks.sessions() as session:
        assert session.scalar(select(WebhookDelivery)) is None


def test_housekeeping_changes_are_reported_too(hooks: Gateway) -> None:
    subscribe(hooks, "http://crm.lan/")
    later = utcnow() + timedelta(hours=1)
    send(hooks, "tomorrow's reminder", send_at=later, expires_at=later + timedelta(minutes=5))
    with hooks.sessions() as session:
        assert promote_scheduled(session, now=later) == 1
        session.commit()
    with hooks.sessions() as session:
        assert expire_queued(session, now=later + timedelta(hours=1)) == 1
        session.commit()
    changes = [(p["data"]["sequence"], p["data"]["message"]["status"]) for p in payloads(hooks)]
    assert changes == [(1, "scheduled"), (2, "queued"), (3, "failed")]
    assert payloads(hooks)[-1]["data"]["message"]["error_code"] == "expired"
