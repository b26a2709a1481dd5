"""Reading a PDU's hex into octets, and walking them with every length checked."""

from __future__ import annotations

import re

from modem.errors import PduError
from modem.pdu import address
from modem.pdu.types import Address
from modem.pdu.userdata import UserData, read_user_data

_HEX = re.compile(r"[0-9A-Fa-f]+")
# Modem output and capture files sometimes leave a quote or line ending around the hex.
_SURROUNDING = ' \t\r\n"'


def octets_of(pdu: str) -> bytes:
    if not isinstance(pdu, str):
        raise PduError(f"PDU must be a hex string, not {type(pdu).__name__}")
    text = pdu.strip(_SURROUNDING)
    if not _HEX.fullmatch(text):
        raise PduError("PDU is empty or holds characters other than hex digits")
    if len(text) % 2:
        raise PduError("PDU hex has an odd number of digits")
    return bytes.fromhex(text)


class Octets:
    """A cursor over the PDU. ``promised_tpdu`` is the TPDU length the modem announced, or
    None when nothing vouches for how many octets should have arrived."""

    def __init__(self, data: bytes, *, promised_tpdu: int | None) -> None:
        self.data = data
        self.position = 0
        self.promised_tpdu = promised_tpdu
        self.tpdu_start = 0

    def take(self, count: int, what: str) -> bytes:
        end = self.position + count
        if end > len(self.data):
            raise PduError(f"PDU ends before its {what} (needs {end} octets)")
        chunk = self.data[self.position : end]
        self.position = end
        return chunk

    def octet(self, what: str) -> int:
        return self.take(1, what)[0]

    def start_tpdu(self) -> None:
        self.tpdu_start = self.position

    def address(self, what: str) -> Address:
        length = self.octet(f"{what} length")
        toa = self.octet(f"{what} type")
        value = self.take(address.address_octets(length), what)
        return address.decode_address(length, toa, value)

    def user_data(self, encoding: str, has_header: bool) -> UserData:
        udl = self.octet("TP-UDL")
        # User data that stops short is only trusted as the modem's own (see decode()) when
        # at least the announced TPDU arrived; fewer octets mean the line was cut in transit.
        arrived = len(self.data) - self.tpdu_start
        complete = self.promised_tpdu is None or arrived >= self.promised_tpdu
        rest = self.data[self.position :]
        return read_user_data(udl, rest, encoding, has_header, allow_short=complete)
