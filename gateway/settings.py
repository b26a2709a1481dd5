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

No restart: the domain functions that use these settings (intake's keyword and away
replies, marketing's quiet hours, replies' signature, retention) call ``current`` with the
file's config. It re-reads the table's few rows at most every two seconds and rebuilds the
config only when they changed, so the worker's away replies carry a text saved in the
panel within seconds — at once in the process that saved it. Lines' opening hours live on
the lines themselves (``gateway.business_hours``), seen through routing's office snapshot.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, event, select
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
    _forget_after_commit(session)
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
    _forget_after_commit(session)
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
    checked: float  # the cache's clock
    generation: int


class SettingsCache:
    """The config in effect per file config, checked against the table at most every
    ``seconds``: the worker's next message after a change made by another process uses it
    within that time, and one made in this process at once (``forget``, after its commit).
    A check that finds the same rows keeps the config as it was: nothing is rebuilt."""

    def __init__(self, seconds: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[int, _Entry] = {}
        self._lock = threading.Lock()
        self._generation = 0

    def get(self, db: Session | Connection, config: Config) -> Config:
        """Passing a config this returned is the same as passing its file config, so a
        function may call it on whatever config it was handed."""
        now = self.clock()
        entry = self._entries.get(id(config))
        if entry is not None and config is not entry.base and config is not entry.result:
            entry = None  # an id reused by another object
        if (
            entry is not None
            and entry.generation == self._generation
            and now - entry.checked < self.seconds
        ):
            return entry.result
        generation = self._generation
        rows = _rows(db)
        base = config if entry is None else entry.base
        if entry is not None and entry.rows == rows:
            result = entry.result
        else:
            result = effective(base, _values(rows))
        fresh = _Entry(base, rows, result, now, generation)
        with self._lock:
            if len(self._entries) > 64:  # configs made by tests; a box has one
                self._entries.clear()
            self._entries[id(base)] = fresh
            self._entries[id(result)] = fresh
        return result

    def forget(self) -> None:
        """Check the table at the next ``get``: a change was committed in this process."""
        with self._lock:
            self._generation += 1


_cache = SettingsCache()


def current(db: Session | Connection, config: Config) -> Config:
    """The config in effect now: ``config`` (the file's) with the panel's values over it."""
    return _cache.get(db, config)


def _forget_after_commit(session: Session) -> None:
    if not session.info.get("settings_changed"):
        session.info["settings_changed"] = True
        event.listen(session, "after_commit", _forget, once=True)


def _forget(session: Session) -> None:
    session.info.pop("settings_changed", None)
    _cache.forget()


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
