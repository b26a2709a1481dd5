"""Webhooks: subscriptions, and the delivery rows that message events write.

An event becomes one ``WebhookDelivery`` row per active subscription to its type, plus one
for the message's own ``status_callback``, written in the transaction that changed the
message: a status change and the news of it commit together or not at all. The worker's
``webhooks`` thread sends the rows (``gateway.delivery``).

Payloads hold numbers and bodies, so each is encrypted under the contact's data key:
erasing a contact also shreds the news about it that has not gone out yet. Subscription
secrets are encrypted under the box's own "system" data key.

The send path runs this for every status change within a budget of a few milliseconds per
message, so each process caches the active subscriptions (for ``REFRESH_SECONDS``): with
none, and no status callback, an event costs a dictionary lookup. A subscription made in
another process (the web) therefore takes effect within that time.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import re
import secrets
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import Connection, Engine, bindparam, event, func, insert, select, update
from sqlalchemy.orm import Session

from gateway.crypto import CryptoError
from gateway.errors import GatewayError, NotFound
from gateway.models import (
    Contact,
    Line,
    Message,
    MessageEvent,
    Webhook,
    WebhookDelivery,
    new_id,
    utcnow,
)
from gateway.vault import Vault

logger = logging.getLogger(__name__)

EVENTS = ("message.received", "message.status", "consent.changed")
TEST_EVENT = "webhook.test"  # sent on request to one subscription, whatever its events
DELIVERY_STATUSES = ("pending", "delivered", "failed")
MAX_URL_LENGTH = 2048
MAX_WEBHOOKS = 50  # every event is checked against each one on the send path
SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)
REFRESH_SECONDS = 2.0

# Twilio's status callbacks (messages made through the Twilio-compatible endpoint). Our
# statuses Twilio lacks: pending_approval is not reported; blocked (consent or policy) and
# unknown (outcome never recorded) are final for the caller, so they are reported as failed.
TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_API_VERSION = "2010-04-01"
TWILIO_STATUS = {
    "scheduled": "scheduled",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "canceled",
    "blocked": "failed",
    "unknown": "failed",
}
# 30003 unreachable handset, 30008 unknown error, 21610 recipient unsubscribed.
TWILIO_ERROR = {"undelivered": "30003", "failed": "30008", "blocked": "21610", "unknown": "30008"}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_NOT_VISIBLE_ASCII = re.compile(r"[^\x21-\x7e]")


class InvalidWebhookUrl(GatewayError):
    code = "invalid_webhook_url"


class InvalidWebhookEvents(GatewayError):
    code = "invalid_webhook_events"


class InvalidWebhookSecret(GatewayError):
    code = "invalid_webhook_secret"


class TooManyWebhooks(GatewayError):
    code = "too_many_webhooks"


# -- URLs and secrets ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: where to connect and what to ask for."""

    scheme: str  # http | https
    host: str  # a lower-case name, or an address (IPv6 without brackets)
    port: int
    path: str  # the request target: path and query

    @property
    def address(self) -> IPAddress | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (
            host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"
        )


def parse_url(url: object) -> Target:
    """Check a webhook or status-callback URL; InvalidWebhookUrl says what is wrong.

    The URL is never quoted back: its query may hold a token.
    """
    if not isinstance(url, str) or not url:
        raise InvalidWebhookUrl("give the URL as text, such as http://crm.lan/hooks/sms")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if _NOT_VISIBLE_ASCII.search(url):
        raise InvalidWebhookUrl(
            "the URL holds spaces, control or non-ASCII characters "
            "(percent-encode them; write an international name in its xn-- form)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidWebhookUrl(
            "not a valid URL (look at the port and any [IPv6] address)"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidWebhookUrl("the URL must start with http:// or https://")
    if "@" in parts.netloc:
        raise InvalidWebhookUrl("the URL must not hold a user name or password")
    if "#" in url:
        raise InvalidWebhookUrl("the URL must not have a #fragment")
    host = (parts.hostname or "").rstrip(".")
    if not _valid_host(host, bracketed=parts.netloc.startswith("[")):
        raise InvalidWebhookUrl("the URL's host is not a valid name or address")
    if port == 0:
        raise InvalidWebhookUrl("the URL's port must be 1 to 65535")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def _valid_host(host: str, *, bracketed: bool) -> bool:
    if bracketed:
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    try:
        return ipaddress.ip_address(host).version == 4
    except ValueError:
        pass
    # A numeric last label is no name: the resolver would read "2130706433" as an address.
    return (
        len(host) <= 253
        and _HOSTNAME.fullmatch(host) is not None
        and not host.rsplit(".", 1)[-1].isdigit()
    )


def check_url(url: str) -> str:
    """The URL, if it may be a webhook or status-callback target (InvalidWebhookUrl if not)."""
    parse_url(url)
    return url


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: object) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for (InvalidWebhookSecret if it is none).

    The secret itself is never quoted in an error.
    """
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InvalidWebhookSecret("the secret must be whsec_ followed by base64")
    encoded = secret[len(SECRET_PREFIX) :]
    low, high = SECRET_BYTES
    try:
        if len(encoded) > 2 * high:
            raise ValueError
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidWebhookSecret(
            "the part after whsec_ is not base64 of 24 to 64 bytes"
        ) from None
    if not low <= len(key) <= high:
        raise InvalidWebhookSecret(f"the secret must hold {low} to {high} bytes, not {len(key)}")
    return key


def system_key(session: Session, vault: Vault) -> int:
    """The box's own data key (webhook secrets are encrypted under it), made on first use."""
    return vault.system_key(session)


