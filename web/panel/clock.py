"""The panel's times are the box's local time (its time zone, as the dashboard's day and the
routing's business hours use), shown with the zone's abbreviation; forms read times and
days in that zone too. The machine-readable ``datetime`` attributes stay in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.compliance import box_zone


@cache
def zone() -> ZoneInfo:
    try:
        return ZoneInfo(box_zone())
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def zone_name() -> str:
    """What the forms call the zone ("Europe/Paris")."""
    return str(zone().key)


def local(value: datetime | str | None, seconds: bool = False) -> str:
    """A stored time (UTC; or its ISO 8601 text, as the API's views carry it) as the office
    reads it: "2026-12-06 09:42 CET"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    shown = aware.astimezone(zone())
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def from_local(value: datetime) -> datetime:
    """A time typed in a form (no zone: the box's) as an aware time; one with a zone as is."""
    return value.replace(tzinfo=zone()) if value.tzinfo is None else value


def day_start(day: date, *, end: bool = False) -> datetime:
    """The local midnight starting ``day`` (or ending it), in UTC."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone())
    return (start + timedelta(days=1) if end else start).astimezone(UTC)
