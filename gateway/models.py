"""The database tables (SQLAlchemy 2). Customer data lives only in ``*_enc`` columns.

Every personal value — a number, a name, a message body — is AES-GCM ciphertext under the
contact's own data key (``gateway.crypto``); numbers are found through a blind index. Row
ids are made here, not by the database, because each ciphertext is bound to its row id.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    """A sortable unique id: 48 bits of milliseconds then 80 random bits (as in ULID)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return f"{prefix}_{''.join(reversed(chars))}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class DataKeyRow(Base):
    """A data key, wrapped by the master key. ``wrapped`` is None once destroyed (erasure)."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(16))  # contact | index | system | callback
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    master_fingerprint: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    destroyed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Line(Base):
    """A business number: one modem with its SIM, by name ("Front desk")."""

    __tablename__ = "lines"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str | None] = mapped_column(String(24), nullable=True)
    device: Mapped[str] = mapped_column(Text)
    imei: Mapped[str | None] = mapped_column(String(20), nullable=True)
    imsi: Mapped[str | None] = mapped_column(String(20), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # ready | busy | backing_off | faulted | gone | offline
    state: Mapped[str] = mapped_column(String(16), default="offline")
    state_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    signal_dbm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    operator: Mapped[str | None] = mapped_column(String(64), nullable=True)
    registration: Mapped[str | None] = mapped_column(String(16), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Opening hours as text (``gateway.hours``: "mon-fri 09:00-17:00"); None = always open.
    hours: Mapped[str | None] = mapped_column(Text, nullable=True)
    holidays: Mapped[str | None] = mapped_column(Text, nullable=True)  # "2026-12-25, …"
    # The worker (box) whose modem this line is: only it sends the line's bound messages.
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("data_keys.id"))
    number_index: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Erased (``smsgw contact erase``): the data key is destroyed; the row and its blind index
    # stay, so the number is recognised and never texted again.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # When the away reply last went to this contact: it goes at most once per period.
    away_replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # out | in
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    line_id: Mapped[str | None] = mapped_column(ForeignKey("lines.id"), nullable=True)
    via_line_id: Mapped[str | None] = mapped_column(ForeignKey("lines.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    encoding: Mapped[str] = mapped_column(String(5))
    segments: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # 0 interactive … 9 bulk
    send_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # "<worker>/<line>": a box name of up to 48 characters and a line name of up to 64.
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    request_report: Mapped[bool] = mapped_column(Boolean, default=True)
    purpose: Mapped[str] = mapped_column(
        String(16), default="transactional", server_default="transactional"
    )
    status_callback: Mapped[str | None] = mapped_column(Text, nullable=True)
    callback_style: Mapped[str | None] = mapped_column(String(8), nullable=True)  # twilio
    concat_reference: Mapped[int | None] = mapped_column(Integer, nullable=True)
    incomplete: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # a user id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Retention removed the body (``body_enc`` is then empty); the metadata stays.
    body_purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index("ix_messages_queue", "status", "priority", "next_attempt_at"),
        Index("ix_messages_created", "created_at"),
        # Lists filtered by status, newest first: without it a page of "delivered" (most of
        # the archive after a few years) sorts every delivered message to return fifty.
        Index("ix_messages_status_created", "status", "created_at"),
    )


class MessagePart(Base):
    """One SMS of an outbound message, with the reference the modem gave it."""

    __tablename__ = "message_parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    line_id: Mapped[str | None] = mapped_column(ForeignKey("lines.id"), nullable=True)
    reference: Mapped[int | None] = mapped_column(Integer, nullable=True)  # TP-MR 0..255
    status: Mapped[str] = mapped_column(String(16), default="pending")
    report_status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # TP-ST
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_parts_report", "line_id", "reference", "sent_at"),)


class InboundPart(Base):
    """A received part of a long message, kept until its message is complete."""

    __tablename__ = "inbound_parts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("lines.id"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"))
    group_key: Mapped[str] = mapped_column(String(80), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the service centre's time stamp
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class InboundSeen(Base):
    """Fingerprints of received PDUs: one read twice (crash before delete) is stored once."""

    __tablename__ = "inbound_seen"

    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MessageEvent(Base):
    """The archive: every status change of a message, who or what made it, and when."""

    __tablename__ = "message_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    previous: Mapped[str | None] = mapped_column(String(20), nullable=True)
    actor: Mapped[str] = mapped_column(String(128))  # a user id, or "<worker>/<line>"
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)  # never personal data


class User(Base):
    """A person using the box (staff or a system such as the CRM): what they did is theirs."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | manager | agent | auditor
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    display_name: Mapped[str | None] = mapped_column(String(64), nullable=True)  # {agent}
    # None: the box's default signature; "": none.
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)
    working_hours: Mapped[str | None] = mapped_column(Text, nullable=True)  # None = any time
    away: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    away_until: Mapped[date | None] = mapped_column(Date, nullable=True)  # back on that day
    delegate_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", name="fk_users_delegate"), nullable=True
    )
    # A supervised user's messages wait for a manager's approval.
    supervised: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Set with a one-time password (``smsgw user add``/``init``): changed at next sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # The last 30-second step a code was accepted for: a code works once.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ApiKey(Base):
    """An API key: the secret is shown once and only its SHA-256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # also the key's prefix
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class IdempotencyRecord(Base):
    """The first answer to a POST with an ``Idempotency-Key``, replayed for repeats (24 h)."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        Index("ux_idempotency_key", "api_key_id", "key", unique=True),
        Index("ix_idempotency_created", "created_at"),
    )


