"""Who an emulated modem is: hardware identity, SIM identity, and masking for logs."""

from __future__ import annotations

import re
from dataclasses import dataclass

# MCC 001 / MNC 01 is the ITU-T test network (E.212): no real subscriber has it.
TEST_PLMN = "00101"
# TAC prefix "35" is a GSMA-allocated range; the rest of this TAC is made up.
_TAC = "35999901"


def luhn_digit(digits: str) -> str:
    """The Luhn check digit that completes ``digits`` (IMEI and ICCID use it)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # every second digit from the right, starting next to the check
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) >= 2 and luhn_digit(number[:-1]) == number[-1]


@dataclass(frozen=True)
class Identity:
    manufacturer: str = "SIMCOM"
    model: str = "SMSGW-EMU"
    revision: str = "SIM 1.0.0"
    imei: str = "359999010000008"
    imsi: str = TEST_PLMN + "0000000001"
    iccid: str = "8900101000000000019"
    number: str | None = "+12015550100"

    def __post_init__(self) -> None:
        if not (len(self.imei) == 15 and luhn_valid(self.imei)):
            raise ValueError("IMEI must be 15 digits with a valid Luhn check digit")
        if not (self.imsi.isdigit() and 6 <= len(self.imsi) <= 15):
            raise ValueError("IMSI must be 6 to 15 digits")
        if not (self.iccid.isdigit() and 18 <= len(self.iccid) <= 20):
            raise ValueError("ICCID must be 18 to 20 digits")
        if self.number is not None and not re.fullmatch(r"\+?\d{3,20}", self.number):
            raise ValueError("own number must be digits with an optional leading +")


def numbered_identity(index: int) -> Identity:
    """A distinct, fictional identity for emulated modem ``index`` (0..9999)."""
    if not 0 <= index <= 9999:
        raise ValueError("index out of range")
    body = f"{_TAC}{index:06d}"
    iccid_body = f"89001010{index:010d}"
    # 555-0100..0199 is reserved for fiction in every North American area code.
    area = 201 + index // 100
    return Identity(
        imei=body + luhn_digit(body),
        imsi=f"{TEST_PLMN}{index + 1:010d}",
        iccid=iccid_body + luhn_digit(iccid_body),
        number=f"+1{area}555{100 + index % 100:04d}",
    )
