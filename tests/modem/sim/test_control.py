"""The JSON-lines control socket."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.sim import ControlError, ControlServer, SimHandle, SimHost, SimModem, control_request
from modem.sim.control import MAX_REQUEST
from tests.modem.sim.serial_helpers import command, open_port, read_until
from tests.modem.sim.support import SENDER


def ask(handle: SimHandle, **payload: Any) -> dict[str, Any]:
    return control_request(handle.control_path, payload, timeout=3.0)


def raw_exchange(path: str, data: bytes) -> list[dict[str, object]]:
    """Send raw bytes, half-close, and read every answer line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(3.0)
        sock.connect(path)
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return [json.loads(line) for line in received.splitlines()]


def test_it_is_a_socket_only_its_owner_may_use(sim_modem: SimHandle) -> None:
    mode = os.stat(sim_modem.control_path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_it_injects_a_message_the_driver_sees(sim_modem: SimHandle) -> None:
    with open_port(sim_modem.device_path) as port:
        command(port, "ATE0;+CNMI=2,1,0,0,0")
        assert ask(sim_modem, op="inject", **{"from": SENDER, "text": "hi"}) == {
            "ok": True,
            "parts": 1,
        }
        assert read_until(port, b"1\r\n") == b'\r\n+CMTI: "SM",1\r\n'
    storage = ask(sim_modem, op="storage")["storage"]
    assert storage["SM"][0]["text"] == "hi"


def test_it_sets_and_clears_faults(sim_modem: SimHandle) -> None:
    answer = ask(sim_modem, op="fault", name="cms_error", code=500, count=2)
    assert answer == {"ok": True, "faults": {"cms_error": {"code": 500, "count": 2}}}
    assert ask(sim_modem, op="fault", name="slow", seconds=0.1)["ok"]
    assert ask(sim_modem, op="fault", name="slow", off=True)["faults"] == {
        "cms_error": {"code": 500, "count": 2}
    }
    assert ask(sim_modem, op="clear") == {"ok": True, "faults": {}}


def test_it_reports_on_sent_parts_and_lists_the_outbox(sim_modem: SimHandle) -> None:
    sim_modem.engine.auto_report = None
    with open_port(sim_modem.device_path) as port:
        command(port, "ATE0;+CNMI=2,1,0,1,0")
        port.write(b"AT+CMGS=15\r")
        read_until(port, b"> ")
        port.write(b"0021000C914477000954060000026833\x1a")  # with TP-SRR
        read_until(port, b"OK\r\n")
        outbox = ask(sim_modem, op="outbox")["outbox"]
        assert [part["reference"] for part in outbox] == [0]
        assert ask(sim_modem, op="report", reference=0, status="failed") == {"ok": True}
        assert read_until(port, b"+CDS: ").startswith(b"\r\n+CDS: ")
    assert ask(sim_modem, op="report", reference=7, status="failed") == {
        "ok": False,
        "error": "no sent part has TP-MR 7",
    }


def test_it_unplugs_and_replugs_under_a_new_name(sim_modem: SimHandle) -> None:
    old_path = sim_modem.device_path
    assert ask(sim_modem, op="unplug") == {"ok": True}
    assert not os.path.lexists(old_path)
    assert ask(sim_modem, op="state")["state"]["plugged"] is False
    answer = ask(sim_modem, op="replug", new_name=True)
    assert answer == {"ok": True, "device": f"{old_path}-r1"}
    with open_port(f"{old_path}-r1") as port:
        assert command(port, "AT").endswith(b"OK\r\n")
    # Without new_name it keeps the name it has now.
    assert ask(sim_modem, op="fault", name="replug")["device"] == f"{old_path}-r1"
    assert ask(sim_modem, op="replug", new_name=True)["device"] == f"{old_path}-r2"


def test_it_tells_its_state(sim_modem: SimHandle) -> None:
    state = ask(sim_modem, op="state")["state"]
    assert state["imei"] == sim_modem.imei
    assert state["device"] == sim_modem.device_path
    assert state["registration"] == 1


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"not json\n", "request is not valid JSON"),
        (b"[1, 2]\n", "request must be a JSON object"),
        (b'{"op": "explode"}\n', "unknown op"),
        (b'{"op": "inject", "text": "x"}\n', "missing 'from'"),
        (b'{"op": "inject", "from": 5, "text": "x"}\n', "wrong type"),
        (b'{"op": "inject", "from": "+1", "text": "x", "extra": 1}\n', "unknown field"),
        (b'{"op": "inject", "from": "not a number!", "text": "x"}\n', ""),
        (b'{"op": "fault", "name": "hang", "count": -1}\n', "count"),
        (b'{"op": "fault", "name": "slow", "now": 5}\n', ""),
        (b'{"op": "report", "reference": 0, "status": "lost"}\n', "status"),
        (b"\xff\xfe\x00garbage\n", "not valid JSON"),
        (b"[" * 100000 + b"\n", ""),
    ],
)
def test_it_answers_bad_requests_with_a_clear_error(
    sim_modem: SimHandle, payload: bytes, error: str
) -> None:
    (answer,) = raw_exchange(sim_modem.control_path, payload)
    assert answer["ok"] is False and error in str(answer["error"])
    assert ask(sim_modem, op="state")["ok"]  # still serving


