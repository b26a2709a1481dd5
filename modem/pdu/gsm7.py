"""GSM 7-bit default alphabet (TS 23.038 §6.2.1) and septet packing (§6.1.2.1.1).

The character tables come from the ``gsm0338`` codec; escape handling and packing are ours,
because a PDU needs septet values (and fill bits), not a byte string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import gsm0338  # noqa: F401  (importing it registers the "gsm03.38" codec)

from modem.errors import PduError

ESC = 0x1B


def _tables() -> tuple[tuple[str, ...], dict[int, str]]:
    basic = tuple(" " if code == ESC else bytes([code]).decode("gsm03.38") for code in range(128))
    extension: dict[int, str] = {}
    for code in range(128):
        try:
            char = bytes([ESC, code]).decode("gsm03.38")
        except UnicodeDecodeError:
            continue
        if len(char) == 1:
            extension[code] = char
    return basic, extension


BASIC, EXTENSION = _tables()
_ENCODE: dict[str, tuple[int, ...]] = {
    char: (code,) for code, char in enumerate(BASIC) if code != ESC
}
_ENCODE.update({char: (ESC, code) for code, char in EXTENSION.items()})


# The same tables as character classes, so whole texts are checked and measured in C.
_OUTSIDE = re.compile("[^" + "".join(re.escape(char) for char in _ENCODE) + "]")
_EXTENDED = re.compile("[" + "".join(re.escape(char) for char in EXTENSION.values()) + "]")


def can_encode(text: str) -> bool:
    return _OUTSIDE.search(text) is None


def septet_length(text: str) -> int:
    """Septets a text (already known to be encodable) takes: ESC pairs count two."""
    return len(text) + len(_EXTENDED.findall(text))


def char_septets(char: str) -> int:
    """Septets one character takes: 2 for an extension-table character (ESC + code)."""
    return len(_ENCODE[char])


def encode(text: str) -> list[int]:
    """Text to septet values; PduError if a character is outside the default alphabet."""
    septets: list[int] = []
    for char in text:
        codes = _ENCODE.get(char)
        if codes is None:
            raise PduError(f"character {char!r} is not in the GSM 7-bit default alphabet")
        septets.extend(codes)
    return septets


def decode(septets: Iterable[int]) -> str:
    chars: list[str] = []
    escaped = False
    for septet in septets:
        if escaped:
            escaped = False
            # TS 23.038 §6.2.1.1: an escaped code with no extension character is shown as
            # the default-alphabet character; ESC ESC (reserved for a further table) as a
            # space.
            if septet == ESC:
                chars.append(" ")
            else:
                chars.append(EXTENSION.get(septet, BASIC[septet]))
        elif septet == ESC:
            escaped = True
        else:
            chars.append(BASIC[septet])
    if escaped:
        # A receiver that cannot use an escape shows it as a space (TS 23.038 §6.2.1, 0x1B).
        chars.append(" ")
    return "".join(chars)


def pack(septets: list[int], fill_bits: int = 0) -> bytes:
    """Septets packed LSB first; ``fill_bits`` zero bits first align text after a UDH."""
    value = 0
    for index, septet in enumerate(septets):
        value |= (septet & 0x7F) << (fill_bits + 7 * index)
    return value.to_bytes((fill_bits + 7 * len(septets) + 7) // 8, "little")


def unpack(data: bytes, count: int) -> list[int]:
    """The first ``count`` septets of ``data``; PduError if the octets are too few."""
    if (7 * count + 7) // 8 > len(data):
        raise PduError(f"{count} septets need more than the {len(data)} octets present")
    value = int.from_bytes(data, "little")
    return [(value >> (7 * index)) & 0x7F for index in range(count)]
