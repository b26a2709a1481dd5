"""Quiet hours: the recipient's local time, DST nights, numbers that span several zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gateway.quiet_hours import (
    LOOKAHEAD,
    Window,
    is_allowed,
    local_day_bounds,
    next_allowed,
    zones_for,
)

NY = ("America/New_York",)
LONDON = ("Europe/London",)
LORD_HOWE = ("Australia/Lord_Howe",)
DAYTIME = Window()  # 08:00-21:00
US_605 = "+16055550123"  # South Dakota: Mountain and Central time
RUSSIAN_MOBILE = "+79161234567"  # a mobile range sold across all of Russia
TOLL_FREE = "+18005550123"
TICK = timedelta(microseconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_it_has_the_default_window() -> None:
    assert Window(time(8, 0), time(21, 0)) == DAYTIME
    assert not DAYTIME.wraps
    assert Window(time(22), time(6)).wraps


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (time(9), time(9), "equal"),
        ("08:00", time(21), "time of day"),
        (time(8, tzinfo=UTC), time(21), "local wall-clock"),
    ],
)
def test_it_refuses_a_bad_window(start: object, end: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Window(start, end)  # type: ignore[arg-type]


# --- zones of a number ----------------------------------------------------------------------


def test_it_finds_the_zone_of_a_number() -> None:
    assert zones_for("+12015550123") == ("America/New_York",)
    assert zones_for("+442079460000") == ("Europe/London",)


def test_it_finds_every_zone_of_a_us_number_that_spans_two() -> None:
    assert zones_for(US_605) == ("America/Denver", "America/North_Dakota/Center")


def test_it_finds_the_zones_of_a_nationwide_mobile_range() -> None:
    zones = zones_for(RUSSIAN_MOBILE)
    assert {"Europe/Bucharest", "Europe/Moscow", "Asia/Anadyr", "Asia/Kamchatka"} <= set(zones)
    assert len(zones) >= 10
    assert list(zones) == sorted(set(zones))


def test_it_gives_no_zone_for_an_unknown_number() -> None:
    assert zones_for("+447700900123") == ()  # Ofcom drama range: phonenumbers says Etc/Unknown


def test_it_refuses_what_is_not_a_number_without_repeating_it() -> None:
    with pytest.raises(ValueError, match=r"not an E\.164 phone number") as caught:
        zones_for("call 555 me")
    assert "555" not in str(caught.value)
    for bad in ("+1", "", "12015550123", None):
        with pytest.raises(ValueError, match=r"not an E\.164 phone number"):
            zones_for(bad)  # type: ignore[arg-type]


# --- the edges of the window ----------------------------------------------------------------


def test_it_allows_exactly_the_start_and_not_exactly_the_end() -> None:
    start = utc(2026, 6, 15, 12)  # 08:00 EDT
    end = utc(2026, 6, 16, 1)  # 21:00 EDT
    assert is_allowed(start, NY, DAYTIME)
    assert not is_allowed(start - TICK, NY, DAYTIME)
    assert is_allowed(end - TICK, NY, DAYTIME)
    assert not is_allowed(end, NY, DAYTIME)
    assert next_allowed(start, NY, DAYTIME) is start
    assert next_allowed(start - TICK, NY, DAYTIME) == start
    assert next_allowed(end, NY, DAYTIME) == utc(2026, 6, 16, 12)


def test_it_returns_the_same_instant_when_already_allowed() -> None:
    at = datetime(2026, 6, 15, 10, 30, tzinfo=ZoneInfo("America/New_York"))
    assert next_allowed(at, NY, DAYTIME) is at
    assert is_allowed(at, NY, DAYTIME)


def test_it_answers_in_utc_whatever_zone_the_question_was_in() -> None:
    at = datetime(2026, 6, 15, 22, 0, tzinfo=ZoneInfo("America/New_York"))
    result = next_allowed(at, NY, DAYTIME)
    assert result == utc(2026, 6, 16, 12)
    assert result is not None and result.tzinfo is UTC


# --- New York DST nights --------------------------------------------------------------------
# 2026-03-08: 02:00 EST (07:00 UTC) jumps to 03:00 EDT. 2026-11-01: 02:00 EDT (06:00 UTC)
# falls back to 01:00 EST, so 01:00-02:00 happens twice (05:00-06:00 and 06:00-07:00 UTC).


def test_it_opens_a_window_starting_in_the_spring_gap_at_the_end_of_the_gap() -> None:
    window = Window(time(2, 30), time(21))
    assert next_allowed(utc(2026, 3, 8, 5), NY, window) == utc(2026, 3, 8, 7)  # 03:00 EDT
    assert not is_allowed(utc(2026, 3, 8, 7) - TICK, NY, window)
    assert is_allowed(utc(2026, 3, 8, 7), NY, window)
    # the day after, 02:30 EDT exists again
    assert next_allowed(utc(2026, 3, 9, 5), NY, window) == utc(2026, 3, 9, 6, 30)


def test_it_closes_a_wrapping_window_before_the_spring_gap() -> None:
    window = Window(time(8), time(1, 30))
    assert is_allowed(utc(2026, 3, 8, 6, 30) - TICK, NY, window)  # 01:29:59 EST
    assert not is_allowed(utc(2026, 3, 8, 6, 30), NY, window)
    assert next_allowed(utc(2026, 3, 8, 6, 30), NY, window) == utc(2026, 3, 8, 12)  # 08:00 EDT


def test_it_closes_a_window_ending_in_the_spring_gap_when_the_gap_begins() -> None:
    window = Window(time(8), time(2, 30))
    assert is_allowed(utc(2026, 3, 8, 7) - TICK, NY, window)  # 01:59:59 EST
    assert not is_allowed(utc(2026, 3, 8, 7), NY, window)  # 03:00 EDT


def test_it_closes_at_the_first_of_two_repeated_ends_on_the_autumn_night() -> None:
    window = Window(time(8), time(1, 30))
    assert is_allowed(utc(2026, 11, 1, 5, 30) - TICK, NY, window)  # 01:29:59 EDT
    assert not is_allowed(utc(2026, 11, 1, 5, 30), NY, window)  # 01:30 EDT
    # 01:15 EST reads earlier than 01:30 on a clock, but the window has already closed.
    assert not is_allowed(utc(2026, 11, 1, 6, 15), NY, window)
    assert next_allowed(utc(2026, 11, 1, 5, 30), NY, window) == utc(2026, 11, 1, 13)  # 08:00 EST


def test_it_opens_at_the_second_of_two_repeated_starts_on_the_autumn_night() -> None:
    window = Window(time(1, 30), time(21))
    assert not is_allowed(utc(2026, 11, 1, 5, 45), NY, window)  # 01:45 EDT, the first pass
    assert next_allowed(utc(2026, 11, 1, 4), NY, window) == utc(2026, 11, 1, 6, 30)  # 01:30 EST
    assert next_allowed(utc(2026, 11, 2, 4), NY, window) == utc(2026, 11, 2, 6, 30)


def test_it_keeps_ordinary_hours_across_the_autumn_night() -> None:
    window = Window(time(2, 30), time(21))
    assert next_allowed(utc(2026, 11, 1, 4), NY, window) == utc(2026, 11, 1, 7, 30)  # 02:30 EST
    assert next_allowed(utc(2026, 10, 31, 4), NY, window) == utc(2026, 10, 31, 6, 30)  # EDT


# --- Europe/London --------------------------------------------------------------------------
# 2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 02:00 BST -> 01:00 GMT.


def test_it_follows_london_into_summer_time() -> None:
    assert not is_allowed(utc(2026, 3, 28, 21), LONDON, DAYTIME)  # 21:00 GMT
    assert next_allowed(utc(2026, 3, 28, 21), LONDON, DAYTIME) == utc(2026, 3, 29, 7)  # 08 BST
    assert next_allowed(utc(2026, 3, 29, 0), LONDON, Window(time(1, 30), time(21))) == utc(
        2026, 3, 29, 1
    )  # 01:30 does not exist that night: 02:00 BST


def test_it_follows_london_back_to_greenwich_time() -> None:
    assert not is_allowed(utc(2026, 10, 24, 20), LONDON, DAYTIME)  # 21:00 BST
    assert next_allowed(utc(2026, 10, 24, 20), LONDON, DAYTIME) == utc(2026, 10, 25, 8)


# --- a window past midnight -----------------------------------------------------------------


def test_it_handles_a_window_that_wraps_past_midnight() -> None:
    night = Window(time(22), time(6))
    assert not is_allowed(utc(2026, 1, 10, 22) - TICK, LONDON, night)
    assert is_allowed(utc(2026, 1, 10, 22), LONDON, night)
    assert is_allowed(utc(2026, 1, 11, 6) - TICK, LONDON, night)
    assert not is_allowed(utc(2026, 1, 11, 6), LONDON, night)
    assert next_allowed(utc(2026, 1, 11, 6), LONDON, night) == utc(2026, 1, 11, 22)
    assert next_allowed(utc(2026, 1, 11, 3), LONDON, night) == utc(2026, 1, 11, 3)
    # Saturday 22:00 GMT to Sunday 06:00 BST is only seven hours long.
    assert is_allowed(utc(2026, 3, 29, 5) - TICK, LONDON, night)
    assert not is_allowed(utc(2026, 3, 29, 5), LONDON, night)


# --- Lord Howe Island: a 30-minute DST shift ------------------------------------------------
# 2026-04-05 02:00 (+11) -> 01:30 (+10:30); 2026-10-04 02:00 (+10:30) -> 02:30 (+11).


def test_it_handles_the_half_hour_gap_on_lord_howe() -> None:
    window = Window(time(2, 10), time(21))
    assert next_allowed(utc(2026, 10, 3, 12), LORD_HOWE, window) == utc(2026, 10, 3, 15, 30)
    assert not is_allowed(utc(2026, 10, 3, 15, 30) - TICK, LORD_HOWE, window)
    assert next_allowed(utc(2026, 10, 4, 12), LORD_HOWE, window) == utc(2026, 10, 4, 15, 10)


def test_it_handles_the_half_hour_repeat_on_lord_howe() -> None:
    opening = Window(time(1, 40), time(21))
    assert not is_allowed(utc(2026, 4, 4, 14, 40), LORD_HOWE, opening)  # first 01:40 (+11)
    assert next_allowed(utc(2026, 4, 4, 12), LORD_HOWE, opening) == utc(2026, 4, 4, 15, 10)
    closing = Window(time(8), time(1, 45))
    assert is_allowed(utc(2026, 4, 4, 14, 45) - TICK, LORD_HOWE, closing)
    assert not is_allowed(utc(2026, 4, 4, 15), LORD_HOWE, closing)  # 01:30 (+10:30), again
    assert next_allowed(utc(2026, 4, 4, 15), LORD_HOWE, closing) == utc(2026, 4, 4, 21, 30)


# --- numbers in several zones ---------------------------------------------------------------


def test_it_uses_the_intersection_for_a_us_number_in_two_zones() -> None:
    zones = zones_for(US_605)
    # June: 08:00 MDT is 14:00 UTC, 21:00 CDT is 02:00 UTC.
    assert next_allowed(utc(2026, 6, 15, 13, 30), zones, DAYTIME) == utc(2026, 6, 15, 14)
    assert is_allowed(utc(2026, 6, 15, 13, 30), ("America/North_Dakota/Center",), DAYTIME)
    assert is_allowed(utc(2026, 6, 16, 2) - TICK, zones, DAYTIME)
    assert not is_allowed(utc(2026, 6, 16, 2), zones, DAYTIME)
    assert is_allowed(utc(2026, 6, 16, 2), ("America/Denver",), DAYTIME)


def test_it_finds_the_narrow_overlap_across_russia() -> None:
    zones = zones_for(RUSSIAN_MOBILE)
    # January: 08:00 in Bucharest (+2) is 06:00 UTC, 21:00 in Anadyr (+12) is 09:00 UTC.
    assert next_allowed(utc(2026, 1, 15, 0), zones, DAYTIME) == utc(2026, 1, 15, 6)
    assert is_allowed(utc(2026, 1, 15, 9) - TICK, zones, DAYTIME)
    assert next_allowed(utc(2026, 1, 15, 9), zones, DAYTIME) == utc(2026, 1, 16, 6)
    # July: Bucharest and Moscow are both +3, so the overlap is 05:00-09:00 UTC.
    assert next_allowed(utc(2026, 7, 15, 0), zones, DAYTIME) == utc(2026, 7, 15, 5)


def test_it_gives_up_when_the_zones_never_overlap() -> None:
    russia = zones_for(RUSSIAN_MOBILE)
    assert next_allowed(utc(2026, 1, 15, 0), russia, Window(time(10), time(18))) is None
    toll_free = zones_for(TOLL_FREE)  # Guam to Samoa to Newfoundland
    assert len(toll_free) > 20
    assert next_allowed(utc(2026, 7, 15, 12), toll_free, DAYTIME) == utc(2026, 7, 15, 22)
    assert not is_allowed(utc(2026, 7, 15, 23, 30), toll_free, DAYTIME)  # 21:00 in St John's
    assert next_allowed(utc(2026, 7, 15, 12), toll_free, Window(time(9), time(20))) is None


def test_it_uses_the_fallback_zone_when_the_number_has_none() -> None:
    at = utc(2026, 1, 15, 7)  # 07:00 in London, 16:00 in Tokyo
    assert next_allowed(at, (), DAYTIME, fallback_zone="Asia/Tokyo") is at
    assert next_allowed(at, (), DAYTIME, fallback_zone="Europe/London") == utc(2026, 1, 15, 8)
    assert next_allowed(at, (), DAYTIME) == utc(2026, 1, 15, 8)  # UTC by default
    assert is_allowed(at, (), DAYTIME, fallback_zone="Asia/Tokyo")
    assert not is_allowed(at, (), DAYTIME, fallback_zone="Europe/London")
    assert next_allowed(at, LONDON, DAYTIME, fallback_zone="Asia/Tokyo") == utc(2026, 1, 15, 8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: is_allowed(datetime(2026, 1, 1, 12), NY, DAYTIME), "aware datetime"),
        (lambda: next_allowed(datetime(2026, 1, 1, 12), NY, DAYTIME), "aware datetime"),
        (lambda: is_allowed(utc(2026, 1, 1), ("Mars/Olympus",), DAYTIME), "unknown time zone"),
        (lambda: next_allowed(utc(2026, 1, 1), (), DAYTIME, "Nowhere"), "unknown time zone"),
        (lambda: is_allowed(utc(2026, 1, 1), "Europe/London", DAYTIME), "not one name"),
        (lambda: local_day_bounds(datetime(2026, 1, 1), "UTC"), "aware datetime"),
        (lambda: local_day_bounds(utc(2026, 1, 1), "../etc/passwd"), "unknown time zone"),
    ],
)
def test_it_refuses_bad_input(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --- local days for the daily cap -----------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "zone", "start", "end"),
    [
        (utc(2026, 6, 15, 12), "America/New_York", utc(2026, 6, 15, 4), utc(2026, 6, 16, 4)),
        (utc(2026, 6, 16, 3), "America/New_York", utc(2026, 6, 15, 4), utc(2026, 6, 16, 4)),
        (utc(2026, 3, 8, 12), "America/New_York", utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),
        (utc(2026, 11, 1, 12), "America/New_York", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)),
        (utc(2026, 3, 29, 12), "Europe/London", utc(2026, 3, 29, 0), utc(2026, 3, 29, 23)),
        (utc(2026, 4, 4, 14), "Australia/Lord_Howe", utc(2026, 4, 4, 13), utc(2026, 4, 5, 13, 30)),
        # Cuba changes its clocks at midnight: on 8 March 00:00 never happens, on 1 November
        # it happens twice; the day starts at the end of the gap, or at the first midnight.
        (utc(2026, 3, 8, 12), "America/Havana", utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),
        (utc(2026, 11, 1, 5, 30), "America/Havana", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)),
        (utc(2026, 6, 15, 4), "America/New_York", utc(2026, 6, 15, 4), utc(2026, 6, 16, 4)),
    ],
)
def test_it_finds_the_local_day(at: datetime, zone: str, start: datetime, end: datetime) -> None:
    assert local_day_bounds(at, zone) == (start, end)


# --- properties over random instants, zones and windows -------------------------------------

POOL = [
    "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Havana",
    "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Kiritimati",
    "Pacific/Pago_Pago", "America/St_Johns", "Europe/Moscow", "Asia/Anadyr",
    "Africa/Casablanca", "America/Santiago", "Antarctica/Troll", "Pacific/Apia",
    "Europe/Dublin", "America/Sao_Paulo", "UTC", "America/Denver",
    "America/North_Dakota/Center", "Europe/Bucharest",
]  # fmt: skip
ALL_ZONES = sorted(available_timezones())

instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
times = st.times().map(lambda t: t.replace(microsecond=0))
windows = st.tuples(times, times).filter(lambda p: p[0] != p[1]).map(lambda p: Window(*p))
zone_sets = st.lists(
    st.sampled_from(POOL) | st.sampled_from(ALL_ZONES), min_size=0, max_size=4, unique=True
)


@settings(max_examples=300, deadline=None)
@given(at=instants, zones=zone_sets, window=windows, fractions=st.lists(st.floats(0, 1)))
def test_it_never_skips_an_allowed_instant(
    at: datetime, zones: list[str], window: Window, fractions: list[float]
) -> None:
    result = next_allowed(at, zones, window)
    if result is None:
        probes = [at + LOOKAHEAD * f for f in fractions]
    else:
        assert at <= result <= at + LOOKAHEAD
        assert is_allowed(result, zones, window)
        if result == at:
            return
        # timedelta * float rounds to the microsecond: keep the probes strictly before result
        probes = [at, result - TICK] + [
            min(at + (result - at) * f, result - TICK) for f in fractions
        ]
    for probe in probes:
        assert not is_allowed(probe, zones, window), probe


@settings(max_examples=300, deadline=None)
@given(at=instants, zone=st.sampled_from(POOL), window=windows)
def test_it_agrees_with_the_wall_clock_away_from_dst_changes(
    at: datetime, zone: str, window: Window
) -> None:
    tz = ZoneInfo(zone)
    offsets = {(at + timedelta(hours=h)).astimezone(tz).utcoffset() for h in range(-27, 28)}
    assume(len(offsets) == 1)
    wall = at.astimezone(tz).time().replace(tzinfo=None)
    if window.wraps:
        inside = wall >= window.start or wall < window.end
    else:
        inside = window.start <= wall < window.end
    assert is_allowed(at, [zone], window) == inside


@settings(max_examples=300, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(2015, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(POOL),
)
def test_it_puts_every_instant_in_its_local_day(at: datetime, zone: str) -> None:
    start, end = local_day_bounds(at, zone)
    assert start <= at < end
    assert timedelta(hours=22) <= end - start <= timedelta(hours=26)
    tz = ZoneInfo(zone)
    assert start.astimezone(tz).date() == at.astimezone(tz).date()
    assert (end - TICK).astimezone(tz).date() == at.astimezone(tz).date()
