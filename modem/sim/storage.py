"""Message memories of an emulated modem: the SIM ("SM"), the phone ("ME"), status reports ("SR").

Indices start at 1, as on SIM cards (TS 51.011 EF_SMS records), and a new message takes the
lowest free index, as real modems do.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from modem.pdu import Concat

MEMORIES = ("SM", "ME", "SR")
MessageKind = Literal["deliver", "submit", "status-report"]

# <stat> of TS 27.005 §3.1, as numbers (PDU mode) and words (text mode).
REC_UNREAD, REC_READ, STO_UNSENT, STO_SENT = 0, 1, 2, 3
STAT_WORDS = ("REC UNREAD", "REC READ", "STO UNSENT", "STO SENT")
STAT_ALL = 4


@dataclass
class StoredMessage:
    stat: int
    pdu: str  # hex, SMSC field included
    kind: MessageKind
    address: str = ""  # originator of a deliver, destination of a submit, recipient of a report
    text: str = ""
    encoding: str = "gsm7"
    timestamp: datetime | None = None  # TP-SCTS
    reference: int | None = None  # TP-MR of a submit or a status report
    status: int | None = None  # TP-ST of a status report
    discharge_time: datetime | None = None


@dataclass(frozen=True)
class SentPart:
    """One SMS-SUBMIT the modem handed to the network (the emulator's outbox)."""

    reference: int
    recipient: str
    text: str
    encoding: str
    concat: Concat | None
    status_report_request: bool
    pdu: str
    at: float  # engine time of the +CMGS answer
    sent_at: datetime

    def as_dict(self) -> dict[str, Any]:
        concat = self.concat
        return {
            "reference": self.reference,
            "recipient": self.recipient,
            "text": self.text,
            "encoding": self.encoding,
            "concat": None
            if concat is None
            else {
                "reference": concat.reference,
                "total": concat.total,
                "sequence": concat.sequence,
            },
            "status_report_request": self.status_report_request,
            "pdu": self.pdu,
            "at": self.at,
            "sent_at": self.sent_at.isoformat(),
        }


class Memory:
    def __init__(self, name: str, capacity: int) -> None:
        if not 0 <= capacity <= 255:
            raise ValueError("capacity must be 0..255")
        self.name = name
        self.capacity = capacity
        # The storage_full fault: the SIM reports no free record beyond what it holds now.
        self.full_override: int | None = None
        self._slots: dict[int, StoredMessage] = {}

    @property
    def total(self) -> int:
        return self.capacity if self.full_override is None else self.full_override

    @property
    def used(self) -> int:
        return len(self._slots)

    @property
    def full(self) -> bool:
        return self.used >= self.total

    def store(self, message: StoredMessage) -> int | None:
        """The index the message went to, or None when the memory is full."""
        if self.full:
            return None
        for index in range(1, self.capacity + 1):
            if index not in self._slots:
                self._slots[index] = message
                return index
        return None

    def get(self, index: int) -> StoredMessage | None:
        return self._slots.get(index)

    def valid_index(self, index: int) -> bool:
        return 1 <= index <= self.capacity

    def delete(self, index: int) -> bool:
        return self._slots.pop(index, None) is not None

    def delete_where(self, stats: set[int]) -> int:
        doomed = [i for i, m in self._slots.items() if m.stat in stats]
        for index in doomed:
            del self._slots[index]
        return len(doomed)

    def items(self) -> Iterator[tuple[int, StoredMessage]]:
        yield from sorted(self._slots.items())


def make_memories(capacity: int | Mapping[str, int]) -> dict[str, Memory]:
    if isinstance(capacity, int):
        sizes = dict.fromkeys(MEMORIES, capacity)
    else:
        unknown = set(capacity) - set(MEMORIES)
        if unknown:
            raise ValueError(f"unknown memories: {sorted(unknown)}")
        sizes = {name: capacity.get(name, 20) for name in MEMORIES}
    return {name: Memory(name, size) for name, size in sizes.items()}
