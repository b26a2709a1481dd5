"""Who a modem is: manufacturer, model, IMEI, SIM identity and own number (TS 27.007 §5)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from modem.at.parse import split_params
from modem.errors import CmeError, CmsError, CommandError, ProtocolError

if TYPE_CHECKING:
    from modem.device import Modem


@dataclass(frozen=True)
class Identity:
    manufacturer: str | None
    model: str | None
    revision: str | None
    imei: str | None
    imsi: str | None
    iccid: str | None
    number: str | None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def read_identity(modem: Modem) -> Identity:
    return Identity(
        manufacturer=_plain(modem, "AT+CGMI", "+CGMI"),
        model=_plain(modem, "AT+CGMM", "+CGMM"),
        revision=_plain(modem, "AT+CGMR", "+CGMR"),
        imei=_digits(_plain(modem, "AT+CGSN", "+CGSN"), 14, 17),
        imsi=_digits(_plain(modem, "AT+CIMI", "+CIMI"), 6, 15),
        iccid=_iccid(modem),
        number=_own_number(modem),
    )


def _plain(modem: Modem, command: str, prefix: str) -> str | None:
    """An answer given either bare (``huawei``) or prefixed (``+CGMI: "huawei"``)."""
    try:
        lines = modem.command(command)
    except (CmeError, CmsError, CommandError):
        return None
    for line in lines:
        text = line.strip()
        if text.upper().startswith(prefix + ":"):
            text = text[len(prefix) + 1 :].strip()
        text = text.strip('"').strip()
        if text:
            return text[:64]
    return None


def _digits(value: str | None, low: int, high: int) -> str | None:
    if value is None:
        return None
    match = re.search(rf"\d{{{low},{high}}}", value)
    return match.group() if match else None


def _iccid(modem: Modem) -> str | None:
    # No standard command: 27.007 has none; vendors use +CCID, +ICCID or ^ICCID.
    for command, prefix in (("AT+CCID", "+CCID"), ("AT+ICCID", "+ICCID"), ("AT^ICCID?", "^ICCID")):
        value = _plain(modem, command, prefix)
        found = re.search(r"\d{18,20}[0-9F]?", value or "")
        if found:
            return found.group().rstrip("F")
    return None


def _own_number(modem: Modem) -> str | None:
    try:
        lines = modem.command("AT+CNUM")
    except (CmeError, CmsError, CommandError):
        return None
    for line in lines:
        if line.upper().startswith("+CNUM:"):
            try:
                params = split_params(line[6:])
            except ProtocolError:
                continue
            if len(params) > 1 and re.fullmatch(r"\+?\d{3,20}", params[1]):
                return params[1]
    return None