class Webhook(Base):
    """A subscription: events of the listed types are posted, signed, to ``url``."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(String(200))  # space-separated
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookDelivery(Base):
    """One request to send: a subscription's event, or a message's own status callback.

    The payload holds personal data, so it is encrypted under the contact's data key.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the webhook-id header
    webhook_id: Mapped[str | None] = mapped_column(ForeignKey("webhooks.id"), nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)  # a status callback's target
    style: Mapped[str] = mapped_column(String(8), default="standard")  # standard | twilio
    event: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The receiver's HTTP status when it took the delivery (a refusal's is in last_error).
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)


class ConsentEvent(Base):
    """One entry of the consent ledger: append-only, never edited (corrections are new rows).

    A contact's consent per purpose is derived from these rows (``gateway.consent``). The
    evidence text is personal, so it is encrypted under the contact's key; purpose, action,
    source, dates and the triggering message stay readable after an erasure, as minimal
    proof. The database itself refuses updates, and deletes other than retention's
    (``gateway.migrations`` 0003 installs the triggers).
    """

    __tablename__ = "consent_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"))
    purpose: Mapped[str] = mapped_column(String(16))  # transactional | marketing | all
    action: Mapped[str] = mapped_column(String(12))  # opted_in | opted_out | revoked
    source: Mapped[str] = mapped_column(String(16))  # web_form | paper | email | keyword …
    evidence_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    line_id: Mapped[str | None] = mapped_column(ForeignKey("lines.id"), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))  # a user id, "contact" or "worker"
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_consent_contact", "contact_id", "recorded_at"),)


class ConsentReview(Base):
    """An inbound message that reads like a revocation in other words, waiting for a person.

    ``due_on`` is the last business day to act on it (10 business days after receipt).
    """

    __tablename__ = "consent_reviews"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | revoked | dismissed
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_consent_reviews_open", "status", "due_on"),)


class RetentionRun(Base):
    """What one run of the daily retention job purged, and up to when."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    bodies_before: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    bodies_purged: Mapped[int] = mapped_column(Integer, default=0)
    consent_before: Mapped[datetime] = mapped_column(UtcDateTime)
    consent_events_purged: Mapped[int] = mapped_column(Integer, default=0)


class Team(Base):
    """A group of people sharing a queue ("Service", "Sales"), with the line it texts from."""

    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    default_line_id: Mapped[str | None] = mapped_column(ForeignKey("lines.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TeamMember(Base):
    """Membership; ``last_assigned_at`` makes round-robin fair across restarts."""

    __tablename__ = "team_members"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class RoutingRule(Base):
    """Where new inbound conversations go: the first rule (by position) that matches wins."""

    __tablename__ = "routing_rules"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    keyword: Mapped[str | None] = mapped_column(String(64), nullable=True)
    line_id: Mapped[str | None] = mapped_column(ForeignKey("lines.id"), nullable=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Conversation(Base):
    """A contact's thread on one line: replies always leave from that line.

    The messages of a conversation are the contact's messages on its line; this row holds
    who works it and where it stands.
    """

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"))
    line_id: Mapped[str] = mapped_column(ForeignKey("lines.id"))
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | snoozed | closed
    snoozed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    unread: Mapped[bool] = mapped_column(Boolean, default=False)
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The last reply written by a person: no away reply talks over a live exchange.
    last_human_reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        Index("ux_conversations_contact_line", "contact_id", "line_id", unique=True),
        Index("ix_conversations_activity", "status", "last_activity_at"),
        Index("ix_conversations_assignee", "assignee_id", "status"),
        Index("ix_conversations_team", "team_id", "status"),
    )


class ConversationNote(Base):
    """An internal note: seen by the team, never sent. Encrypted under the contact's key."""

    __tablename__ = "conversation_notes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    author_id: Mapped[str] = mapped_column(String(64))  # a user id, or "worker"
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Template(Base):
    """A canned reply: shared (no owner) or personal; ``{first_name}``-style variables."""

    __tablename__ = "templates"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # written by staff, holds no customer data
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_templates_owner", "owner_id", "name"),)


class AuditEvent(Base):
    """Who looked at, handed over, approved, overrode, exported or erased what, and when.

    Append-only in the database itself (``gateway.migrations`` 0005 installs triggers);
    ``detail`` never holds personal data.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # a user id, "worker" or "cli"
    actor_role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)  # an object's id
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_audit_at", "at"),
        Index("ix_audit_subject", "subject", "at"),
    )


class WorkerLease(Base):
    """A worker (one box) sharing the queue: alive while its heartbeat is fresh.

    A worker whose heartbeat is older than the lease is taken over by another: its claimed
    messages go back to the queue, its ``sending`` ones become ``unknown`` (exactly as after
    a crash on one box), and its lines show offline.
    """

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    taken_over_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    taken_over_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PanelSession(Base):
    """A signed-in browser: the cookie holds a random token, the row only its SHA-256.

    ``stage`` is ``signed_in``, or a step of signing in still to take (``second_factor``,
    ``change_password``, ``enroll_totp``): such a session opens no page but that step.
    """

    __tablename__ = "panel_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(24))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RecoveryCode(Base):
    """A single-use code that stands in for a lost authenticator (SHA-256 of it kept)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LoginThrottle(Base):
    """Failed sign-ins per account and per address, shared by every web worker."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # "account:<hash>" …
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Setting(Base):
    """A setting changed in the panel, overriding the config file's value (JSON)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
