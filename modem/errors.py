"""One exception tree for the modem layer.

Every error says what the gateway should do about it through ``kind``:

- ``transient``: try again later, maybe on another modem (congestion, network timeout);
- ``permanent``: this message will never go through (invalid number, barred);
- ``fault``: the modem, SIM or network is unusable right now (no SIM, PIN needed, no
  network, storage full); take the modem out of rotation without charging the message.
"""

from __future__ import annotations

from typing import ClassVar, Literal

Kind = Literal["transient", "permanent", "fault"]


class ModemError(Exception):
    """Base of every error raised by ``modem/``."""

    kind: Kind = "transient"

    @property
    def permanent(self) -> bool:
        return self.kind == "permanent"

    @property
    def fault(self) -> bool:
        return self.kind == "fault"


class ModemTimeout(ModemError):
    """The modem did not answer within the command's deadline (it may be hung)."""

    kind: Kind = "transient"


class ModemGone(ModemError):
    """The serial port vanished (unplugged, re-enumerated) or could not be opened."""

    kind: Kind = "fault"


class ProtocolError(ModemError):
    """The modem answered something we could not make sense of."""

    kind: Kind = "transient"


class CommandError(ModemError):
    """A plain ``ERROR`` final result: the command is not supported or was malformed."""

    kind: Kind = "transient"


class SimError(ModemError):
    """The SIM needs something a person must provide (PUK, a correct PIN) or is missing."""

    kind: Kind = "fault"


class _CodedError(ModemError):
    prefix: ClassVar[str] = ""
    table: ClassVar[dict[int, tuple[Kind, str]]] = {}

    def __init__(self, code: int | None, text: str = "") -> None:
        self.code = code
        if code is None:
            kind, description = "transient", text
        else:
            kind, description = self.table.get(code, (self._default_kind(code), text))
        self.kind = kind
        self.description = description
        label = str(code) if code is not None else "?"
        detail = f" ({description})" if description else ""
        super().__init__(f"{self.prefix} ERROR: {label}{detail}")

    @staticmethod
    def _default_kind(code: int) -> Kind:
        return "transient"


# 3GPP TS 27.005 §3.2.5 (<err> values 300..), TS 24.011 Annex E-2 (RP causes 0..127) and
# TS 23.040 §9.2.3.22 (TP-FCS 128..255).
CMS_ERRORS: dict[int, tuple[Kind, str]] = {
    1: ("permanent", "unassigned number"),
    8: ("permanent", "operator determined barring"),
    10: ("permanent", "call barred"),
    17: ("transient", "network failure"),
    21: ("permanent", "short message transfer rejected"),
    22: ("transient", "recipient memory capacity exceeded"),
    27: ("transient", "destination out of service"),
    28: ("permanent", "unidentified subscriber"),
    29: ("permanent", "facility rejected"),
    30: ("permanent", "unknown subscriber"),
    38: ("transient", "network out of order"),
    41: ("transient", "temporary failure"),
    42: ("transient", "congestion"),
    47: ("transient", "resources unavailable"),
    50: ("permanent", "requested facility not subscribed"),
    69: ("permanent", "requested facility not implemented"),
    81: ("transient", "invalid short message transfer reference value"),
    95: ("permanent", "invalid message"),
    96: ("permanent", "invalid mandatory information"),
    97: ("permanent", "message type non-existent"),
    98: ("permanent", "message not compatible with protocol state"),
    99: ("permanent", "information element non-existent"),
    111: ("permanent", "protocol error"),
    127: ("permanent", "interworking unspecified"),
    128: ("permanent", "telematic interworking not supported"),
    129: ("permanent", "short message type 0 not supported"),
    130: ("permanent", "cannot replace short message"),
    143: ("permanent", "unspecified TP-PID error"),
    144: ("permanent", "data coding scheme not supported"),
    145: ("permanent", "message class not supported"),
    159: ("permanent", "unspecified TP-DCS error"),
    160: ("permanent", "command cannot be actioned"),
    161: ("permanent", "command unsupported"),
    175: ("permanent", "unspecified TP-command error"),
    176: ("permanent", "TPDU not supported"),
    192: ("transient", "SC busy"),
    193: ("fault", "no SC subscription"),
    194: ("transient", "SC system failure"),
    195: ("permanent", "invalid SME address"),
    196: ("permanent", "destination SME barred"),
    197: ("permanent", "SM rejected, duplicate SM"),
    198: ("permanent", "TP-VPF not supported"),
    199: ("permanent", "TP-VP not supported"),
    208: ("fault", "SIM SMS storage full"),
    209: ("fault", "no SMS storage capability in SIM"),
    210: ("transient", "error in MS"),
    211: ("fault", "memory capacity exceeded"),
    212: ("transient", "SIM application toolkit busy"),
    213: ("transient", "SIM data download error"),
    255: ("transient", "unspecified error cause"),
    300: ("transient", "ME failure"),
    301: ("fault", "SMS service of ME reserved"),
    302: ("transient", "operation not allowed"),
    303: ("transient", "operation not supported"),
    304: ("permanent", "invalid PDU mode parameter"),
    305: ("permanent", "invalid text mode parameter"),
    310: ("fault", "SIM not inserted"),
    311: ("fault", "SIM PIN required"),
    312: ("fault", "PH-SIM PIN required"),
    313: ("fault", "SIM failure"),
    314: ("transient", "SIM busy"),
    315: ("fault", "SIM wrong"),
    316: ("fault", "SIM PUK required"),
    317: ("fault", "SIM PIN2 required"),
    318: ("fault", "SIM PUK2 required"),
    320: ("transient", "memory failure"),
    321: ("permanent", "invalid memory index"),
    322: ("fault", "memory full"),
    330: ("fault", "SMSC address unknown"),
    331: ("fault", "no network service"),
    332: ("transient", "network timeout"),
    340: ("transient", "no +CNMA acknowledgement expected"),
    500: ("transient", "unknown error"),
}

