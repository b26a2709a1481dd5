"""Sending deliveries to a real HTTP receiver on 127.0.0.1: signing, retries, the LAN rule."""

from __future__ import annotations

import ipaddress
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import Message as Headers
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.app import Gateway
from gateway.config import Config
from gateway.delivery import (
    AddressPolicy,
    DeliveryError,
    Sender,
    deliver_due,
    deliver_one,
    signature,
)
from gateway.lifecycle import record
from gateway.models import Contact, Line, Message, WebhookDelivery, utcnow
from gateway.sending import claim_next, finish_sent, part_sent, start_sending
from gateway.tls import ensure_certificates
from gateway.webhooks import (
    TWILIO_ACCOUNT_SID,
    attach_vault,
    callback_secret,
    create_webhook,
    delete_webhook,
)
from tests.gateway.test_engine import send

README = Path(__file__).resolve().parents[2] / "README.md"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass(frozen=True)
class Received:
    path: str
    headers: Headers
    body: bytes

    def json(self) -> Any:
        return StandardWebhook(SECRET).verify(self.body, dict(self.headers.items()))


class Receiver:
    """A real HTTP server that records each request and answers as it is told to."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Received] = []
        self.answers: list[tuple[int, dict[str, str]]] = []  # used first, then 200
        self.hold: threading.Event | None = None  # while set, answers wait for it
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.arrived:
                    receiver.requests.append(Received(self.path, self.headers, body))
                    receiver.arrived.notify_all()
                    status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                if receiver.hold is not None:
                    receiver.hold.wait(10)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = "/hooks", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{count} request(s) not received in {timeout}s")
            return list(self.requests)

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hooks(gateway: Gateway) -> Gateway:
    """The gateway with its vault attached, as a worker or the web process has it."""
    attach_vault(gateway.engine, gateway.vault)
    return gateway


def subscribe(
    gateway: Gateway, url: str, events: tuple[str, ...] = ("message.status",), secret: str = SECRET
) -> str:
    with gateway.sessions() as session:
        webhook, _ = create_webhook(session, gateway.vault, url, events, secret=secret)
        session.commit()
        return webhook.id


def deliveries(gateway: Gateway) -> list[WebhookDelivery]:
    with gateway.sessions() as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        return list(session.scalars(query))


def readme_verify() -> Callable[..., bool]:
    """The plain-Python check the README shows receivers, run exactly as written there."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (code,) = [block for block in blocks if "def verify(" in block]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["verify"]


def no_resolving(*_args: Any, **_kwargs: Any) -> list[Any]:
    raise AssertionError("an address literal must not be resolved")


# -- signing -----------------------------------------------------------------------------


def test_it_signs_requests_as_standard_webhooks_says(hooks: Gateway, receiver: Receiver) -> None:
    subscribe(hooks, receiver.url())
    message_id = send(hooks, "Your order is ready")
    assert deliver_due(hooks) == 1
    (request,) = receiver.wait_for(1)
    assert request.path == "/hooks"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "smsgw-webhooks/1"
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["webhook-id"] == deliveries(hooks)[0].id
    payload = request.json()  # standardwebhooks checks signature and timestamp
    assert payload["type"] == "message.status"
    assert payload["data"]["message"]["id"] == message_id
    verify = readme_verify()
    assert verify(SECRET, request.headers, request.body)
    assert not verify(SECRET, request.headers, request.body + b" ")
    assert not verify("whsec_" + "A" * 32, request.headers, request.body)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(SECRET).verify(request.body.replace(b"queued", b"sent__"), request.headers)
    assert deliveries(hooks)[0].status == "delivered"


def test_the_readme_check_refuses_stale_and_incomplete_requests() -> None:
    body = b'{"type":"message.status"}'
    then = int(time.time()) - 600
    headers = {
        "webhook-id": "dlv_1",
        "webhook-timestamp": str(then),
        "webhook-signature": signature(SECRET, "dlv_1", then, body),
    }
    # Our signature is the one the specification's reference package makes.
    expected = StandardWebhook(SECRET).sign(
        "dlv_1", datetime.fromtimestamp(then, UTC), body.decode()
    )
    assert headers["webhook-signature"] == expected
    verify = readme_verify()
    assert not verify(SECRET, headers, body)  # signed ten minutes ago
    assert verify(SECRET, headers, body, tolerance=3600)
    assert not verify(SECRET, {"webhook-id": "dlv_1"}, body)
    assert not verify(SECRET, {**headers, "webhook-timestamp": "soon"}, body, tolerance=3600)
    assert not verify(SECRET, {**headers, "webhook-signature": "v1,AAAA"}, body, tolerance=3600)


# -- retries -----------------------------------------------------------------------------


def test_it_retries_with_backoff_until_the_receiver_answers(
    hooks: Gateway, receiver: Receiver
) -> None:
    subscribe(hooks, receiver.url())
    send(hooks, "retry me")
    receiver.answers = [(500, {}), (503, {}), (202, {})]
    start = utcnow()
    assert deliver_due(hooks, now=start, rng=random.Random(1)) == 1
    (row,) = deliveries(hooks)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
    first_wait = (row.next_attempt_at - start).total_seconds()
    assert 2.5 <= first_wait <= 5.0  # 5 s, with jitter
    assert deliver_due(hooks, now=start + timedelta(seconds=2)) == 0  # not due yet
    second = row.next_attempt_at
    assert deliver_due(hooks, now=second, rng=random.Random(1)) == 1
    (row,) = deliveries(hooks)
    assert (row.status, row.attempts, row.last_error) == ("pending", 2, "HTTP 503")
    assert 5.0 <= (row.next_attempt_at - second).total_seconds() <= 10.0  # doubled
    assert deliver_due(hooks, now=row.next_attempt_at) == 1
    (row,) = deliveries(hooks)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)
    assert row.status_code == 202  # what the receiver answered when it took it
    requests = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1  # one delivery, three tries


