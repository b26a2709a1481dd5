"""Turn the byte stream from a modem into AT items. Pure: bytes in, items out.

A modem interleaves unsolicited result codes (URCs) anywhere, even inside the response to
a command, and echoes what it is sent until ``ATE0`` takes effect. The splitter therefore
classifies every line on its own, told only which command is pending (so that, for
example, ``+CREG:`` is an answer to ``AT+CREG?`` but a URC at any other time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Results that end a command (ITU-T V.250 §5.7.1 and TS 27.007/27.005 error results), plus
# the words some Huawei/ZTE firmwares use in place of ERROR.
FINAL_WORDS = frozenset(
    {
        "OK",
        "ERROR",
        "NO CARRIER",
        "BUSY",
        "NO ANSWER",
        "NO DIALTONE",
        "COMMAND NOT SUPPORT",
        "TOO MANY PARAMETERS",
    }
)
ERROR_PREFIXES = ("+CMS ERROR", "+CME ERROR")

# Results that are unsolicited whenever they are not the answer to the pending command.
URC_NAMES = frozenset(
    {
        "+CMTI", "+CMT", "+CDSI", "+CDS", "+CBM", "+CBMI", "RING", "+CRING", "+CLIP",
        "+CREG", "+CGREG", "+CEREG", "+CUSD", "+CIEV", "+CGEV", "+CCWA", "+CSSI", "+CSSU",
        "+CPIN", "+CMGS_URC", "+PACSP", "+QIND", "+STIN", "+CUSATP", "NO CARRIER",
        "^RSSI", "^HCSQ", "^BOOT", "^MODE", "^SRVST", "^SIMST", "^SYSSTART", "^DSFLOWRPT",
        "^ORIG", "^CONF", "^CONN", "^CEND", "^STIN", "^NDISSTAT", "^CRSSI", "^ACTIVEBAND",
        "+ZPASR", "+ZUSIMR", "+ZEND", "+WIND", "RDY", "SMS READY", "CALL READY", "+CFUN",
    }
)  # fmt: skip

# These URCs carry a second line: the PDU (or, in text mode, the text) of the message.
TWO_LINE_URCS = frozenset({"+CMT", "+CDS", "+CBM"})

_NAME = re.compile(r"^([+^$%#*][A-Z0-9_]+|[A-Z][A-Z ]*[A-Z])(?=:|$)", re.IGNORECASE)
_COMMAND_PREFIX = re.compile(r"^AT([+^$%#*][A-Z0-9_]+)", re.IGNORECASE)
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
# Strip anything that is not printable ASCII from the ends of a line: line noise, NULs,
# the Ctrl-Z of an echoed PDU, and U+FFFD left by undecodable bytes.
_EDGE_JUNK = re.compile(r"^[^\x21-\x7e]+|[^\x21-\x7e]+$")
MAX_LINE = 8192  # longer than any legal response line (a PDU is at most 2 * 176 + 24 chars)


@dataclass(frozen=True)
class Final:
    """A final result code: the end of the pending command's response."""

    text: str

    @property
    def ok(self) -> bool:
        return self.text == "OK"


@dataclass(frozen=True)
class Info:
    """An information line belonging to the pending command's response."""

    text: str


@dataclass(frozen=True)
class Prompt:
    """The ``> `` prompt after ``AT+CMGS=<n>``: the modem waits for the PDU."""


@dataclass(frozen=True)
class Unsolicited:
    """An unsolicited result code, with its second line for ``+CMT``/``+CDS``/``+CBM``."""

    name: str
    text: str
    body: str | None = None

    @property
    def value(self) -> str:
        return self.text[len(self.name) :].lstrip(":").strip()


Item = Final | Info | Prompt | Unsolicited


def command_prefix(command: str) -> str | None:
    """The result-code prefix a command answers with: ``AT+CREG?`` → ``+CREG``."""
    match = _COMMAND_PREFIX.match(command.strip())
    return match.group(1).upper() if match else None


