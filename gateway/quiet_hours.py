"""Quiet hours: marketing reaches people only in the daytime where they are.

The recipient's local time comes from their number (phonenumbers' time-zone data). A number
can map to several zones (a mobile range sold nationwide, a toll-free number); the message
must then be inside the window in every one of them, so it goes out only in their
intersection.

Each zone's window becomes UTC intervals, one per local day, and every question (is this
instant allowed? when is the next one?) is answered from those intervals, so is_allowed()
and next_allowed() cannot disagree. Wall-clock times that a DST change skips or repeats are
resolved so that nothing ever leaves early: a start or end inside a spring-forward gap means
the first instant after the gap, a start that happens twice means the later one, an end that
happens twice the earlier one. Pure functions: the caller passes the clock's "now".
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_timezones

LOOKAHEAD = timedelta(days=8)
_UNKNOWN_ZONE = "Etc/Unknown"
_DAY = timedelta(days=1)

Interval = tuple[datetime, datetime]  # [start, end) in UTC


@dataclass(frozen=True)
class Window:
    """Allowed local hours; ``end`` is exclusive and ``start > end`` wraps past midnight."""

    start: time = time(8, 0)
    end: time = time(21, 0)

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise ValueError(f"quiet hours {name} must be a time of day such as 08:00")
            if value.tzinfo is not None:
                raise ValueError(f"quiet hours {name} is a local wall-clock time: give no zone")
        if self.start == self.end:
            raise ValueError("quiet hours start and end are equal: the window would be empty")

    @property
    def wraps(self) -> bool:
        return self.start > self.end


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ValueError("a time zone is an IANA name such as Europe/London")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _known(name: str) -> bool:
    try:
        _zone(name)
    except ValueError:
        return False
    return True


def zones_for(e164: str) -> tuple[str, ...]:
    """IANA zones of the number, sorted, only those zoneinfo knows; () when unknown.

    ValueError when ``e164`` is not a number at all (the text is not repeated: it is personal).
    """
    if not isinstance(e164, str):
        raise ValueError("not an E.164 phone number")
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not an E.164 phone number") from None
    names = number_timezones.time_zones_for_number(parsed)
    return tuple(sorted({n for n in names if n != _UNKNOWN_ZONE and _known(n)}))


def _require_aware(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("give an aware datetime: quiet hours compare instants, not wall times")
    return at.astimezone(UTC)


def _gap_end(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The transition instant inside (before, after]: the first instant after a DST gap.

    tzdata transitions fall on whole seconds, so a bisection over seconds finds it exactly.
    """
    new_offset = after.astimezone(zone).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == new_offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _instant(day: date, wall: time, zone: ZoneInfo, *, later: bool) -> datetime:
    """The UTC instant of a local wall time; ``later`` picks between the two of a repeat."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return first
    earlier, latest = min(first, second), max(first, second)
    if earlier.astimezone(zone).replace(tzinfo=None) == naive:  # happens twice (fall back)
        return latest if later else earlier
    return _gap_end(earlier, latest, zone)  # never happens (spring forward)


def _zone_intervals(
    zone: ZoneInfo, window: Window, since: datetime, until: datetime
) -> list[Interval]:
    """The window's UTC intervals on every local day that can touch [since, until]."""
    day = since.astimezone(zone).date() - _DAY  # a wrapping window starts the day before
    last = until.astimezone(zone).date()
    intervals: list[Interval] = []
    while day <= last:
        start = _instant(day, window.start, zone, later=True)
        end = _instant(day + _DAY if window.wraps else day, window.end, zone, later=False)
        if start < end:  # a window entirely inside a gap or a repeat is empty that day
            intervals.append((start, end))
        day += _DAY
    return intervals


def _intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    result: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            result.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


def _allowed(
    since: datetime, until: datetime, zones: Sequence[str], window: Window, fallback_zone: str
) -> Iterator[Interval]:
    """UTC intervals allowed in every zone, in order, covering [since, until]."""
    if isinstance(zones, str):
        raise ValueError("zones is a list of IANA names, not one name")
    names = list(zones) or [fallback_zone]
    common: list[Interval] | None = None
    for name in names:
        own = _zone_intervals(_zone(name), window, since, until)
        common = own if common is None else _intersect(common, own)
    yield from common or []


def is_allowed(
    at: datetime, zones: Sequence[str], window: Window, fallback_zone: str = "UTC"
) -> bool:
    """``at`` falls inside the window in every zone's local time (``fallback_zone`` when
    ``zones`` is empty, as in next_allowed)."""
    instant = _require_aware(at)
    return any(
        s <= instant < e for s, e in _allowed(instant, instant, zones, window, fallback_zone)
    )


def next_allowed(
    at: datetime, zones: Sequence[str], window: Window, fallback_zone: str = "UTC"
) -> datetime | None:
    """``at`` itself when allowed, else the first later instant allowed in every zone (aware,
    UTC); None when there is none within eight days (the zones' windows never overlap).

    ``fallback_zone`` (the box's own zone) stands in when the number's zones are unknown.
    """
    instant = _require_aware(at)
    limit = instant + LOOKAHEAD
    for start, end in _allowed(instant, limit, zones, window, fallback_zone):
        if end <= instant:
            continue
        if start <= instant:
            return at
        return start if start <= limit else None
    return None


def local_day_bounds(at: datetime, zone: str) -> tuple[datetime, datetime]:
    """UTC start and end ([start, end)) of the local calendar day containing ``at`` in
    ``zone``, for a daily cap per contact. DST days last 23 or 25 hours; a midnight that a
    DST change skips starts the day at the end of the gap, one that happens twice at the
    first of the two."""
    instant = _require_aware(at)
    tz = _zone(zone)
    day = instant.astimezone(tz).date()
    return (
        _instant(day, time(0), tz, later=False),
        _instant(day + _DAY, time(0), tz, later=False),
    )
