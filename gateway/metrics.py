"""Prometheus metrics, read from the database at scrape time.

gunicorn runs several web processes (and the worker is another), so counters kept in
memory would each see a part of the traffic: every figure here is a query instead. Each
query is bounded by an index (a status, or the last 24 hours of ``created_at``), so a
scrape costs the same with years of messages in the store as with a day's. Labels hold
line names (chosen by staff), statuses and error codes: never a number or a body.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import ColumnElement, Connection, Engine, Float, case, func, select
from sqlalchemy.sql.expression import cast

from gateway.models import Line, Message, WebhookDelivery, utcnow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WINDOW = timedelta(hours=24)
# SMS latencies: a modem hands a message over in about a second; minutes mean retries.
LATENCY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
QUEUE_STATUSES = ("pending_approval", "scheduled", "queued")
LINE_STATES = ("ready", "busy", "backing_off", "faulted", "gone", "offline")
REGISTRATIONS = ("home", "roaming", "searching", "denied", "not_registered", "unknown")
NO_LINE = ""  # messages that any line may send, or that no line has taken yet


class StoreCollector:
    """A prometheus_client collector whose every ``collect`` reads the store afresh."""

    def __init__(self, engine: Engine, *, now: datetime | None = None) -> None:
        self.engine = engine
        self._now = now  # fixed in tests; the wall clock otherwise

    def collect(self) -> Iterator[Metric]:
        since = (self._now or utcnow()) - WINDOW
        with self.engine.connect() as connection:
            names = dict(connection.execute(select(Line.id, Line.name)).all())
            yield _recent_messages(connection, names, since)
            yield _queue_depth(connection, names)
            yield _send_latency(connection, since)
            yield _errors(connection, since)
            yield from _lines(connection)
            yield from _webhooks(connection, self._now or utcnow())


def render(engine: Engine, *, now: datetime | None = None) -> bytes:
    """The exposition text of every smsgw metric (a private registry: no process metrics,
    which would describe one gunicorn worker among several)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine, now=now))
    return generate_latest(registry)


def _line_of(names: dict[str, str], line_id: str | None) -> str:
    return NO_LINE if line_id is None else names.get(line_id, NO_LINE)


def _recent_messages(connection: Connection, names: dict[str, str], since: datetime) -> Metric:
    family = GaugeMetricFamily(
        "smsgw_recent_messages",
        "Messages created in the last 24 hours, by direction, line and current status.",
        labels=("direction", "line", "status"),
    )
    line_id = func.coalesce(Message.via_line_id, Message.line_id)
    rows = connection.execute(
        select(Message.direction, line_id, Message.status, func.count())
        .where(Message.created_at >= since)
        .group_by(Message.direction, line_id, Message.status)
    )
    totals: dict[tuple[str, str, str], int] = {}
    for direction, line, status, count in rows:
        key = (direction, _line_of(names, line), status)
        totals[key] = totals.get(key, 0) + count
    for labels, count in sorted(totals.items()):
        family.add_metric(labels, count)
    return family


def _queue_depth(connection: Connection, names: dict[str, str]) -> Metric:
    family = GaugeMetricFamily(
        "smsgw_queue_depth",
        "Outbound messages waiting: queued, scheduled or pending approval; line is empty "
        "for messages any line may send.",
        labels=("line", "status"),
    )
    rows = connection.execute(
        select(Message.line_id, Message.status, func.count())
        .where(Message.status.in_(QUEUE_STATUSES))
        .group_by(Message.line_id, Message.status)
    )
    found = {(_line_of(names, line), status): count for line, status, count in rows}
    # Zeros for the unbound queue too, so an alert on it sees 0 rather than no data.
    for status in QUEUE_STATUSES:
        found.setdefault((NO_LINE, status), 0)
    for labels, count in sorted(found.items()):
        family.add_metric(labels, count)
    return family


def _seconds(
    connection: Connection, start: ColumnElement[datetime], end: ColumnElement[datetime]
) -> ColumnElement[float]:
    if connection.dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return cast(func.extract("epoch", end - start), Float)


