"""Decoding a 27.005 PDU-mode message (SMSC field + TPDU, TS 23.040 §9.2.2) into a value.

Pure: hex in, value out. Anything that is not a valid PDU raises PduError, never another
exception.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from modem.errors import PduError
from modem.pdu import address, timestamp, udh
from modem.pdu.reader import Octets, octets_of
from modem.pdu.types import Deliver, StatusReport, Submit
from modem.pdu.userdata import read_dcs

_UDHI = 0x40
Decoded = Deliver | Submit | StatusReport


def decode(
    pdu: str, *, tpdu_length: int | None = None, has_smsc: bool | None = None
) -> Deliver | Submit | StatusReport:
    """Decode a PDU as +CMGR/+CMGL/+CMT/+CDS show it.

    ``tpdu_length`` is the <length> the modem printed (TPDU octets, SMSC field excluded).
    If the hex holds exactly that many octets the SMSC field was left out (some modems do
    so in +CDS); should that not decode, the standard layout is tried, because some modems
    count the SMSC field too (gammu at-sms/41). ``has_smsc`` forces the layout.

    Octets after the user data are ignored, so a stale <length> does no harm. User data
    that ends before TP-UDL is met decodes to the whole characters present, unless
    ``tpdu_length`` promises more TPDU octets than arrived: then the line was cut on its
    way from the modem, and that is a PduError.
    """
    raw = octets_of(pdu)
    if tpdu_length is not None and (not isinstance(tpdu_length, int) or tpdu_length < 0):
        raise PduError(f"TPDU length must be a non-negative int, not {tpdu_length!r}")
    if has_smsc is None and tpdu_length is not None and len(raw) == tpdu_length:
        # The hex is exactly what the modem announced, so nothing was lost in transit.
        try:
            return _guarded(raw, has_smsc=False, promised_tpdu=None)
        except PduError as without_smsc:
            try:
                return _guarded(raw, has_smsc=True, promised_tpdu=None)
            except PduError:
                raise without_smsc from None
    return _guarded(raw, has_smsc=has_smsc is not False, promised_tpdu=tpdu_length)


def _guarded(raw: bytes, *, has_smsc: bool, promised_tpdu: int | None) -> Decoded:
    try:
        return _decode(Octets(raw, promised_tpdu=promised_tpdu), has_smsc)
    except PduError:
        raise
    except (IndexError, KeyError, ValueError, OverflowError) as exc:
        # Defence in depth: every length is checked, but a malformed PDU must never surface
        # as anything but PduError.
        raise PduError(f"malformed PDU: {exc}") from exc


def _decode(octets: Octets, has_smsc: bool) -> Decoded:
    smsc = None
    if has_smsc:
        length = octets.octet("SMSC length")
        if length > address.MAX_SMSC_OCTETS:
            raise PduError(f"SMSC field of {length} octets exceeds {address.MAX_SMSC_OCTETS}")
        smsc = address.decode_smsc(octets.take(length, "SMSC address"))
    octets.start_tpdu()
    first = octets.octet("first octet")
    kind = first & 0x03
    if kind == 0:
        return _deliver(octets, first, smsc)
    if kind == 1:
        return _submit(octets, first, smsc)
    if kind == 2:
        return _status_report(octets, smsc)
    raise PduError("TP-MTI 3 is reserved")


def _deliver(octets: Octets, first: int, smsc: str | None) -> Deliver:
    sender = octets.address("originating address")
    pid = octets.octet("TP-PID")
    dcs = octets.octet("TP-DCS")
    encoding, message_class = read_dcs(dcs)
    sent = timestamp.decode_timestamp(octets.take(7, "TP-SCTS"))
    ud = octets.user_data(encoding, has_header=bool(first & _UDHI))
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


def _submit(octets: Octets, first: int, smsc: str | None) -> Submit:
    reference = octets.octet("TP-MR")
    recipient = octets.address("destination address")
    pid = octets.octet("TP-PID")
    dcs = octets.octet("TP-DCS")
    encoding, message_class = read_dcs(dcs)
    validity: timedelta | datetime | None = None
    validity_format = (first >> 3) & 0x03  # TS 23.040 §9.2.3.3 TP-VPF
    if validity_format == 2:
        validity = timestamp.decode_relative_validity(octets.octet("TP-VP"))
    elif validity_format == 3:
        validity = timestamp.decode_timestamp(octets.take(7, "TP-VP"))
    elif validity_format == 1:
        validity = timestamp.decode_enhanced_validity(octets.take(7, "TP-VP"))
    ud = octets.user_data(encoding, has_header=bool(first & _UDHI))
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


def _status_report(octets: Octets, smsc: str | None) -> StatusReport:
    reference = octets.octet("TP-MR")
    recipient = octets.address("recipient address")
    received = timestamp.decode_timestamp(octets.take(7, "TP-SCTS"))
    discharged = timestamp.decode_timestamp(octets.take(7, "TP-DT"))
    status = octets.octet("TP-ST")
    # TP-PI and the optional PID/DCS/UD after it carry nothing the gateway uses.
    return StatusReport(
        smsc=smsc,
        reference=reference,
        recipient=recipient,
        service_centre_timestamp=received,
        discharge_time=discharged,
        status=status,
    )
