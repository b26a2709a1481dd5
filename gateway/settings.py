"""Settings changed in the panel, over the config file's, in effect without a restart.

Where a setting's value comes from, the last one winning:

1. the built-in default (``gateway.config_schema``);
2. the TOML file;
3. an ``SMSGW_*`` environment variable — 1 to 3 are read once at start-up;
4. a value set in the panel: a row of the ``settings`` table, read while running.

Resetting a setting in the panel deletes its row, so the file's value is back. Only the
settings in ``EDITABLE`` can be set there: what customers are sent, marketing's quiet
hours and retention. Paths, ports, the database and the modems stay in the file; changing
them means a restart anyway. A panel value is checked by the very rules that check the
file (``gateway.config.check_setting``), and checked again when read, so a value that a
newer version refuses falls back to the file's instead of stopping the box.

The processes see a change at their next unit of work: the domain functions that use
these settings (intake, marketing's quiet hours, replies, retention) call ``current`` with
the file's config. It reads the table's few rows and rebuilds the config only when they
changed — one small query, no clock, so the next away reply after a save has the new text.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.orm import Session

from gateway.audit import Actor, audit
from gateway.config import Config, ConfigError, check_setting
from gateway.config_schema import SECTIONS
from gateway.errors import InvalidInput
from gateway.models import Setting, User, utcnow

logger = logging.getLogger(__name__)

WHERE = "the panel"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class SettingRefused(InvalidInput):
    """A value the rules refuse; ``reason`` is for the person who typed it."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}")


class SettingsRefused(InvalidInput):
    """Every refused value of a form, by key; nothing of the form was saved."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(f"{key}: {why}" for key, why in reasons.items()))


@dataclass(frozen=True)
class Editable:
    """A setting the panel may change: its config field, and the placeholders a text fills."""

    key: str  # "section.field", as in the file
    label: str
    placeholders: tuple[str, ...] = ()

    @property
    def section(self) -> str:
        return self.key.partition(".")[0]

    @property
    def name(self) -> str:
        return self.key.partition(".")[2]

    @property
    def spec(self) -> dataclasses.Field[Any]:
        return {f.name: f for f in dataclasses.fields(SECTIONS[self.section])}[self.name]

    @property
    def kind(self) -> type:
        kind: type = typing.get_type_hints(SECTIONS[self.section])[self.name]
        return kind

    def of(self, config: Config) -> Any:
        return getattr(getattr(config, self.section), self.name)


_BUSINESS = ("business",)
EDITABLE = {
    item.key: item
    for item in (
        Editable("consent.business_name", "Business name"),
        Editable("inbox.away_reply", "Away reply", _BUSINESS),
        Editable("inbox.away_reply_hours", "Away reply at most once in (hours)"),
        Editable("inbox.silence_minutes", "No away reply after a person's reply within (minutes)"),
        Editable("inbox.signature", "Staff signature", ("agent", "business", "line")),
        Editable("consent.opt_out_reply", "STOP reply", _BUSINESS),
        Editable("consent.opt_in_reply", "START reply", _BUSINESS),
        Editable("consent.help_reply", "HELP reply", _BUSINESS),
        Editable("consent.quiet_start", "Marketing from (recipient's local time)"),
        Editable("consent.quiet_end", "Marketing until (recipient's local time)"),
        Editable("retention.body_days", "Message bodies kept (days; 0 keeps them)"),
        Editable("retention.consent_years", "Superseded consent evidence kept (years)"),
    )
}


@dataclass(frozen=True)
class Override:
    value: Any
    updated_at: datetime
    updated_by: str | None  # a user id


def parse(key: str, value: Any) -> Any:
    """``value`` as the config's loader would take it; a form's text is read as an
    environment variable's is. Raises SettingRefused."""
    item = EDITABLE.get(key)
    if item is None:
        raise SettingRefused(key, "is not a setting the panel can change")
    try:
        checked = check_setting(
            item.section, item.name, value, where=WHERE, text=isinstance(value, str)
        )
    except ConfigError as exc:
        raise SettingRefused(key, exc.reason) from None
    if item.placeholders:
        # A mistyped placeholder would reach customers as it is: "{busines}".
        for found in _PLACEHOLDER.findall(checked):
            if found not in item.placeholders:
                allowed = ", ".join("{" + name + "}" for name in item.placeholders)
                raise SettingRefused(key, f"the placeholders it may use are {allowed}")
    return checked


