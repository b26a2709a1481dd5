"""Cutting a text into SMS parts (TS 23.040 §9.2.3.24.1, TS 23.038 §6.2.1)."""

from __future__ import annotations

import re
from collections.abc import Callable

from modem.errors import PduError
from modem.pdu import gsm7
from modem.pdu.types import Segments

# One SMS carries 140 octets: 160 septets or 70 UTF-16 code units. A multipart message
# spends 6 octets of each part on the concatenation UDH: 7 septets (with a fill bit) or
# 3 code units, leaving 153 and 67.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# The 8-bit concatenation element counts parts in one octet.
MAX_PARTS = 255
ENCODINGS = ("auto", "gsm7", "ucs2")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def choose_encoding(text: str, encoding: str = "auto") -> str:
    if encoding not in ENCODINGS:
        raise PduError(f"encoding must be one of {ENCODINGS}, not {encoding!r}")
    if _SURROGATE.search(text):
        raise PduError("text holds a lone surrogate, which no SMS alphabet can carry")
    if encoding == "gsm7" and not gsm7.can_encode(text):
        raise PduError("text has characters outside the GSM 7-bit default alphabet")
    if encoding == "auto":
        # A single character outside GSM-7 forces UCS-2 for the whole message, which
        # halves what fits in a part.
        return "gsm7" if gsm7.can_encode(text) else "ucs2"
    return encoding


def _ucs2_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1  # astral characters are a UTF-16 surrogate pair


def _ucs2_length(text: str) -> int:
    return len(text) + len(_ASTRAL.findall(text))


def _cut(
    text: str,
    cost: Callable[[str], int],
    length: Callable[[str], int],
    single: int,
    per_part: int,
) -> tuple[str, ...]:
    if length(text) <= single:
        return (text,)
    parts: list[str] = []
    start, used = 0, 0
    for index, char in enumerate(text):
        size = cost(char)
        # Whole characters only: an ESC pair or a surrogate pair never straddles two parts.
        if used + size > per_part:
            parts.append(text[start:index])
            start, used = index, 0
        used += size
    parts.append(text[start:])
    if len(parts) > MAX_PARTS:
        raise PduError(f"text needs {len(parts)} parts; at most {MAX_PARTS} can be joined")
    return tuple(parts)


def split_text(text: str, encoding: str = "auto") -> Segments:
    """The parts ``text`` is sent as; an empty text is one empty part."""
    chosen = choose_encoding(text, encoding)
    if chosen == "gsm7":
        parts = _cut(text, gsm7.char_septets, gsm7.septet_length, GSM7_SINGLE, GSM7_PART)
        return Segments("gsm7", parts)
    return Segments("ucs2", _cut(text, _ucs2_units, _ucs2_length, UCS2_SINGLE, UCS2_PART))
