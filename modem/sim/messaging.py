"""The TS 27.005 commands of an emulated modem that configure, read and delete messages, in
PDU mode and in text mode; sending and writing are in ``sending``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from modem.sim.cmdline import Command
from modem.sim.commands import HANDLERS as _BASIC
from modem.sim.commands import Handler, Table, arg, from_te, int_arg, no_more_args, te_string
from modem.sim.listing import listing
from modem.sim.replies import (
    CMS_BAD_INDEX,
    CMS_BAD_PDU_PARAMETER,
    CMS_BAD_TEXT_PARAMETER,
    CMS_NO_ACK_EXPECTED,
    CMS_NOT_ALLOWED,
    CMS_NOT_SUPPORTED,
    AtFailure,
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
)

if TYPE_CHECKING:
    from modem.sim.engine import SimModem

HANDLERS: Table = {}
READ_MEMORIES = ("SM", "ME", "SR")
WRITE_MEMORIES = ("SM", "ME")


def sms_command(table: Table, *names: str, sim: bool = True) -> Callable[[Handler], Handler]:
    """Register a 27.005 command: it answers +CMS ERROR: 311 while the SIM wants its PIN."""

    def register(handler: Handler) -> Handler:
        for name in names:
            if name in _BASIC or name in table:
                raise RuntimeError(f"{name} registered twice")
            table[name] = (handler, "CMS" if sim else None)
        return handler

    return register


def _sms(*names: str, sim: bool = True) -> Callable[[Handler], Handler]:
    return sms_command(HANDLERS, *names, sim=sim)


def bad_parameter(modem: SimModem) -> AtFailure:
    """A bad parameter: 304 in PDU mode, 305 in text mode (TS 27.005 §3.2.5)."""
    return cms(CMS_BAD_PDU_PARAMETER if modem.settings.cmgf == 0 else CMS_BAD_TEXT_PARAMETER)


def _unsupported() -> AtFailure:
    return cms(CMS_NOT_SUPPORTED)


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
            raise bad_parameter(modem)
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
            raise bad_parameter(modem)
        number = from_te(modem, value.text, bad_parameter(modem))
        digits = number[1:] if number.startswith("+") else number
        if not (digits.isdigit() and 1 <= len(digits) <= 20):
            raise bad_parameter(modem)
        modem.smsc = number
    elif command.kind != "test":
        raise AtFailure()


@_sms("+CSMP", sim=False)
def _csmp(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        reply.info("+CSMP: " + ",".join(str(v) for v in modem.settings.csmp))
    elif command.kind == "set":
        no_more_args(command, 4, bad_parameter(modem))
        current = modem.settings.csmp
        modem.settings.csmp = [
            int_arg(command, i, 0, 255, bad_parameter(modem), default=current[i]) for i in range(4)
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
    no_more_args(command, 1, bad_parameter(modem))
    wanted = arg(command, 0)
    stat = REC_UNREAD
    if wanted is not None and text_mode:
        names = [*STAT_WORDS, "ALL"]
        if wanted.text.upper() not in names:
            raise bad_parameter(modem)
        stat = names.index(wanted.text.upper())
    elif wanted is not None:
        stat = int_arg(command, 0, 0, STAT_ALL, bad_parameter(modem))
    lines: list[str] = []
    for index, message in _read_memory(modem).items():
        if stat in (STAT_ALL, message.stat):
            lines += listing(modem, "+CMGL", index, message)
            if message.stat == REC_UNREAD:
                message.stat = REC_READ
    if lines:
        reply.info(*lines)


def index_arg(modem: SimModem, command: Command, memory: Memory) -> int:
    index = int_arg(command, 0, 0, 65535, bad_parameter(modem))
    if not memory.valid_index(index):
        raise cms(CMS_BAD_INDEX)
    return index


@_sms("+CMGR")
def _cmgr(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "test":
        return
    if command.kind != "set":
        raise AtFailure()
    no_more_args(command, 1, bad_parameter(modem))
    memory = _read_memory(modem)
    message = memory.get(index_arg(modem, command, memory))
    if message is None:
        raise cms(CMS_BAD_INDEX)
    reply.info(*listing(modem, "+CMGR", None, message))
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
    no_more_args(command, 2, bad_parameter(modem))
    flag = int_arg(command, 1, 0, 4, bad_parameter(modem), default=0)
    if flag:
        if arg(command, 0) is not None:  # <index> is ignored, but must still be a number
            int_arg(command, 0, 0, 65535, bad_parameter(modem))
        memory.delete_where(_DELETE_FLAGS[flag])
    else:
        # Deleting an empty record answers OK on the modems we know; the index must exist.
        memory.delete(index_arg(modem, command, memory))


@_sms("+CNMA", sim=False)
def _cnma(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    # Only AT+CSMS=1 makes the TA wait for acknowledgements (TS 27.005 §3.4.4).
    if command.kind == "test":
        return
    if not modem.ack_pending:
        raise cms(CMS_NO_ACK_EXPECTED)
    modem.ack_pending = False
