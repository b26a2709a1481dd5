"""The udev rule: every line parsed as udev does (keys, operators, quoting, labels), then
run against the properties real modems and other serial devices present.

``udevadm verify`` exists from systemd 254 on; Debian 12 has 252, so it runs only where
present. The small evaluator here follows udev's order: a line's match keys (IMPORT
included) in order, then its assignments; GOTO jumps to its LABEL.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from dataclasses import dataclass, field

import pytest

from tests.ops.units import SYSTEMD_DIR

RULES = SYSTEMD_DIR / "99-smsgw-modems.rules"
BRIEF_VENDORS = {"12d1", "19d2", "2c7c", "1199", "1e0e", "1bc7", "1546"}
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "ENV", "ATTR", "ATTRS", "DRIVERS"}
ASSIGN_KEYS = {"ENV", "GROUP", "MODE", "SYMLINK", "IMPORT", "GOTO", "LABEL"}
_PAIR = re.compile(r'\s*([A-Z]+)(?:\{([^}]*)\})?\s*(==|!=|\+=|:=|=)\s*"([^"]*)"\s*(?:,|$)')


@dataclass(frozen=True)
class Key:
    name: str
    attr: str | None
    op: str
    value: str


def parse(text: str) -> list[list[Key]]:
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keys, position = [], 0
        while position < len(line):
            found = _PAIR.match(line, position)
            assert found, f"line {number}: cannot parse {line[position:]!r}"
            name, attr, op, value = found.groups()
            key = Key(name, attr, op, value)
            matching = op in ("==", "!=")
            assert name in (MATCH_KEYS if matching else ASSIGN_KEYS), f"line {number}: {key}"
            if name in ("ENV", "ATTR", "ATTRS", "IMPORT"):
                assert attr, f"line {number}: {name} needs {{…}}"
            keys.append(key)
            position = found.end()
        rules.append(keys)
    return rules


@dataclass
class Device:
    subsystem: str
    parents: set[str]  # subsystems up the device's parents (SUBSYSTEMS matches any)
    env: dict[str, str]
    attrs: dict[str, str] = field(default_factory=dict)
    builtins: dict[str, dict[str, str]] = field(default_factory=dict)
    action: str = "add"
    group: str | None = None
    mode: str | None = None
    symlinks: list[str] = field(default_factory=list)


def _glob(pattern: str, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, alternative) for alternative in pattern.split("|"))


def _matches(key: Key, device: Device) -> bool:
    if key.name == "IMPORT":
        device.env.update(device.builtins.get(key.value, {}))
        return key.value in device.builtins
    if key.name == "SUBSYSTEMS":
        hit = any(_glob(key.value, s) for s in device.parents | {device.subsystem})
    else:
        value = {
            "ACTION": device.action,
            "SUBSYSTEM": device.subsystem,
            "ENV": device.env.get(key.attr or "", ""),
            "ATTR": device.attrs.get(key.attr or "", ""),
        }[key.name]
        hit = _glob(key.value, value)
    return hit if key.op == "==" else not hit


def run_rules(device: Device) -> Device:
    rules = parse(RULES.read_text(encoding="utf-8"))
    goto = None
    for keys in rules:
        if goto is not None:
            if any(k.name == "LABEL" and k.value == goto for k in keys):
                goto = None
            continue
        matches = [k for k in keys if k.op in ("==", "!=") or k.name == "IMPORT"]
        if not all(_matches(k, device) for k in matches):
            continue
        for key in keys:
            value = re.sub(r"\$env\{(\w+)\}", lambda m: device.env.get(m.group(1), ""), key.value)
            if key.name == "ENV" and key.op == "=":
                device.env[key.attr or ""] = value
            elif key.name == "GROUP":
                device.group = value
            elif key.name == "MODE":
                device.mode = value
            elif key.name == "SYMLINK":
                device.symlinks.append(value)
            elif key.name == "GOTO":
                goto = value
    return device


def modem_port(vendor_id: str, **env: str) -> Device:
    """A tty of a USB modem as 60-serial.rules leaves it (usb_id already imported)."""
    properties = {
        "ID_VENDOR_ID": vendor_id,
        "ID_VENDOR": "Quectel",
        "ID_MODEL": "EC25",
        "ID_SERIAL_SHORT": "0123456",
        "ID_USB_INTERFACE_NUM": "02",
        "ID_BUS": "usb",
    }
    properties.update(env)
    return Device("tty", {"usb", "usb-serial"}, properties, builtins={"path_id": {}})


def test_it_parses_as_udev_rules() -> None:
    rules = parse(RULES.read_text(encoding="utf-8"))
    labels = {k.value for keys in rules for k in keys if k.name == "LABEL"}
    gotos = {k.value for keys in rules for k in keys if k.name == "GOTO"}
    assert gotos and gotos <= labels


def test_it_covers_the_known_modem_vendors_in_both_places() -> None:
    rules = parse(RULES.read_text(encoding="utf-8"))
    lists = [k.value for keys in rules for k in keys if k.attr in ("ID_VENDOR_ID", "idVendor")]
    vendor_lists = [set(value.split("|")) for value in lists if "|" in value]
    assert len(vendor_lists) == 2 and vendor_lists[0] == vendor_lists[1]
    assert vendor_lists[0] >= BRIEF_VENDORS


def test_it_names_a_modem_port_stably() -> None:
    port = run_rules(modem_port("2c7c"))
    assert port.symlinks == ["smsgw/Quectel-EC25-0123456-if02"]
    assert (port.group, port.mode) == ("dialout", "0660")
    assert port.env["ID_MM_DEVICE_IGNORE"] == "1"


def test_it_names_a_modem_without_a_serial_number_by_its_usb_port() -> None:
    port = modem_port("12d1", ID_VENDOR="HUAWEI", ID_MODEL="E3372", ID_SERIAL_SHORT="")
    port.builtins["path_id"] = {"ID_PATH_TAG": "pci-0000_00_14_0-usb-0_1_1_0"}
    assert run_rules(port).symlinks == ["smsgw/HUAWEI-E3372-path-pci-0000_00_14_0-usb-0_1_1_0-if02"]


def test_it_reads_the_usb_ids_itself_when_no_earlier_rule_did() -> None:
    port = modem_port("")
    port.builtins["usb_id"] = {"ID_VENDOR_ID": "1e0e", "ID_VENDOR": "SIMCOM", "ID_MODEL": "A7670"}
    assert run_rules(port).symlinks == ["smsgw/SIMCOM-A7670-0123456-if02"]


def test_it_leaves_other_serial_devices_alone() -> None:
    ftdi = run_rules(modem_port("0403", ID_VENDOR="FTDI", ID_MODEL="FT232R"))
    console = run_rules(Device("tty", set(), {}))
    for device in (ftdi, console):
        assert device.symlinks == [] and device.group is None
        assert "ID_MM_DEVICE_IGNORE" not in device.env


def test_it_does_nothing_on_removal() -> None:
    port = modem_port("2c7c")
    port.action = "remove"
    assert run_rules(port).symlinks == []


def test_it_keeps_modemmanager_off_the_whole_modem() -> None:
    usb = Device("usb", {"usb"}, {"DEVTYPE": "usb_device"}, attrs={"idVendor": "19d2"})
    interface = Device("usb", {"usb"}, {"DEVTYPE": "usb_interface"}, attrs={"idVendor": "19d2"})
    assert run_rules(usb).env.get("ID_MM_DEVICE_IGNORE") == "1"
    assert "ID_MM_DEVICE_IGNORE" not in run_rules(interface).env


def _udevadm_verifies() -> bool:
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        return False
    probe = subprocess.run([udevadm, "verify", "--help"], capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _udevadm_verifies(), reason="udevadm verify needs systemd >= 254")
def test_it_passes_udevadm_verify() -> None:
    udevadm = shutil.which("udevadm")
    assert udevadm is not None
    result = subprocess.run([udevadm, "verify", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
