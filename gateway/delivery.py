"""Sending webhook deliveries: signed HTTP(S) requests to the LAN, retried for a day.

The one module that does HTTP (STYLE.md, habit 4). Each attempt

- resolves the URL's host now, not when the subscription was made, and checks every
  address it resolves to: private ranges and loopback, or what ``webhooks.allow_hosts``
  lists. Link-local, cloud-metadata, multicast, broadcast and unspecified addresses are
  refused whatever the config says: a webhook must not become a way to reach the box's
  cloud credentials, or the internet;
- connects to the very address it checked (no second lookup that a rebinding DNS server
  could answer differently), sends the URL's host as ``Host`` and verifies TLS against
  that name (system trust store, plus the box's own CA);
- never follows a redirect: a 3xx could point anywhere, so it is a failure.

Requests are signed as Standard Webhooks specifies (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``). A delivery is claimed with a conditional update (several workers
may share the database); the attempt is committed before the request and its outcome
after, so a worker that dies mid-request leaves it to be tried again after a lease.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import logging
import random
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from gateway.app import Gateway
from gateway.config import Config
from gateway.crypto import CryptoError
from gateway.models import UtcDateTime, Webhook, WebhookDelivery, utcnow
from gateway.sending import backoff
from gateway.vault import Vault
from gateway.webhooks import (
    InvalidWebhookUrl,
    IPAddress,
    Target,
    callback_secret,
    parse_url,
    secret_key,
)

logger = logging.getLogger(__name__)

USER_AGENT = "smsgw-webhooks/1"
BACKOFF_BASE = 5.0  # seconds before the second attempt; doubles each time …
BACKOFF_MAX = 3600.0  # … up to an hour
MAX_ADDRESSES = 4  # of a name's addresses, tried in turn until one connects

_LAN = tuple(
    ipaddress.ip_network(network)
    for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
# Cloud instance-metadata services (AWS, GCP, Azure, Oracle; AWS over IPv6; Alibaba): they
# hand out the machine's credentials to whoever asks from inside it.
_METADATA = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_BROADCAST = ipaddress.ip_address("255.255.255.255")

Resolver = Callable[..., list[tuple[Any, ...]]]


class DeliveryError(Exception):
    """Why an attempt failed, in words safe to store: no payload, no secret.

    ``permanent`` failures are not retried (a refused address, an erased contact).
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:200]
        self.permanent = permanent


# -- where a request may go ------------------------------------------------------------


