"""Opening hours: is a business line open, is a staff member working, at a given instant?

Inbound routing needs a yes/no for "now" and, when the answer is no, when the line opens
(for the auto-reply and for queueing). The panel shows and edits the hours as short text,
so the text format is part of the contract: ``parse_hours`` reads what an admin types and
says plainly what is wrong, ``format_hours`` writes the canonical form back.

Hours are local wall-clock times in the line's IANA zone, so "09:00" follows the clock on the
shop wall through DST changes. An instant is open when the local clock reading falls inside a
window that started on a day that is not a holiday. Consequences on DST nights (New York):

* spring forward (02:00 -> 03:00): 02:00-02:30 never opens that night; 02:30-04:00 opens at
  the end of the gap, 03:00 EDT; 01:00-04:00 is open at 01:30 EST and at 03:30 EDT;
* fall back (01:00-02:00 happens twice): 01:00-01:30 is open during both occurrences, and a
  window such as 01:15-03:00 is closed from 01:00 to 01:15 the second time round, because
  that is what the clock shows.

Holidays are local dates and close the windows that start on them; an overnight window from
the evening before still runs into a holiday. A schedule with no windows is open around the
clock, except on its holidays.

Pure functions with no clock of their own: the caller passes the instant ``at``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DAY_NAMES",
    "LOOKAHEAD",
    "MAX_HOLIDAYS",
    "MAX_HOLIDAYS_LENGTH",
    "MAX_SPEC_LENGTH",
    "MAX_WINDOWS",
    "HoursError",
    "Schedule",
    "Window",
    "format_holidays",
    "format_hours",
    "is_open",
    "next_open",
    "parse_holidays",
    "parse_hours",
]

MAX_WINDOWS = 50
MAX_SPEC_LENGTH = 2_000
MAX_HOLIDAYS = 1_000  # decades of public holidays; the text limit below follows from it
MAX_HOLIDAYS_LENGTH = 12 * MAX_HOLIDAYS
LOOKAHEAD = timedelta(days=400)  # more than a year: an annual closure still finds its end

_DAY = timedelta(days=1)
_MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY
_MIDNIGHT = time(0, 0)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = {name: day for names in (DAY_NAMES, _FULL_NAMES) for day, name in enumerate(names)}
_GROUPS = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
_CLOSED = "closed"
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_HARD_SEPARATOR = re.compile(r"[;\r\n]")
_TOKEN = re.compile(r"\s+|[-\u2013]|,|[^\s,\-\u2013]+")  # en dash: pasted from documents
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HOLIDAY_SEPARATOR = re.compile(r"[\s,]+")
_DAY_HELP = "use mon to sun, monday to sunday, daily, weekdays or weekends"
_TIME_HELP = "write times as HH:MM, such as 09:00 or 17:30"


class HoursError(ValueError):
    """Opening hours, holidays or a zone that cannot be used; the message is for an admin."""


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Opening hours starting on ``weekday`` (0 = Monday) at local ``start`` until ``end``.

    ``end`` is exclusive; ``end <= start`` runs past midnight into the next day, and
    ``time(0, 0)`` as the end is midnight. ``start == end`` is allowed only as 00:00-00:00,
    the whole day. Whole minutes only, as in the text format.
    """

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if (
            not isinstance(self.weekday, int)
            or isinstance(self.weekday, bool)
            or not 0 <= self.weekday <= 6
        ):
            raise HoursError(
                f"the day of a window is 0 (Monday) to 6 (Sunday), not {self.weekday!r}"
            )
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise HoursError(f"the {name} of a window must be a time of day such as 09:00")
            if value.tzinfo is not None:
                raise HoursError(f"the {name} of a window is a local wall-clock time: give no zone")
            if value.second or value.microsecond:
                raise HoursError(f"the {name} of a window is in whole minutes, not {value}")
        if self.start == self.end and self.start != _MIDNIGHT:
            raise HoursError(
                f"{_describe(self)} starts and ends at the same time; "
                "for the whole day write 00:00-24:00"
            )

    @property
    def overnight(self) -> bool:
        """The window ends on the next day (at or after its midnight)."""
        return self.end <= self.start


