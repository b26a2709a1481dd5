"""The settings of an emulated modem that power-up, ATZ and AT&F put back to defaults."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Settings:
    echo: bool = True  # V.250 E
    verbose: bool = True  # V.250 V
    quiet: bool = False  # V.250 Q
    cmee: int = 0
    cmgf: int = 0  # 0 = PDU mode
    cscs: str = "IRA"
    cnmi: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])  # mode,mt,bm,ds,bfr
    cpms: list[str] = field(default_factory=lambda: ["SM", "SM", "SM"])
    creg: int = 0
    cops_format: int = 0
    csms: int = 0
    csmp: list[int] = field(default_factory=lambda: [17, 167, 0, 0])  # fo,vp,pid,dcs
    csdh: int = 0
    sregs: dict[int, int] = field(
        default_factory=lambda: {0: 0, 3: 13, 4: 10, 5: 8, 6: 2, 7: 50, 8: 2, 10: 14}
    )