def callback_secret(session: Session, vault: Vault) -> str:
    """The box-wide ``whsec_`` secret that signs status callbacks, made on first use.

    It is a data key of its own (purpose "callback"): random bytes wrapped by the master key
    like every other key, so it is stored encrypted and survives a master-key rotation.
    The caller commits.
    """
    key_id = vault.key_for(session, "callback")
    return SECRET_PREFIX + base64.b64encode(vault.keyring.get(key_id).key).decode("ascii")


# -- subscriptions -------------------------------------------------------------------------


def _check_events(events: object) -> list[str]:
    if isinstance(events, str) or not isinstance(events, Iterable):
        raise InvalidWebhookEvents(f"give a list of events: {', '.join(EVENTS)}")
    wanted = list(events)
    if not wanted:
        raise InvalidWebhookEvents(f"give at least one event: {', '.join(EVENTS)}")
    if any(not isinstance(name, str) or name not in EVENTS for name in wanted):
        raise InvalidWebhookEvents(f"unknown event; the events are {', '.join(EVENTS)}")
    return [name for name in EVENTS if name in wanted]


def create_webhook(
    session: Session,
    vault: Vault,
    url: str,
    events: Iterable[str],
    secret: str | None = None,
    created_by: str | None = None,
) -> tuple[Webhook, str]:
    """Subscribe ``url`` to ``events``; return the row and the secret (shown this once).

    Without ``secret`` one is generated. The caller commits. Raises InvalidWebhookUrl,
    InvalidWebhookEvents, InvalidWebhookSecret or TooManyWebhooks.
    """
    check_url(url)
    wanted = _check_events(events)
    if secret is None:
        secret = new_secret()
    else:
        secret_key(secret)
    active = session.scalar(
        select(func.count()).select_from(Webhook).where(Webhook.disabled_at.is_(None))
    )
    if active >= MAX_WEBHOOKS:
        raise TooManyWebhooks(f"at most {MAX_WEBHOOKS} webhooks; remove one first")
    webhook_id = new_id("wh")
    key_id = system_key(session, vault)
    webhook = Webhook(
        id=webhook_id,
        url=url,
        events=" ".join(wanted),
        secret_enc=vault.encrypt(key_id, secret, "webhooks", "secret", webhook_id),
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(webhook)
    _refresh_after_commit(session)
    return webhook, secret


def list_webhooks(session: Session) -> list[Webhook]:
    """The active subscriptions, oldest first (secrets stay encrypted)."""
    return list(
        session.scalars(
            select(Webhook)
            .where(Webhook.disabled_at.is_(None))
            .order_by(Webhook.created_at, Webhook.id)
        )
    )


def delete_webhook(session: Session, webhook_id: str) -> Webhook:
    """End a subscription; its pending deliveries fail. NotFound if there is no such one.

    The row is kept (disabled) because its deliveries refer to it. The caller commits.
    """
    webhook = session.get(Webhook, webhook_id) if isinstance(webhook_id, str) else None
    if webhook is None or webhook.disabled_at is not None:
        raise NotFound("no webhook with that id")
    webhook.disabled_at = utcnow()
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
        .values(status="failed", last_error="subscription removed")
    )
    _refresh_after_commit(session)
    return webhook


def describe(webhook: Webhook) -> dict[str, Any]:
    """What the API and the CLI show of a subscription: never its secret."""
    return {
        "id": webhook.id,
        "url": webhook.url,
        "events": webhook.events.split(),
        "created_by": webhook.created_by,
        "created_at": _iso(webhook.created_at),
    }