@dataclass(frozen=True)
class Schedule:
    """Opening hours, holidays and the zone they are in.

    No windows means open around the clock (a line with no hours set), still closed on its
    holidays. The zone is checked here, so a schedule that exists can always be used.
    """

    windows: tuple[Window, ...] = ()
    holidays: frozenset[date] = frozenset()
    zone: str = "UTC"

    def __post_init__(self) -> None:
        if isinstance(self.windows, Window | str) or not isinstance(self.windows, Iterable):
            raise HoursError("the windows of a schedule are a tuple of Window")
        windows = tuple(self.windows)
        for window in windows:
            if not isinstance(window, Window):
                raise HoursError(f"{window!r} is not a Window")
        if isinstance(self.holidays, date | str) or not isinstance(self.holidays, Iterable):
            raise HoursError("the holidays of a schedule are a set of dates")
        holidays = frozenset(self.holidays)
        for day in holidays:
            # a datetime is a date too, but never equal to one: it would silently never match
            if not isinstance(day, date) or isinstance(day, datetime):
                raise HoursError(f"a holiday is a calendar date such as 2026-12-25, not {day!r}")
        _zone(self.zone)
        object.__setattr__(self, "windows", windows)
        object.__setattr__(self, "holidays", holidays)


def _zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise HoursError(f"{name!r} is not an IANA time zone such as Europe/London")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise HoursError(f"{name!r} is not an IANA time zone such as Europe/London") from None


# --- text format ----------------------------------------------------------------------------


@dataclass
class _Entry:
    """One "days hours" phrase while parsing."""

    days: set[int]
    ranges: list[tuple[time, time]]
    closed: bool = False


def parse_hours(spec: str) -> tuple[Window, ...]:
    """Read opening hours as an admin types them; windows in canonical order.

    Entries are separated by ";", newlines or ",", for example
    ``mon-fri 09:00-17:00; sat 10:00-13:00`` or ``mon,wed 08:00-12:00 13:00-17:30``.
    Days: mon to sun or monday to sunday, ranges that may wrap (``fri-mon``), ``daily``,
    ``weekdays`` (mon-fri), ``weekends`` (sat-sun). Days with no times are open all day;
    ``sun closed`` says explicitly that no hours start on Sunday. ``22:00-02:00`` runs past
    midnight and belongs to the day it starts on; ``24:00`` is midnight, as an end only.
    Case and spacing do not matter.

    ``""`` gives ``()``, which a Schedule treats as open around the clock. Anything else that
    names no hours (only spaces, only ``closed`` days) is an error rather than a silent 24/7.
    """
    if not isinstance(spec, str):
        raise TypeError("opening hours are text")
    if spec == "":
        return ()
    if len(spec) > MAX_SPEC_LENGTH:
        raise HoursError(
            f"the opening hours are {len(spec):,} characters long; at most {MAX_SPEC_LENGTH:,}"
        )
    _refuse_control_characters(spec, "the opening hours")
    entries: list[_Entry] = []
    for chunk in _HARD_SEPARATOR.split(spec):
        entries.extend(_parse_chunk(chunk))
    if not entries:
        raise HoursError(
            "no opening hours given; write them as 'mon-fri 09:00-17:00', "
            "or leave the field empty for open around the clock"
        )
    windows: list[Window] = []
    closed: set[int] = set()
    for entry in entries:
        if entry.closed:
            closed |= entry.days
            continue
        ranges = entry.ranges or [(_MIDNIGHT, _MIDNIGHT)]
        windows.extend(Window(day, start, end) for day in entry.days for start, end in ranges)
    clash = sorted((w for w in windows if w.weekday in closed), key=lambda w: (w.weekday, w.start))
    if clash:
        raise HoursError(
            f"{DAY_NAMES[clash[0].weekday]} is marked closed but also has hours: "
            f"{_describe(clash[0])}"
        )
    if not windows:
        raise HoursError(
            "the opening hours only say closed, so nothing would ever open; give some hours, "
            "or leave the field empty for open around the clock"
        )
    return _checked(windows)


def format_hours(windows: tuple[Window, ...]) -> str:
    """The canonical text of ``windows``; ``parse_hours`` reads it back to the same tuple.

    Days sharing the same hours are written together (``mon-fri 09:00-17:00``), in weekday
    order; ``()`` gives ``""``. Windows that ``parse_hours`` would refuse (overlapping, more
    than 50) raise HoursError, so the panel never shows text it cannot save again.
    """
    if isinstance(windows, Window | str) or not isinstance(windows, Iterable):
        raise HoursError("the windows to format are a tuple of Window")
    windows = tuple(windows)
    for window in windows:
        if not isinstance(window, Window):
            raise HoursError(f"{window!r} is not a Window")
    if not windows:
        return ""
    by_day: dict[int, tuple[tuple[time, time], ...]] = {}
    for window in _checked(windows):
        by_day[window.weekday] = (*by_day.get(window.weekday, ()), (window.start, window.end))
    groups: dict[tuple[tuple[time, time], ...], list[int]] = {}
    for day in sorted(by_day):
        groups.setdefault(by_day[day], []).append(day)
    return "; ".join(
        _format_days(days) + " " + " ".join(_format_range(s, e) for s, e in ranges)
        for ranges, days in groups.items()
    )


