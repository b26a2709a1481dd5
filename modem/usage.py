"""How full a modem's message memories are (``AT+CPMS?``, TS 27.005 §3.2.2).

A SIM holds a few dozen messages. When it is full, the network keeps new messages back
(and retries for a while) until the modem reports free memory, so a full SIM looks like
customers who stopped writing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modem.at.parse import first_prefixed
from modem.errors import ProtocolError

if TYPE_CHECKING:
    from modem.device import Modem

_MEMORY = re.compile(r'\s*"?([A-Za-z]{2})"?\s*,\s*(\d+)\s*,\s*(\d+)\s*')


@dataclass(frozen=True)
class MemoryUse:
    memory: str  # SM (the SIM), ME (the phone), MT (both), SR (status reports)
    used: int
    total: int

    @property
    def full(self) -> bool:
        return self.used >= self.total

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, self.used / self.total)


def parse_cpms_read(value: str) -> list[MemoryUse]:
    """``"SM",3,30,"SM",3,30,"SR",0,10`` → a MemoryUse per memory (mem1, mem2, mem3)."""
    found: list[MemoryUse] = []
    for group in re.findall(r'"?[A-Za-z]{2}"?\s*,\s*\d+\s*,\s*\d+', value):
        match = _MEMORY.fullmatch(group)
        if match is not None:
            name, used, total = match.groups()
            found.append(MemoryUse(name.upper(), int(used), int(total)))
    if not found:
        raise ProtocolError("bad +CPMS")
    return found


def memory_use(modem: Modem) -> list[MemoryUse]:
    """The memories the modem reads from and stores to now, with their use."""
    return parse_cpms_read(first_prefixed(modem.command("AT+CPMS?"), "+CPMS"))
