"""Split an AT command line into commands (ITU-T V.250 §5.2-5.4). Pure.

One line may carry several commands: basic ones run together (``ATE0V1``) and extended ones
separated by ``;`` (``AT+CMGF=0;+CNMI=2,1,0,1,0``). Outside quoted strings the line is
case-insensitive and spaces do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["exec", "read", "test", "set"]
_EXTENDED_PREFIXES = "+^$%*#!"
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class CommandSyntaxError(ValueError):
    """The line breaks V.250 syntax; the modem answers a plain ERROR."""


@dataclass(frozen=True)
class Arg:
    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Command:
    name: str  # "+CMGS", "E", "&F", "S7", "D"
    kind: Kind = "exec"
    args: tuple[Arg | None, ...] = ()  # None for an omitted parameter ("1,,2")
    value: int | None = None  # the number of a basic command: E1 -> 1

    def __str__(self) -> str:
        return self.name


def _normalise(body: str) -> str:
    """Upper-case and drop spaces, except inside quoted strings."""
    out: list[str] = []
    quoted = False
    for char in body:
        if char == '"':
            quoted = not quoted
            out.append(char)
        elif quoted:
            out.append(char)
        elif char != " ":
            out.append(char.upper())
    if quoted:
        raise CommandSyntaxError("unterminated string")
    return "".join(out)


def parse_args(text: str) -> tuple[Arg | None, ...]:
    if text == "":
        return ()
    args: list[Arg | None] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise CommandSyntaxError("unterminated string")
            args.append(Arg(text[i + 1 : end], quoted=True))
            i = end + 1
            if i < n and text[i] != ",":
                raise CommandSyntaxError("text after a quoted string")
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            value = text[i:end]
            if '"' in value:
                raise CommandSyntaxError("stray quote")
            args.append(Arg(value) if value else None)
            i = end
        if i >= n:
            return tuple(args)
        i += 1


def _until_semicolon(body: str, i: int) -> int:
    quoted = False
    while i < len(body):
        if body[i] == '"':
            quoted = not quoted
        elif body[i] == ";" and not quoted:
            return i
        i += 1
    return i


def _digits(body: str, i: int) -> tuple[int | None, int]:
    start = i
    while i < len(body) and body[i].isdigit():
        i += 1
    if i == start:
        return None, i
    return int(body[start:i][:6]), i


def parse_line(body: str) -> list[Command]:
    """The commands after the ``AT`` prefix, in order."""
    body = _normalise(body)
    commands: list[Command] = []
    i, n = 0, len(body)
    while i < n:
        char = body[i]
        if char == ";":
            i += 1
        elif char in _EXTENDED_PREFIXES:
            j = i + 1
            while j < n and body[j] in _NAME_CHARS:
                j += 1
            name = body[i:j]
            if len(name) < 2:
                raise CommandSyntaxError("empty command name")
            if body.startswith("=?", j):
                commands.append(Command(name, "test"))
                i = j + 2
            elif body.startswith("?", j):
                commands.append(Command(name, "read"))
                i = j + 1
            elif body.startswith("=", j):
                end = _until_semicolon(body, j + 1)
                commands.append(Command(name, "set", parse_args(body[j + 1 : end])))
                i = end
            else:
                commands.append(Command(name, "exec"))
                i = j
            if i < n and body[i] != ";":
                raise CommandSyntaxError("extended commands are separated by ';'")
        elif char == "D":
            # Dialling takes the rest of the command (V.250 §6.3.1).
            end = _until_semicolon(body, i + 1)
            commands.append(Command("D", "set", (Arg(body[i + 1 : end]),)))
            i = end
        elif char == "S":
            register, j = _digits(body, i + 1)
            if register is None:
                raise CommandSyntaxError("S without a register number")
            name = f"S{register}"
            if body.startswith("=?", j):
                commands.append(Command(name, "test"))
                i = j + 2
            elif body.startswith("?", j):
                commands.append(Command(name, "read"))
                i = j + 1
            elif body.startswith("=", j):
                value, i = _digits(body, j + 1)
                commands.append(Command(name, "set", value=value if value is not None else 0))
            else:
                raise CommandSyntaxError("S register without ? or =")
        elif char == "&" or char.isalpha():
            j = i + 1
            if char == "&":
                if j >= n or not body[j].isalpha():
                    raise CommandSyntaxError("& without a letter")
                j += 1
            name = body[i:j]
            value, i = _digits(body, j)
            if body.startswith("?", i):
                commands.append(Command(name, "read", value=value))
                i += 1
            else:
                commands.append(Command(name, "exec", value=value))
        else:
            raise CommandSyntaxError(f"unexpected character {char!r}")
    return commands
