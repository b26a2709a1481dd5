"""Play a real device's recorded answers (``../shared/interop/gsmmodem-fakemodem-profiles.json``).

A profile maps whole command lines to the lines a real modem answered. Those commands get
the recorded answer, quirks included (Wavecom answers ``AT+CPIN?`` with no final result,
Huawei says ``COMMAND NOT SUPPORT``); every other command is handled by the emulator as
usual, so messages can still be sent and received.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modem.sim.replies import Reply

_FINALS = ("OK", "ERROR", "COMMAND NOT SUPPORT", "+CME ERROR", "+CMS ERROR")


class Profile:
    def __init__(self, data: Mapping[str, Any]) -> None:
        responses = data.get("responses")
        if not isinstance(responses, Mapping):
            raise ValueError("a profile needs a 'responses' table")
        self.name = str(data.get("profile", "profile"))
        self._responses = {_key(k): _lines(v) for k, v in responses.items()}
        locked = data.get("pin_locked_cpin_response")
        self._locked_cpin = _lines(locked) if locked is not None else None

    def reply(self, body: str, sim_state: str) -> Reply | None:
        """The recorded answer to ``AT<body>``, or None to let the emulator answer."""
        key = _key("AT" + body)
        lines = None
        if key == "AT+CPIN?" and sim_state == "SIM PIN":
            lines = self._locked_cpin
        elif key == "AT+CPIN?" and sim_state != "READY":
            return None
        if lines is None:
            lines = self._responses.get(key)
        if lines is None:
            return None
        lines = list(lines)
        final = lines.pop() if lines and lines[-1].upper().startswith(_FINALS) else None
        reply = Reply(final=final)
        if lines:
            reply.info(*lines)
        return reply


def _key(command: str) -> str:
    return command.strip().upper()


def _lines(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise ValueError("profile answers are lists of lines")
    return value
