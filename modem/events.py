"""What a modem tells its owner, as plain values (turned from unsolicited results)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from modem.at.framing import Unsolicited
from modem.at.parse import Registration, parse_creg, parse_int, split_params
from modem.errors import ModemError
from modem.pdu import Deliver, StatusReport, Submit, decode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessageWaiting:
    """``+CMTI``/``+CDSI``: a message or report was stored; read it, commit it, delete it."""

    storage: str
    index: int


@dataclass(frozen=True)
class MessageReceived:
    """A received SMS-DELIVER, routed straight to us (``+CMT``) or read from storage."""

    message: Deliver
    storage: str | None = None
    index: int | None = None


@dataclass(frozen=True)
class ReportReceived:
    """An SMS-STATUS-REPORT, routed straight to us (``+CDS``) or read from storage."""

    report: StatusReport
    storage: str | None = None
    index: int | None = None


@dataclass(frozen=True)
class RegistrationChanged:
    registration: Registration


@dataclass(frozen=True)
class Unreadable:
    """A stored or routed PDU that does not decode; kept in storage for a person to look at."""

    reason: str
    storage: str | None = None
    index: int | None = None


Event = MessageWaiting | MessageReceived | ReportReceived | RegistrationChanged | Unreadable


def event_from_unsolicited(urc: Unsolicited) -> Event | None:
    """The event an unsolicited result stands for, or None for those we do not use."""
    try:
        if urc.name in ("+CMTI", "+CDSI"):
            params = split_params(urc.value)
            if len(params) < 2:
                return Unreadable(f"bad {urc.name}")
            return MessageWaiting(params[0] or "SM", parse_int(params[1], "index"))
        if urc.name in ("+CMT", "+CDS"):
            if urc.body is None:
                return Unreadable(f"{urc.name} without its PDU")
            length = parse_int(split_params(urc.value)[-1], "length")
            decoded = decode(urc.body, tpdu_length=length)
            return message_event(decoded, None, None)
        if urc.name == "+CREG":
            return RegistrationChanged(parse_creg(urc.value, unsolicited=True))
    except ModemError as exc:
        return Unreadable(f"{urc.name}: {exc}")
    return None


def message_event(
    decoded: Deliver | Submit | StatusReport, storage: str | None, index: int | None
) -> Event:
    if isinstance(decoded, Deliver):
        return MessageReceived(decoded, storage, index)
    if isinstance(decoded, StatusReport):
        return ReportReceived(decoded, storage, index)
    # A stored SMS-SUBMIT (a draft or sent copy on the SIM) is not something we received.
    return Unreadable("stored SMS-SUBMIT", storage, index)
