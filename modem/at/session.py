"""Run AT commands one at a time over a byte transport, each with a deadline.

Unsolicited results are handed to a handler the moment they are parsed, whether a command
is running or not, so none is swallowed. The session runs in the thread that owns the port
(one per modem); the handler must only record what it is given, never issue commands.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from modem.at.framing import Final, Info, Item, Prompt, Splitter, Unsolicited
from modem.at.parse import first_prefixed, prefixed
from modem.errors import CommandError, ModemTimeout, coded_error
from modem.masking import mask_traffic

logger = logging.getLogger(__name__)

CTRL_Z = b"\x1a"
ESC = b"\x1b"
_SAFE_COMMAND = re.compile(r"AT[\x20-\x7e]*", re.IGNORECASE)
_HEX_PAYLOAD = re.compile(r"[0-9A-F]+")
READ_SLICE = 0.5  # longest single blocking read, so deadlines are checked often
ANSWER_GRACE = 0.5  # how long to wait for a final result that may never come


class Transport(Protocol):
    def read(self, timeout: float) -> bytes: ...  # b"" when nothing came in time

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...


UnsolicitedHandler = Callable[[Unsolicited], None]


@dataclass
class Response:
    """The information lines of a command and its final result."""

    lines: list[str] = field(default_factory=list)
    final: str = "OK"

    def value(self, prefix: str) -> str:
        return first_prefixed(self.lines, prefix)


class AtSession:
    def __init__(
        self,
        transport: Transport,
        on_unsolicited: UnsolicitedHandler,
        *,
        clock: Clock = time,
        name: str = "modem",
        history: int = 40,
    ) -> None:
        self._transport = transport
        self._on_unsolicited = on_unsolicited
        self._clock = clock
        self._splitter = Splitter()
        self._items: deque[Item] = deque()
        self._busy = False
        self._dispatched = 0
        self.payload_written = False  # did the last command get as far as sending its PDU?
        self.name = name
        # Raw (direction, line) pairs, masked only when shown: masking every line as it
        # passes would cost more CPU than the rest of a send.
        self._recent: deque[tuple[str, str]] = deque(maxlen=history)

    def command(
        self, command: str, timeout: float = 5.0, *, answered_by: str | None = None
    ) -> Response:
        """Send one command and return its response; raise on an error result.

        ``answered_by``: a prefix whose line is the whole answer even if no final result
        follows (old Wavecom firmware answers ``AT+CPIN?`` with ``+CPIN: READY`` alone).
        """
        return self._run(command, None, timeout, timeout, answered_by)

    def command_with_payload(
        self, command: str, payload: str, *, prompt_timeout: float = 5.0, timeout: float = 60.0
    ) -> Response:
        """``AT+CMGS=<n>``: wait for the ``> `` prompt, then send the PDU and Ctrl-Z."""
        if not _HEX_PAYLOAD.fullmatch(payload):
            # Only hex may follow the prompt: anything else could smuggle a Ctrl-Z or an
            # ESC and with it a command of its own.
            raise ValueError("payload must be upper-case hex")
        return self._run(command, payload, prompt_timeout, timeout)

    def poll(self, timeout: float) -> None:
        """Wait up to ``timeout`` for unsolicited results; return once some were handled,
        or when the transport's waker is woken (the owner has other work)."""
        deadline = self._clock.monotonic() + timeout
        self._splitter.expect(None)
        seen = self._dispatched
        waker = getattr(self._transport, "waker", None)
        while True:
            self._drain_idle()
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0 or self._dispatched != seen:
                return
            if waker is not None and waker.take():
                return
            self._read(min(remaining, READ_SLICE))

    def abort_prompt(self) -> None:
        """Leave a half-typed PDU prompt (left over by a hung or restarted modem)."""
        self._transport.write(ESC)

    def dump_recent(self) -> str:
        return "\n".join(f"{direction} {mask_traffic(text)}" for direction, text in self._recent)

    def _run(
        self,
        command: str,
        payload: str | None,
        first_timeout: float,
        timeout: float,
        answered_by: str | None = None,
    ) -> Response:
        if not _SAFE_COMMAND.fullmatch(command):
            raise ValueError("an AT command is one line of printable ASCII starting with AT")
        if self._busy:
            raise RuntimeError("one AT command at a time (called from a handler?)")
        self._busy = True
        self.payload_written = False
        try:
            self._drain_idle()
            self._splitter.expect(command, prompt=payload is not None)
            self._write(command.encode("ascii") + b"\r")
            response = Response()
            deadline = self._clock.monotonic() + first_timeout
            while True:
                try:
                    item = self._next_item(deadline, command)
                except ModemTimeout:
                    if answered_by and prefixed(response.lines, answered_by):
                        return response
                    raise
                if isinstance(item, Prompt) and payload is not None:
                    self._splitter.expect_echo(payload)
                    self.payload_written = True
                    self._write(payload.encode("ascii") + CTRL_Z)
                    deadline = self._clock.monotonic() + timeout
                    payload = None
                elif isinstance(item, Info):
                    self._log("<", item.text)
                    response.lines.append(item.text)
                    if answered_by and item.text.upper().startswith(answered_by + ":"):
                        deadline = min(deadline, self._clock.monotonic() + ANSWER_GRACE)
                elif isinstance(item, Final):
                    response.final = item.text
                    self._log("<", item.text)
                    return self._check(response)
        finally:
            self._splitter.expect(None)
            self._busy = False

    def _next_item(self, deadline: float, command: str) -> Item:
        while True:
            while self._items:
                item = self._items.popleft()
                if isinstance(item, Unsolicited):
                    self._dispatch(item)
                else:
                    return item
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                self._items.extend(self._splitter.flush())
                raise ModemTimeout(f"no answer to {command.split('=')[0][:16]} in time")
            self._read(min(remaining, READ_SLICE))

    def _drain_idle(self) -> None:
        while self._items:
            item = self._items.popleft()
            if isinstance(item, Unsolicited):
                self._dispatch(item)
            elif isinstance(item, Final | Info):
                # A late answer to a command that already timed out: not ours.
                self._log("<", f"(stray) {item.text}")

    def _read(self, timeout: float) -> None:
        data = self._transport.read(timeout)
        if data:
            self._items.extend(self._splitter.feed(data))

    def _write(self, data: bytes) -> None:
        self._log(">", data.decode("ascii", "replace").rstrip("\r\x1a"))
        self._transport.write(data)

    def _dispatch(self, urc: Unsolicited) -> None:
        self._dispatched += 1
        self._log("<", urc.text + (" [body]" if urc.body else ""))
        try:
            self._on_unsolicited(urc)
        except Exception:  # a faulty handler must not take the port down with it
            logger.exception("%s: unsolicited result handler failed", self.name)

    def _check(self, response: Response) -> Response:
        final = response.final
        upper = final.upper()
        if upper == "OK":
            return response
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: recent AT traffic:\n%s", self.name, self.dump_recent())
        if upper.startswith(("+CMS ERROR", "+CME ERROR")):
            prefix, _, value = final.partition(":")
            raise coded_error(prefix, value)
        raise CommandError(upper[:40])

    def _log(self, direction: str, text: str) -> None:
        self._recent.append((direction, text))
