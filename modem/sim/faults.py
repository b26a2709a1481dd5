"""The misbehaviours an emulated modem can be told to show, and their parameters.

Each fault is switched on with parameters and off again; ``count`` limits it to the next
``count`` occasions (None: until cleared). Parameters are checked here so that the control
socket and the CLI get a clear error for a bad request instead of a half-set fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# name -> {parameter: (type, default, minimum, maximum)}; numbers only, plus "where"/"pin".
_SPEC: dict[str, dict[str, tuple[type, Any, float | None, float | None]]] = {
    "hang": {"count": (int, None, 1, 1_000_000)},
    "cms_error": {"code": (int, 500, 0, 65535), "count": (int, 1, 1, 1_000_000)},
    "slow": {"seconds": (float, 1.0, 0.0, 600.0)},
    "send_delay": {"seconds": (float, 5.0, 0.0, 600.0)},
    "noise": {"rate": (float, 0.5, 0.0, 1.0)},
    "no_network": {},
    "storage_full": {},
    "pin_locked": {"pin": (str, "1234", None, None)},
    "drop_cmti": {"count": (int, None, 1, 1_000_000)},
    "urc_during_send": {"where": (str, "prompt", None, None), "count": (int, 1, 1, 1_000_000)},
    "urc_in_response": {"count": (int, 1, 1, 1_000_000)},
}
FAULT_NAMES = tuple(_SPEC)
# Who "sends" the messages that faults inject (555-0199 is reserved for fiction).
FAULT_SENDER = "+12015550199"
_WHERE = ("prompt", "result")


class FaultError(ValueError):
    """A fault request with an unknown name or a bad parameter."""


def _coerce(name: str, key: str, value: Any) -> Any:
    kind, default, low, high = _SPEC[name][key]
    if value is None:
        return default
    if kind is str:
        if not isinstance(value, str) or not value:
            raise FaultError(f"{name}: {key} must be a non-empty string")
        if key == "where" and value not in _WHERE:
            raise FaultError(f"{name}: where must be one of {', '.join(_WHERE)}")
        if key == "pin" and not (value.isdigit() and 4 <= len(value) <= 8):
            raise FaultError(f"{name}: pin must be 4 to 8 digits")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name}: {key} must be a number")
    if kind is int and (isinstance(value, float) and not value.is_integer()):
        raise FaultError(f"{name}: {key} must be a whole number")
    if isinstance(value, float) and not math.isfinite(value):
        raise FaultError(f"{name}: {key} must be finite")
    number = kind(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise FaultError(f"{name}: {key} must be in {low}..{high}")
    return number


def check_fault(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The complete parameter set of a fault, defaults filled in; FaultError if invalid."""
    spec = _SPEC.get(name)
    if spec is None:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    unknown = set(params) - set(spec)
    if unknown:
        raise FaultError(f"{name}: unknown parameter(s) {', '.join(sorted(unknown))}")
    return {key: _coerce(name, key, params.get(key)) for key in spec}


@dataclass
class Faults:
    active: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.active.get(name)

    def on(self, name: str) -> bool:
        return name in self.active

    def set(self, name: str, params: dict[str, Any]) -> None:
        self.active[name] = check_fault(name, params)

    def clear(self, name: str) -> bool:
        return self.active.pop(name, None) is not None

    def consume(self, name: str) -> dict[str, Any] | None:
        """Use one occasion of a counted fault; it clears itself after the last."""
        params = self.active.get(name)
        if params is None:
            return None
        count = params.get("count")
        if count is not None:
            if count <= 1:
                del self.active[name]
            else:
                params["count"] = count - 1
        return params