def test_it_refuses_an_oversized_request_and_keeps_serving(sim_modem: SimHandle) -> None:
    answers = raw_exchange(sim_modem.control_path, b'{"op":"state","x":"' + b"a" * MAX_REQUEST)
    assert answers == [{"ok": False, "error": f"request longer than {MAX_REQUEST} bytes"}]
    assert ask(sim_modem, op="state")["ok"]


def test_it_answers_several_requests_on_one_connection(sim_modem: SimHandle) -> None:
    answers = raw_exchange(sim_modem.control_path, b'{"op":"state"}\n{"op":"outbox"}\n\n')
    assert [a["ok"] for a in answers] == [True, True, False]


def test_it_survives_clients_that_vanish(sim_modem: SimHandle) -> None:
    for _ in range(5):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(sim_modem.control_path)
            sock.sendall(b'{"op": "sta')
    assert ask(sim_modem, op="state")["ok"]


def test_its_client_explains_what_went_wrong(sim_dir: Path) -> None:
    with pytest.raises(ControlError, match="no control socket"):
        control_request(sim_dir / "missing.ctl", {"op": "state"})
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sim_dir / "mute.ctl"))
    listener.listen(1)
    try:
        with pytest.raises(ControlError, match="no answer"):
            control_request(sim_dir / "mute.ctl", {"op": "state"}, timeout=0.2)
    finally:
        listener.close()
    with pytest.raises(ControlError, match="nothing is listening"):
        control_request(sim_dir / "mute.ctl", {"op": "state"})


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_KEYS = ["from", "text", "order", "gap", "pdu", "name", "off", "code", "count", "seconds",
         "rate", "where", "pin", "reference", "status", "new_name", "now"]  # fmt: skip
_OPS = ["inject", "inject_pdu", "fault", "clear", "report", "outbox", "storage", "state"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_OPS),
    st.dictionaries(st.sampled_from(_KEYS), _JSON | st.sampled_from(["hang", "+447700900123"])),
)
def test_it_answers_any_request_without_failing_inside(op: str, fields: dict[str, Any]) -> None:
    server = ControlServer("/nonexistent/test.ctl", SimHost(SimModem(), "/nonexistent/link"))
    answer = server.handle_line(json.dumps({"op": op, **fields}).encode())
    assert isinstance(answer["ok"], bool)
    if not answer["ok"]:
        assert answer["error"] and "internal error" not in answer["error"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_it_answers_any_bytes_with_an_error(data: bytes) -> None:
    server = ControlServer("/nonexistent/test.ctl", SimHost(SimModem(), "/nonexistent/link"))
    answer = server.handle_line(data)
    assert answer["ok"] is False or json.loads(data)["op"]


def test_it_answers_a_flood_of_requests_in_order(sim_modem: SimHandle) -> None:
    requests = b"".join(b'{"op":"state"}\n' if i % 2 else b'{"op":"outbox"}\n' for i in range(5000))
    answers = raw_exchange(sim_modem.control_path, requests)
    assert len(answers) == 5000
    assert all("state" in a for a in answers[1::2]) and all("outbox" in a for a in answers[::2])
