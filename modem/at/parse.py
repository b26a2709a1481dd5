"""Parse the parameters of AT information lines (TS 27.007 / 27.005 syntax). Pure.

Real firmwares stray from the syntax (missing spaces, broken quotes, missing parentheses);
each parser accepts what real devices send and refuses what cannot be read unambiguously.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modem.errors import ProtocolError

_STORAGE = re.compile(r"[A-Z][A-Z0-9_]+")


def prefixed(lines: list[str], prefix: str) -> list[str]:
    """The text after ``prefix:`` of each line that carries it (``+CMGR:"REC READ"`` too)."""
    marker = prefix.upper() + ":"
    return [line[len(marker) :].strip() for line in lines if line.upper().startswith(marker)]


def first_prefixed(lines: list[str], prefix: str) -> str:
    values = prefixed(lines, prefix)
    if not values:
        raise ProtocolError(f"no {prefix} line in the response")
    return values[0]


def split_params(text: str) -> list[str]:
    """``2,1,"5E25","605F"`` → ``['2', '1', '5E25', '605F']``.

    Quoted strings may hold commas; a string left open at the end of the line is accepted
    (firmware truncation), but a quote in the middle of a bare value is not.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] == " ":
            i += 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                out.append(text[i + 1 :])
                return out
            out.append(text[i + 1 : end])
            i = end + 1
            while i < n and text[i] == " ":
                i += 1
            if i < n and text[i] != ",":
                raise ProtocolError("text after a quoted value")
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            value = text[i:end].strip()
            if '"' in value:
                raise ProtocolError("mismatched quotes")
            out.append(value)
            i = end
        if i >= n:
            return out
        i += 1  # the comma


def parse_int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ProtocolError(f"{what} is not a number") from None


def parse_ranges(text: str) -> list[set[int]]:
    """``(2),(0-1,3),(0,2)`` → ``[{2}, {0, 1, 3}, {0, 2}]`` (the ``=?`` answers)."""
    groups = re.findall(r"\(([^)]*)\)", text)
    if not groups:
        groups = text.split(",")
    out: list[set[int]] = []
    for group in groups:
        values: set[int] = set()
        for part in group.split(","):
            part = part.strip()
            if not part:
                continue
            low, _, high = part.partition("-")
            try:
                lo = int(low)
                hi = int(high) if high else lo
            except ValueError:
                raise ProtocolError("bad range list") from None
            values.update(range(lo, min(hi, lo + 64) + 1))
        out.append(values)
    return out


def parse_storages(text: str) -> list[set[str]]:
    """The ``+CPMS=?`` answer: the storages allowed for mem1, mem2 and mem3.

    Accepts the 27.005 form ``("SM","ME"),("SM","ME"),("SM","ME")``, the unbracketed
    ``"SM","SM","SM"`` and broken quoting such as ``(ME", "SR")``.
    """
    groups = re.findall(r"\(([^)]*)\)", text)
    if groups:
        return [set(_STORAGE.findall(group)) for group in groups]
    names = _STORAGE.findall(text)
    return [{name} for name in names]


@dataclass(frozen=True)
class Registration:
    status: str  # home | roaming | searching | denied | not_registered | unknown
    code: int
    lac: str | None = None
    cell: str | None = None

    @property
    def registered(self) -> bool:
        return self.status in ("home", "roaming")


# TS 27.007 §7.2 <stat>; 6/7 are "SMS only" registrations, which suit an SMS gateway.
_REG_STATUS = {
    0: "not_registered",
    1: "home",
    2: "searching",
    3: "denied",
    4: "unknown",
    5: "roaming",
    6: "home",
    7: "roaming",
}


def parse_creg(value: str, *, unsolicited: bool = False) -> Registration:
    """``+CREG: <n>,<stat>[,<lac>,<ci>[,<AcT>]]`` (or, unsolicited, without ``<n>``)."""
    params = split_params(value)
    if not unsolicited:
        params = params[1:]
    if not params or not params[0].isdigit():
        raise ProtocolError("bad +CREG")
    code = int(params[0])
    lac = params[1] or None if len(params) > 1 else None
    cell = params[2] or None if len(params) > 2 else None
    return Registration(_REG_STATUS.get(code, "unknown"), code, lac, cell)


@dataclass(frozen=True)
class Signal:
    rssi: int | None  # 0..31 as in TS 27.007 §8.5, None when the modem does not know
    dbm: int | None
    ber: int | None


def parse_csq(value: str) -> Signal:
    params = split_params(value)
    if len(params) < 2:
        raise ProtocolError("bad +CSQ")
    rssi, ber = parse_int(params[0], "rssi"), parse_int(params[1], "ber")
    known = 0 <= rssi <= 31
    # <rssi> 0 is -113 dBm or less, 31 is -51 dBm or more, in steps of 2 dB; 99 unknown.
    return Signal(
        rssi if known else None,
        -113 + 2 * rssi if known else None,
        ber if 0 <= ber <= 7 else None,
    )


def parse_cops(value: str) -> str | None:
    """``+COPS: 0,0,"Operator",7`` → ``Operator`` (None when not registered)."""
    params = split_params(value)
    return params[2] if len(params) > 2 and params[2] else None


def decode_maybe_ucs2(value: str) -> str:
    """Undo a UCS-2 hex answer (firmware left in ``AT+CSCS="UCS2"``) when that is what it is."""
    if len(value) >= 4 and len(value) % 4 == 0 and re.fullmatch(r"[0-9A-Fa-f]+", value):
        try:
            text = bytes.fromhex(value).decode("utf-16-be")
        except UnicodeDecodeError:
            return value
        if text.isprintable():
            return text
    return value


def parse_csca(value: str) -> str:
    params = split_params(value)
    number = decode_maybe_ucs2(params[0]) if params else ""
    if not re.fullmatch(r"\+?\d{3,20}", number):
        raise ProtocolError("no usable SMSC address")
    return number


@dataclass(frozen=True)
class ListedMessage:
    index: int
    stat: int
    length: int
    pdu: str


def parse_listing(lines: list[str], prefix: str = "+CMGL") -> list[ListedMessage]:
    """Pair ``+CMGL: <index>,<stat>,[<alpha>],<length>`` headers with their PDU lines."""
    out: list[ListedMessage] = []
    header: list[str] | None = None
    for line in lines:
        upper = line.upper()
        if upper.startswith(prefix + ":"):
            header = split_params(line[len(prefix) + 1 :])
            continue
        if header is None or not re.fullmatch(r"[0-9A-Fa-f]+", line):
            continue  # noise between the pairs, or a PDU line with no header
        try:
            if prefix == "+CMGR":
                index, stat, length = -1, _stat(header[0]), int(header[-1])
            else:
                index, stat, length = int(header[0]), _stat(header[1]), int(header[-1])
        except (ValueError, IndexError):
            header = None
            continue
        out.append(ListedMessage(index, stat, length, line))
        header = None
    return out


def _stat(value: str) -> int:
    # Some firmwares leave <stat> empty (gammu at-sms/39); treat that as "received read".
    return int(value) if value else 1