def parse_holidays(spec: str) -> frozenset[date]:
    """Read holidays as ISO dates (YYYY-MM-DD) separated by commas or whitespace.

    ``""`` (or only separators) is no holidays. They are local dates in the schedule's zone.
    """
    if not isinstance(spec, str):
        raise TypeError("holidays are text")
    if len(spec) > MAX_HOLIDAYS_LENGTH:
        raise HoursError(
            f"the holidays are {len(spec):,} characters long; at most {MAX_HOLIDAYS_LENGTH:,}"
        )
    _refuse_control_characters(spec, "the holidays")
    days: set[date] = set()
    for text in _HOLIDAY_SEPARATOR.split(spec):
        if not text:
            continue
        # fromisoformat alone would also take 20261225 and week dates such as 2026-W52-5
        try:
            if not _DATE.fullmatch(text):
                raise ValueError
            days.add(date.fromisoformat(text))
        except ValueError:
            raise HoursError(
                f"holiday {_show(text)} is not a date; write dates as YYYY-MM-DD, "
                "such as 2026-12-25"
            ) from None
    if len(days) > MAX_HOLIDAYS:
        raise HoursError(f"{len(days):,} holidays given; at most {MAX_HOLIDAYS:,}")
    return frozenset(days)


def format_holidays(holidays: frozenset[date]) -> str:
    """Holidays in date order, as ``parse_holidays`` reads them."""
    return ", ".join(day.isoformat() for day in sorted(holidays))


def _refuse_control_characters(spec: str, what: str) -> None:
    for position, char in enumerate(spec):
        if char in "\t\r\n":
            continue  # tabs and line breaks come from the panel's text area
        if unicodedata.category(char) in ("Cc", "Cf"):
            raise HoursError(
                f"{what} contain a control character (U+{ord(char):04X}) "
                f"at position {position + 1}; retype them as plain text"
            )


def _show(text: str) -> str:
    text = text.strip()
    return '"' + (text if len(text) <= 60 else text[:57] + "...") + '"'


def _parse_chunk(chunk: str) -> list[_Entry]:
    """Entries in one piece between ";" or line breaks; "," is decided by what follows it:
    a day after hours starts a new entry, otherwise the list of days or hours goes on."""
    tokens = [t for t in _TOKEN.findall(chunk) if not t.isspace()]
    entries: list[_Entry] = []
    entry: _Entry | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == ",":
            i += 1
            continue
        if token in ("-", "\u2013"):
            raise HoursError(f"a '-' with nothing before it in {_show(chunk)}")
        word = token.lower() if token.isascii() else token
        if word in _DAYS or word in _GROUPS:
            days, i = _parse_days(tokens, i, chunk)
            if entry is None or entry.ranges or entry.closed:
                entry = _Entry(set(), [])
                entries.append(entry)
            entry.days |= days
        elif word == _CLOSED:
            if entry is None:
                raise HoursError(
                    f"say which days are closed, such as 'sun closed', in {_show(chunk)}"
                )
            if entry.ranges:
                raise HoursError(f"the same days are both closed and open in {_show(chunk)}")
            entry.closed = True
            i += 1
        elif _CLOCK.fullmatch(token):
            if entry is None:
                raise HoursError(
                    f"say which days {_show(token)} is for, such as 'mon-fri 09:00-17:00', "
                    f"in {_show(chunk)}"
                )
            if entry.closed:
                raise HoursError(f"the same days are both closed and open in {_show(chunk)}")
            start, end, i = _parse_range(tokens, i, chunk)
            entry.ranges.append((start, end))
        elif any(c.isdigit() or c == ":" for c in token):
            raise HoursError(f"bad time {_show(token)} in {_show(chunk)}: {_TIME_HELP}")
        else:
            raise HoursError(f"unknown day {_show(token)} in {_show(chunk)}: {_DAY_HELP}")
    return entries


