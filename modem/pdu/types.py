"""The values the PDU codec hands out: decoded TPDUs and what the encoder produces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# TS 23.040 §9.1.2.5 type-of-number values that callers care about by name.
_KINDS = {0: "unknown", 1: "international", 2: "national", 5: "alphanumeric"}

UserDataHeader = tuple[tuple[int, bytes], ...]


@dataclass(frozen=True)
class Address:
    """A TP address. ``value`` is "+digits" for international numbers, the GSM-7 text of an
    alphanumeric sender, and otherwise the semi-octet digits as sent (may hold * # a b c)."""

    value: str
    ton: int
    npi: int

    @property
    def kind(self) -> str:
        return _KINDS.get(self.ton, "other")


@dataclass(frozen=True)
class Concat:
    """Concatenated-SM information element (TS 23.040 §9.2.3.24.1 / .8)."""

    reference: int
    total: int
    sequence: int
    bits: int


@dataclass(frozen=True)
class Deliver:
    """SMS-DELIVER (TP-MTI 0). For 8-bit data ``text`` is "": the octets are not characters,
    so they are only in ``data``."""

    smsc: str | None
    sender: Address
    timestamp: datetime
    pid: int
    dcs: int
    encoding: str
    text: str
    data: bytes
    concat: Concat | None
    port: tuple[int, int] | None
    message_class: int | None
    more_messages: bool
    reply_path: bool
    status_report_indication: bool
    udh: UserDataHeader


@dataclass(frozen=True)
class Submit:
    """SMS-SUBMIT (TP-MTI 1), as phones send it and SIMs store sent/unsent messages."""

    smsc: str | None
    recipient: Address
    reference: int
    pid: int
    dcs: int
    encoding: str
    text: str
    data: bytes
    concat: Concat | None
    port: tuple[int, int] | None
    message_class: int | None
    status_report_request: bool
    validity: timedelta | datetime | None
    reject_duplicates: bool
    udh: UserDataHeader


@dataclass(frozen=True)
class StatusReport:
    """SMS-STATUS-REPORT (TP-MTI 2); ``status`` is the raw TP-ST octet."""

    smsc: str | None
    reference: int
    recipient: Address
    service_centre_timestamp: datetime
    discharge_time: datetime
    status: int

    @property
    def outcome(self) -> str:
        # TS 23.040 §9.2.3.15: 0x00-0x1F the SM was delivered (or replaced), 0x20-0x3F the SC
        # is still trying; 0x40-0x7F it gave up. Values from 0x80 are reserved, and a receiver
        # is told to treat reserved values as a permanent error.
        if self.status < 0x20:
            return "delivered"
        if self.status < 0x40:
            return "pending"
        return "failed"


@dataclass(frozen=True)
class EncodedPdu:
    """One SMS-SUBMIT ready for ``AT+CMGS=<tpdu_length>`` followed by ``hex``."""

    hex: str
    tpdu_length: int


@dataclass(frozen=True)
class Segments:
    """How a text is cut into SMS parts, and in which alphabet."""

    encoding: str
    parts: tuple[str, ...]
