"""Building TPDUs (TS 23.040 §9.2.2): SMS-SUBMIT for sending, and SMS-DELIVER and
SMS-STATUS-REPORT for the modem emulator. Pure: values in, hex out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from modem.errors import PduError
from modem.pdu import address
from modem.pdu.segments import split_text
from modem.pdu.timestamp import encode_relative_validity, encode_timestamp
from modem.pdu.types import EncodedPdu
from modem.pdu.udh import concat_header
from modem.pdu.userdata import DCS_GSM7, DCS_UCS2, write_user_data

_MTI_DELIVER = 0x00
_MTI_SUBMIT = 0x01
_MTI_STATUS_REPORT = 0x02
_NO_MORE_MESSAGES = 0x04  # TP-MMS set: nothing else is waiting at the SC
_VPF_RELATIVE = 0x10
_STATUS_REPORT_FLAG = 0x20  # TP-SRR in a SUBMIT, TP-SRI in a DELIVER
_UDHI = 0x40
_PID_PLAIN = 0x00  # TS 23.040 §9.2.3.9: default store-and-forward short message


def _parts(text: str, encoding: str, concat_reference: int) -> Iterator[tuple[int, int, bytes]]:
    """(header flag, TP-DCS, TP-UDL || TP-UD) per part; a concat UDH once there are several."""
    if not isinstance(concat_reference, int):
        raise PduError("concat_reference must be an int")
    segments = split_text(text, encoding)
    dcs = DCS_GSM7 if segments.encoding == "gsm7" else DCS_UCS2
    total = len(segments.parts)
    for sequence, part in enumerate(segments.parts, start=1):
        header = concat_header(concat_reference, total, sequence) if total > 1 else b""
        udl, ud = write_user_data(part, segments.encoding, header)
        yield (_UDHI if header else 0), dcs, bytes([udl]) + ud


def _hex(smsc: str | None, tpdu: bytes) -> str:
    return (address.encode_smsc(smsc) + tpdu).hex().upper()


def encode_submit(
    recipient: str,
    text: str,
    *,
    request_status_report: bool = False,
    validity: timedelta | None = None,
    concat_reference: int = 0,
    encoding: str = "auto",
    smsc: str | None = None,
) -> list[EncodedPdu]:
    """One SMS-SUBMIT per part, TP-MR 0 (the modem fills in its own reference)."""
    destination = address.encode_number(recipient)
    address.encode_smsc(smsc)  # reject a bad SMSC before any part is built
    first = _MTI_SUBMIT | (_STATUS_REPORT_FLAG if request_status_report else 0)
    validity_field = b""
    if validity is not None:
        if not isinstance(validity, timedelta):
            raise PduError("validity must be a timedelta (a relative TP-VP)")
        validity_field = bytes([encode_relative_validity(validity)])
        first |= _VPF_RELATIVE
    encoded = []
    for header_flag, dcs, user_data in _parts(text, encoding, concat_reference):
        tpdu = (
            bytes([first | header_flag, 0])
            + destination
            + bytes([_PID_PLAIN, dcs])
            + validity_field
            + user_data
        )
        encoded.append(EncodedPdu(hex=_hex(smsc, tpdu), tpdu_length=len(tpdu)))
    return encoded


def encode_deliver(
    sender: str,
    text: str,
    *,
    timestamp: datetime,
    smsc: str | None = "+10000000000",
    concat_reference: int = 0,
    encoding: str = "auto",
    status_report_indication: bool = False,
) -> list[str]:
    """SMS-DELIVER hex (SMSC field included) per part, as a modem would show them."""
    originator = address.encode_sender(sender)
    scts = _timestamp_field(timestamp)
    address.encode_smsc(smsc)
    first = _MTI_DELIVER | _NO_MORE_MESSAGES
    if status_report_indication:
        first |= _STATUS_REPORT_FLAG
    return [
        _hex(smsc, bytes([first | flag]) + originator + bytes([_PID_PLAIN, dcs]) + scts + ud)
        for flag, dcs, ud in _parts(text, encoding, concat_reference)
    ]


def encode_status_report(
    reference: int,
    recipient: str,
    status: int,
    *,
    service_centre_timestamp: datetime,
    discharge_time: datetime,
    smsc: str | None = "+10000000000",
) -> str:
    """SMS-STATUS-REPORT hex (SMSC field included) for the message with TP-MR ``reference``."""
    for name, value in (("reference", reference), ("status", status)):
        if not isinstance(value, int) or not 0 <= value <= 0xFF:
            raise PduError(f"{name} must be an octet (0-255), not {value!r}")
    tpdu = (
        bytes([_MTI_STATUS_REPORT | _NO_MORE_MESSAGES, reference])
        + address.encode_number(recipient)
        + _timestamp_field(service_centre_timestamp)
        + _timestamp_field(discharge_time)
        + bytes([status])
    )
    return _hex(smsc, tpdu)


def _timestamp_field(moment: datetime) -> bytes:
    if not isinstance(moment, datetime):
        raise PduError("a TP time stamp must be a datetime")
    return encode_timestamp(moment)