def _parse_days(tokens: list[str], i: int, chunk: str) -> tuple[set[int], int]:
    word = tokens[i].lower()
    dashed = i + 1 < len(tokens) and tokens[i + 1] in ("-", "\u2013")
    if word in _GROUPS:
        if dashed:
            raise HoursError(f"{_show(tokens[i])} cannot start a range of days in {_show(chunk)}")
        return set(_GROUPS[word]), i + 1
    first = _DAYS[word]
    if not dashed:
        return {first}, i + 1
    last_word = tokens[i + 2].lower() if i + 2 < len(tokens) and tokens[i + 2].isascii() else ""
    if last_word not in _DAYS:
        after = f"not {_show(tokens[i + 2])}" if i + 2 < len(tokens) else "but nothing follows"
        raise HoursError(
            f"a range of days needs a day after '-', such as mon-fri, {after}, in {_show(chunk)}"
        )
    last = _DAYS[last_word]
    count = (last - first) % 7 + 1  # wraps past Sunday: fri-mon is fri, sat, sun, mon
    return {(first + k) % 7 for k in range(count)}, i + 3


def _parse_range(tokens: list[str], i: int, chunk: str) -> tuple[time, time, int]:
    if i + 2 >= len(tokens) or tokens[i + 1] not in ("-", "\u2013"):
        raise HoursError(
            f"{_show(tokens[i])} needs an end time, such as 09:00-17:00, in {_show(chunk)}"
        )
    start_text, end_text = tokens[i], tokens[i + 2]
    if not _CLOCK.fullmatch(end_text):
        raise HoursError(f"bad time {_show(end_text)} in {_show(chunk)}: {_TIME_HELP}")
    start = _minutes(start_text, chunk, end=False)
    end = _minutes(end_text, chunk, end=True)
    if start == end:
        raise HoursError(
            f"{start_text}-{end_text} starts and ends at the same time in {_show(chunk)}; "
            "for the whole day write 00:00-24:00"
        )
    return _clock(start), _clock(end % _MINUTES_PER_DAY), i + 3


def _minutes(text: str, chunk: str, *, end: bool) -> int:
    match = _CLOCK.fullmatch(text)
    assert match is not None
    hours, minutes = int(match[1]), int(match[2])
    if hours == 24 and minutes == 0:
        if not end:
            raise HoursError(
                f"24:00 is the midnight at the end of a day and cannot start hours, "
                f"in {_show(chunk)}; write 00:00"
            )
        return _MINUTES_PER_DAY
    if hours > 23:
        raise HoursError(f"bad time {_show(text)} in {_show(chunk)}: hours go from 00 to 23")
    if minutes > 59:
        raise HoursError(f"bad time {_show(text)} in {_show(chunk)}: minutes go from 00 to 59")
    return hours * 60 + minutes


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _of(value: time) -> int:
    return value.hour * 60 + value.minute


def _length(window: Window) -> int:
    """Minutes the window lasts by the clock (24 hours for 00:00-24:00)."""
    return (_of(window.end) - _of(window.start) - 1) % _MINUTES_PER_DAY + 1


