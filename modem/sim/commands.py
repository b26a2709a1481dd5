"""V.250 basic commands and the TS 27.007 commands of an emulated modem.

A handler gets the modem, the parsed command, the reply to fill and the time. It raises an
AtFailure for an error result. The table says which family of error a command answers
with while the SIM is locked (None: the command works without a SIM).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from modem.sim.cmdline import Arg, Command
from modem.sim.replies import (
    CME_BAD_PARAMETERS,
    CME_NOT_ALLOWED,
    CME_SIM_FAILURE,
    CME_SIM_PUK,
    CME_WRONG_PASSWORD,
    AtFailure,
    Reply,
    cme,
)
from modem.sim.settings import Settings

if TYPE_CHECKING:
    from modem.sim.engine import SimModem

Handler = Callable[["SimModem", Command, Reply, float], None]
Table = dict[str, tuple[Handler, Literal["CME", "CMS"] | None]]
HANDLERS: Table = {}
CHARSETS = ("IRA", "GSM", "UCS2")
LAC, CELL = "00A1", "0000B2C3"  # made-up location of the emulated cell


def handles(*names: str, sim: Literal["CME", "CMS"] | None = None) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = (handler, sim)
        return handler

    return register


def arg(command: Command, index: int) -> Arg | None:
    return command.args[index] if index < len(command.args) else None


def int_arg(
    command: Command,
    index: int,
    low: int,
    high: int,
    failure: AtFailure,
    default: int | None = None,
) -> int:
    """A numeric parameter in low..high; ``default`` when omitted (or ``failure`` if None)."""
    value = arg(command, index)
    if value is None:
        if default is None:
            raise failure
        return default
    if value.quoted or not value.text.isdigit() or len(value.text) > 6:
        raise failure
    number = int(value.text)
    if not low <= number <= high:
        raise failure
    return number


def no_more_args(command: Command, count: int, failure: AtFailure) -> None:
    if len(command.args) > count:
        raise failure


def te_string(modem: SimModem, text: str) -> str:
    """A string as the TE sees it under AT+CSCS (UCS2: hex of UTF-16, TS 27.007 §5.5)."""
    if modem.settings.cscs == "UCS2":
        return text.encode("utf-16-be").hex().upper()
    return text


def from_te(modem: SimModem, text: str, failure: AtFailure) -> str:
    if modem.settings.cscs != "UCS2":
        return text
    try:
        return bytes.fromhex(text).decode("utf-16-be")
    except ValueError:
        raise failure from None


def _bad() -> AtFailure:
    return cme(CME_BAD_PARAMETERS)


def _ok_values(command: Command, allowed: range) -> int:
    value = 0 if command.value is None else command.value
    if value not in allowed:
        raise AtFailure()
    return value


# -- V.250 basic commands ---------------------------------------------------------------


@handles("E")
def _echo(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    modem.settings.echo = _ok_values(command, range(2)) == 1


@handles("V")
def _verbose(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    modem.settings.verbose = _ok_values(command, range(2)) == 1


@handles("Q")
def _quiet(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    modem.settings.quiet = _ok_values(command, range(2)) == 1


@handles("Z", "&F")
def _reset(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    # Both load the factory profile here: this modem stores no user profile (AT&W is a no-op).
    _ok_values(command, range(1))
    modem.settings = Settings()


@handles("X", "L", "M", "&C", "&D", "&W", "&V", "H")
def _accepted(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    _ok_values(command, range(10))


@handles("I")
def _information(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    identity = modem.identity
    reply.info(
        f"Manufacturer: {identity.manufacturer}",
        f"Model: {identity.model}",
        f"Revision: {identity.revision}",
        f"IMEI: {identity.imei}",
        "+GCAP: +CGSM",
    )


def _s_register(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    register = int(command.name[1:])
    if register not in modem.settings.sregs:
        raise AtFailure()
    if command.kind == "read":
        reply.info(f"{modem.settings.sregs[register]:03d}")
    elif command.kind == "test":
        reply.info(f"S{register}: (0-255)")
    elif command.value is None or not 0 <= command.value <= 255:
        raise AtFailure()
    else:
        # S3/S4 would change the line terminator; this modem stores but does not honour them.
        modem.settings.sregs[register] = command.value


for _register in (0, 3, 4, 5, 6, 7, 8, 10):
    HANDLERS[f"S{_register}"] = (_s_register, None)


# -- identification (TS 27.007 §5) ------------------------------------------------------


def _plain_answer(value: Callable[[SimModem], str]) -> Handler:
    def handler(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
        if command.kind == "exec":
            reply.info(value(modem))
        elif command.kind != "test":
            raise AtFailure()

    return handler


handles("+CGMI", "+GMI")(_plain_answer(lambda m: m.identity.manufacturer))
handles("+CGMM", "+GMM")(_plain_answer(lambda m: m.identity.model))
handles("+CGMR", "+GMR")(_plain_answer(lambda m: m.identity.revision))
handles("+CGSN", "+GSN")(_plain_answer(lambda m: m.identity.imei))
handles("+CIMI", sim="CME")(_plain_answer(lambda m: m.identity.imsi))
handles("+GCAP")(_plain_answer(lambda m: "+GCAP: +CGSM"))


@handles("+CCID", "+ICCID", sim="CME")
def _iccid(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    # Not in 27.007; vendors answer "+CCID: <iccid>" (or +ICCID) to the exec or read form.
    if command.kind in ("exec", "read"):
        reply.info(f"{command.name}: {modem.identity.iccid}")
    elif command.kind != "test":
        raise AtFailure()


@handles("+CNUM", sim="CME")
def _own_number(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "test":
        return
    if command.kind != "exec":
        raise AtFailure()
    number = modem.identity.number
    if number:  # a SIM without MSISDN record answers just OK
        kind = 145 if number.startswith("+") else 129
        reply.info(f'+CNUM: "{te_string(modem, "")}","{te_string(modem, number)}",{kind}')


# -- settings ---------------------------------------------------------------------------


@handles("+CMEE")
def _cmee(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        reply.info(f"+CMEE: {modem.settings.cmee}")
    elif command.kind == "test":
        reply.info("+CMEE: (0-2)")
    elif command.kind == "set":
        no_more_args(command, 1, _bad())
        modem.settings.cmee = int_arg(command, 0, 0, 2, _bad(), default=0)
    else:
        modem.settings.cmee = 0  # 27.007 §9.1: "AT+CMEE" alone means 0 on most firmwares


@handles("+CSCS")
def _cscs(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        reply.info(f'+CSCS: "{modem.settings.cscs}"')
    elif command.kind == "test":
        reply.info("+CSCS: (" + ",".join(f'"{c}"' for c in CHARSETS) + ")")
    elif command.kind == "set":
        value = arg(command, 0)
        if value is None or value.text.upper() not in CHARSETS or len(command.args) > 1:
            raise _bad()
        modem.settings.cscs = value.text.upper()
    else:
        raise AtFailure()


# -- SIM (TS 27.007 §8.3) ---------------------------------------------------------------


@handles("+CPIN")
def _cpin(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "test":
        return
    if command.kind == "read":
        if modem.sim_state not in ("READY", "SIM PIN", "SIM PUK"):
            raise cme(CME_SIM_FAILURE)
        reply.info(f"+CPIN: {modem.sim_state}")
        return
    if command.kind != "set" or not 1 <= len(command.args) <= 2:
        raise _bad()
    given, new = arg(command, 0), arg(command, 1)
    if given is None or not given.text.isdigit():
        raise _bad()
    if modem.sim_state == "READY":
        raise cme(CME_NOT_ALLOWED)  # no password is asked for
    if modem.sim_state == "SIM PIN":
        if given.text != modem.pin:
            modem.pin_tries -= 1
            if modem.pin_tries <= 0:
                modem.sim_state = "SIM PUK"  # only a person with the PUK can help now
            raise cme(CME_WRONG_PASSWORD)
        modem.sim_state, modem.pin_tries = "READY", 3
    elif modem.sim_state == "SIM PUK":
        if new is None:
            raise cme(CME_SIM_PUK)
        if not (new.text.isdigit() and 4 <= len(new.text) <= 8):
            raise _bad()
        if given.text != modem.puk:
            modem.puk_tries -= 1
            if modem.puk_tries <= 0:
                modem.sim_state = "BLOCKED"
            raise cme(CME_WRONG_PASSWORD)
        modem.pin, modem.sim_state, modem.pin_tries, modem.puk_tries = new.text, "READY", 3, 10
    else:
        raise cme(CME_SIM_FAILURE)
    modem.refresh_registration(now)


# -- radio and network (TS 27.007 §7, §8) -----------------------------------------------


@handles("+CFUN")
def _cfun(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        reply.info(f"+CFUN: {modem.cfun}")
    elif command.kind == "test":
        reply.info("+CFUN: (0,1,4),(0-1)")
    elif command.kind == "set":
        no_more_args(command, 2, _bad())
        fun = int_arg(command, 0, 0, 4, _bad())
        reset = int_arg(command, 1, 0, 1, _bad(), default=0)
        if fun not in (0, 1, 4):
            raise _bad()
        modem.cfun = fun
        if reset:
            # The reboot comes after the OK; the host must set everything up again.
            reply.after.append(lambda at: modem.power_on(at))
        modem.refresh_registration(now)
    else:
        raise AtFailure()


@handles("+CSQ")
def _csq(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "test":
        reply.info("+CSQ: (0-31,99),(0-7,99)")
    elif command.kind == "exec":
        radio = modem.cfun == 1 and not modem.faults.on("no_network")
        reply.info(f"+CSQ: {modem.rssi if radio else 99},99")
    else:
        raise AtFailure()


def creg_urc(modem: SimModem) -> str:
    if modem.settings.creg == 2 and modem.registered:
        return f'+CREG: {modem.creg_stat},"{LAC}","{CELL}"'
    return f"+CREG: {modem.creg_stat}"


@handles("+CREG")
def _creg(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        n = modem.settings.creg
        location = f',"{LAC}","{CELL}"' if n == 2 and modem.registered else ""
        reply.info(f"+CREG: {n},{modem.creg_stat}{location}")
    elif command.kind == "test":
        reply.info("+CREG: (0-2)")
    elif command.kind == "set":
        no_more_args(command, 1, _bad())
        modem.settings.creg = int_arg(command, 0, 0, 2, _bad(), default=0)
    else:
        raise AtFailure()


def _operator(modem: SimModem, fmt: int) -> str:
    if fmt == 2:
        return modem.operator_numeric
    return te_string(modem, modem.operator if fmt == 0 else modem.operator[:8])


@handles("+COPS")
def _cops(modem: SimModem, command: Command, reply: Reply, now: float) -> None:
    if command.kind == "read":
        if modem.registered:
            fmt = modem.settings.cops_format
            reply.info(f'+COPS: {modem.cops_mode},{fmt},"{_operator(modem, fmt)}"')
        else:
            reply.info(f"+COPS: {modem.cops_mode}")
    elif command.kind == "test":
        found = (
            ""
            if modem.faults.on("no_network") or modem.cfun != 1
            else (
                f'(2,"{_operator(modem, 0)}","{_operator(modem, 1)}","{modem.operator_numeric}",0),'
            )
        )
        reply.info(f"+COPS: {found},(0-4),(0-2)")
    elif command.kind == "set":
        no_more_args(command, 4, _bad())
        mode = int_arg(command, 0, 0, 4, _bad())
        fmt = int_arg(command, 1, 0, 2, _bad(), default=modem.settings.cops_format)
        if mode in (1, 4):
            wanted = arg(command, 2)
            if wanted is None or wanted.text != _operator(modem, fmt):
                raise cme(CME_NOT_ALLOWED)
            mode = 1
        if mode != 3:
            modem.cops_mode = mode
        modem.settings.cops_format = fmt
        modem.refresh_registration(now)
    else:
        modem.cops_mode = 0
        modem.refresh_registration(now)
