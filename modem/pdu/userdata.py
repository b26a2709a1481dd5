"""TP-DCS interpretation (TS 23.038 §4) and TP-UDL/TP-UD with its header (TS 23.040 §9.2.3.16,
§9.2.3.24)."""

from __future__ import annotations

from dataclasses import dataclass

from modem.errors import PduError
from modem.pdu import gsm7, udh
from modem.pdu.types import UserDataHeader

DCS_GSM7 = 0x00
DCS_UCS2 = 0x08
_ALPHABETS = ("gsm7", "8bit", "ucs2", "gsm7")  # 23.038 §4: alphabet 11 is reserved
MAX_SEPTETS = 160
MAX_OCTETS = 140


def read_dcs(dcs: int) -> tuple[str, int | None]:
    """(encoding, message class) of a TP-DCS octet."""
    group = dcs >> 4
    if group < 0x8:
        # 00xx general data coding and 01xx automatic deletion share one layout.
        if dcs & 0x20:
            raise PduError(f"DCS {dcs:02X}: compressed text (TS 23.042) is not supported")
        message_class = dcs & 0x03 if dcs & 0x10 else None
        return _ALPHABETS[(dcs >> 2) & 0x03], message_class
    if group == 0xE:
        return "ucs2", None  # message waiting indication, store message, UCS-2 text
    if group == 0xF:
        return ("8bit" if dcs & 0x04 else "gsm7"), dcs & 0x03
    # 1100/1101 are message waiting groups with GSM-7 text; 1000-1011 are reserved, which
    # 23.038 §4 says a receiver shall treat as the GSM 7-bit default alphabet.
    return "gsm7", None


@dataclass(frozen=True)
class UserData:
    udh: UserDataHeader
    text: str
    data: bytes


def read_user_data(
    udl: int, rest: bytes, encoding: str, has_header: bool, *, allow_short: bool = True
) -> UserData:
    """Decode TP-UD from ``rest`` (the octets after TP-UDL; any beyond TP-UDL are ignored).

    A PDU that ends inside its user data gives the whole characters present: real captures
    hold such PDUs (gammu at-sms/41, smspdudecoder#8) and the text up to the cut is
    genuine. ``allow_short=False`` makes that an error instead.

    ``data`` is the user data octets after the UDH as sent: for GSM-7 still packed (starting
    with the fill bits), for UCS-2 and 8-bit the bytes a multipart reassembly joins.
    """
    limit = MAX_SEPTETS if encoding == "gsm7" else MAX_OCTETS
    if udl > limit:
        raise PduError(f"TP-UDL {udl} exceeds {limit} for {encoding}")
    size = (7 * udl + 7) // 8 if encoding == "gsm7" else udl
    short = size > len(rest)
    if short and not allow_short:
        raise PduError(f"TP-UDL needs {size} octets but only {len(rest)} are present")
    ud = rest[:size]
    if short and encoding == "gsm7":
        udl = len(ud) * 8 // 7
    header_size = 0
    elements: UserDataHeader = ()
    # A header needs its length octet; with TP-UDL 0 the UDHI bit has nothing to describe.
    if has_header and ud:
        header_size = 1 + ud[0]
        if header_size > len(ud):
            raise PduError(f"UDH length {ud[0]} is longer than the user data")
        elements = udh.parse_elements(ud[1:header_size])
    data = bytes(ud[header_size:])
    if encoding == "gsm7":
        # The text starts on the first septet boundary after the header (fill bits between).
        skip = (8 * header_size + 6) // 7
        if skip > udl:
            raise PduError("UDH is longer than TP-UDL septets")
        text = gsm7.decode(gsm7.unpack(ud, udl)[skip:])
    elif encoding == "ucs2":
        if len(data) % 2:
            if not short:
                raise PduError("UCS-2 user data has an odd number of octets")
            data = data[:-1]  # the cut fell inside a character
        # Phones send UTF-16 (astral characters as surrogate pairs). A pair split across
        # two parts shows as U+FFFD here; reassembling ``data`` first keeps it intact.
        text = data.decode("utf-16-be", errors="replace")
    else:
        text = ""
    return UserData(udh=elements, text=text, data=data)


def write_user_data(text: str, encoding: str, header: bytes = b"") -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) for one part; ``header`` is a complete UDH including its length."""
    if encoding == "gsm7":
        septets = gsm7.encode(text)
        skip = (8 * len(header) + 6) // 7
        fill = 7 * skip - 8 * len(header)
        udl = skip + len(septets)
        if udl > MAX_SEPTETS:
            raise PduError(f"{udl} septets do not fit one SMS")
        return udl, header + gsm7.pack(septets, fill)
    try:
        body = text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise PduError("text holds a lone surrogate; it has no UTF-16 form") from exc
    ud = header + body
    if len(ud) > MAX_OCTETS:
        raise PduError(f"{len(ud)} octets do not fit one SMS")
    return len(ud), ud
