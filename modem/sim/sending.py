"""Sending and writing messages on an emulated modem (TS 27.005 §3.5.1-§3.5.3): the
``> `` prompt, the text that follows it, and what the network makes of a submission."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from modem.errors import PduError
from modem.pdu import Deliver, StatusReport, Submit, encode_submit
from modem.sim.cmdline import Command
from modem.sim.commands import Handler, Table, arg, from_te, int_arg, no_more_args
from modem.sim.faults import FAULT_SENDER
from modem.sim.messaging import bad_parameter, index_arg, sms_command
from modem.sim.pdus import decode_pdu, decode_with_length, describe
from modem.sim.replies import (
    CMS_BAD_INDEX,
    CMS_MEMORY_FULL,
    CMS_NO_NETWORK,
    CMS_NOT_ALLOWED,
    AtFailure,
    Entry,
    Hook,
    Reply,
    cms,
)
from modem.sim.storage import STAT_WORDS, STO_SENT, STO_UNSENT, SentPart

if TYPE_CHECKING:
    from modem.sim.engine import SimModem

HANDLERS: Table = {}
MAX_TPDU = 176  # TS 23.040: the longest SMS-SUBMIT TPDU (164 octets + a 12-octet TP-VP/UDH)


def _sms(*names: str) -> Callable[[Handler], Handler]:
    return sms_command(HANDLERS, *names)


def _entry(
    modem: SimModem, command: Command, name: Literal["CMGS", "CMGW"], default_stat: int
) -> Entry:
    if modem.settings.cmgf == 0:
        if command.kind != "set":
            raise bad_parameter(modem)
        no_more_args(command, 2, bad_parameter(modem))
        length = int_arg(command, 0, 1, MAX_TPDU, bad_parameter(modem))
        stat = int_arg(command, 1, 0, 3, bad_parameter(modem), default=default_stat)
        return Entry(name, True, length=length, stat=stat)
    address, kind, stat = "", 129, default_stat
    if command.kind == "set":
        no_more_args(command, 3, bad_parameter(modem))
        given = arg(command, 0)
        if given is None or not given.quoted:
            raise bad_parameter(modem)
        address = from_te(modem, given.text, bad_parameter(modem))
        kind = int_arg(
            command, 1, 128, 255, bad_parameter(modem), default=145 if address[:1] == "+" else 129
        )
        status = arg(command, 2)
        if status is not None:
            if status.text.upper() not in STAT_WORDS:
                raise bad_parameter(modem)
            stat = STAT_WORDS.index(status.text.upper())
    elif name == "CMGS" or command.kind != "exec":
        raise bad_parameter(modem)
    return Entry(name, False, address=address, type_of_address=kind, stat=stat)


@_sms("+CMGS")
def _cmgs(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "test":
        return
    reply.entry = _entry(modem, command, "CMGS", STO_UNSENT)
    fault = modem.faults.get("urc_during_send")
    if fault is not None and fault["where"] == "prompt":
        modem.faults.consume("urc_during_send")
        reply.after.append(_fault_message(modem))


@_sms("+CMGW")
def _cmgw(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "test":
        return
    reply.entry = _entry(modem, command, "CMGW", STO_UNSENT)


@_sms("+CMSS")
def _cmss(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "test":
        return
    if command.kind != "set":
        raise AtFailure()
    no_more_args(command, 3, bad_parameter(modem))
    memory = modem.memories[modem.settings.cpms[1]]
    message = memory.get(index_arg(modem, command, memory))
    if message is None:
        raise cms(CMS_BAD_INDEX)
    if message.kind != "submit":
        raise cms(CMS_NOT_ALLOWED)
    submit = decode_pdu(message.pdu)
    assert isinstance(submit, Submit)
    override = arg(command, 1)
    recipient = submit.recipient.value
    if override is not None:
        recipient = from_te(modem, override.text, bad_parameter(modem))
    _send(modem, reply, now, "+CMSS", submit, recipient, message.pdu)
    reply.on_emit.append(lambda at: setattr(message, "stat", STO_SENT))


def _fault_message(modem: SimModem) -> Hook:
    def arrive(at: float) -> None:
        modem.inject(FAULT_SENDER, "urc during send", now=at)

    return arrive


def finish_entry(modem: SimModem, entry: Entry, now: float) -> Reply:
    """The host ended the message with Ctrl-Z: send or store it."""
    reply = Reply()
    try:
        submit, pdu = _entered_message(modem, entry)
        if entry.command == "CMGS":
            if not isinstance(submit, Submit):
                raise bad_parameter(modem)
            _send(modem, reply, now, "+CMGS", submit, submit.recipient.value, pdu)
        else:
            memory = modem.memories[modem.settings.cpms[1]]
            index = memory.store(describe(pdu, entry.stat))
            if index is None:
                raise cms(CMS_MEMORY_FULL)
            reply.info(f"+CMGW: {index}")
    except AtFailure as failure:
        reply = Reply(final=failure.result(modem.settings.cmee), delay=reply.delay)
    return reply


def _entered_message(modem: SimModem, entry: Entry) -> tuple[Deliver | Submit | StatusReport, str]:
    typed = entry.buffer.decode("latin-1")
    if entry.overflow:
        raise bad_parameter(modem)
    if entry.pdu_mode:
        pdu = typed.upper()
        try:
            return decode_with_length(pdu, entry.length), pdu
        except PduError:
            raise bad_parameter(modem) from None
    text = from_te(modem, typed, bad_parameter(modem))
    fo, _vp, _pid, _dcs = modem.settings.csmp
    try:
        parts = encode_submit(entry.address, text, request_status_report=bool(fo & 0x20), smsc=None)
    except PduError:
        raise bad_parameter(modem) from None
    if len(parts) != 1:
        raise bad_parameter(modem)  # text mode sends one SMS; a longer text does not fit
    return decode_pdu(parts[0].hex), parts[0].hex


def _send(
    modem: SimModem,
    reply: Reply,
    now: float,
    prefix: str,
    submit: Submit,
    recipient: str,
    pdu: str,
) -> None:
    if not modem.registered:
        raise cms(CMS_NO_NETWORK)
    delay_fault = modem.faults.get("send_delay")
    reply.delay = delay_fault["seconds"] if delay_fault else modem.send_delay
    rejection = modem.faults.consume("cms_error")
    reference = modem.allocate_reference()  # the attempt used a TP-MR even if it fails
    if rejection is not None:
        raise cms(rejection["code"])
    urc = modem.faults.get("urc_during_send")
    if urc is not None and urc["where"] == "result":
        modem.faults.consume("urc_during_send")
        reply.on_emit.append(_fault_message(modem))

    def record(at: float) -> None:
        modem.record_sent(
            SentPart(
                reference=reference,
                recipient=recipient,
                text=submit.text,
                encoding=submit.encoding,
                concat=submit.concat,
                status_report_request=submit.status_report_request,
                pdu=pdu,
                at=at,
                sent_at=modem.wall_clock(),
            ),
            at,
        )

    reply.on_emit.append(record)
    reply.info(f"{prefix}: {reference}")
