"""Opening hours: the text an admin types, boundaries, overnight hours, holidays, DST nights."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.hours import (
    MAX_SPEC_LENGTH,
    HoursError,
    Schedule,
    Window,
    format_holidays,
    format_hours,
    is_open,
    next_open,
    parse_holidays,
    parse_hours,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
AUCKLAND = ZoneInfo("Pacific/Auckland")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
TOKYO = ZoneInfo("Asia/Tokyo")
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
TICK = timedelta(microseconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def window(day: str, start: str, end: str) -> Window:
    return Window(DAYS[day], time.fromisoformat(start), time.fromisoformat(end))


def days(names: str, start: str, end: str) -> tuple[Window, ...]:
    return tuple(window(name, start, end) for name in names.split())


def hours(spec: str, zone: str = "UTC", holidays: str = "") -> Schedule:
    return Schedule(parse_hours(spec), parse_holidays(holidays), zone)


# --- reading the text -----------------------------------------------------------------------

OFFICE = days("mon tue wed thu fri", "09:00", "17:00")
ALL_DAY = days("mon tue wed thu fri sat sun", "00:00", "00:00")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("", (), id="empty-means-no-windows"),
        pytest.param("mon-fri 09:00-17:00", OFFICE, id="day-range"),
        pytest.param("sat 10:00-13:00", days("sat", "10:00", "13:00"), id="one-day"),
        pytest.param(
            "mon,wed 08:00-12:00 13:00-17:30",
            (
                window("mon", "08:00", "12:00"),
                window("mon", "13:00", "17:30"),
                window("wed", "08:00", "12:00"),
                window("wed", "13:00", "17:30"),
            ),
            id="day-list-several-ranges",
        ),
        pytest.param("daily 00:00-24:00", ALL_DAY, id="daily-all-day"),
        pytest.param("daily", ALL_DAY, id="daily-alone"),
        pytest.param("sat", days("sat", "00:00", "00:00"), id="day-alone-is-all-day"),
        pytest.param("sun closed; mon 09:00-17:00", days("mon", "09:00", "17:00"), id="closed"),
        pytest.param("fri 22:00-02:00", days("fri", "22:00", "02:00"), id="overnight"),
        pytest.param("fri 22:00-24:00", days("fri", "22:00", "00:00"), id="until-midnight"),
        pytest.param("fri-mon 10:00-11:00", days("mon fri sat sun", "10:00", "11:00"), id="wrap"),
        pytest.param("weekdays 09:00-17:00", OFFICE, id="weekdays"),
        pytest.param("weekends 10:00-14:00", days("sat sun", "10:00", "14:00"), id="weekends"),
        pytest.param("Monday-FRIDAY 9:00-17:00", OFFICE, id="full-names-any-case-one-digit"),
        pytest.param("  MON - FRI   09:00 - 17:00  ", OFFICE, id="spaces"),
        pytest.param("mon-fri 09:00\u201317:00", OFFICE, id="en-dash"),
        pytest.param(
            "mon 09:00-12:00, tue 10:00-11:00",
            (window("mon", "09:00", "12:00"), window("tue", "10:00", "11:00")),
            id="comma-between-entries",
        ),
        pytest.param(
            "mon 09:00-12:00, 13:00-17:00",
            (window("mon", "09:00", "12:00"), window("mon", "13:00", "17:00")),
            id="comma-between-ranges",
        ),
        pytest.param(
            "tue 10:00-11:00\r\nmon 09:00-12:00\n\n",
            (window("mon", "09:00", "12:00"), window("tue", "10:00", "11:00")),
            id="lines-in-any-order",
        ),
        pytest.param(
            "sun 22:00-02:00; mon 02:00-03:00",
            (window("mon", "02:00", "03:00"), window("sun", "22:00", "02:00")),
            id="sunday-night-meets-monday",
        ),
    ],
)
def test_it_reads_hours(spec: str, expected: tuple[Window, ...]) -> None:
    assert parse_hours(spec) == expected


TOO_MANY = "daily " + " ".join(f"{h:02d}:00-{h:02d}:30" for h in range(8))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("moon 09:00-17:00", 'unknown day "moon"', id="unknown-day"),
        pytest.param("mon-fir 09:00-17:00", 'not "fir"', id="unknown-day-in-range"),
        pytest.param("mon 25:00-26:00", 'bad time "25:00".*00 to 23', id="hour-25"),
        pytest.param("mon 9:60-10:00", 'bad time "9:60".*minutes', id="minute-60"),
        pytest.param("mon 9am-5pm", 'bad time "9am"', id="am-pm"),
        pytest.param("mon 0900-1700", 'bad time "0900"', id="no-colon"),
        pytest.param("mon 09:00-17:0", 'bad time "17:0"', id="one-digit-minutes"),
        pytest.param("mon 09:00-24:30", 'bad time "24:30"', id="past-24"),
        pytest.param("mon 24:00-02:00", "24:00.*cannot start", id="24-as-start"),
        pytest.param("mon 09:00-09:00", "09:00-09:00 starts and ends at the same", id="equal"),
        pytest.param("mon 00:00-00:00", "00:00-24:00", id="equal-midnight"),
        pytest.param("   ", "no opening hours given", id="only-spaces"),
        pytest.param(" ;\n, ", "no opening hours given", id="only-separators"),
        pytest.param("sun closed", "only say closed", id="only-closed"),
        pytest.param("daily; sun closed", "sun is marked closed.*sun 00:00-24:00", id="clash"),
        pytest.param("mon closed 09:00-17:00", "both closed and open", id="closed-then-hours"),
        pytest.param("mon 09:00-17:00 closed", "both closed and open", id="hours-then-closed"),
        pytest.param("closed", "say which days are closed", id="closed-alone"),
        pytest.param("09:00-17:00", 'which days "09:00"', id="no-days"),
        pytest.param("mon-", "but nothing follows", id="open-day-range"),
        pytest.param("daily-fri", '"daily" cannot start a range', id="keyword-range"),
        pytest.param("mon 09:00-", '"09:00" needs an end time', id="open-time-range"),
        pytest.param("mon 09:00 17:00", '"09:00" needs an end time', id="missing-dash"),
        pytest.param("- mon", "'-' with nothing before it", id="stray-dash"),
        pytest.param(
            "mon 09:00-12:00; mon 11:00-13:00",
            "mon 09:00-12:00 overlaps mon 11:00-13:00",
            id="overlap-same-day",
        ),
        pytest.param(
            "mon-fri 09:00-17:00; weekdays 12:00-13:00",
            "mon 09:00-17:00 overlaps mon 12:00-13:00",
            id="overlap-two-entries",
        ),
        pytest.param(
            "fri 22:00-02:00; sat 01:00-03:00",
            "fri 22:00-02:00 overlaps sat 01:00-03:00",
            id="overlap-past-midnight",
        ),
        pytest.param(
            "sun 22:00-02:00; mon 01:00-03:00",
            "mon 01:00-03:00 overlaps sun 22:00-02:00",
            id="overlap-sunday-into-monday",
        ),
        pytest.param(TOO_MANY, "56 opening-hour ranges; at most 50", id="too-many"),
        pytest.param("x" * (MAX_SPEC_LENGTH + 1), "2,001 characters", id="too-long"),
        pytest.param("mon\x00 09:00-17:00", r"control character \(U\+0000\)", id="nul"),
        pytest.param("mon\x1b[2J 09:00-17:00", r"\(U\+001B\) at position 4", id="escape"),
        pytest.param("mon\u202e 09:00-17:00", r"U\+202E", id="bidi-override"),
        pytest.param("m\u043en 09:00-17:00", "unknown day", id="cyrillic-o"),
        pytest.param("mon \u0660\u0669:00-17:00", "bad time", id="arabic-digits"),
    ],
)
def test_it_refuses_bad_hours_saying_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        parse_hours(spec)


def test_it_accepts_the_longest_and_the_most_hours() -> None:
    fifty = "daily " + " ".join(f"{h:02d}:00-{h:02d}:30" for h in range(7)) + "; mon 23:00-24:00"
    assert len(parse_hours(fifty)) == 50
    padded = "mon 09:00-17:00" + " " * (MAX_SPEC_LENGTH - len("mon 09:00-17:00"))
    assert parse_hours(padded) == days("mon", "09:00", "17:00")


def test_it_wants_text() -> None:
    with pytest.raises(TypeError):
        parse_hours(None)  # type: ignore[arg-type]


# --- writing the text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("Weekdays 9:00-17:00", "mon-fri 09:00-17:00", id="weekdays"),
        pytest.param(
            "sat 10:00-13:00\nmon-fri 09:00-17:00",
            "mon-fri 09:00-17:00; sat 10:00-13:00",
            id="weekday-order",
        ),
        pytest.param("daily", "daily 00:00-24:00", id="daily"),
        pytest.param("weekends", "sat-sun 00:00-24:00", id="weekends"),
        pytest.param("fri 22:00-02:00", "fri 22:00-02:00", id="overnight"),
        pytest.param("fri 22:00-00:00", "fri 22:00-24:00", id="midnight-as-24"),
        pytest.param("fri-mon 10:00-11:00", "mon,fri-sun 10:00-11:00", id="wrapped-days"),
        pytest.param(
            "mon,wed,fri 13:00-17:30 08:00-12:00",
            "mon,wed,fri 08:00-12:00 13:00-17:30",
            id="ranges-in-order",
        ),
        pytest.param(
            "mon-fri 09:00-17:00; wed 18:00-20:00",
            "mon-tue,thu-fri 09:00-17:00; wed 09:00-17:00 18:00-20:00",
            id="one-day-differs",
        ),
    ],
)
def test_it_writes_canonical_text(spec: str, canonical: str) -> None:
    windows = parse_hours(spec)
    assert format_hours(windows) == canonical
    assert parse_hours(canonical) == windows


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        pytest.param(
            (window("mon", "09:00", "12:00"), window("mon", "11:00", "13:00")),
            "overlaps",
            id="overlap",
        ),
        pytest.param(days("mon", "00:00", "01:00") * 51, "51 opening-hour ranges", id="too-many"),
        pytest.param(("mon 09:00-17:00",), "is not a Window", id="text-inside"),
        pytest.param("mon 09:00-17:00", "tuple of Window", id="text"),
    ],
)
def test_it_refuses_to_write_what_it_could_not_read_back(windows: object, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        format_hours(windows)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param((7, time(9), time(17)), "0 \\(Monday\\) to 6", id="weekday-7"),
        pytest.param((-1, time(9), time(17)), "0 \\(Monday\\) to 6", id="weekday-negative"),
        pytest.param((True, time(9), time(17)), "0 \\(Monday\\) to 6", id="weekday-bool"),
        pytest.param(("mon", time(9), time(17)), "0 \\(Monday\\) to 6", id="weekday-text"),
        pytest.param((0, "09:00", time(17)), "start .* time of day", id="start-text"),
        pytest.param((0, time(9), time(17, tzinfo=UTC)), "end .* wall-clock", id="aware"),
        pytest.param((0, time(9, 0, 30), time(17)), "whole minutes", id="seconds"),
        pytest.param((0, time(9), time(9)), "same time", id="equal"),
    ],
)
def test_it_refuses_a_bad_window(args: tuple[object, object, object], message: str) -> None:
    with pytest.raises(HoursError, match=message):
        Window(*args)  # type: ignore[arg-type]


def test_it_takes_midnight_to_midnight_as_the_whole_day() -> None:
    whole = Window(0, time(0), time(0))
    assert whole.overnight
    assert format_hours((whole,)) == "mon 00:00-24:00"


# --- holidays and schedules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("", set(), id="empty"),
        pytest.param(" , \n", set(), id="only-separators"),
        pytest.param(
            "2026-12-25, 2026-12-26, 2027-01-01",
            {date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)},
            id="commas",
        ),
        pytest.param(
            "2026-12-25\n2026-12-26\t2026-12-25",
            {date(2026, 12, 25), date(2026, 12, 26)},
            id="whitespace-and-repeats",
        ),
        pytest.param("2028-02-29", {date(2028, 2, 29)}, id="leap-day"),
    ],
)
def test_it_reads_holidays(spec: str, expected: set[date]) -> None:
    assert parse_holidays(spec) == frozenset(expected)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("2026-13-01", 'holiday "2026-13-01" is not a date', id="month-13"),
        pytest.param("2026-02-30", '"2026-02-30"', id="february-30"),
        pytest.param("2026-12-25; 2026-12-26", '"2026-12-25;"', id="semicolon"),
        pytest.param("25/12/2026", '"25/12/2026"', id="day-first"),
        pytest.param("20261225", '"20261225"', id="basic-format"),
        pytest.param("2026-W52-5", '"2026-W52-5"', id="week-date"),
        pytest.param("christmas", '"christmas"', id="name"),
        pytest.param("2026-12-25\x00", r"U\+0000", id="control-character"),
        pytest.param("2026-01-01 " * 1200, "characters long", id="too-long"),
        pytest.param(
            " ".join((date(2026, 1, 1) + timedelta(days=k)).isoformat() for k in range(1001)),
            "1,001 holidays",
            id="too-many",
        ),
    ],
)
def test_it_refuses_bad_holidays(spec: str, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        parse_holidays(spec)


def test_it_writes_holidays_in_date_order() -> None:
    holidays = parse_holidays("2027-01-01 2026-12-25,2026-12-26")
    assert format_holidays(holidays) == "2026-12-25, 2026-12-26, 2027-01-01"
    assert parse_holidays(format_holidays(holidays)) == holidays
    assert format_holidays(frozenset()) == ""


@pytest.mark.parametrize(
    "zone",
    [
        pytest.param("Mars/Olympus_Mons", id="unknown"),
        pytest.param("", id="empty"),
        pytest.param("America", id="directory"),
        pytest.param("../../etc/passwd", id="path"),
        pytest.param("europe/london", id="wrong-case"),
    ],
)
def test_it_refuses_an_unknown_zone_when_the_schedule_is_made(zone: str) -> None:
    with pytest.raises(HoursError, match="is not an IANA time zone"):
        Schedule(OFFICE, zone=zone)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"holidays": {datetime(2026, 12, 25)}}, "calendar date", id="datetime"),
        pytest.param({"holidays": {"2026-12-25"}}, "calendar date", id="text-holiday"),
        pytest.param({"holidays": "2026-12-25"}, "set of dates", id="text-holidays"),
        pytest.param({"windows": ("mon 09:00-17:00",)}, "not a Window", id="text-window"),
        pytest.param({"windows": window("mon", "09:00", "17:00")}, "tuple", id="one-window"),
    ],
)
def test_it_refuses_a_bad_schedule(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(HoursError, match=message):
        Schedule(**kwargs)  # type: ignore[arg-type]


def test_it_freezes_lists_given_to_a_schedule() -> None:
    schedule = Schedule([window("mon", "09:00", "17:00")], {date(2026, 12, 25)})  # type: ignore[arg-type]
    assert schedule.windows == days("mon", "09:00", "17:00")
    assert schedule.holidays == frozenset({date(2026, 12, 25)})
    assert hash(schedule) == hash(Schedule(schedule.windows, schedule.holidays))


@pytest.mark.parametrize("ask", [is_open, next_open], ids=["is_open", "next_open"])
@pytest.mark.parametrize(
    "at",
    [
        pytest.param(datetime(2026, 3, 6, 12), id="naive"),
        pytest.param(date(2026, 3, 6), id="date"),
        pytest.param("2026-03-06T12:00:00Z", id="text"),
    ],
)
def test_it_wants_an_aware_instant(ask: object, at: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ask(Schedule(OFFICE), at)  # type: ignore[operator]


# --- open or closed -------------------------------------------------------------------------

LONDON_OFFICE = Schedule(OFFICE, zone="Europe/London")


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        pytest.param(datetime(2026, 1, 14, 8, 59, 59), False, id="08:59:59"),
        pytest.param(datetime(2026, 1, 14, 9, 0), True, id="09:00-start"),
        pytest.param(datetime(2026, 1, 14, 12, 0), True, id="noon"),
        pytest.param(datetime(2026, 1, 14, 16, 59, 59, 999999), True, id="16:59:59.999999"),
        pytest.param(datetime(2026, 1, 14, 17, 0), False, id="17:00-end"),
        pytest.param(datetime(2026, 1, 17, 12, 0), False, id="saturday"),
        pytest.param(datetime(2026, 7, 15, 9, 0), True, id="09:00-in-summer-time"),
        pytest.param(datetime(2026, 7, 15, 8, 59), False, id="08:59-in-summer-time"),
    ],
)
def test_it_opens_at_the_start_and_closes_at_the_end(local: datetime, expected: bool) -> None:
    assert is_open(LONDON_OFFICE, local.replace(tzinfo=LONDON)) is expected


def test_it_compares_instants_whatever_zone_they_are_given_in() -> None:
    at = datetime(2026, 7, 15, 8, 30, tzinfo=UTC)  # 09:30 BST
    assert is_open(LONDON_OFFICE, at)
    assert is_open(LONDON_OFFICE, at.astimezone(TOKYO))
    assert not is_open(Schedule(OFFICE, zone="America/New_York"), at.astimezone(TOKYO))


FRIDAY_NIGHT = "fri 22:00-02:00"


@pytest.mark.parametrize(
    ("local", "holidays", "expected"),
    [
        pytest.param(datetime(2026, 1, 16, 21, 59), "", False, id="fri-21:59"),
        pytest.param(datetime(2026, 1, 16, 22, 0), "", True, id="fri-22:00"),
        pytest.param(datetime(2026, 1, 16, 23, 59), "", True, id="fri-23:59"),
        pytest.param(datetime(2026, 1, 17, 0, 0), "", True, id="sat-00:00"),
        pytest.param(datetime(2026, 1, 17, 1, 0), "", True, id="sat-01:00"),
        pytest.param(datetime(2026, 1, 17, 2, 0), "", False, id="sat-02:00"),
        pytest.param(datetime(2026, 1, 17, 22, 30), "", False, id="sat-22:30"),
        pytest.param(datetime(2026, 1, 15, 23, 0), "", False, id="thu-23:00"),
        pytest.param(datetime(2026, 1, 16, 23, 0), "2026-01-16", False, id="fri-holiday-fri"),
        pytest.param(datetime(2026, 1, 17, 1, 0), "2026-01-16", False, id="fri-holiday-sat"),
        pytest.param(datetime(2026, 1, 17, 1, 0), "2026-01-17", True, id="sat-holiday-sat"),
        pytest.param(datetime(2026, 1, 23, 23, 0), "2026-01-16", True, id="next-friday"),
    ],
)
def test_it_runs_overnight_hours_into_the_next_day(
    local: datetime, holidays: str, expected: bool
) -> None:
    schedule = hours(FRIDAY_NIGHT, "Europe/London", holidays)
    assert is_open(schedule, local.replace(tzinfo=LONDON)) is expected


def test_it_runs_sunday_night_into_monday() -> None:
    schedule = hours("sun 22:00-02:00")
    assert is_open(schedule, utc(2026, 1, 19, 1, 59))  # Monday
    assert not is_open(schedule, utc(2026, 1, 19, 2, 0))


def test_it_is_always_open_without_hours() -> None:
    for at in (
        utc(2026, 1, 1),
        utc(2026, 6, 30, 23, 59, 59),
        datetime(2026, 3, 8, 3, tzinfo=TOKYO),
    ):
        assert is_open(Schedule(), at)
        assert next_open(Schedule(), at) is at


def test_it_still_closes_on_holidays_without_hours() -> None:
    schedule = Schedule(holidays=parse_holidays("2026-12-25"), zone="Europe/London")
    assert is_open(schedule, utc(2026, 12, 24, 23, 59))
    assert not is_open(schedule, utc(2026, 12, 25, 12))
    assert next_open(schedule, utc(2026, 12, 25, 12)) == utc(2026, 12, 26)


# Christmas Day as a holiday in two zones, every day open all day otherwise: Auckland
# (NZDT, UTC+13) starts and ends Christmas 13 hours before London (GMT, UTC+0).
@pytest.mark.parametrize(
    ("at", "auckland", "london"),
    [
        pytest.param(utc(2026, 12, 24, 10, 59), True, True, id="24th-10:59Z"),
        pytest.param(utc(2026, 12, 24, 11, 0), False, True, id="24th-11:00Z"),
        pytest.param(utc(2026, 12, 24, 23, 59), False, True, id="24th-23:59Z"),
        pytest.param(utc(2026, 12, 25, 0, 0), False, False, id="25th-00:00Z"),
        pytest.param(utc(2026, 12, 25, 10, 59), False, False, id="25th-10:59Z"),
        pytest.param(utc(2026, 12, 25, 11, 0), True, False, id="25th-11:00Z"),
        pytest.param(utc(2026, 12, 26, 0, 0), True, True, id="26th-00:00Z"),
    ],
)
def test_it_takes_holidays_as_local_dates(at: datetime, auckland: bool, london: bool) -> None:
    assert is_open(hours("daily", "Pacific/Auckland", "2026-12-25"), at) is auckland
    assert is_open(hours("daily", "Europe/London", "2026-12-25"), at) is london


# New York, 2026-03-08: the clock goes from 01:59:59 EST straight to 03:00:00 EDT (07:00Z).
# 2026-11-01: it goes from 01:59:59 EDT back to 01:00:00 EST (06:00Z), so 01:00-02:00 happens
# twice. Hours follow the clock, whichever occurrence it is.
@pytest.mark.parametrize(
    ("spec", "at", "expected"),
    [
        pytest.param("sun 01:00-04:00", utc(2026, 3, 8, 5, 59), False, id="spring-00:59-EST"),
        pytest.param("sun 01:00-04:00", utc(2026, 3, 8, 6, 30), True, id="spring-01:30-EST"),
        pytest.param("sun 01:00-04:00", utc(2026, 3, 8, 7, 30), True, id="spring-03:30-EDT"),
        pytest.param("sun 01:00-04:00", utc(2026, 3, 8, 8, 0), False, id="spring-04:00-EDT"),
        pytest.param("sun 02:00-02:30", utc(2026, 3, 8, 6, 59), False, id="gap-01:59-EST"),
        pytest.param("sun 02:00-02:30", utc(2026, 3, 8, 7, 0), False, id="gap-03:00-EDT"),
        pytest.param("sun 02:00-02:30", utc(2026, 3, 8, 7, 15), False, id="gap-03:15-EDT"),
        pytest.param("sun 02:30-04:00", utc(2026, 3, 8, 7, 0), True, id="gap-start-03:00-EDT"),
        pytest.param("sun 01:00-01:30", utc(2026, 11, 1, 5, 0), True, id="fall-01:00-EDT"),
        pytest.param("sun 01:00-01:30", utc(2026, 11, 1, 5, 29), True, id="fall-01:29-EDT"),
        pytest.param("sun 01:00-01:30", utc(2026, 11, 1, 5, 30), False, id="fall-01:30-EDT"),
        pytest.param("sun 01:00-01:30", utc(2026, 11, 1, 6, 0), True, id="fall-01:00-EST"),
        pytest.param("sun 01:00-01:30", utc(2026, 11, 1, 6, 29), True, id="fall-01:29-EST"),
        pytest.param("sun 01:00-01:30", utc(2026, 11, 1, 6, 30), False, id="fall-01:30-EST"),
        pytest.param("sun 01:15-03:00", utc(2026, 11, 1, 6, 5), False, id="fall-01:05-EST"),
        pytest.param("sat 23:00-01:30", utc(2026, 11, 1, 6, 10), True, id="fall-overnight"),
    ],
)
def test_it_follows_the_local_clock_on_dst_nights(spec: str, at: datetime, expected: bool) -> None:
    assert is_open(hours(spec, "America/New_York"), at) is expected


@pytest.mark.parametrize("fold", [0, 1], ids=["first-01:15", "second-01:15"])
def test_it_opens_both_times_the_clock_repeats_an_hour(fold: int) -> None:
    at = datetime(2026, 11, 1, 1, 15, tzinfo=NEW_YORK, fold=fold)
    assert is_open(hours("sun 01:00-01:30", "America/New_York"), at)


# --- when it opens next ---------------------------------------------------------------------

NEW_YEAR = "2026-12-24, 2026-12-25, 2026-12-28, 2026-12-29, 2026-12-30, 2026-12-31, 2027-01-01"


@pytest.mark.parametrize(
    ("spec", "zone", "holidays", "at", "expected"),
    [
        pytest.param(
            "mon-fri 09:00-17:00",
            "Europe/London",
            "",
            datetime(2026, 3, 6, 17, tzinfo=LONDON),
            utc(2026, 3, 9, 9),
            id="friday-evening-to-monday",
        ),
        pytest.param(
            "mon-fri 09:00-17:00",
            "Europe/London",
            "",
            datetime(2026, 3, 9, 7, tzinfo=LONDON),
            utc(2026, 3, 9, 9),
            id="early-morning-to-same-day",
        ),
        pytest.param(
            "mon-fri 09:00-17:00",
            "Europe/London",
            "2026-03-09",
            datetime(2026, 3, 6, 17, tzinfo=LONDON),
            utc(2026, 3, 10, 9),
            id="holiday-monday-to-tuesday",
        ),
        pytest.param(
            "mon-fri 09:00-17:00",
            "Europe/London",
            NEW_YEAR,
            datetime(2026, 12, 23, 17, tzinfo=LONDON),
            utc(2027, 1, 4, 9),
            id="across-new-year",
        ),
        pytest.param(
            "mon-fri 09:00-17:00",
            "Europe/London",
            "",
            datetime(2026, 3, 27, 17, tzinfo=LONDON),
            utc(2026, 3, 30, 8),
            id="across-the-clocks-going-forward",
        ),
        pytest.param(
            "mon-fri 09:00-17:00",
            "America/New_York",
            "",
            datetime(2026, 3, 7, 7, tzinfo=TOKYO),  # Friday 17:00 EST
            utc(2026, 3, 9, 13),  # Monday 09:00 EDT
            id="asked-in-tokyo-answered-in-new-york",
        ),
        pytest.param(
            "fri 22:00-02:00",
            "Europe/London",
            "2026-01-16",
            datetime(2026, 1, 16, 21, tzinfo=LONDON),
            utc(2026, 1, 23, 22),
            id="overnight-after-a-holiday",
        ),
        pytest.param(
            "sun 02:00-02:30",
            "America/New_York",
            "",
            utc(2026, 3, 7, 12),
            utc(2026, 3, 15, 6),  # a week later, 02:00 EDT
            id="hours-inside-the-gap-wait-a-week",
        ),
        pytest.param(
            "sun 02:30-04:00",
            "America/New_York",
            "",
            utc(2026, 3, 8, 5),
            utc(2026, 3, 8, 7),  # 03:00 EDT, the end of the gap
            id="start-inside-the-gap-opens-after-it",
        ),
        pytest.param(
            "sun 01:00-01:30",
            "America/New_York",
            "",
            utc(2026, 11, 1, 5, 45),  # 01:45 EDT
            utc(2026, 11, 1, 6),  # 01:00 EST
            id="repeated-hour-opens-again",
        ),
        pytest.param(
            "sun 00:30-01:30",
            "America/New_York",
            "",
            utc(2026, 11, 1, 5, 45),
            utc(2026, 11, 1, 6),
            id="clock-jumps-back-into-hours",
        ),
        pytest.param(
            "sun 01:15-03:00",
            "America/New_York",
            "",
            utc(2026, 11, 1, 6),  # 01:00 EST, the clock back before the start
            utc(2026, 11, 1, 6, 15),
            id="clock-jumps-back-before-hours",
        ),
        # Lord Howe Island moves its clock by half an hour: 02:00 -> 02:30 on 2026-10-04.
        pytest.param(
            "sun 02:00-03:00",
            "Australia/Lord_Howe",
            "",
            utc(2026, 10, 3, 12),
            utc(2026, 10, 3, 15, 30),  # 02:30 LHDT (UTC+11)
            id="lord-howe-half-hour-gap",
        ),
        pytest.param(
            "sun 02:00-02:20",
            "Australia/Lord_Howe",
            "",
            utc(2026, 10, 3, 12),
            utc(2026, 10, 10, 15),  # 02:00 LHDT a week later
            id="lord-howe-hours-inside-the-gap",
        ),
    ],
)
def test_it_finds_when_it_opens_next(
    spec: str, zone: str, holidays: str, at: datetime, expected: datetime
) -> None:
    schedule = hours(spec, zone, holidays)
    result = next_open(schedule, at)
    assert result == expected
    assert result is not None and result.tzinfo is UTC
    assert is_open(schedule, result)
    assert not is_open(schedule, result - TICK)


def test_it_answers_with_the_instant_itself_when_open() -> None:
    at = datetime(2026, 3, 6, 10, tzinfo=LONDON)
    assert next_open(LONDON_OFFICE, at) is at


def test_it_gives_lord_howe_local_times() -> None:
    result = next_open(hours("sun 02:00-03:00", "Australia/Lord_Howe"), utc(2026, 10, 3, 12))
    assert result is not None
    local = result.astimezone(LORD_HOWE)
    assert (local.hour, local.minute, local.utcoffset()) == (2, 30, timedelta(hours=11))


def _every_week(first: date, weeks: int) -> str:
    return " ".join((first + timedelta(weeks=k)).isoformat() for k in range(weeks))


def _every_day(first: date, count: int) -> str:
    return " ".join((first + timedelta(days=k)).isoformat() for k in range(count))


@pytest.mark.parametrize(
    ("spec", "holidays", "expected"),
    [
        pytest.param("mon", _every_week(date(2026, 1, 5), 60), None, id="every-monday-a-holiday"),
        pytest.param("mon", _every_week(date(2026, 1, 5), 56), utc(2027, 2, 1), id="after-56"),
        pytest.param("", _every_day(date(2026, 1, 1), 401), None, id="no-hours-closed-400-days"),
        pytest.param("", _every_day(date(2026, 1, 1), 399), utc(2027, 2, 4), id="closed-399"),
    ],
)
def test_it_gives_up_after_400_days(spec: str, holidays: str, expected: datetime | None) -> None:
    assert next_open(hours(spec, "UTC", holidays), utc(2026, 1, 1)) == expected


# --- properties -----------------------------------------------------------------------------

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Pacific/Auckland",
    "Australia/Lord_Howe",
    "America/Santiago",  # changes at midnight
    "America/Havana",  # changes at midnight, back to the day before
    "Pacific/Chatham",  # UTC+12:45
    "Asia/Kathmandu",
    "Africa/Casablanca",  # moves for Ramadan
]


def _changes(zone: str) -> list[datetime]:
    """The hours in 2025-2027 during which the zone's UTC offset changes (DST nights)."""
    tz = ZoneInfo(zone)
    hour = utc(2025, 1, 1)
    found = []
    while hour < utc(2028, 1, 1):
        if (
            hour.astimezone(tz).utcoffset()
            != (hour + timedelta(hours=1)).astimezone(tz).utcoffset()
        ):
            found.append(hour)
        hour += timedelta(hours=1)
    return found


