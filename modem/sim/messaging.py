"""The TS 27.005 SMS commands of an emulated modem, in PDU mode and in text mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from modem.errors import PduError
from modem.pdu import Deliver, StatusReport, Submit, decode, encode_submit
from modem.sim.cmdline import Command
from modem.sim.commands import HANDLERS as _BASIC
from modem.sim.commands import Handler, Table, arg, from_te, int_arg, no_more_args, te_string
from modem.sim.faults import FAULT_SENDER
from modem.sim.pdus import decode_with_length, describe, text_mode_time, tpdu_length
from modem.sim.replies import (
    CMS_BAD_INDEX,
    CMS_BAD_PDU_PARAMETER,
    CMS_BAD_TEXT_PARAMETER,
    CMS_MEMORY_FULL,
    CMS_NO_ACK_EXPECTED,
    CMS_NO_NETWORK,
    CMS_NOT_ALLOWED,
    CMS_NOT_SUPPORTED,
    AtFailure,
    Entry,
    Hook,
    Reply,
    cms,
)
from modem.sim.storage import (
    REC_READ,
    REC_UNREAD,
    STAT_ALL,
    STAT_WORDS,
    STO_SENT,
    STO_UNSENT,
    Memory,
    SentPart,
    StoredMessage,
)

if TYPE_CHECKING:
    from modem.sim.engine import SimModem

HANDLERS: Table = {}
READ_MEMORIES = ("SM", "ME", "SR")
WRITE_MEMORIES = ("SM", "ME")
MAX_TPDU = 176  # TS 23.040: the longest SMS-SUBMIT TPDU (164 octets + a 12-octet TP-VP/UDH)


def _sms(*names: str, sim: bool = True) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            if name in _BASIC:
                raise RuntimeError(f"{name} registered twice")
            HANDLERS[name] = (handler, "CMS" if sim else None)
        return handler

    return register


def _bad(modem: SimModem) -> AtFailure:
    """A bad parameter: 304 in PDU mode, 305 in text mode (TS 27.005 §3.2.5)."""
    return cms(CMS_BAD_PDU_PARAMETER if modem.settings.cmgf == 0 else CMS_BAD_TEXT_PARAMETER)


def _unsupported() -> AtFailure:
    return cms(CMS_NOT_SUPPORTED)


def decode_pdu(pdu: str) -> Deliver | Submit | StatusReport:
    return decode(pdu, has_smsc=True)


# -- general configuration (TS 27.005 §3.2) ---------------------------------------------


@_sms("+CSMS", sim=False)
def _csms(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        reply.info(f"+CSMS: {modem.settings.csms},1,1,1")
    elif command.kind == "test":
        reply.info("+CSMS: (0,1)")
    elif command.kind == "set":
        no_more_args(command, 1, _unsupported())
        modem.settings.csms = int_arg(command, 0, 0, 1, _unsupported())
        reply.info("+CSMS: 1,1,1")
    else:
        raise AtFailure()


@_sms("+CMGF", sim=False)
def _cmgf(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        reply.info(f"+CMGF: {modem.settings.cmgf}")
    elif command.kind == "test":
        reply.info("+CMGF: (0,1)")
    elif command.kind == "set":
        no_more_args(command, 1, _unsupported())
        modem.settings.cmgf = int_arg(command, 0, 0, 1, _unsupported(), default=0)
    else:
        modem.settings.cmgf = 0


@_sms("+CPMS")
def _cpms(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    def listed(names: tuple[str, ...]) -> str:
        return "(" + ",".join(f'"{name}"' for name in names) + ")"

    if command.kind == "test":
        reply.info(
            f"+CPMS: {listed(READ_MEMORIES)},{listed(WRITE_MEMORIES)},{listed(WRITE_MEMORIES)}"
        )
        return
    chosen = modem.settings.cpms
    if command.kind == "set":
        if not 1 <= len(command.args) <= 3:
            raise _bad(modem)
        wanted = list(chosen)
        for position, value in enumerate(command.args):
            allowed = READ_MEMORIES if position == 0 else WRITE_MEMORIES
            if value is None or value.text.upper() not in allowed:
                raise cms(CMS_NOT_ALLOWED)
            wanted[position] = value.text.upper()
        modem.settings.cpms = chosen = wanted
    elif command.kind != "read":
        raise AtFailure()
    memories = [modem.memories[name] for name in chosen]
    if command.kind == "read":
        reply.info("+CPMS: " + ",".join(f'"{m.name}",{m.used},{m.total}' for m in memories))
    else:
        reply.info("+CPMS: " + ",".join(f"{m.used},{m.total}" for m in memories))


@_sms("+CSCA")
def _csca(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        kind = 145 if modem.smsc.startswith("+") else 129
        reply.info(f'+CSCA: "{te_string(modem, modem.smsc)}",{kind}')
    elif command.kind == "set":
        value = arg(command, 0)
        if value is None or len(command.args) > 2:
            raise _bad(modem)
        number = from_te(modem, value.text, _bad(modem))
        digits = number[1:] if number.startswith("+") else number
        if not (digits.isdigit() and 1 <= len(digits) <= 20):
            raise _bad(modem)
        modem.smsc = number
    elif command.kind != "test":
        raise AtFailure()


@_sms("+CSMP", sim=False)
def _csmp(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        reply.info("+CSMP: " + ",".join(str(v) for v in modem.settings.csmp))
    elif command.kind == "set":
        no_more_args(command, 4, _bad(modem))
        current = modem.settings.csmp
        modem.settings.csmp = [
            int_arg(command, i, 0, 255, _bad(modem), default=current[i]) for i in range(4)
        ]
    elif command.kind != "test":
        raise AtFailure()


@_sms("+CSDH", sim=False)
def _csdh(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    # Stored and answered; text-mode answers always use the short form of TS 27.005 §3.1.
    if command.kind == "read":
        reply.info(f"+CSDH: {modem.settings.csdh}")
    elif command.kind == "test":
        reply.info("+CSDH: (0,1)")
    elif command.kind == "set":
        modem.settings.csdh = int_arg(command, 0, 0, 1, _unsupported(), default=0)
    else:
        modem.settings.csdh = 0


@_sms("+CNMI", sim=False)
def _cnmi(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        reply.info("+CNMI: " + ",".join(str(v) for v in modem.settings.cnmi))
    elif command.kind == "test":
        reply.info("+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)")
    elif command.kind == "set":
        if not 1 <= len(command.args) <= 5:
            raise _unsupported()
        current = modem.settings.cnmi
        # An omitted parameter keeps its value (V.250 §5.3.1).
        values = [
            int_arg(command, i, 0, high, _unsupported(), default=current[i])
            for i, high in enumerate((3, 3, 2, 2, 1))
        ]
        if values[2] == 1:  # cell broadcast indications are not emulated
            raise _unsupported()
        modem.settings.cnmi = values
        if values[0] != 0:
            # TS 27.005 §3.4.1: the OK goes out first, then the buffer (unless <bfr>=1).
            discard = values[4] == 1
            reply.after.append(lambda at: modem.flush_urc_buffer(discard))
    else:
        raise AtFailure()


# -- reading and deleting (TS 27.005 §3.4, §3.5) ----------------------------------------


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


def _listing(modem: SimModem, prefix: str, index: int | None, message: StoredMessage) -> list[str]:
    lead = f"{prefix}: " + (f"{index}," if index is not None else "")
    if modem.settings.cmgf == 0:
        return [f"{lead}{message.stat},,{tpdu_length(message.pdu)}", message.pdu]
    header, has_body = _text_header(modem, message)
    lines = [f'{lead}"{STAT_WORDS[message.stat]}",{header}']
    return [*lines, _body(modem, message)] if has_body else lines


def _read_memory(modem: SimModem) -> Memory:
    return modem.memories[modem.settings.cpms[0]]


@_sms("+CMGL")
def _cmgl(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    text_mode = modem.settings.cmgf == 1
    if command.kind == "test":
        words = ",".join(f'"{w}"' for w in (*STAT_WORDS, "ALL"))
        reply.info(f"+CMGL: ({words})" if text_mode else "+CMGL: (0-4)")
        return
    if command.kind not in ("exec", "set"):
        raise AtFailure()
    no_more_args(command, 1, _bad(modem))
    wanted = arg(command, 0)
    stat = REC_UNREAD
    if wanted is not None and text_mode:
        names = [*STAT_WORDS, "ALL"]
        if wanted.text.upper() not in names:
            raise _bad(modem)
        stat = names.index(wanted.text.upper())
    elif wanted is not None:
        stat = int_arg(command, 0, 0, STAT_ALL, _bad(modem))
    lines: list[str] = []
    for index, message in _read_memory(modem).items():
        if stat in (STAT_ALL, message.stat):
            lines += _listing(modem, "+CMGL", index, message)
            if message.stat == REC_UNREAD:
                message.stat = REC_READ
    if lines:
        reply.info(*lines)


def _index(modem: SimModem, command: Command, memory: Memory) -> int:
    index = int_arg(command, 0, 0, 65535, _bad(modem))
    if not memory.valid_index(index):
        raise cms(CMS_BAD_INDEX)
    return index


@_sms("+CMGR")
def _cmgr(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "test":
        return
    if command.kind != "set":
        raise AtFailure()
    no_more_args(command, 1, _bad(modem))
    memory = _read_memory(modem)
    message = memory.get(_index(modem, command, memory))
    if message is None:
        raise cms(CMS_BAD_INDEX)
    reply.info(*_listing(modem, "+CMGR", None, message))
    if message.stat == REC_UNREAD:
        message.stat = REC_READ


# <delflag> of TS 27.005 §3.5.4: which <stat>s go.
_DELETE_FLAGS = {
    1: {REC_READ},
    2: {REC_READ, STO_SENT},
    3: {REC_READ, STO_SENT, STO_UNSENT},
    4: {REC_UNREAD, REC_READ, STO_SENT, STO_UNSENT},
}


@_sms("+CMGD")
def _cmgd(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    memory = _read_memory(modem)
    if command.kind == "test":
        used = ",".join(str(index) for index, _ in memory.items())
        reply.info(f"+CMGD: ({used}),(0-4)")
        return
    if command.kind != "set":
        raise AtFailure()
    no_more_args(command, 2, _bad(modem))
    flag = int_arg(command, 1, 0, 4, _bad(modem), default=0)
    if flag:
        if arg(command, 0) is not None:  # <index> is ignored, but must still be a number
            int_arg(command, 0, 0, 65535, _bad(modem))
        memory.delete_where(_DELETE_FLAGS[flag])
    else:
        # Deleting an empty record answers OK on the modems we know; the index must exist.
        memory.delete(_index(modem, command, memory))


# -- sending and writing (TS 27.005 §3.5) ------------------------------------------------


def _entry(modem: SimModem, command: Command, name: str, default_stat: int) -> Entry:
    if modem.settings.cmgf == 0:
        if command.kind != "set":
            raise _bad(modem)
        no_more_args(command, 2, _bad(modem))
        length = int_arg(command, 0, 1, MAX_TPDU, _bad(modem))
        stat = int_arg(command, 1, 0, 3, _bad(modem), default=default_stat)
        return Entry(name, True, length=length, stat=stat)  # type: ignore[arg-type]
    address, kind, stat = "", 129, default_stat
    if command.kind == "set":
        no_more_args(command, 3, _bad(modem))
        given = arg(command, 0)
        if given is None or not given.quoted:
            raise _bad(modem)
        address = from_te(modem, given.text, _bad(modem))
        kind = int_arg(
            command, 1, 128, 255, _bad(modem), default=145 if address[:1] == "+" else 129
        )
        status = arg(command, 2)
        if status is not None:
            if status.text.upper() not in STAT_WORDS:
                raise _bad(modem)
            stat = STAT_WORDS.index(status.text.upper())
    elif name == "CMGS" or command.kind != "exec":
        raise _bad(modem)
    return Entry(name, False, address=address, type_of_address=kind, stat=stat)  # type: ignore[arg-type]


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
    no_more_args(command, 3, _bad(modem))
    memory = modem.memories[modem.settings.cpms[1]]
    message = memory.get(_index(modem, command, memory))
    if message is None:
        raise cms(CMS_BAD_INDEX)
    if message.kind != "submit":
        raise cms(CMS_NOT_ALLOWED)
    submit = decode_pdu(message.pdu)
    assert isinstance(submit, Submit)
    override = arg(command, 1)
    recipient = from_te(modem, override.text, _bad(modem)) if override else submit.recipient.value
    _send(modem, reply, now, "+CMSS", submit, recipient, message.pdu)
    reply.on_emit.append(lambda at: setattr(message, "stat", STO_SENT))


@_sms("+CNMA", sim=False)
def _cnma(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    # Only AT+CSMS=1 makes the TA wait for acknowledgements (TS 27.005 §3.4.4).
    if command.kind == "test":
        return
    if not modem.ack_pending:
        raise cms(CMS_NO_ACK_EXPECTED)
    modem.ack_pending = False


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
                raise _bad(modem)
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
        raise _bad(modem)
    if entry.pdu_mode:
        pdu = typed.upper()
        try:
            return decode_with_length(pdu, entry.length), pdu
        except PduError:
            raise _bad(modem) from None
    text = from_te(modem, typed, _bad(modem))
    fo, _vp, _pid, _dcs = modem.settings.csmp
    try:
        parts = encode_submit(entry.address, text, request_status_report=bool(fo & 0x20), smsc=None)
    except PduError:
        raise _bad(modem) from None
    if len(parts) != 1:
        raise _bad(modem)  # text mode sends one SMS; a longer text does not fit
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


# -- indications (TS 27.005 §3.4.1) ------------------------------------------------------


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
