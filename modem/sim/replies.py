"""What a command handler hands back to the engine: information lines, a final result or a
prompt, a delay, and work to do when the answer goes out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from modem.errors import CME_ERRORS, CMS_ERRORS

Family = Literal["CME", "CMS"]

# TS 27.007 §9.2.1 "incorrect parameters" is newer than the table in modem.errors.
_EXTRA_CME = {50: "incorrect parameters"}


class AtFailure(Exception):
    """A command failed. Without a family the answer is a plain ``ERROR`` (V.250 syntax)."""

    def __init__(self, family: Family | None = None, code: int = 0, *, text: str = "ERROR") -> None:
        super().__init__(f"{family or text} {code}")
        self.family = family
        self.code = code
        self.text = text  # the final result without a family: ERROR, or a vendor's own words

    def result(self, cmee: int) -> str:
        if self.family is None:
            return self.text
        if cmee == 0:
            return "ERROR"
        if cmee == 1:
            return f"+{self.family} ERROR: {self.code}"
        table = CME_ERRORS if self.family == "CME" else CMS_ERRORS
        text = table.get(self.code, (None, _EXTRA_CME.get(self.code, "")))[1]
        if self.family == "CMS" and not text:
            return f"+CMS ERROR: {self.code}"
        return f"+{self.family} ERROR: {text or self.code}"


def cme(code: int) -> AtFailure:
    return AtFailure("CME", code)


def cms(code: int) -> AtFailure:
    return AtFailure("CMS", code)


# TS 27.007 §9.2.1 / TS 27.005 §3.2.5 codes this emulator uses.
CME_NOT_ALLOWED = 3
CME_NOT_SUPPORTED = 4
CME_SIM_PIN = 11
CME_SIM_PUK = 12
CME_SIM_FAILURE = 13
CME_WRONG_PASSWORD = 16
CME_BAD_PARAMETERS = 50
CMS_NOT_ALLOWED = 302
CMS_NOT_SUPPORTED = 303
CMS_BAD_PDU_PARAMETER = 304
CMS_BAD_TEXT_PARAMETER = 305
CMS_SIM_PIN = 311
CMS_SIM_FAILURE = 313
CMS_SIM_PUK = 316
CMS_BAD_INDEX = 321
CMS_MEMORY_FULL = 322
CMS_NO_NETWORK = 331
CMS_NO_ACK_EXPECTED = 340

Hook = Callable[[float], None]


@dataclass
class Entry:
    """Where input goes after a ``> `` prompt: the message text of +CMGS / +CMGW."""

    command: Literal["CMGS", "CMGW"]
    pdu_mode: bool
    length: int = 0  # PDU mode: the announced TPDU length
    address: str = ""  # text mode: destination
    type_of_address: int = 129
    stat: int = 2  # +CMGW: the <stat> to store with
    buffer: bytearray = field(default_factory=bytearray)
    overflow: bool = False


@dataclass
class Reply:
    blocks: list[list[str]] = field(default_factory=list)
    final: str | None = "OK"
    entry: Entry | None = None  # send "> " and wait for text instead of a final result
    delay: float = 0.0  # seconds before the answer goes out
    on_emit: list[Hook] = field(default_factory=list)  # just before the answer is written
    after: list[Hook] = field(default_factory=list)  # just after it

    def info(self, *lines: str) -> None:
        self.blocks.append(list(lines))
