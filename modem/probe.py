"""Everything an admin wants to know about a modem, gathered without failing on the first gap."""

from __future__ import annotations

from typing import Any

from modem.device import Modem
from modem.errors import ModemError, ModemGone, SimError
from modem.identity import read_identity


def probe(modem: Modem) -> dict[str, Any]:
    """Identity, SIM state, registration, operator and signal of an opened modem.

    Each item that the modem cannot answer is reported as an error string instead, so a
    locked SIM or a missing network still shows everything else.
    """
    report: dict[str, Any] = {"device": modem.device}
    report["identity"] = read_identity(modem).as_dict()
    report["sim"] = _ask(modem.sim_state)
    registration = _ask(modem.registration)
    report["registration"] = (
        registration
        if isinstance(registration, dict)
        else {"status": registration.status, "lac": registration.lac, "cell": registration.cell}
    )
    report["operator"] = _ask(modem.operator)
    signal = _ask(modem.signal)
    report["signal"] = (
        signal
        if isinstance(signal, dict)
        else {
            "rssi": signal.rssi,
            "dbm": signal.dbm,
            "ber": signal.ber,
        }
    )
    return report


def _ask(query: Any) -> Any:
    try:
        return query()
    except ModemGone:
        raise
    except (ModemError, SimError) as exc:
        return {"error": str(exc)}
