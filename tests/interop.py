"""Access to the shared interoperability data beside the project (../shared/interop)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

INTEROP = Path(__file__).resolve().parents[1].parent / "shared" / "interop"


def load(name: str) -> Any:
    path = INTEROP / name
    if not path.exists():
        pytest.skip(f"shared interop data not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def load_param(name: str, key: str) -> list[Any]:
    """For parametrize at collection time: an empty list when the data is absent."""
    path = INTEROP / name
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))[key]