def _send_latency(connection: Connection, since: datetime) -> Metric:
    # From the moment a message was due (its send_at if scheduled later, else creation)
    # to the modem's +CMGS answer, for messages created in the last 24 hours and sent.
    if connection.dialect.name == "sqlite":
        due = func.max(Message.created_at, func.coalesce(Message.send_at, Message.created_at))
    else:
        due = func.greatest(Message.created_at, func.coalesce(Message.send_at, Message.created_at))
    latency = _seconds(connection, due, Message.sent_at)
    columns = [func.sum(case((latency <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS]
    row = connection.execute(
        select(func.count(), func.coalesce(func.sum(latency), 0.0), *columns).where(
            Message.created_at >= since,
            Message.direction == "out",
            Message.sent_at.is_not(None),
        )
    ).one()
    count, total, *cumulative = row
    buckets = [
        (_bound(bound), int(value or 0))
        for bound, value in zip(LATENCY_BUCKETS, cumulative, strict=True)
    ]
    buckets.append(("+Inf", int(count)))
    return GaugeHistogramMetricFamily(
        "smsgw_send_latency_seconds",
        "Seconds from due to handed to the network, messages created in the last 24 hours.",
        buckets=buckets,
        gsum_value=max(0.0, float(total)),
    )


def _bound(value: float) -> str:
    return f"{value:g}"


def _errors(connection: Connection, since: datetime) -> Metric:
    family = GaugeMetricFamily(
        "smsgw_recent_message_errors",
        "Messages created in the last 24 hours whose latest attempt failed, by error code.",
        labels=("code",),
    )
    rows = connection.execute(
        select(Message.error_code, func.count())
        .where(Message.created_at >= since, Message.error_code.is_not(None))
        .group_by(Message.error_code)
        .order_by(Message.error_code)
    )
    for code, count in rows:
        family.add_metric((code,), count)
    return family


def _lines(connection: Connection) -> Iterator[Metric]:
    lines = connection.execute(
        select(Line.name, Line.signal_dbm, Line.registration, Line.state, Line.enabled).order_by(
            Line.name
        )
    ).all()
    signal = GaugeMetricFamily(
        "smsgw_line_signal_dbm", "Signal strength of each line's modem, in dBm.", labels=["line"]
    )
    registered = GaugeMetricFamily(
        "smsgw_line_registered",
        "1 when the line's SIM is registered on a network (home or roaming).",
        labels=["line"],
    )
    registration = GaugeMetricFamily(
        "smsgw_line_registration",
        "1 for the line's current network registration, 0 for the others.",
        labels=["line", "registration"],
    )
    state = GaugeMetricFamily(
        "smsgw_line_state",
        "1 for the line's current state, 0 for the others.",
        labels=["line", "state"],
    )
    enabled = GaugeMetricFamily("smsgw_line_enabled", "1 when the line may send.", labels=["line"])
    for line in lines:
        if line.signal_dbm is not None:
            signal.add_metric([line.name], line.signal_dbm)
        current = line.registration or "unknown"
        registered.add_metric([line.name], 1 if current in ("home", "roaming") else 0)
        for name in sorted({*REGISTRATIONS, current}):
            registration.add_metric([line.name, name], 1 if name == current else 0)
        for name in sorted({*LINE_STATES, line.state}):
            state.add_metric([line.name, name], 1 if name == line.state else 0)
        enabled.add_metric([line.name], 1 if line.enabled else 0)
    yield from (signal, registered, registration, state, enabled)


def _webhooks(connection: Connection, now: datetime) -> Iterator[Metric]:
    deliveries = GaugeMetricFamily(
        "smsgw_webhook_deliveries",
        "Webhook deliveries waiting to be sent (pending) or given up on (failed).",
        labels=["status"],
    )
    counts = dict(
        connection.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.status.in_(("pending", "failed")))
            .group_by(WebhookDelivery.status)
        ).all()
    )
    for status in ("failed", "pending"):
        deliveries.add_metric([status], counts.get(status, 0))
    yield deliveries
    oldest = connection.execute(
        select(func.min(WebhookDelivery.created_at)).where(WebhookDelivery.status == "pending")
    ).scalar()
    age = GaugeMetricFamily(
        "smsgw_webhook_oldest_pending_age_seconds",
        "Age of the oldest webhook delivery still pending (0 when none is).",
    )
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    yield age
