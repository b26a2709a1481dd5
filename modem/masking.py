"""Keep phone numbers and message content out of logs and error texts."""

from __future__ import annotations

import re

_DIGIT_RUN = re.compile(r"\+?\d{6,}")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{16,}")


def mask_number(number: str) -> str:
    """``+447700900123`` → ``+*********123``: all but the last 3 digits hidden (DESIGN.md)."""
    if len(number) <= 3:
        return "*" * len(number)
    return re.sub(r"[0-9A-Za-z]", "*", number[:-3]) + number[-3:]


def mask_traffic(line: str) -> str:
    """An AT line fit for a log: PDUs reduced to their size, long digit runs masked."""
    line = _HEX_RUN.sub(lambda m: f"<pdu {len(m.group()) // 2} octets>", line)
    line = _DIGIT_RUN.sub(lambda m: mask_number(m.group()), line)
    # Control characters from a hostile or noisy line must not reach a terminal or journal.
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in line)[:200]
