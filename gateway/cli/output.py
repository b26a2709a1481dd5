"""Print what the CLI shows so that attacker-controlled text cannot drive the terminal."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import click


def _escape_invisible(text: str) -> str:
    # json.dumps escapes C0 controls but not C1 controls, bidi overrides (U+202E) or other
    # format characters, which can reorder or hide what a terminal shows.
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
        for c in text
    )


def terminal_safe(text: str) -> str:
    """Text for a terminal: control and format characters shown escaped, never obeyed."""
    return _escape_invisible(text)


def safe_json(value: Any) -> str:
    return _escape_invisible(json.dumps(value, ensure_ascii=False, default=str))


def emit_json(value: Any) -> None:
    click.echo(safe_json(value))
