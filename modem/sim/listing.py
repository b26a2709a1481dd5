"""How an emulated modem shows messages: +CMGL/+CMGR rows and +CMT/+CDS indications, in
PDU mode (<length> and hex) and in text mode (TS 27.005 §3.4.1, §3.4.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modem.sim.commands import te_string
from modem.sim.pdus import describe, text_mode_time, tpdu_length
from modem.sim.storage import REC_UNREAD, STAT_WORDS, StoredMessage

if TYPE_CHECKING:
    from modem.sim.engine import SimModem


def _body(modem: SimModem, message: StoredMessage) -> str:
    if message.encoding == "ucs2" or modem.settings.cscs == "UCS2":
        return message.text.encode("utf-16-be").hex().upper()
    return message.text


def _address(modem: SimModem, number: str) -> str:
    return te_string(modem, number)


def _report_fields(modem: SimModem, message: StoredMessage) -> str:
    kind = 145 if message.address.startswith("+") else 129
    return (
        f'6,{message.reference},"{_address(modem, message.address)}",{kind},'
        f'"{text_mode_time(message.timestamp)}","{text_mode_time(message.discharge_time)}",'
        f"{message.status}"
    )


def _text_header(modem: SimModem, message: StoredMessage) -> tuple[str, bool]:
    """Text-mode fields after <stat> and whether a body line follows (TS 27.005 §3.4.2)."""
    if message.kind == "status-report":
        return _report_fields(modem, message), False
    address = _address(modem, message.address)
    if message.kind == "deliver":
        return f'"{address}",,"{text_mode_time(message.timestamp)}"', True
    return f'"{address}",', True


def listing(modem: SimModem, prefix: str, index: int | None, message: StoredMessage) -> list[str]:
    lead = f"{prefix}: " + (f"{index}," if index is not None else "")
    if modem.settings.cmgf == 0:
        return [f"{lead}{message.stat},,{tpdu_length(message.pdu)}", message.pdu]
    header, has_body = _text_header(modem, message)
    lines = [f'{lead}"{STAT_WORDS[message.stat]}",{header}']
    return [*lines, _body(modem, message)] if has_body else lines


def cmt_lines(modem: SimModem, pdu: str) -> list[str]:
    if modem.settings.cmgf == 0:
        return [f"+CMT: ,{tpdu_length(pdu)}", pdu]
    message = describe(pdu, REC_UNREAD)
    address = _address(modem, message.address)
    return [f'+CMT: "{address}",,"{text_mode_time(message.timestamp)}"', _body(modem, message)]


def cds_lines(modem: SimModem, pdu: str) -> list[str]:
    if modem.settings.cmgf == 0:
        return [f"+CDS: {tpdu_length(pdu)}", pdu]
    return ["+CDS: " + _report_fields(modem, describe(pdu, REC_UNREAD))]