@dataclass(frozen=True)
class DeliveryView:
    """A delivery as people see it: where it stands, never what it carries."""

    id: str
    webhook_id: str | None  # None: a message's status callback
    event: str
    style: str
    message_id: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    status_code: int | None = None  # the receiver's HTTP status when it took it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_deliveries(
    session: Session,
    *,
    status: str | None = None,
    limit: int = 50,
    webhook_id: str | None = None,
    offset: int = 0,
) -> list[DeliveryView]:
    """Recent deliveries, newest first (of one subscription, with ``webhook_id``)."""
    d = WebhookDelivery
    query = select(d).order_by(d.created_at.desc(), d.id.desc()).limit(max(1, min(limit, 1000)))
    if status is not None:
        query = query.where(d.status == status)
    if webhook_id is not None:
        query = query.where(d.webhook_id == webhook_id)
    if offset > 0:
        query = query.offset(offset)
    return [
        DeliveryView(
            id=row.id,
            webhook_id=row.webhook_id,
            event=row.event,
            style=row.style,
            message_id=row.message_id,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=_iso(row.created_at),
            next_attempt_at=_iso(row.next_attempt_at) if row.status == "pending" else None,
            delivered_at=_iso(row.delivered_at),
            status_code=row.status_code,
        )
        for row in session.scalars(query)
    ]


def queue_test_event(
    session: Session, vault: Vault, webhook_id: str, *, now: datetime | None = None
) -> str:
    """Queue a ``webhook.test`` delivery to one subscription; return its id.

    It goes the way every event goes (signed with the subscription's secret, sent and
    retried by the worker), so a receiver can check its URL and signature check. It holds
    no personal data: its payload is encrypted under the box's own key. The caller commits.
    """
    webhook = session.get(Webhook, webhook_id) if isinstance(webhook_id, str) else None
    if webhook is None or webhook.disabled_at is not None:
        raise NotFound("no webhook with that id")
    now = now or utcnow()
    text = _json({"type": TEST_EVENT, "timestamp": _iso(now), "data": {"webhook_id": webhook.id}})
    row = _row(
        vault, system_key(session, vault), TEST_EVENT, None, text, now, webhook_id=webhook.id
    )
    session.connection().execute(_ADD_DELIVERIES, [row])
    _pending.written = True
    return str(row["id"])


# -- what each process knows -----------------------------------------------------------


class _Known:
    """One process's view of one database: its vault and the active subscriptions."""

    def __init__(self) -> None:
        self.vault: Vault | None = None
        self.subscriptions: tuple[tuple[str, frozenset[str]], ...] = ()
        self.refresh_at = 0.0
        self.warned = False

    def subscribers(self, connection: Connection, name: str) -> list[str]:
        now = time.monotonic()
        if now >= self.refresh_at:
            rows = connection.execute(_ACTIVE).all()
            self.subscriptions = tuple((row.id, frozenset(row.events.split())) for row in rows)
            self.refresh_at = now + REFRESH_SECONDS
        return [webhook_id for webhook_id, events in self.subscriptions if name in events]

    def usable_vault(self) -> Vault | None:
        if self.vault is None and not self.warned:
            self.warned = True
            logger.error(
                "webhook events are not recorded in this process: no vault attached "
                "(gateway.webhooks.attach_vault)"
            )
        return self.vault


_ACTIVE = select(Webhook.id, Webhook.events).where(Webhook.disabled_at.is_(None))
_known: weakref.WeakKeyDictionary[Engine, _Known] = weakref.WeakKeyDictionary()
_known_lock = threading.Lock()


def _known_for(engine: Engine) -> _Known:
    known = _known.get(engine)
    if known is None:
        with _known_lock:
            known = _known.setdefault(engine, _Known())
    return known


def attach_vault(engine: Engine, vault: Vault) -> None:
    """Let status changes on ``engine`` record webhook deliveries (once per process).

    ``lifecycle.record`` and ``sending.transition`` have no vault of their own to encrypt
    payloads with; they find this one by their connection's engine.
    """
    _known_for(engine).vault = vault


def refresh_subscriptions(engine: Engine) -> None:
    """Read the subscriptions again at the next event (they changed in this process)."""
    _known_for(engine).refresh_at = 0.0


def _refresh_after_commit(session: Session) -> None:
    engine = session.connection().engine
    event.listen(session, "after_commit", lambda _s: refresh_subscriptions(engine), once=True)


# -- telling the delivery thread ------------------------------------------------------------

