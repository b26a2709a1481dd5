"""Hand-assembled TPDUs for the codec's own TS 23.040 vectors."""

from __future__ import annotations

SENDER = "0B917228214365F7"  # +27821234567, international/ISDN
SCTS = "42305041035140"  # 2024-03-05 14:30:15 +01:00
HELLO = "E8329BFD4697D9EC37"  # "hellohello", 10 septets
UDHI = 0x40


def deliver_hex(ud: str, udl: int, *, dcs: int = 0x00, first: int = 0x04, smsc: str = "00") -> str:
    """SMSC field + SMS-DELIVER with the given first octet, TP-DCS, TP-UDL and TP-UD."""
    return f"{smsc}{first:02X}{SENDER}00{dcs:02X}{SCTS}{udl:02X}{ud}"