class AddressPolicy:
    """The LAN rule: which addresses a webhook may connect to."""

    def __init__(self, allow_hosts: str = "") -> None:
        self.names: set[str] = set()
        self.suffixes: list[str] = []  # from "*.example.lan"
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in (part.strip().lower().rstrip(".") for part in allow_hosts.split(",")):
            if not item:
                continue
            try:
                bare = item.removeprefix("[").removesuffix("]")
                self.networks.append(ipaddress.ip_network(bare, strict=False))
            except ValueError:
                if item.startswith("*."):
                    self.suffixes.append(item[1:])
                else:
                    self.names.add(item)

    def name_allowed(self, host: str) -> bool:
        return host in self.names or any(host.endswith(suffix) for suffix in self.suffixes)

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """Why ``host`` may not be reached at ``address``, or None if it may."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
        if address in _METADATA:
            return f"refused: cloud metadata address {address}"
        if address.is_link_local:
            return f"refused: link-local address {address}"
        if address.is_multicast:
            return f"refused: multicast address {address}"
        if address.is_unspecified or address in _THIS_NETWORK:
            return f"refused: unspecified address {address}"
        if address == _BROADCAST:
            return f"refused: broadcast address {address}"
        if address.is_loopback or any(address in network for network in _LAN):
            return None
        if self.name_allowed(host) or any(address in network for network in self.networks):
            return None
        return f"refused: {address} is not on the LAN (see webhooks.allow_hosts)"


# -- one request -------------------------------------------------------------------------


def signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: HMAC-SHA256 over ``id.timestamp.body``."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class Sender:
    """Posts one request under the LAN rule; raises DeliveryError unless answered 2xx."""

    def __init__(self, config: Config, *, resolve: Resolver = socket.getaddrinfo) -> None:
        self.timeout = config.webhooks.timeout_seconds
        self.policy = AddressPolicy(config.webhooks.allow_hosts)
        self._box_ca = config.tls_dir / "ca.pem"
        self._resolve = resolve
        self._tls: ssl.SSLContext | None = None

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The receiver's 2xx status, or DeliveryError."""
        try:
            target = parse_url(url)
        except InvalidWebhookUrl as exc:
            raise DeliveryError(f"invalid URL: {exc}", permanent=True) from None
        sock = self._connect(self.addresses(target), target.port)
        try:
            if target.scheme == "https":
                sock = self._tls_context().wrap_socket(sock, server_hostname=target.host)
            status = self._exchange(sock, target, body, headers)
        except TimeoutError:
            raise DeliveryError("timeout: no answer") from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"TLS: {exc.verify_message or 'certificate not trusted'}") from None
        except ssl.SSLError:
            raise DeliveryError("TLS handshake failed") from None
        except http.client.HTTPException:
            raise DeliveryError("not an HTTP answer") from None
        except OSError as exc:
            raise DeliveryError(f"network error: {exc.strerror or type(exc).__name__}") from None
        finally:
            sock.close()
        if 300 <= status < 400:
            raise DeliveryError(f"HTTP {status}: redirects are not followed")
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}")
        return status

    def addresses(self, target: Target) -> list[IPAddress]:
        """Where ``target`` may be reached, resolved now; DeliveryError if anywhere refused."""
        found: list[IPAddress] = []
        literal = target.address
        if literal is not None:
            found.append(literal)
        else:
            try:
                answers = self._resolve(target.host, target.port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                raise DeliveryError("cannot resolve the host name") from None
            for *_, sockaddr in answers:
                address = ipaddress.ip_address(sockaddr[0])
                if address not in found:
                    found.append(address)
        if not found:
            raise DeliveryError("cannot resolve the host name")
        for address in found:
            reason = self.policy.refusal(target.host, address)
            if reason is not None:
                raise DeliveryError(reason, permanent=True)
        return found[:MAX_ADDRESSES]

    def _connect(self, addresses: list[IPAddress], port: int) -> socket.socket:
        error: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((str(address), port), timeout=self.timeout)
            except OSError as exc:
                error = exc
        if isinstance(error, TimeoutError):
            raise DeliveryError("timeout: could not connect")
        if isinstance(error, ConnectionRefusedError):
            raise DeliveryError("connection refused")
        reason = (error.strerror if error else None) or type(error).__name__
        raise DeliveryError(f"cannot connect: {reason}")

    def _exchange(
        self, sock: socket.socket, target: Target, body: bytes, headers: Mapping[str, str]
    ) -> int:
        # The connection is already open to the checked address: http.client only speaks
        # HTTP over it, and is told the URL's host for the Host header.
        connection = http.client.HTTPConnection(target.host, target.port, timeout=self.timeout)
        connection.sock = sock
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={"Host": target.host_header, **headers, "Connection": "close"},
        )
        answer = connection.getresponse()
        answer.close()  # only the status matters: a slow body cannot hold the thread
        return answer.status

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            context = ssl.create_default_context()
            if self._box_ca.is_file():
                # Receivers on the LAN may use certificates from the box's own CA.
                context.load_verify_locations(cafile=str(self._box_ca))
            self._tls = context
        return self._tls


# -- the queue of deliveries ---------------------------------------------------------------