def test_it_gives_up_after_the_retry_window(hooks: Gateway, receiver: Receiver) -> None:
    subscribe(hooks, receiver.url())
    send(hooks, "nobody listens")
    receiver.answers = [(500, {})] * 3
    (row,) = deliveries(hooks)
    window = timedelta(hours=hooks.config.webhooks.retry_hours)
    assert deliver_due(hooks, now=row.created_at + window - timedelta(hours=1)) == 1
    assert deliveries(hooks)[0].status == "pending"  # an hour is left: try again
    assert deliver_due(hooks, now=row.created_at + window + timedelta(minutes=1)) == 1
    (row,) = deliveries(hooks)
    assert (row.status, row.attempts, row.last_error) == ("failed", 2, "HTTP 500")
    assert deliver_due(hooks, now=row.created_at + 2 * window) == 0


def test_it_does_not_follow_redirects(hooks: Gateway, receiver: Receiver) -> None:
    subscribe(hooks, receiver.url())
    send(hooks, "hello")
    receiver.answers = [(302, {"Location": receiver.url("/elsewhere")})]
    deliver_due(hooks)
    (row,) = deliveries(hooks)
    assert row.status == "pending"
    assert row.last_error == "HTTP 302: redirects are not followed"
    assert [r.path for r in receiver.wait_for(1)] == ["/hooks"]


def test_a_delivery_in_flight_is_not_taken_twice(hooks: Gateway, receiver: Receiver) -> None:
    subscribe(hooks, receiver.url())
    send(hooks, "only once")
    receiver.hold = threading.Event()
    sender = Sender(hooks.config)
    first = threading.Thread(target=deliver_one, args=(hooks, sender))
    first.start()
    try:
        receiver.wait_for(1)
        # The first attempt is committed before its request: a second worker skips it.
        assert deliver_one(hooks, Sender(hooks.config)) is False
        assert deliveries(hooks)[0].attempts == 1
    finally:
        receiver.hold.set()
        first.join(10)
    assert deliveries(hooks)[0].status == "delivered"
    assert len(receiver.requests) == 1


def test_it_reports_a_receiver_that_is_down(hooks: Gateway) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    subscribe(hooks, f"http://127.0.0.1:{port}/")
    send(hooks, "hello")
    deliver_due(hooks)
    (row,) = deliveries(hooks)
    assert (row.status, row.last_error) == ("pending", "connection refused")


# -- the LAN rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "refused: cloud metadata address"),
        ("http://[fd00:ec2::254]/", "refused: cloud metadata address"),
        ("http://[::ffff:169.254.169.254]/", "refused: cloud metadata address"),
        ("http://169.254.10.1:8080/", "refused: link-local address"),
        ("http://[fe80::1]/", "refused: link-local address"),
        ("http://224.0.0.251/", "refused: multicast address"),
        ("http://0.0.0.0:8080/", "refused: unspecified address"),
        ("http://[::]/", "refused: unspecified address"),
        ("http://255.255.255.255/", "refused: broadcast address"),
        ("http://8.8.8.8/", "refused: 8.8.8.8 is not on the LAN"),
        ("https://[2001:4860:4860::8888]/", "refused: 2001:4860:4860::8888 is not on the LAN"),
    ],
)
def test_it_refuses_addresses_off_the_lan_without_connecting(
    config: Config, url: str, reason: str
) -> None:
    sender = Sender(config, resolve=no_resolving)
    with pytest.raises(DeliveryError) as refused:
        sender.post(url, b"{}", {})
    # Refused before any connection: a connection attempt would fail with another reason.
    assert refused.value.reason.startswith(reason)
    assert refused.value.permanent


