"""The dashboard's figures: today's traffic in the box's time zone, the last 24 hours by
hour, what needs a person; each counted in SQL through an index."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from gateway.app import Gateway
from gateway.chart import PLOT_HEIGHT, hourly_chart, nice_ceiling
from gateway.contacts import find_or_create_contact
from gateway.dashboard import Counts, Hour, load_dashboard, signal_word
from gateway.models import ConsentReview, Line, Message, new_id
from tests.gateway.test_indexes import assert_indexed, plans  # noqa: F401 (a fixture)

NOW = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)


def seed_message(
    gateway: Gateway,
    at: datetime,
    *,
    direction: str = "out",
    status: str = "sent",
    line_id: str | None = None,
    number: str = "+12015550123",
) -> str:
    """A message as the gateway stores one, created at ``at`` with ``status``."""
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, number)
        message_id = new_id("msg")
        body = gateway.vault.encrypt(contact.key_id, "hello", "messages", "body", message_id)
        session.add(
            Message(
                id=message_id,
                direction=direction,
                contact_id=contact.id,
                line_id=line_id,
                status=status,
                body_enc=body,
                encoding="gsm7",
                segments=1,
                next_attempt_at=at,
                created_at=at,
                updated_at=at,
            )
        )
        session.commit()
    return message_id


def seed_review(gateway: Gateway, message_id: str, due_on: date, status: str = "open") -> str:
    with gateway.sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        review = ConsentReview(
            id=new_id("crv"),
            contact_id=message.contact_id,
            message_id=message_id,
            received_at=message.created_at,
            due_on=due_on,
            status=status,
        )
        session.add(review)
        session.commit()
        return review.id


def seed_day(gateway: Gateway) -> None:
    """Known traffic around ``NOW`` (12:30 UTC on 1 June)."""
    hour = timedelta(hours=1)
    seed_message(gateway, NOW - timedelta(minutes=10), status="sent")
    seed_message(gateway, NOW - 2 * hour, status="delivered")
    seed_message(gateway, NOW - 3 * hour, status="failed")
    seed_message(gateway, NOW - 3 * hour, status="undelivered")
    seed_message(gateway, NOW - hour, direction="in", status="received")
    seed_message(gateway, NOW - 4 * hour, status="queued")  # not yet sent: no figure
    seed_message(gateway, NOW - 4 * hour, status="blocked")  # never left: no figure
    seed_message(gateway, NOW - 13.5 * hour, direction="in", status="received")  # 23:00 yesterday
    seed_message(gateway, NOW - 23 * hour, status="delivered")  # 13:30 yesterday
    seed_message(gateway, NOW - 25 * hour, status="delivered")  # outside the 24 hours


@pytest.mark.both_databases
def test_it_counts_today_from_the_local_midnight(gateway: Gateway) -> None:
    seed_day(gateway)
    with gateway.sessions() as session:
        utc = load_dashboard(session, zone="UTC", approvals=True, now=NOW)
        new_york = load_dashboard(session, zone="America/New_York", approvals=True, now=NOW)
    assert utc.day_start == datetime(2026, 6, 1, tzinfo=UTC)
    assert utc.today == Counts(sent=2, received=1, failed=2)
    # 08:30 in New York: its day began at 04:00 UTC, after yesterday's 23:00 UTC text.
    assert new_york.day_start == datetime(2026, 6, 1, 4, tzinfo=UTC)
    assert new_york.today == Counts(sent=2, received=1, failed=2)
    auckland = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)  # 00:30 on 2 June there
    with gateway.sessions() as session:
        late = load_dashboard(session, zone="Pacific/Auckland", approvals=True, now=auckland)
    assert late.day_start == datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert late.today == Counts(sent=1, received=0, failed=0)


@pytest.mark.both_databases
def test_it_buckets_the_last_24_hours_on_the_hour(gateway: Gateway) -> None:
    seed_day(gateway)
    with gateway.sessions() as session:
        hours = load_dashboard(session, zone="UTC", approvals=True, now=NOW).hours
    assert len(hours) == 24
    assert hours[0].start == datetime(2026, 5, 31, 13, tzinfo=UTC)
    assert hours[-1].start == datetime(2026, 6, 1, 12, tzinfo=UTC)
    by_start = {hour.start.hour: hour.counts for hour in hours}
    assert by_start[13] == Counts(sent=1)  # 23 hours ago; 25 hours ago is not there
    assert by_start[23] == Counts(received=1)
    assert by_start[9] == Counts(failed=2)
    assert by_start[10] == Counts(sent=1)
    assert by_start[11] == Counts(received=1)
    assert by_start[12] == Counts(sent=1)
    assert sum(c.sent + c.received + c.failed for c in by_start.values()) == 7


@pytest.mark.both_databases
def test_it_lists_what_needs_attention_and_nothing_when_all_is_well(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        session.add(Line(id="ln_ok", name="Front desk", device="/dev/null", state="ready"))
        session.commit()
        calm = load_dashboard(session, zone="UTC", approvals=True, now=NOW)
    assert not calm.attention
    assert calm.approvals == 0

    with gateway.sessions() as session:
        session.add(Line(id="ln_bad", name="Back office", device="/dev/null", state="gone"))
        session.commit()
    seed_message(gateway, NOW - timedelta(hours=2), status="unknown")
    seed_message(gateway, NOW - timedelta(hours=1), status="pending_approval")
    flagged = seed_message(gateway, NOW - timedelta(days=20), direction="in", status="received")
    seed_review(gateway, flagged, due_on=date(2026, 5, 20))  # overdue
    seed_review(gateway, flagged, due_on=date(2026, 6, 10))
    seed_review(gateway, flagged, due_on=date(2026, 5, 1), status="dismissed")
    with gateway.sessions() as session:
        busy = load_dashboard(session, zone="UTC", approvals=True, now=NOW)
        agent = load_dashboard(session, zone="UTC", approvals=False, now=NOW)
    assert busy.attention
    assert [s.line.name for s in busy.troubled] == ["Back office"]
    assert (busy.unknown, busy.reviews, busy.overdue_reviews, busy.approvals) == (1, 2, 1, 1)
    assert agent.approvals is None  # approvals are for those who decide them
    with gateway.sessions() as session:
        flagged_message = session.get(Message, flagged)
        assert flagged_message is not None
        assert busy.next_review_contact == flagged_message.contact_id


def test_it_reads_the_figures_through_indexes(gateway: Gateway, plans: Any) -> None:  # noqa: F811
    with gateway.sessions() as session:
        for steps in plans(lambda: load_dashboard(session, zone="UTC", approvals=True, now=NOW)):
            assert_indexed(steps, sorted_ok=True)  # a GROUP BY sorts the few groups, fine


def test_it_draws_bars_in_proportion_to_a_round_scale() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    hours = [Hour(start + timedelta(hours=i), Counts()) for i in range(24)]
    hours[3] = Hour(hours[3].start, Counts(sent=4, received=2, failed=1))
    chart = hourly_chart(hours, "UTC")
    assert chart.scale == 5
    assert len(chart.rows) == 24 and len(chart.bars) == 72
    sent, received, failed = chart.bars[9:12]
    assert (sent.series, received.series, failed.series) == ("sent", "received", "failed")
    assert sent.height == PLOT_HEIGHT * 4 / 5
    assert received.height == PLOT_HEIGHT * 2 / 5
    assert failed.height == PLOT_HEIGHT * 1 / 5
    assert sent.y + sent.height == chart.baseline
    assert sent.title == "03:00-04:00: 4 sent"
    assert chart.busiest is not None and chart.busiest.label == "03:00-04:00"
    assert [tick.text for tick in chart.count_ticks] == ["0", "2", "5"]


def test_it_labels_hours_in_the_box_s_time_zone() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    hours = [Hour(start + timedelta(hours=i), Counts()) for i in range(24)]
    chart = hourly_chart(hours, "Asia/Kolkata")  # UTC+05:30
    assert chart.rows[0].label == "05:30-06:30"
    assert chart.busiest is None and chart.scale == 1


def test_it_rounds_the_scale_to_one_two_five() -> None:
    assert [nice_ceiling(n) for n in (0, 1, 2, 3, 6, 11, 99, 101, 4000)] == [
        1,
        1,
        2,
        5,
        10,
        20,
        100,
        200,
        5000,
    ]


def test_it_names_signal_levels_in_plain_words() -> None:
    assert [signal_word(d) for d in (None, -60, -85, -95, -105, -106, -113)] == [
        "unknown",
        "good",
        "good",
        "fair",
        "fair",
        "poor",
        "poor",
    ]
