"""What the settings page shows of each setting: the value in effect, where it comes from
(the config file, or the panel: by whom, when), the file's value a reset brings back, and
for a text what it costs to send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.config import Config
from gateway.settings import EDITABLE, Editable, changes, effective, names_of
from modem.pdu import split_text


@dataclass(frozen=True)
class Length:
    """A text as sent: GSM-7 fits 160 characters in one SMS (153 a part when cut); one
    character outside that alphabet makes it UCS-2, 70 (67 a part)."""

    characters: int
    encoding: str  # "gsm7" or "ucs2"
    parts: int

    @property
    def alphabet(self) -> str:
        return "GSM-7" if self.encoding == "gsm7" else "UCS-2"


@dataclass(frozen=True)
class Shown:
    item: Editable
    value: Any  # in effect
    file_value: Any
    set_at: datetime | None = None  # set in the panel, when
    set_by: str | None = None  # and by whom (a user name)
    length: Length | None = None

    @property
    def from_panel(self) -> bool:
        return self.set_at is not None


def length_of(text: str) -> Length:
    segments = split_text(text)
    return Length(len(text), segments.encoding, len(segments.parts))


def as_sent(item: Editable, text: str, config: Config) -> str:
    """The text with ``{business}`` filled as the box fills it; other placeholders (a
    signature's ``{agent}``) vary by message and are counted as written."""
    if "business" not in item.placeholders:
        return text
    return text.replace("{business}", config.consent.business_name)


def report(session: Session, config: Config) -> dict[str, Shown]:
    """Every editable setting of ``config`` (the file's) as in effect now, by key."""
    found = changes(session)
    names = names_of(session, found)
    in_effect = effective(config, {key: item.value for key, item in found.items()})
    shown = {}
    for key, item in EDITABLE.items():
        value = item.of(in_effect)
        length = None
        if isinstance(value, str) and item.placeholders and value:
            length = length_of(as_sent(item, value, in_effect))
        override = found.get(key)
        shown[key] = Shown(
            item,
            value,
            item.of(config),
            override.updated_at if override else None,
            names.get(override.updated_by or "", override.updated_by) if override else None,
            length,
        )
    return shown