# 3GPP TS 27.007 §9.2.
CME_ERRORS: dict[int, tuple[Kind, str]] = {
    0: ("transient", "phone failure"),
    1: ("fault", "no connection to phone"),
    3: ("transient", "operation not allowed"),
    4: ("transient", "operation not supported"),
    5: ("fault", "PH-SIM PIN required"),
    10: ("fault", "SIM not inserted"),
    11: ("fault", "SIM PIN required"),
    12: ("fault", "SIM PUK required"),
    13: ("fault", "SIM failure"),
    14: ("transient", "SIM busy"),
    15: ("fault", "SIM wrong"),
    16: ("fault", "incorrect password"),
    17: ("fault", "SIM PIN2 required"),
    18: ("fault", "SIM PUK2 required"),
    20: ("fault", "memory full"),
    21: ("permanent", "invalid index"),
    22: ("permanent", "not found"),
    23: ("transient", "memory failure"),
    30: ("fault", "no network service"),
    31: ("transient", "network timeout"),
    32: ("fault", "network not allowed, emergency calls only"),
    100: ("transient", "unknown"),
}

# With AT+CMEE=2, or before our AT+CMEE=1 takes effect, modems answer in words.
_VERBOSE = {
    "sim not inserted": 10,
    "sim pin required": 11,
    "sim puk required": 12,
    "sim failure": 13,
    "sim busy": 14,
    "sim wrong": 15,
    "incorrect password": 16,
    "memory full": 20,
    "invalid index": 21,
    "no network service": 30,
    "network timeout": 31,
    "operation not allowed": 3,
    "operation not supported": 4,
}


class CmsError(_CodedError):
    """``+CMS ERROR: <n>``: a message service failure (TS 27.005)."""

    prefix = "+CMS"
    table = CMS_ERRORS

    @staticmethod
    def _default_kind(code: int) -> Kind:
        # Unlisted RP causes 0..127 and TP-FCS values are about the message itself;
        # 512+ are manufacturer-specific and usually passing.
        return "permanent" if code < 256 else "transient"


class CmeError(_CodedError):
    """``+CME ERROR: <n>``: a mobile equipment failure (TS 27.007)."""

    prefix = "+CME"
    table = CME_ERRORS


def coded_error(prefix: str, value: str) -> ModemError:
    """Build the error for a ``+CMS ERROR:`` / ``+CME ERROR:`` final result."""
    value = value.strip()
    cls = CmsError if prefix.upper().startswith("+CMS") else CmeError
    if value.isdigit():
        return cls(int(value))
    code = _VERBOSE.get(value.lower())
    if code is not None and cls is CmeError:
        return CmeError(code, value)
    return cls(None, value[:80])


class PduError(ModemError, ValueError):
    """A PDU that is not valid per 3GPP TS 23.040, or text/number the codec cannot encode."""

    kind: Kind = "permanent"


class SubmitUnknown(ModemError):
    """The PDU was handed to the modem but no answer came: it may or may not have gone out.

    Never retried automatically: a duplicate text is worse than a visible gap.
    """

    kind: Kind = "fault"