# Mistakes happen near DST changes: most examples are (zone, instant) pairs close to one.
CHANGES = [(zone, at) for zone in ZONES for at in _changes(zone)]


def _minute_slots(w: Window) -> set[int]:
    """The minutes of the week the window covers (independently of the module's check)."""
    begin = w.weekday * 1440 + w.start.hour * 60 + w.start.minute
    length = (w.end.hour * 60 + w.end.minute - begin % 1440) % 1440 or 1440
    return {(begin + k) % (7 * 1440) for k in range(length)}


@st.composite
def window_sets(draw: st.DrawFn, step: int = 15, max_size: int = 6) -> tuple[Window, ...]:
    """Windows that do not overlap, on a grid of ``step`` minutes."""
    slots_per_day = 1440 // step
    raw = draw(
        st.lists(
            st.tuples(
                st.integers(0, 6),
                st.integers(0, slots_per_day - 1),
                st.integers(1, slots_per_day),
            ),
            max_size=max_size,
        )
    )
    taken: set[int] = set()
    kept: list[Window] = []
    for weekday, start_slot, length in raw:
        start = start_slot * step
        if length == slots_per_day and start != 0:
            continue  # 24 hours from anywhere but midnight cannot be written as one range
        end = (start + length * step) % 1440
        candidate = Window(weekday, time(start // 60, start % 60), time(end // 60, end % 60))
        slots = _minute_slots(candidate)
        if slots & taken:
            continue
        taken |= slots
        kept.append(candidate)
    return tuple(sorted(kept, key=lambda w: (w.weekday, w.start)))


Case = tuple[tuple[Window, ...], str, datetime]
seconds = st.sampled_from([0, 0, 0, 30, 59])  # on the minute, mostly


def _quarter(minutes: int) -> time:
    minutes %= 1440
    return time(minutes // 60, minutes % 60)


@st.composite
def dst_cases(draw: st.DrawFn) -> Case:
    """Daily hours that start or end near the clock reading of a DST change, asked about
    shortly before or after it: gaps, repeated hours, windows jumped into or out of."""
    zone, change = draw(st.sampled_from(CHANGES))
    before = change.astimezone(ZoneInfo(zone))
    after = (change + timedelta(hours=1)).astimezone(ZoneInfo(zone))
    clock = draw(st.sampled_from([before, after]))
    around = (clock.hour * 60 + clock.minute) // 15 * 15 + draw(st.integers(-6, 6)) * 15
    length = draw(st.integers(1, 16)) * 15
    windows = tuple(Window(d, _quarter(around), _quarter(around + length)) for d in range(7))
    at = change + timedelta(minutes=draw(st.integers(-3 * 60, 2 * 60)), seconds=draw(seconds))
    return windows, zone, at


@st.composite
def general_cases(draw: st.DrawFn) -> Case:
    """Any hours, in a zone, within days of one of its DST changes or anywhere in 2025-2027."""
    if draw(st.booleans()):
        zone, change = draw(st.sampled_from(CHANGES))
        at = change + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))
    else:  # zones without DST too (UTC, Kathmandu)
        zone = draw(st.sampled_from(ZONES))
        at = draw(st.datetimes(datetime(2025, 1, 1), datetime(2028, 1, 1), timezones=st.just(UTC)))
    return draw(window_sets()), zone, at + timedelta(seconds=draw(seconds))


@settings(max_examples=1000, deadline=None)
@given(
    case=dst_cases() | general_cases(),
    holiday_offsets=st.lists(st.integers(-2, 14), max_size=4),
)
def test_it_never_skips_an_open_instant(case: Case, holiday_offsets: list[int]) -> None:
    windows, zone, at = case
    holidays = frozenset(at.date() + timedelta(days=k) for k in holiday_offsets)
    schedule = Schedule(windows, holidays, zone)
    result = next_open(schedule, at)
    if is_open(schedule, at):
        assert result is at
        return
    if result is not None:
        assert result > at
        assert result.tzinfo is UTC
        assert is_open(schedule, result)
        assert not is_open(schedule, result - TICK)
    for minute in range(3 * 60 + 1):  # bounded: the first three hours, minute by minute
        probe = at + timedelta(minutes=minute)
        if result is not None and probe >= result:
            break
        assert not is_open(schedule, probe), probe


@settings(max_examples=200, deadline=None)
@given(windows=window_sets(step=1, max_size=12))
def test_it_reads_back_what_it_writes(windows: tuple[Window, ...]) -> None:
    text = format_hours(windows)
    assert parse_hours(text) == windows
    assert format_hours(parse_hours(text.upper())) == text
