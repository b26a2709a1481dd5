"""Put concatenated SMS parts back together (TS 23.040 §9.2.3.24.1). Pure.

Parts may arrive in any order, twice, or never; a message whose parts stop coming is given
up after a timeout and handed on with what arrived, marked incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from modem.pdu import Deliver

PartKey = tuple[str, int, int, int]  # sender, reference, total, reference size in bits


@dataclass(frozen=True)
class Assembled:
    sender: str
    text: str
    timestamp: datetime
    parts: int
    complete: bool = True
    tokens: tuple[object, ...] = ()  # what the caller gave with each part (storage slots)


@dataclass
class _Pending:
    first_seen: float
    parts: dict[int, Deliver] = field(default_factory=dict)
    tokens: list[object] = field(default_factory=list)


class Reassembler:
    def __init__(self, timeout: float = 600.0) -> None:
        self.timeout = timeout
        self._pending: dict[PartKey, _Pending] = {}

    def add(self, message: Deliver, now: float, token: object = None) -> Assembled | None:
        """Return the whole message once its last part is in, else None."""
        tokens = () if token is None else (token,)
        concat = message.concat
        if concat is None or concat.total <= 1:
            return Assembled(message.sender.value, message.text, message.timestamp, 1, True, tokens)
        key = (message.sender.value, concat.reference, concat.total, concat.bits)
        pending = self._pending.setdefault(key, _Pending(now))
        pending.parts.setdefault(concat.sequence, message)  # a repeated part is dropped
        pending.tokens.extend(tokens)
        if len(pending.parts) < concat.total:
            return None
        del self._pending[key]
        return _join(pending, concat.total, complete=True)

    def expire(self, now: float) -> list[Assembled]:
        """Give up on messages whose parts stopped coming."""
        late = [k for k, p in self._pending.items() if now - p.first_seen >= self.timeout]
        return [_join(self._pending.pop(key), key[2], complete=False) for key in late]

    def __len__(self) -> int:
        return len(self._pending)


def _join(pending: _Pending, total: int, *, complete: bool) -> Assembled:
    ordered = [pending.parts[i] for i in sorted(pending.parts)]
    first = ordered[0]
    return Assembled(
        sender=first.sender.value,
        text="".join(part.text for part in ordered),
        timestamp=first.timestamp,
        parts=total,
        complete=complete,
        tokens=tuple(pending.tokens),
    )
