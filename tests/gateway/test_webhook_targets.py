"""Refusing, when a webhook is added, an address the sender never sends to; test events."""

from __future__ import annotations

import json

import pytest

from gateway.app import Gateway
from gateway.errors import NotFound
from gateway.models import WebhookDelivery
from gateway.webhook_targets import check_target
from gateway.webhooks import InvalidWebhookUrl, create_webhook, delete_webhook, queue_test_event


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://169.254.1.1/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://1.1.1.1/", "not on the LAN"),
        ("gopher://crm.lan/", "http:// or https://"),
    ],
)
def test_it_refuses_addresses_never_sent_to(gateway: Gateway, url: str, words: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match=words):
        check_target(gateway.config, url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/x", "https://192.168.1.20/hooks", "http://crm.lan/x"]
)
def test_it_accepts_the_lan_and_leaves_names_to_the_sender(gateway: Gateway, url: str) -> None:
    check_target(gateway.config, url)


def test_a_test_event_is_queued_for_one_subscription(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        webhook, _ = create_webhook(session, gateway.vault, "http://crm.lan/x", ["message.status"])
        delivery_id = queue_test_event(session, gateway.vault, webhook.id)
        session.commit()
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None and row.status == "pending" and row.event == "webhook.test"
        text = gateway.vault.decrypt(row.payload_enc, "webhook_deliveries", "payload", row.id)
        assert json.loads(text)["data"] == {"webhook_id": webhook.id}
        delete_webhook(session, webhook.id)
        with pytest.raises(NotFound):
            queue_test_event(session, gateway.vault, webhook.id)