def test_it_fails_a_refused_delivery_at_once(hooks: Gateway) -> None:
    subscribe(hooks, "http://169.254.169.254/hook")
    send(hooks, "hello")
    deliver_due(hooks)
    (row,) = deliveries(hooks)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "refused: cloud metadata address 169.254.169.254"


def test_it_checks_every_address_a_name_resolves_to(config: Config) -> None:
    def resolve(host: str, port: int, **_kwargs: Any) -> list[Any]:
        addresses = {"mixed.lan": ["192.168.1.20", "169.254.169.254"], "www.example": ["8.8.8.8"]}
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses[host]]

    sender = Sender(config, resolve=resolve)
    with pytest.raises(DeliveryError, match="refused: cloud metadata address"):
        sender.post("http://mixed.lan/", b"{}", {})
    with pytest.raises(DeliveryError, match=r"refused: 8\.8\.8\.8 is not on the LAN"):
        sender.post("http://www.example/", b"{}", {})


def test_it_connects_to_the_address_it_checked(hooks: Gateway, receiver: Receiver) -> None:
    """One lookup per attempt: a rebinding DNS server gets no second chance."""
    lookups: list[str] = []

    def resolve(host: str, port: int, **_kwargs: Any) -> list[Any]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    subscribe(hooks, receiver.url(host="hooks.office.lan"))
    send(hooks, "hello")
    assert deliver_due(hooks, sender=Sender(hooks.config, resolve=resolve)) == 1
    (request,) = receiver.wait_for(1)
    assert request.headers["Host"] == f"hooks.office.lan:{receiver.port}"
    assert lookups == ["hooks.office.lan"]
    assert deliveries(hooks)[0].status == "delivered"


def test_it_resolves_names_at_delivery_time(hooks: Gateway, receiver: Receiver) -> None:
    subscribe(hooks, receiver.url(host="localhost"))
    send(hooks, "hello")
    deliver_due(hooks)
    assert deliveries(hooks)[0].status == "delivered"
    assert receiver.wait_for(1)[0].headers["Host"] == f"localhost:{receiver.port}"


def test_allow_hosts_admits_listed_names_and_networks_only() -> None:
    ip = ipaddress.ip_address
    policy = AddressPolicy("crm.partner.example, *.corp.example, 198.51.100.0/24, 169.254.0.0/16")
    public = ip("203.0.113.7")
    assert policy.refusal("crm.partner.example", public) is None
    assert policy.refusal("CRM.partner.example".lower(), public) is None
    assert policy.refusal("hooks.corp.example", public) is None
    assert policy.refusal("crm.partner.example.evil", public) is not None
    assert policy.refusal("other.example", public) is not None
    assert policy.refusal("other.example", ip("198.51.100.9")) is None
    assert policy.refusal("anything", ip("10.1.2.3")) is None
    assert policy.refusal("anything", ip("::1")) is None
    # Listing them changes nothing: link-local and metadata addresses are always refused.
    assert policy.refusal("crm.partner.example", ip("169.254.169.254")) is not None
    assert policy.refusal("anything", ip("169.254.1.1")) is not None


def test_it_verifies_tls_against_the_box_ca(hooks: Gateway, config: Config, data_dir: Path) -> None:
    ensure_certificates(config)  # the box's CA and a certificate for localhost
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(config.tls_dir / "server.pem", config.tls_dir / "server.key")
    server = Receiver(tls)
    try:
        subscribe(hooks, server.url(host="localhost", scheme="https"))
        send(hooks, "over TLS")
        stranger = replace(config, data_dir=data_dir / "elsewhere")  # without the box's CA
        deliver_due(hooks, sender=Sender(stranger))
        (row,) = deliveries(hooks)
        assert row.status == "pending" and row.last_error.startswith("TLS")
        deliver_due(hooks, now=row.next_attempt_at)
        assert deliveries(hooks)[0].status == "delivered"
        assert server.wait_for(1)[0].json()["type"] == "message.status"
    finally:
        server.close()


# -- privacy -----------------------------------------------------------------------------


def test_it_keeps_payloads_encrypted_in_the_database(
    hooks: Gateway, receiver: Receiver, config: Config
) -> None:
    subscribe(hooks, receiver.url(), ("message.status", "message.received"))
    body = "Meet Dr. Quimby at 10:30 about the biopsy"
    send(hooks, body, to="+12015550177")
    assert len(deliveries(hooks)) == 1
    hooks.engine.dispose()  # everything on disk
    stored = b"".join(path.read_bytes() for path in config.data_dir.glob("smsgw.db*"))
    for secret in (body, "Quimby", "+12015550177", "2015550177", SECRET):
        assert secret.encode() not in stored
    deliver_due(hooks)
    assert receiver.wait_for(1)[0].json()["data"]["message"]["to"] == "+12015550177"