def save(
    session: Session, key: str, value: Any, actor: Actor, *, now: datetime | None = None
) -> Any:
    """Set ``key`` to ``value`` (checked; the caller commits) and audit it by name only."""
    checked = parse(key, value)
    now = now or utcnow()
    row = session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        session.add(row)
    row.value = json.dumps(checked)
    row.updated_at = now
    row.updated_by = actor.id
    audit(session, actor, "settings.changed", detail=key, now=now)
    return checked


def save_changed(
    session: Session, config: Config, submitted: Mapping[str, str], actor: Actor
) -> list[str]:
    """Save the submitted values that differ from those in effect, all or none: raises
    ``SettingsRefused`` with every refusal when one is refused. The keys saved."""
    in_effect = current(session, config)
    checked: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for key, value in submitted.items():
        try:
            checked[key] = parse(key, value)
        except SettingRefused as exc:
            refused[key] = exc.reason
    if refused:
        raise SettingsRefused(refused)
    changed = [key for key, value in checked.items() if value != EDITABLE[key].of(in_effect)]
    for key in changed:
        save(session, key, checked[key], actor)
    return changed


def reset(session: Session, key: str, actor: Actor) -> bool:
    """Back to the file's value; False when the panel had not set it."""
    if key not in EDITABLE:
        raise SettingRefused(key, "is not a setting the panel can change")
    deleted = session.execute(delete(Setting).where(Setting.key == key)).rowcount
    if not deleted:
        return False
    audit(session, actor, "settings.reset", detail=key)
    return True


def changes(session: Session) -> dict[str, Override]:
    """The values set in the panel and still valid, with who set them and when."""
    found = {}
    for row in session.scalars(select(Setting)):
        value = _decoded(row.key, row.value)
        if value is not _INVALID:
            found[row.key] = Override(value, row.updated_at, row.updated_by)
    return found


def overrides(db: Session | Connection) -> dict[str, Any]:
    """The values set in the panel, by key."""
    return _values(_rows(db))


def effective(config: Config, values: Mapping[str, Any]) -> Config:
    """``config`` with ``values`` (from ``overrides``) over it; ``config`` itself if none."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if key in EDITABLE:
            sections.setdefault(EDITABLE[key].section, {})[EDITABLE[key].name] = value
    if not sections:
        return config
    replaced = {
        name: dataclasses.replace(getattr(config, name), **fields)
        for name, fields in sections.items()
    }
    return dataclasses.replace(config, **replaced)


def names_of(session: Session, found: Mapping[str, Override]) -> dict[str, str]:
    """The names of the people who set ``found``, by user id."""
    ids = {item.updated_by for item in found.values() if item.updated_by}
    if not ids:
        return {}
    found = session.execute(select(User.id, User.name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in found}


# -- the effective config of a running process ----------------------------------------------

_INVALID = object()
_ROWS = select(Setting.key, Setting.value).order_by(Setting.key)


@dataclass(frozen=True)
class _Entry:
    base: Config  # the file's config
    rows: tuple[tuple[str, str], ...]
    result: Config


_entries: dict[int, _Entry] = {}
_entries_lock = threading.Lock()


def current(db: Session | Connection, config: Config) -> Config:
    """The config in effect now: ``config`` (the file's) with the panel's values over it.

    Passing a config this function returned gives the same as passing its file config, so
    a function may call it on whatever config it was handed.
    """
    rows = _rows(db)
    entry = _entries.get(id(config))
    if entry is not None and config is not entry.base and config is not entry.result:
        entry = None  # an id reused by another object
    if entry is not None and entry.rows == rows:
        return entry.result
    base = config if entry is None else entry.base
    fresh = _Entry(base, rows, effective(base, _values(rows)))
    with _entries_lock:
        if len(_entries) > 64:  # configs made by tests; a box has one
            _entries.clear()
        _entries[id(base)] = fresh
        _entries[id(fresh.result)] = fresh
    return fresh.result


def _rows(db: Session | Connection) -> tuple[tuple[str, str], ...]:
    return tuple((key, value) for key, value in db.execute(_ROWS))


def _values(rows: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    values = {}
    for key, text in rows:
        value = _decoded(key, text)
        if value is not _INVALID:
            values[key] = value
    return values


def _decoded(key: str, text: str) -> Any:
    if key not in EDITABLE:
        return _INVALID  # a setting a later version added, or one no longer editable
    try:
        return parse(key, json.loads(text))
    except (ValueError, SettingRefused):
        # The reason may quote the value, and a text may hold anything: the key alone.
        logger.warning("the panel's value of %s is refused by the rules: the file's is used", key)
        return _INVALID
