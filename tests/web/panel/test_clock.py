"""The panel shows and reads times in the box's own time zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from gateway.compliance import box_zone
from web.panel import clock


def _forget_zone() -> None:
    box_zone.cache_clear()
    clock.zone.cache_clear()


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    _forget_zone()
    yield
    _forget_zone()


def test_it_shows_a_stored_time_in_the_box_s_zone(new_york: None) -> None:
    stored = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)
    assert clock.local(stored) == "2026-12-06 09:30 EST"
    assert clock.local(stored.isoformat(), seconds=True) == "2026-12-06 09:30:00 EST"
    assert clock.local(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == "2026-07-01 08:00 EDT"
    assert clock.local(None) == "—"
    assert clock.local("not a time") == "not a time"


def test_it_reads_a_typed_time_and_day_in_the_box_s_zone(new_york: None) -> None:
    typed = clock.from_local(datetime(2026, 12, 7, 9, 0))
    assert typed.astimezone(UTC) == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert clock.day_start(date(2026, 11, 1)) == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    # 1 November 2026 has 25 hours in New York: the day ends at 05:00 UTC, not 04:00.
    assert clock.day_start(date(2026, 11, 1), end=True) == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


def test_it_falls_back_to_utc_for_an_unknown_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Nowhere/Atlantis")
    _forget_zone()
    try:
        assert clock.zone_name() == "UTC"
    finally:
        _forget_zone()