# Set once a transaction that wrote deliveries has committed: the worker's ``webhooks``
# thread waits on it, so a delivery leaves within milliseconds rather than at the next poll.
DELIVERIES_DUE = threading.Event()
_pending = threading.local()


def announce_committed() -> None:
    """Call after a commit: wakes the delivery thread if this thread wrote deliveries."""
    if getattr(_pending, "written", False):
        _pending.written = False
        DELIVERIES_DUE.set()


@event.listens_for(Session, "after_commit")
def _after_session_commit(_session: Session) -> None:
    announce_committed()


@event.listens_for(Session, "after_rollback")
def _after_session_rollback(_session: Session) -> None:
    _pending.written = False


# -- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    """A message as an event shows it (numbers and body still encrypted)."""

    id: str
    direction: str
    status: str
    contact_id: str
    key_id: int
    number_enc: bytes
    line_name: str | None
    line_number: str | None
    segments: int
    encoding: str
    error_code: str | None
    created_at: datetime | None
    updated_at: datetime | None
    sequence: int


_m = Message.__table__.c
_lines = Line.__table__
_contacts = Contact.__table__
_SNAPSHOT = (
    select(
        _m.id,
        _m.direction,
        _m.status,
        _m.contact_id,
        _contacts.c.key_id,
        _contacts.c.number_enc,
        _lines.c.name.label("line_name"),
        _lines.c.number.label("line_number"),
        _m.segments,
        _m.encoding,
        _m.error_code,
        _m.created_at,
        _m.updated_at,
        select(func.count())
        .where(MessageEvent.__table__.c.message_id == _m.id)
        .scalar_subquery()
        .label("sequence"),
    )
    .join(_contacts, _contacts.c.id == _m.contact_id)
    .outerjoin(_lines, _lines.c.id == func.coalesce(_m.via_line_id, _m.line_id))
    .where(_m.id == bindparam("message_id"))
)
_EVENT_COUNT = select(func.count()).where(
    MessageEvent.__table__.c.message_id == bindparam("message_id")
)
_ADD_DELIVERIES = insert(WebhookDelivery.__table__)


def _callback(
    direction: str, url: str | None, style: str | None, status: str
) -> tuple[str, str] | None:
    if direction != "out" or not url:
        return None
    if style == "twilio":
        return (url, "twilio") if status in TWILIO_STATUS else None
    return url, "standard"


def message_changed(session: Session, message: Message, previous: str | None, at: datetime) -> None:
    """Record the deliveries a status change calls for (``lifecycle.record`` calls this).

    ``received`` is the ``message.received`` event (with the body); every other status is
    ``message.status``.
    """
    name = "message.received" if message.status == "received" else "message.status"
    connection = session.connection()
    known = _known_for(connection.engine)
    subscribers = known.subscribers(connection, name)
    callback = _callback(
        message.direction, message.status_callback, message.callback_style, message.status
    )
    if not subscribers and callback is None:
        return
    vault = known.usable_vault()
    if vault is None:
        return
    with session.no_autoflush:
        contact = session.get(Contact, message.contact_id)
        line_id = message.via_line_id or message.line_id
        line = session.get(Line, line_id) if line_id else None
    if contact is None:
        return
    if previous is None:
        sequence = 1  # a new message: this is its first event
    else:
        session.flush()  # the event rows of this transaction count too
        sequence = connection.execute(_EVENT_COUNT, {"message_id": message.id}).scalar()
    snapshot = _Snapshot(
        id=message.id,
        direction=message.direction,
        status=message.status,
        contact_id=contact.id,
        key_id=contact.key_id,
        number_enc=contact.number_enc,
        line_name=line.name if line else None,
        line_number=line.number if line else None,
        segments=message.segments,
        encoding=message.encoding,
        error_code=message.error_code,
        created_at=message.created_at,
        updated_at=message.updated_at,
        sequence=int(sequence or 1),
    )
    body = message.body_enc if name == "message.received" else None
    _write(connection, vault, name, snapshot, previous, body, subscribers, callback, at)


def claimed_changed(
    connection: Connection,
    message_id: str,
    status: str,
    previous: str | None,
    at: datetime,
    status_callback: str | None,
    callback_style: str | None,
) -> None:
    """The same for the send path's Core statements (``sending.transition`` calls this
    after its update and event row, on the same connection)."""
    known = _known_for(connection.engine)
    subscribers = known.subscribers(connection, "message.status")
    callback = _callback("out", status_callback, callback_style, status)
    if not subscribers and callback is None:
        return
    vault = known.usable_vault()
    if vault is None:
        return
    row = connection.execute(_SNAPSHOT, {"message_id": message_id}).first()
    if row is None:
        return
    snapshot = _Snapshot(**row._mapping)
    _write(connection, vault, "message.status", snapshot, previous, None, subscribers, callback, at)


