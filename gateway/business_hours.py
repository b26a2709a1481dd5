"""Lines' opening hours and holidays as the panel sets them: each field checked on its own,
so the page can say which one is wrong, stored in the canonical form ``smsgw line hours``
stores, and audited by the field's name only. The worker's office snapshot
(``gateway.office.OfficeCache``) sees the change within its few seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.audit import Actor, audit, audit_events
from gateway.errors import NotFound
from gateway.hours import HoursError, parse_holidays, parse_hours
from gateway.models import Line
from gateway.settings import SettingsRefused
from gateway.teams import set_line_hours

FIELDS = ("hours", "holidays")


@dataclass(frozen=True)
class LastChange:
    at: datetime
    actor: str  # a user id


def save_line_hours(
    session: Session, line_id: str, hours: str, holidays: str, actor: Actor
) -> list[str]:
    """Store both fields, or neither when one is refused (``SettingsRefused`` by field).
    The fields that changed; the caller commits."""
    line = session.get(Line, line_id[:40])
    if line is None:
        raise NotFound("no line with that id")
    refused = {}
    for field, text, check in (
        ("hours", hours, parse_hours),
        ("holidays", holidays, parse_holidays),
    ):
        try:
            check(text)
        except HoursError as exc:
            refused[field] = str(exc)
    if refused:
        raise SettingsRefused(refused)
    before = {field: getattr(line, field) for field in FIELDS}
    set_line_hours(session, line.name, hours=hours, holidays=holidays)
    changed = [field for field in FIELDS if getattr(line, field) != before[field]]
    for field in changed:
        audit(session, actor, "settings.changed", line.id, f"lines.{field}")
    return changed


def last_change(session: Session, line_id: str) -> LastChange | None:
    """Who last set the line's hours in the panel (the command line leaves no trace)."""
    found = audit_events(session, action="settings.changed", subject=line_id, limit=1)
    return LastChange(found[0].at, found[0].actor) if found else None
