"""Several emulated modems in one directory."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from modem.masking import mask_number
from modem.sim import SimBank, SimHandle, numbered_identity
from modem.sim.identity import luhn_valid
from tests.modem.sim.serial_helpers import command, open_port, read_until


def test_it_names_devices_and_sockets_by_index(make_sim_bank: Callable[..., SimBank]) -> None:
    bank = make_sim_bank(3)
    assert [Path(m.device_path).name for m in bank] == ["modem0", "modem1", "modem2"]
    assert [Path(m.control_path).name for m in bank] == ["modem0.ctl", "modem1.ctl", "modem2.ctl"]
    assert len({os.readlink(m.device_path) for m in bank}) == 3


def test_it_gives_each_modem_its_own_identity(make_sim_bank: Callable[..., SimBank]) -> None:
    bank = make_sim_bank(3)
    for handle in bank:
        with open_port(handle.device_path) as port:
            assert handle.imei.encode() in command(port, "AT+CGSN")
    identities = [handle.engine.identity for handle in bank]
    assert len({i.imei for i in identities}) == len({i.imsi for i in identities}) == 3
    assert len({i.iccid for i in identities}) == len({i.number for i in identities}) == 3


def test_it_makes_valid_fictional_identities() -> None:
    for index in (0, 1, 99, 100, 9999):
        identity = numbered_identity(index)
        assert len(identity.imei) == 15 and luhn_valid(identity.imei)
        assert luhn_valid(identity.iccid)
        assert identity.imsi.startswith("00101")  # the ITU-T test network
        assert re.fullmatch(r"\+1\d{3}55501\d\d", identity.number or "")


def test_it_passes_engine_options_to_every_modem(make_sim_bank: Callable[..., SimBank]) -> None:
    bank = make_sim_bank(2, pin="1234", send_delay=2.0)
    assert all(m.engine.sim_state == "SIM PIN" and m.engine.send_delay == 2.0 for m in bank)


def test_it_cleans_up_after_itself(sim_dir: Path) -> None:
    with SimBank(sim_dir / "bank", 2) as bank:
        assert len(bank) == 2
    assert list((sim_dir / "bank").iterdir()) == []


def test_it_refuses_bad_counts_and_options(sim_dir: Path) -> None:
    with pytest.raises(ValueError):
        SimBank(sim_dir, 0)
    with pytest.raises(ValueError):
        SimBank(sim_dir, 1, name="x")
    with pytest.raises(TypeError):
        SimBank(sim_dir, 1, colour="red").start()
    assert not list(sim_dir.glob("modem*"))


def test_it_masks_numbers_for_logs() -> None:
    assert mask_number("+447700900123") == "+*********123"
    assert mask_number("12") == "**"


def test_its_handles_drive_the_network_side_safely(sim_modem: SimHandle) -> None:
    with open_port(sim_modem.device_path) as port:
        command(port, "ATE0;+CMEE=1;+CNMI=2,1,0,1,0")
        assert sim_modem.inject("+447700900123", "hi") == 1
        assert read_until(port, b"1\r\n") == b'\r\n+CMTI: "SM",1\r\n'
        sim_modem.fault("cms_error", code=38)
        port.write(b"AT+CMGS=15\r")
        read_until(port, b"> ")
        port.write(b"0021000C914477000954060000026833\x1a")
        assert read_until(port, b"\r\n+CMS ERROR: 38\r\n").endswith(b"38\r\n")
        sim_modem.clear()
        port.write(b"AT+CMGS=15\r")
        read_until(port, b"> ")
        port.write(b"0021000C914477000954060000026833\x1a")
        read_until(port, b"OK\r\n")
        assert [part.reference for part in sim_modem.outbox()] == [1]
        sim_modem.report(1, "failed")
        assert read_until(port, b"+CDS: ")