def consent_changed(
    session: Session,
    vault: Vault,
    contact: Contact,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> int:
    """Record ``consent.changed`` deliveries for ``contact``; return how many.

    The payload's ``data`` is ``{"contact": {"id", "number"}, "consent": data}``; ``data``
    must be JSON-serialisable (datetimes are written in ISO 8601). The caller commits.
    """
    now = now or utcnow()
    connection = session.connection()
    known = _known_for(connection.engine)
    subscribers = known.subscribers(connection, "consent.changed")
    if not subscribers:
        return 0
    try:
        number = vault.decrypt(contact.number_enc, "contacts", "number", contact.id)
    except CryptoError:
        return 0  # erased: there is nobody left to tell about
    text = _json(
        {
            "type": "consent.changed",
            "timestamp": _iso(now),
            "data": {"contact": {"id": contact.id, "number": number}, "consent": dict(data)},
        }
    )
    rows = [
        _row(vault, contact.key_id, "consent.changed", None, text, now, webhook_id=webhook_id)
        for webhook_id in subscribers
    ]
    connection.execute(_ADD_DELIVERIES, rows)
    _pending.written = True
    return len(rows)


def _write(
    connection: Connection,
    vault: Vault,
    name: str,
    snapshot: _Snapshot,
    previous: str | None,
    body_enc: bytes | None,
    subscribers: list[str],
    callback: tuple[str, str] | None,
    at: datetime,
) -> None:
    try:
        number = vault.decrypt(snapshot.number_enc, "contacts", "number", snapshot.contact_id)
        body = None
        if body_enc is not None:
            body = vault.decrypt(body_enc, "messages", "body", snapshot.id)
    except CryptoError:
        return  # the contact was erased: nothing may be told about it any more
    message = _message_object(snapshot, previous, number, body)
    standard = _json(
        {
            "type": name,
            "timestamp": _iso(at),
            "data": {"sequence": snapshot.sequence, "message": message},
        }
    )
    key_id = snapshot.key_id
    rows = [
        _row(vault, key_id, name, snapshot.id, standard, at, webhook_id=webhook_id)
        for webhook_id in subscribers
    ]
    if callback is not None:
        url, style = callback
        text = _twilio_form(message) if style == "twilio" else standard
        rows.append(_row(vault, key_id, name, snapshot.id, text, at, url=url, style=style))
    connection.execute(_ADD_DELIVERIES, rows)
    _pending.written = True


def _message_object(
    snapshot: _Snapshot, previous: str | None, number: str, body: str | None
) -> dict[str, Any]:
    ours = snapshot.line_number
    to, sender = (number, ours) if snapshot.direction == "out" else (ours, number)
    message = {
        "id": snapshot.id,
        "direction": snapshot.direction,
        "status": snapshot.status,
        "previous_status": previous or None,
        "to": to,
        "from": sender,
        "line": snapshot.line_name,
        "segments": snapshot.segments,
        "encoding": snapshot.encoding,
        "error_code": snapshot.error_code,
        "created_at": _iso(snapshot.created_at),
        "updated_at": _iso(snapshot.updated_at),
    }
    if body is not None:
        message["body"] = body
    return message


def _twilio_form(message: dict[str, Any]) -> str:
    status = TWILIO_STATUS[message["status"]]
    fields = {
        "MessageSid": message["id"],
        "SmsSid": message["id"],
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": message["from"] or "",
        "To": message["to"] or "",
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": TWILIO_API_VERSION,
    }
    if status in ("failed", "undelivered"):
        fields["ErrorCode"] = TWILIO_ERROR.get(message["status"], "30008")
    return urlencode(fields)


def _row(
    vault: Vault,
    key_id: int,
    name: str,
    message_id: str | None,
    text: str,
    at: datetime,
    *,
    webhook_id: str | None = None,
    url: str | None = None,
    style: str = "standard",
) -> dict[str, Any]:
    delivery_id = new_id("dlv")
    return {
        "id": delivery_id,
        "webhook_id": webhook_id,
        "url": url,
        "style": style,
        "event": name,
        "message_id": message_id,
        "payload_enc": vault.encrypt(key_id, text, "webhook_deliveries", "payload", delivery_id),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": at,
        "last_error": None,
        "created_at": at,
        "delivered_at": None,
    }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
