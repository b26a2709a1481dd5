"""What the dashboard shows: today's traffic, the last 24 hours by hour, and what waits for
a person (a modem down, a message whose fate is unknown, a consent review, an approval).

Each figure is one aggregate query bounded by an index — a ``created_at`` range
(``ix_messages_created``) or a status (``ix_messages_status_created``,
``ix_consent_reviews_open``) — so a render costs the same with years of messages as with a
day's. Messages count by the time they were accepted or received (``created_at``), with
their current status: a text accepted at 09:59 and delivered at 10:01 is in the 09:00 hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from gateway.doctor_modems import WEAK_SIGNAL_DBM
from gateway.lines import LineStatus, line_statuses
from gateway.models import ConsentReview, Message, utcnow
from gateway.quiet_hours import local_day_bounds

HOURS = 24
# Handed to the network (and not known to have failed since) / did not reach the phone.
SENT = ("sent", "delivered")
FAILED = ("failed", "undelivered")
# A modem in these states sends nothing: someone should look at it.
TROUBLE = ("faulted", "gone", "offline")
CATEGORIES = ("sent", "received", "failed")


@dataclass(frozen=True)
class Counts:
    sent: int = 0
    received: int = 0
    failed: int = 0

    @property
    def peak(self) -> int:
        return max(self.sent, self.received, self.failed)


@dataclass(frozen=True)
class Hour:
    start: datetime  # UTC, on the hour
    counts: Counts


@dataclass
class Dashboard:
    day_start: datetime  # the box's local midnight, in UTC
    today: Counts
    hours: list[Hour]
    lines: list[LineStatus]
    unbound_queue: int  # queued messages any line may send
    unknown: int  # handed to a modem, outcome never recorded
    reviews: int  # consent revocations awaiting a person
    overdue_reviews: int
    approvals: int | None  # None: the viewer may not see messages awaiting approval
    next_review_contact: str | None = None  # whose review falls due first
    troubled: list[LineStatus] = field(default_factory=list)

    @property
    def attention(self) -> bool:
        return bool(self.troubled or self.unknown or self.reviews or self.approvals)


def _category() -> ColumnElement[str | None]:
    return case(
        (Message.direction == "in", "received"),
        (Message.status.in_(SENT), "sent"),
        (Message.status.in_(FAILED), "failed"),
        else_=None,
    )


def _hour_of(session: Session) -> ColumnElement[str]:
    """The UTC hour of ``created_at`` as 'YYYY-MM-DD HH' (stored naive UTC on both)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc("hour", Message.created_at), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", Message.created_at)


def counts_since(session: Session, since: datetime, until: datetime | None = None) -> Counts:
    category = _category()
    query = select(category, func.count()).where(Message.created_at >= since)
    if until is not None:
        query = query.where(Message.created_at < until)
    found = dict(session.execute(query.group_by(category)).all())
    return Counts(*(int(found.get(name) or 0) for name in CATEGORIES))


def last_hours(session: Session, now: datetime, hours: int = HOURS) -> list[Hour]:
    """``hours`` buckets on UTC hour boundaries, the last one being the current hour."""
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    category, hour = _category(), _hour_of(session)
    rows = session.execute(
        select(hour, category, func.count())
        .where(Message.created_at >= first, category.is_not(None))
        .group_by(hour, category)
    ).all()
    table: dict[datetime, dict[str, int]] = {}
    for label, name, count in rows:
        start = datetime.strptime(label, "%Y-%m-%d %H").replace(tzinfo=UTC)
        table.setdefault(start, {})[name] = int(count)
    buckets = []
    for index in range(hours):
        start = first + timedelta(hours=index)
        found = table.get(start, {})
        buckets.append(Hour(start, Counts(*(found.get(name, 0) for name in CATEGORIES))))
    return buckets


def load_dashboard(
    session: Session, *, zone: str, approvals: bool, now: datetime | None = None
) -> Dashboard:
    """Everything the page shows; ``approvals`` is whether the viewer supervises senders."""
    now = now or utcnow()
    day_start, _ = local_day_bounds(now, zone)
    statuses, unbound = line_statuses(session)
    unknown = session.scalar(select(func.count()).where(Message.status == "unknown")) or 0
    waiting = None
    if approvals:
        waiting = session.scalar(select(func.count()).where(Message.status == "pending_approval"))
    open_reviews = session.execute(
        select(func.count(), func.count().filter(ConsentReview.due_on < now.date())).where(
            ConsentReview.status == "open"
        )
    ).one()
    first_due = session.scalar(
        select(ConsentReview.contact_id)
        .where(ConsentReview.status == "open")
        .order_by(ConsentReview.due_on, ConsentReview.received_at)
        .limit(1)
    )
    return Dashboard(
        day_start=day_start,
        today=counts_since(session, day_start),
        hours=last_hours(session, now),
        lines=statuses,
        unbound_queue=unbound,
        unknown=int(unknown),
        reviews=int(open_reviews[0]),
        overdue_reviews=int(open_reviews[1]),
        approvals=None if waiting is None else int(waiting),
        next_review_contact=first_due,
        troubled=[s for s in statuses if s.line.state in TROUBLE],
    )


def signal_word(dbm: int | None) -> str:
    """A plain word for a signal level (GSM RSSI: -113 dBm is none, -51 the best reported).

    Below ``WEAK_SIGNAL_DBM`` texts start failing and retrying (as ``smsgw doctor`` says)."""
    if dbm is None:
        return "unknown"
    if dbm >= -85:
        return "good"
    if dbm >= WEAK_SIGNAL_DBM:
        return "fair"
    return "poor"