_d = WebhookDelivery.__table__.c
_next_due = (
    select(_d.id)
    .where(_d.status == "pending", _d.next_attempt_at <= bindparam("now", type_=UtcDateTime()))
    .order_by(_d.next_attempt_at, _d.created_at, _d.id)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
# The attempt is counted and the row leased (pushed into the future) in one statement.
_CLAIM = (
    update(WebhookDelivery.__table__)
    .where(
        _d.id == _next_due,
        _d.status == "pending",
        _d.next_attempt_at <= bindparam("now", type_=UtcDateTime()),
    )
    .values(attempts=_d.attempts + 1, next_attempt_at=bindparam("lease", type_=UtcDateTime()))
    .returning(
        _d.id,
        _d.webhook_id,
        _d.url,
        _d.style,
        _d.event,
        _d.payload_enc,
        _d.attempts,
        _d.created_at,
    )
)
_EARLIEST = select(func.min(_d.next_attempt_at)).where(_d.status == "pending")
_SUBSCRIPTION = select(Webhook.url, Webhook.secret_enc, Webhook.disabled_at).where(
    Webhook.id == bindparam("webhook_id")
)
_CONTENT_TYPE = {"standard": "application/json", "twilio": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class _Attempt:
    id: str
    webhook_id: str | None
    url: str | None
    style: str
    event: str
    payload_enc: bytes
    attempts: int
    created_at: datetime


def deliver_one(
    gateway: Gateway,
    sender: Sender,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> bool:
    """Claim the next due delivery and attempt it; False when none is due."""
    now = now or utcnow()
    lease = now + timedelta(seconds=30 + 2 * sender.timeout * MAX_ADDRESSES)
    with gateway.sessions() as session:
        row = session.execute(_CLAIM, {"now": now, "lease": lease}).first()
        if row is None:
            session.rollback()
            return False
        attempt = _Attempt(**row._mapping)
        target = _target_of(session, gateway.vault, attempt)
        session.commit()  # the attempt counts from here, whatever happens next
    if isinstance(target, DeliveryError):
        outcome: DeliveryError | int = target
    else:
        outcome = _attempt(sender, gateway.vault, attempt, *target, now)
    _record(gateway, attempt, now, outcome, rng)
    return True


def seconds_until_due(gateway: Gateway, longest: float) -> float:
    """How long the delivery thread may sleep: until the earliest pending retry, at most
    ``longest`` (new deliveries wake it anyway). An idle box then costs one query a minute."""
    with gateway.engine.connect() as connection:
        earliest = connection.execute(_EARLIEST).scalar()
    if earliest is None:
        return longest
    if earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=UTC)
    return max(0.05, min(longest, (earliest - utcnow()).total_seconds()))


def deliver_due(
    gateway: Gateway,
    now: datetime | None = None,
    limit: int = 20,
    *,
    sender: Sender | None = None,
    rng: random.Random | None = None,
) -> int:
    """Attempt up to ``limit`` due deliveries, oldest first; return how many were tried."""
    sender = sender or Sender(gateway.config)
    count = 0
    while count < limit and deliver_one(gateway, sender, now=now, rng=rng):
        count += 1
    return count


def _target_of(
    session: Session, vault: Vault, attempt: _Attempt
) -> tuple[str, str] | DeliveryError:
    """Where the delivery goes and the secret that signs it."""
    if attempt.webhook_id is None:
        if attempt.url is None:
            return DeliveryError("no target URL", permanent=True)
        return attempt.url, callback_secret(session, vault)
    found = session.execute(_SUBSCRIPTION, {"webhook_id": attempt.webhook_id}).first()
    if found is None or found.disabled_at is not None:
        return DeliveryError("subscription removed", permanent=True)
    try:
        secret = vault.decrypt(found.secret_enc, "webhooks", "secret", attempt.webhook_id)
    except CryptoError:
        return DeliveryError("signing secret unreadable", permanent=True)
    return found.url, secret


def _attempt(
    sender: Sender, vault: Vault, attempt: _Attempt, url: str, secret: str, now: datetime
) -> DeliveryError | int:
    """The receiver's status when it took the request, else why it did not."""
    try:
        body = vault.decrypt(attempt.payload_enc, "webhook_deliveries", "payload", attempt.id)
    except CryptoError:
        return DeliveryError("payload unreadable: the contact was erased", permanent=True)
    data = body.encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": _CONTENT_TYPE.get(attempt.style, "application/json"),
        "User-Agent": USER_AGENT,
        "webhook-id": attempt.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, attempt.id, timestamp, data),
    }
    try:
        return sender.post(url, data, headers)
    except DeliveryError as exc:
        return exc


def _record(
    gateway: Gateway,
    attempt: _Attempt,
    now: datetime,
    outcome: DeliveryError | int,
    rng: random.Random | None,
) -> None:
    values: dict[str, Any]
    if not isinstance(outcome, DeliveryError):
        values = {
            "status": "delivered",
            "delivered_at": now,
            "last_error": None,
            "status_code": outcome,
        }
        logger.debug("delivery %s done (attempt %d)", attempt.id, attempt.attempts)
    else:
        problem = outcome
        delay = backoff(attempt.attempts, BACKOFF_BASE, BACKOFF_MAX, rng)
        retry_at = now + timedelta(seconds=delay)
        deadline = attempt.created_at + timedelta(hours=gateway.config.webhooks.retry_hours)
        if problem.permanent or retry_at > deadline:
            values = {"status": "failed", "last_error": problem.reason}
            logger.warning(
                "delivery %s given up after %d attempt(s): %s",
                attempt.id,
                attempt.attempts,
                problem.reason,
            )
        else:
            values = {"next_attempt_at": retry_at, "last_error": problem.reason}
            logger.info(
                "delivery %s failed (%s); next attempt in %.0fs", attempt.id, problem.reason, delay
            )
    with gateway.sessions() as session:
        # Only if no other worker took the row over after our lease ran out.
        session.execute(
            update(WebhookDelivery.__table__)
            .where(_d.id == attempt.id, _d.status == "pending", _d.attempts == attempt.attempts)
            .values(**values)
        )
        session.commit()
