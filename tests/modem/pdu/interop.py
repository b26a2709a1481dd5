"""The shared real-world vectors (../shared/interop beside the repo), read in place: their
sources' licences keep them out of this repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

INTEROP = Path(__file__).resolve().parents[3] / ".." / "shared" / "interop"
PDUS = INTEROP / "real-world-pdus.json"


def load_vectors() -> list[dict[str, Any]]:
    with PDUS.open(encoding="utf-8") as handle:
        return list(json.load(handle)["vectors"])


def cmgr_length(vector: dict[str, Any]) -> int | None:
    """The <length> of "+CMGR: <stat>,[<alpha>],<length>": the last field."""
    line = vector.get("cmgr_line")
    if not line:
        return None
    return int(line.split(":", 1)[1].split(",")[-1])