def _checked(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Canonical order, refusing too many windows or two that cover the same minute."""
    ordered = tuple(sorted(windows, key=lambda w: (w.weekday, w.start)))
    if len(ordered) > MAX_WINDOWS:
        raise HoursError(f"{len(ordered)} opening-hour ranges; at most {MAX_WINDOWS}")
    # On the weekly clock (a circle: Sunday night runs into Monday), overnight hours can
    # overlap the next day's, which is as ambiguous as two ranges on the same day.
    spans = [(w.weekday * _MINUTES_PER_DAY + _of(w.start), _length(w), w) for w in ordered]
    for index, (begin, length, window) in enumerate(spans):
        for other_begin, other_length, other in spans[index + 1 :]:
            if (other_begin - begin) % _MINUTES_PER_WEEK < length or (
                begin - other_begin
            ) % _MINUTES_PER_WEEK < other_length:
                raise HoursError(f"{_describe(window)} overlaps {_describe(other)}")
    return ordered


def _format_range(start: time, end: time) -> str:
    end_text = "24:00" if end == _MIDNIGHT else end.strftime("%H:%M")
    return f"{start.strftime('%H:%M')}-{end_text}"


def _describe(window: Window) -> str:
    return f"{DAY_NAMES[window.weekday]} {_format_range(window.start, window.end)}"


def _format_days(days: list[int]) -> str:
    if len(days) == 7:
        return "daily"
    runs: list[list[int]] = []
    for day in days:  # ascending
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        DAY_NAMES[run[0]] if len(run) == 1 else f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}"
        for run in runs
    )


# --- open or closed -------------------------------------------------------------------------

# No windows: every day from midnight to midnight, so holidays still close the line.
_ALL_DAY = tuple(Window(day, _MIDNIGHT, _MIDNIGHT) for day in range(7))


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the local clock in the schedule's zone reads inside a window at ``at``.

    ``at`` must be timezone-aware (any zone: instants are compared, not wall times).
    """
    instant = _require_aware(at)
    return _open(schedule, _zone(schedule.zone), instant)


def next_open(schedule: Schedule, at: datetime) -> datetime | None:
    """``at`` itself when open; else the first later instant that is open (aware, UTC).

    None when nothing opens within 400 days: every window falls on a holiday, or (never
    in practice) always inside a DST gap.
    """
    instant = _require_aware(at)
    zone = _zone(schedule.zone)
    if _open(schedule, zone, instant):
        return at
    # The local clock reading moves steadily except at DST changes, so hours become open
    # either when the clock reaches a window's start or when a change makes it jump into a
    # window (a start inside a spring-forward gap, the repeated hour after a fall-back).
    # Those are the only candidates; the earliest open one is the answer.
    starts = _starts_by_weekday(schedule)
    best: datetime | None = None
    stop_after: date | None = None
    try:
        limit = instant + LOOKAHEAD
        day = instant.astimezone(zone).date() - 2 * _DAY  # overnight hours, early fall-back
        day_begins = _local_instant(day, zone)
        while day_begins <= limit:
            next_day_begins = _local_instant(day + _DAY, zone)
            candidates: list[datetime] = []
            if day not in schedule.holidays:
                for start in starts[day.weekday()]:
                    candidates.extend(_instants(datetime.combine(day, start), zone))
            if day_begins < next_day_begins and _offset(day_begins, zone) != _offset(
                next_day_begins, zone
            ):
                candidates.append(_transition(day_begins, next_day_begins, zone))
            for candidate in candidates:
                if (
                    instant < candidate <= limit
                    and (best is None or candidate < best)
                    and _open(schedule, zone, candidate)
                ):
                    best = candidate
            if best is not None and stop_after is None:
                # a DST change can put a later local day's instants before this day's ends
                stop_after = day + 2 * _DAY
            if stop_after is not None and day >= stop_after:
                break
            day, day_begins = day + _DAY, next_day_begins
    except OverflowError:  # the end of the calendar (year 9999): nothing more can open
        pass
    return best


def _require_aware(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("give a timezone-aware datetime: opening hours compare instants")
    return at.astimezone(UTC)


def _open(schedule: Schedule, zone: ZoneInfo, instant: datetime) -> bool:
    wall = instant.astimezone(zone).replace(tzinfo=None, fold=0)
    today = wall.date()
    for window in schedule.windows or _ALL_DAY:
        # a window can have started today or, running past midnight, yesterday
        for start_day in (today, today - _DAY) if today > date.min else (today,):
            if start_day.weekday() != window.weekday or start_day in schedule.holidays:
                continue
            begins = datetime.combine(start_day, window.start)
            if not window.overnight:
                ends = datetime.combine(start_day, window.end)
            elif start_day < date.max:
                ends = datetime.combine(start_day + _DAY, window.end)
            else:
                ends = datetime.max  # the calendar ends before the window does
            if begins <= wall < ends:
                return True
    return False


def _starts_by_weekday(schedule: Schedule) -> list[list[time]]:
    starts: list[list[time]] = [[] for _ in range(7)]
    for window in schedule.windows or _ALL_DAY:
        starts[window.weekday].append(window.start.replace(fold=0))
    return starts


def _instants(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the local clock reads ``wall``: none in a spring-forward
    gap, two in a fall-back repeat, else one."""
    found: list[datetime] = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in found:
            found.append(instant)
    return found


def _local_instant(day: date, zone: ZoneInfo) -> datetime:
    """An instant near the local midnight starting ``day`` (exact unless it is in a gap)."""
    return datetime.combine(day, _MIDNIGHT, tzinfo=zone).astimezone(UTC)


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _transition(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The instant in (before, after] at which the zone's offset changes to that of
    ``after``. Zone changes fall on whole seconds, so bisecting over seconds is exact; a
    local day with two changes that cancel out (none in tzdata) would go unseen."""
    target = _offset(after, zone)
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