def line_name(line: str) -> str | None:
    match = _NAME.match(line)
    return match.group(1).upper() if match else None


class Splitter:
    """Feed bytes in any chunking; get complete items out."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._command: str | None = None
        self._prefix: str | None = None
        self._echo: set[str] = set()
        self._expect_prompt = False
        self._header: Unsolicited | None = None

    def expect(self, command: str | None, *, prompt: bool = False) -> None:
        """Tell the splitter which command is pending (None when idle)."""
        self._command = command
        self._prefix = command_prefix(command) if command else None
        self._echo = {command.strip().upper()} if command else set()
        self._expect_prompt = prompt

    def expect_echo(self, text: str) -> None:
        """A payload we wrote (a PDU) that the modem may echo back as a line."""
        self._echo.add(text.strip().upper())

    def feed(self, data: bytes) -> list[Item]:
        self._buffer += data
        items: list[Item] = []
        while True:
            line, consumed = self._next_line()
            if not consumed:
                break
            if isinstance(line, Prompt):
                items.append(line)
            elif line is not None:
                items.extend(self._classify(line))
        return items

    def flush(self) -> list[Item]:
        """Give up on a half-received two-line URC (for example after a timeout)."""
        header, self._header = self._header, None
        return [header] if header else []

    def _next_line(self) -> tuple[str | Prompt | None, bool]:
        buf = self._buffer
        start = 0
        while start < len(buf) and buf[start] in (0x0D, 0x0A):
            start += 1
        if start:
            del buf[:start]
        if not buf:
            return None, False
        if self._expect_prompt and buf[:1] == b">":
            # The prompt has no line terminator; a trailing space may follow later.
            del buf[: 2 if buf[1:2] == b" " else 1]
            self._expect_prompt = False
            return Prompt(), True
        cr = buf.find(b"\r")
        lf = buf.find(b"\n")
        ends = [i for i in (cr, lf) if i >= 0]
        if not ends:
            if len(buf) > MAX_LINE:
                # A line this long is noise; drop it rather than grow without bound.
                del buf[:]
                return None, True
            return None, False
        end = min(ends)
        raw = bytes(buf[:end])
        del buf[: end + 1]
        return raw.decode("utf-8", "replace")[:MAX_LINE], True

    def _classify(self, raw: str) -> list[Item]:
        line = _EDGE_JUNK.sub("", raw)
        if not line:
            return []
        items: list[Item] = []
        if self._header is not None:
            header, self._header = self._header, None
            if _HEX.match(line) or not (self._is_final(line) or line_name(line) in URC_NAMES):
                return [Unsolicited(header.name, header.text, line)]
            items.append(header)
        if self._is_final(line):
            if line.upper() == "NO CARRIER" and self._command is None:
                return [*items, Unsolicited("NO CARRIER", line)]
            return [*items, Final(line)]
        if self._command is not None and line.upper() in self._echo:
            return items
        name = line_name(line)
        if name is not None and self._command is not None and name == self._prefix:
            return [*items, Info(line)]
        if name is not None and (name in URC_NAMES or self._command is None):
            urc = Unsolicited(name, line)
            if name in TWO_LINE_URCS and self._needs_body(name, urc.value):
                self._header = urc
                return items
            return [*items, urc]
        if self._command is not None:
            return [*items, Info(line)]
        return [*items, Unsolicited(name or "", line)]

    @staticmethod
    def _is_final(line: str) -> bool:
        upper = line.upper()
        return upper in FINAL_WORDS or upper.startswith(ERROR_PREFIXES)

    @staticmethod
    def _needs_body(name: str, value: str) -> bool:
        # PDU mode: "+CDS: <length>" / "+CMT: [<alpha>],<length>" / "+CBM: <length>".
        # Text-mode +CDS carries everything on one line; text-mode +CMT and +CBM have a body.
        if name == "+CDS":
            return value.strip().isdigit()
        return True