def test_erasing_a_contact_shreds_its_pending_deliveries(
    hooks: Gateway, receiver: Receiver
) -> None:
    subscribe(hooks, receiver.url())
    message_id = send(hooks, "soon forgotten")
    with hooks.sessions() as session:
        contact = session.get(Contact, session.get(Message, message_id).contact_id)
        hooks.vault.destroy(session, contact.key_id)
        session.commit()
    assert deliver_due(hooks) == 1
    (row,) = deliveries(hooks)
    assert (row.status, row.last_error) == ("failed", "payload unreadable: the contact was erased")
    assert receiver.requests == []


def test_a_removed_subscription_gets_nothing_more(hooks: Gateway, receiver: Receiver) -> None:
    webhook_id = subscribe(hooks, receiver.url())
    send(hooks, "hello")
    with hooks.sessions() as session:
        delete_webhook(session, webhook_id)
        session.commit()
    assert deliver_due(hooks) == 0
    (row,) = deliveries(hooks)
    assert (row.status, row.last_error) == ("failed", "subscription removed")
    send(hooks, "after removal")
    assert len(deliveries(hooks)) == 1


# -- a message's own status callback -----------------------------------------------------


@pytest.fixture
def line(hooks: Gateway) -> str:
    with hooks.sessions() as session:
        session.add(Line(id="ln_a", name="Front desk", device="/dev/a", number="+12015550100"))
        session.commit()
    return "ln_a"


def with_callback(gateway: Gateway, message_id: str, url: str, style: str | None) -> None:
    with gateway.sessions() as session:
        message = session.get(Message, message_id)
        message.status_callback, message.callback_style = url, style
        session.commit()


def send_through(gateway: Gateway, line: str, report: str) -> None:
    """The send path's own steps (Core), then the delivery report (ORM)."""
    with gateway.engine.connect() as connection:
        claimed = claim_next(connection, "w", line)
        start_sending(connection, claimed, line, "w")
        connection.commit()
        part_sent(connection, claimed, 1, 7, line)
        finish_sent(connection, claimed, "w")
        connection.commit()
    with gateway.sessions() as session:
        message = session.get(Message, claimed.id)
        message.error_code = None if report == "delivered" else "report:70"
        record(session, message, report, "worker")
        session.commit()


def test_it_posts_twilio_style_status_callbacks(
    hooks: Gateway, receiver: Receiver, line: str
) -> None:
    message_id = send(hooks, "Your table is ready", to="+12015550123")
    with_callback(hooks, message_id, receiver.url("/twilio/status"), "twilio")
    send_through(hooks, line, "undelivered")
    assert deliver_due(hooks) == 3
    requests = receiver.wait_for(3)
    forms = [
        {k: v[0] for k, v in parse_qs(r.body.decode(), strict_parsing=True).items()}
        for r in requests
    ]
    assert [f["MessageStatus"] for f in forms] == ["sending", "sent", "undelivered"]
    assert forms[-1] == {
        "MessageSid": message_id,
        "SmsSid": message_id,
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": "+12015550100",
        "To": "+12015550123",
        "MessageStatus": "undelivered",
        "SmsStatus": "undelivered",
        "ApiVersion": "2010-04-01",
        "ErrorCode": "30003",
    }
    assert "ErrorCode" not in forms[1]
    assert requests[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    with hooks.sessions() as session:
        secret = callback_secret(session, hooks.vault)
    # Signed like every delivery (raises if not): Twilio's own signature needs an auth token.
    StandardWebhook(secret).verify(requests[0].body, requests[0].headers, json_parse=False)


def test_it_posts_standard_status_callbacks_signed_with_the_box_secret(
    hooks: Gateway, receiver: Receiver, line: str
) -> None:
    message_id = send(hooks, "Your table is ready")
    with_callback(hooks, message_id, receiver.url("/status"), None)
    send_through(hooks, line, "delivered")
    deliver_due(hooks)
    with hooks.sessions() as session:
        secret = callback_secret(session, hooks.vault)
        session.commit()
    payloads = [StandardWebhook(secret).verify(r.body, r.headers) for r in receiver.wait_for(3)]
    assert [p["data"]["sequence"] for p in payloads] == [2, 3, 4]
    assert [p["data"]["message"]["status"] for p in payloads] == ["sending", "sent", "delivered"]
    assert payloads[-1]["data"]["message"]["line"] == "Front desk"


def test_the_callback_secret_is_made_once_and_kept(hooks: Gateway) -> None:
    with hooks.sessions() as session:
        first = callback_secret(session, hooks.vault)
        session.commit()
    with hooks.sessions() as session:
        assert callback_secret(session, hooks.vault) == first
    assert first.startswith("whsec_") and len(first) > 40
