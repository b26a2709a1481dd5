"""Form and query inputs of the contacts, archive and audit pages, read strictly.

Each reader returns a typed value or raises ``FormError`` with words for the person; the
words never repeat what was typed (a number or a name must not come back in an error).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

from flask import current_app
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from web.panel.clock import day_start

MIN_YEAR, MAX_YEAR = 2000, 2999


class FormError(Exception):
    """Input a page cannot use; ``status`` is the HTTP status to answer with."""

    def __init__(self, text: str, status: int = 422) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


def field(form: MultiDict[str, str], name: str, label: str, limit: int) -> str:
    value = form.get(name, "")
    if len(value) > limit:
        raise FormError(f"{label} is at most {limit} characters")
    if "\x00" in value:
        raise FormError(f"{label} holds a character that cannot be stored")
    return value


def choice(form: MultiDict[str, str], name: str, label: str, allowed: Iterable[str]) -> str | None:
    value = form.get(name, "")
    if not value:
        return None
    if value not in tuple(allowed):
        raise FormError(f"{label}: choose one of the listed values")
    return value


def day(form: MultiDict[str, str], name: str, label: str, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD day in the box's zone (the times the panel shows); ``end`` gives the
    next midnight, so a range "from … to …" includes its last day."""
    value = form.get(name, "").strip()
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except ValueError:
        raise FormError(f"{label} is a date as YYYY-MM-DD") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise FormError(f"{label} lies between {MIN_YEAR} and {MAX_YEAR}")
    return day_start(parsed, end=end)


def check_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and until <= since:
        raise FormError("the end date is before the start date")


def time_cursor(at: datetime, item_id: str) -> str:
    raw = f"{at.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_time_cursor(value: str) -> tuple[datetime, str]:
    try:
        if len(value) > 200:
            raise ValueError(value)
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, item_id = raw.split("|")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or not MIN_YEAR <= when.year <= MAX_YEAR:
            raise ValueError(at)
        return when.astimezone(UTC), item_id[:64]
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise FormError("that page link is not one the panel gave out", 400) from None


def id_cursor(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > 64 or not value.isascii() or not value.replace("_", "").isalnum():
        raise FormError("that page link is not one the panel gave out", 400)
    return value


def number_cursor(value: str | None) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise FormError("that page link is not one the panel gave out", 400)
    return int(value)


def csv_download(lines: Iterator[str], filename: str) -> Response:
    """A streamed CSV attachment (UTF-8 with a byte-order mark, which spreadsheets need)."""

    def body() -> Iterator[str]:
        yield "\ufeff"
        yield from lines

    response = current_app.response_class(body(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
