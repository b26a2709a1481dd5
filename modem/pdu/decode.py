"""Decoding a 27.005 PDU-mode message (SMSC field + TPDU, TS 23.040 §9.2.2) into a value.

Pure: hex in, value out. Anything that is not a valid PDU raises PduError, never another
exception and never a half-decoded message.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from modem.errors import PduError
from modem.pdu import address, timestamp, udh
from modem.pdu.types import Address, Deliver, StatusReport, Submit
from modem.pdu.userdata import read_dcs, read_user_data

_HEX = re.compile(r"[0-9A-Fa-f]+")
# Modem output and capture files sometimes leave a quote or line ending around the hex.
_SURROUNDING = " \t\r\n\""


class _Octets:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, count: int, what: str) -> bytes:
        end = self.position + count
        if end > len(self.data):
            raise PduError(f"PDU ends before its {what} (needs {end} octets)")
        chunk = self.data[self.position : end]
        self.position = end
        return chunk

    def octet(self, what: str) -> int:
        return self.take(1, what)[0]

    def rest(self) -> bytes:
        return self.data[self.position :]

    def address(self, what: str) -> Address:
        length = self.octet(f"{what} length")
        toa = self.octet(f"{what} type")
        return address.decode_address(
            length, toa, self.take(address.address_octets(length), what)
        )


def decode(
    pdu: str, *, tpdu_length: int | None = None, has_smsc: bool | None = None
) -> Deliver | Submit | StatusReport:
    """Decode a PDU as +CMGR/+CMGL/+CMT/+CDS show it.

    ``tpdu_length`` is the <length> the modem printed (TPDU octets, SMSC field excluded).
    If the hex holds exactly that many octets the SMSC field was left out (some modems do
    so in +CDS); should that not decode, the standard layout is tried, because some
    modems count the SMSC length octet too. Octets after the user data are ignored, so a
    stale <length> (a longer or shorter count than the TPDU) does no harm.
    ``has_smsc`` forces the layout either way.
    """
    raw = _octets_of(pdu)
    if tpdu_length is not None and tpdu_length < 0:
        raise PduError(f"negative TPDU length {tpdu_length}")
    if has_smsc is None and tpdu_length is not None and len(raw) == tpdu_length:
        try:
            return _guarded(raw, has_smsc=False)
        except PduError as without:
            try:
                return _guarded(raw, has_smsc=True)
            except PduError:
                raise without from None
    return _guarded(raw, has_smsc=has_smsc is not False)


def _octets_of(pdu: str) -> bytes:
    if not isinstance(pdu, str):
        raise PduError(f"PDU must be a hex string, not {type(pdu).__name__}")
    text = pdu.strip(_SURROUNDING)
    if not _HEX.fullmatch(text):
        raise PduError("PDU is empty or holds characters other than hex digits")
    if len(text) % 2:
        raise PduError("PDU hex has an odd number of digits")
    return bytes.fromhex(text)


def _guarded(raw: bytes, *, has_smsc: bool) -> Deliver | Submit | StatusReport:
    try:
        return _decode(_Octets(raw), has_smsc)
    except PduError:
        raise
    except (IndexError, KeyError, ValueError, OverflowError) as exc:
        # Defence in depth: the parser checks every length, but a malformed PDU must never
        # surface as anything but PduError.
        raise PduError(f"malformed PDU: {exc}") from exc


def _decode(octets: _Octets, has_smsc: bool) -> Deliver | Submit | StatusReport:
    smsc = None
    if has_smsc:
        length = octets.octet("SMSC length")
        if length > address.MAX_SMSC_OCTETS:
            raise PduError(f"SMSC field of {length} octets exceeds {address.MAX_SMSC_OCTETS}")
        smsc = address.decode_smsc(octets.take(length, "SMSC address"))
    first = octets.octet("first octet")
    kind = first & 0x03
    if kind == 0:
        return _deliver(octets, first, smsc)
    if kind == 1:
        return _submit(octets, first, smsc)
    if kind == 2:
        return _status_report(octets, smsc)
    raise PduError("TP-MTI 3 is reserved")


def _deliver(octets: _Octets, first: int, smsc: str | None) -> Deliver:
    sender = octets.address("originating address")
    pid = octets.octet("TP-PID")
    dcs = octets.octet("TP-DCS")
    sent = timestamp.decode_timestamp(octets.take(7, "TP-SCTS"))
    encoding, message_class = read_dcs(dcs)
    udl = octets.octet("TP-UDL")
    ud = read_user_data(udl, octets.rest(), encoding, has_header=bool(first & 0x40))
    return Deliver(
        smsc=smsc,
        sender=sender,
        timestamp=sent,
        pid=pid,
        dcs=dcs,
        encoding=encoding,
        text=ud.text,
        data=ud.data,
        concat=udh.concat_of(ud.udh),
        port=udh.port_of(ud.udh),
        message_class=message_class,
        # TP-MMS is a "no more messages" flag: 0 means more are waiting at the SC.
        more_messages=not (first & 0x04),
        reply_path=bool(first & 0x80),
        status_report_indication=bool(first & 0x20),
        udh=ud.udh,
    )


def _submit(octets: _Octets, first: int, smsc: str | None) -> Submit:
    reference = octets.octet("TP-MR")
    recipient = octets.address("destination address")
    pid = octets.octet("TP-PID")
    dcs = octets.octet("TP-DCS")
    encoding, message_class = read_dcs(dcs)
    validity_format = (first >> 3) & 0x03
    validity: timedelta | datetime | None = None
    if validity_format == 2:
        validity = timestamp.decode_relative_validity(octets.octet("TP-VP"))
    elif validity_format == 3:
        validity = timestamp.decode_timestamp(octets.take(7, "TP-VP"))
    elif validity_format == 1:
        validity = timestamp.decode_enhanced_validity(octets.take(7, "TP-VP"))
    udl = octets.octet("TP-UDL")
    ud = read_user_data(udl, octets.rest(), encoding, has_header=bool(first & 0x40))
    return Submit(
        smsc=smsc,
        recipient=recipient,
        reference=reference,
        pid=pid,
        dcs=dcs,
        encoding=encoding,
        text=ud.text,
        data=ud.data,
        concat=udh.concat_of(ud.udh),
        port=udh.port_of(ud.udh),
        message_class=message_class,
        status_report_request=bool(first & 0x20),
        validity=validity,
        reject_duplicates=bool(first & 0x04),
        udh=ud.udh,
    )


def _status_report(octets: _Octets, smsc: str | None) -> StatusReport:
    reference = octets.octet("TP-MR")
    recipient = octets.address("recipient address")
    received = timestamp.decode_timestamp(octets.take(7, "TP-SCTS"))
    discharged = timestamp.decode_timestamp(octets.take(7, "TP-DT"))
    status = octets.octet("TP-ST")
    # TP-PI and the optional PID/DCS/UD that may follow carry nothing the gateway uses.
    return StatusReport(
        smsc=smsc,
        reference=reference,
        recipient=recipient,
        service_centre_timestamp=received,
        discharge_time=discharged,
        status=status,
    )
