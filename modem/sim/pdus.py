"""The emulator's use of the PDU codec: checking what the host sends, describing what it stores."""

from __future__ import annotations

import re
from datetime import datetime

from modem.errors import PduError
from modem.pdu import Deliver, StatusReport, Submit, decode
from modem.sim.storage import StoredMessage

_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def tpdu_length(pdu: str) -> int:
    """Octets after the SMSC field: what +CMGL/+CMGR/+CMT/+CDS print as <length>."""
    if not _HEX.fullmatch(pdu):
        raise PduError("not an even number of hex digits")
    octets = len(pdu) // 2
    smsc_octets = 1 + int(pdu[:2], 16)
    if smsc_octets >= octets:
        raise PduError("PDU holds no TPDU after its SMSC field")
    return octets - smsc_octets


def decode_pdu(pdu: str) -> Deliver | Submit | StatusReport:
    """Decode a PDU as the modem stores it: with its SMSC field."""
    return decode(pdu, has_smsc=True)


def decode_with_length(pdu: str, announced: int) -> Deliver | Submit | StatusReport:
    """Decode what the host typed after ``AT+CMGS=<length>``; the SMSC field is mandatory
    in PDU mode (TS 27.005 §3.5.1; "00" for the default SMSC) and <length> must count
    exactly the TPDU octets."""
    if tpdu_length(pdu) != announced:
        raise PduError("the TPDU length does not match the announced <length>")
    return decode(pdu, has_smsc=True)


def describe(pdu: str, stat: int) -> StoredMessage:
    """A memory record for a PDU the modem stores or shows."""
    message = decode(pdu, has_smsc=True)
    if isinstance(message, Deliver):
        return StoredMessage(
            stat,
            pdu,
            "deliver",
            address=message.sender.value,
            text=message.text,
            encoding=message.encoding,
            timestamp=message.timestamp,
        )
    if isinstance(message, Submit):
        return StoredMessage(
            stat,
            pdu,
            "submit",
            address=message.recipient.value,
            text=message.text,
            encoding=message.encoding,
            reference=message.reference,
        )
    return StoredMessage(
        stat,
        pdu,
        "status-report",
        address=message.recipient.value,
        timestamp=message.service_centre_timestamp,
        reference=message.reference,
        status=message.status,
        discharge_time=message.discharge_time,
    )


def text_mode_time(moment: datetime | None) -> str:
    """TS 27.005 §3.3.1 time string ``yy/MM/dd,hh:mm:ss±zz`` (zz in quarter hours)."""
    if moment is None:
        return ""
    offset = moment.utcoffset()
    quarters = int(offset.total_seconds() // 900) if offset is not None else 0
    sign = "-" if quarters < 0 else "+"
    return f"{moment:%y/%m/%d,%H:%M:%S}{sign}{abs(quarters):02d}"
