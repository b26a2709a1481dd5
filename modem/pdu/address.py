"""Address fields: the SMSC field of 27.005 PDU mode and TP addresses (TS 23.040 §9.1.2.5)."""

from __future__ import annotations

import re

from modem.errors import PduError
from modem.pdu import gsm7
from modem.pdu.types import Address

# TS 23.040 §9.1.2.3: semi-octet values 10-14 are "*", "#", "a", "b", "c"; 15 fills the last
# semi-octet of an odd number of digits.
_BCD = "0123456789*#abc"
_FILLER = 0xF
_TON_INTERNATIONAL = 1
_TON_ALPHANUMERIC = 5
TOA_INTERNATIONAL = 0x91  # extension bit, international number, ISDN/E.164 plan
TOA_UNKNOWN = 0x81  # extension bit, unknown type, ISDN/E.164 plan
_TOA_ALPHANUMERIC = 0xD0  # extension bit, alphanumeric, unknown plan
# TS 23.040 §9.1.2.5: at most 20 digits; 11 GSM-7 characters fill the same 10 octets.
MAX_DIGITS = 20
MAX_NAME_SEPTETS = 11
# TS 24.011 §8.2.5.1/2: the RP address value is the type octet plus at most 10 octets.
MAX_SMSC_OCTETS = 11

_NUMBER = re.compile(r"(\+?)([0-9]{1,20})")


def decode_digits(octets: bytes, count: int | None = None) -> str:
    """Semi-octets low nibble first; ``count`` limits them, fillers are dropped."""
    nibbles = [nibble for octet in octets for nibble in (octet & 0x0F, octet >> 4)]
    if count is not None:
        nibbles = nibbles[:count]
    return "".join(_BCD[nibble] for nibble in nibbles if nibble != _FILLER)


def encode_digits(digits: str) -> bytes:
    nibbles = [_BCD.index(char) for char in digits]
    if len(nibbles) % 2:
        nibbles.append(_FILLER)
    return bytes(low | high << 4 for low, high in zip(nibbles[::2], nibbles[1::2], strict=True))


def decode_smsc(field: bytes) -> str | None:
    """The SMSC field without its length octet: type octet then BCD digits."""
    if len(field) > MAX_SMSC_OCTETS:
        raise PduError(f"SMSC address of {len(field)} octets exceeds {MAX_SMSC_OCTETS}")
    digits = decode_digits(field[1:])
    if not field or not digits:
        # Some phones store only the type octet: no SC address is known for the message.
        return None
    international = (field[0] >> 4) & 0x07 == _TON_INTERNATIONAL
    return "+" + digits if international else digits


def encode_smsc(smsc: str | None) -> bytes:
    """The SMSC field with its length octet; 00 lets the modem use the SIM's SC address."""
    if smsc is None:
        return b"\x00"
    toa, digits = _parse_number(smsc, "SMSC")
    body = bytes([toa]) + encode_digits(digits)
    return bytes([len(body)]) + body


def decode_address(length: int, toa: int, octets: bytes) -> Address:
    """A TP address from its length (in semi-octets), type octet and value octets."""
    ton, npi = (toa >> 4) & 0x07, toa & 0x0F
    if ton == _TON_ALPHANUMERIC:
        # The length counts semi-octets, so only whole septets within them are characters
        # (TS 23.040 §9.1.2.5): 6 semi-octets carry 3 septets, 13 carry 7.
        value = gsm7.decode(gsm7.unpack(octets, length * 4 // 7))
    else:
        value = decode_digits(octets, length)
        if ton == _TON_INTERNATIONAL and value:
            value = "+" + value
    return Address(value=value, ton=ton, npi=npi)


def address_octets(length: int) -> int:
    if length > MAX_DIGITS:
        raise PduError(f"address length {length} exceeds {MAX_DIGITS} semi-octets")
    return (length + 1) // 2


def encode_number(number: str) -> bytes:
    """A TP address for "+digits" (international) or digits (unknown type)."""
    toa, digits = _parse_number(number, "number")
    return bytes([len(digits), toa]) + encode_digits(digits)


def encode_sender(sender: str) -> bytes:
    """A TP originating address: a number, or an alphanumeric name of up to 11 septets."""
    if _NUMBER.fullmatch(sender):
        return encode_number(sender)
    septets = gsm7.encode(sender)
    if not septets or len(septets) > MAX_NAME_SEPTETS:
        raise PduError(f"alphanumeric sender must be 1-{MAX_NAME_SEPTETS} GSM-7 septets")
    semi_octets = (7 * len(septets) + 3) // 4
    return bytes([semi_octets, _TOA_ALPHANUMERIC]) + gsm7.pack(septets)


def _parse_number(number: str, what: str) -> tuple[int, str]:
    match = _NUMBER.fullmatch(number)
    if match is None:
        raise PduError(f"{what} {number!r} is not '+' and/or 1-{MAX_DIGITS} digits")
    plus, digits = match.groups()
    return (TOA_INTERNATIONAL if plus else TOA_UNKNOWN), digits
