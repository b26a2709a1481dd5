"""Drive an emulated modem from outside: JSON lines over a Unix socket.

A request is one JSON object on one line, ``{"op": "inject", "from": "+447700900123",
"text": "hi"}``; the answer is one line, ``{"ok": true, ...}`` or ``{"ok": false, "error":
"..."}``. One thread serves every connection of one modem with a selector; a request that
is not JSON, names an unknown operation or parameter, or is longer than MAX_REQUEST gets an
error answer, and no request can stop the server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modem.errors import PduError
from modem.sim.engine import SimModem
from modem.sim.faults import FaultError
from modem.sim.host import SimHost

logger = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024
MAX_ANSWER = 16 * 1024 * 1024
MAX_BACKLOG = 1024 * 1024  # unsent answers to one client before it is read from again
MAX_CONNECTIONS = 32
IDLE_TIMEOUT = 60.0
HOST_FAULTS = ("unplug", "replug")


class ControlError(Exception):
    """The control socket could not be reached or answered something unreadable."""


class _BadRequest(ValueError):
    pass


def _field(
    request: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = ...
) -> Any:
    if key not in request:
        if default is ...:
            raise _BadRequest(f"missing {key!r}")
        return default
    value = request[key]
    if (
        isinstance(value, bool)
        and kind is not bool
        and not (isinstance(kind, tuple) and bool in kind)
    ):
        raise _BadRequest(f"{key!r} has the wrong type")
    if not isinstance(value, kind):
        raise _BadRequest(f"{key!r} has the wrong type")
    return value


def _only(request: dict[str, Any], *allowed: str) -> None:
    unknown = set(request) - {"op", *allowed}
    if unknown:
        raise _BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}")


class ControlServer:
    def __init__(self, address: str | os.PathLike[str], host: SimHost) -> None:
        self.address = Path(address)
        if len(os.fsencode(self.address)) >= 104:  # sun_path is 108 bytes on Linux, 104 on BSD
            raise ValueError(f"control socket path too long: {self.address}")
        self.host = host
        self._original_link = host.device_path
        self._renames = 0
        self._listener: socket.socket | None = None
        self._selector: selectors.DefaultSelector | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake_r = self._wake_w = -1
        self._ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "inject": self._inject,
            "inject_pdu": self._inject_pdu,
            "fault": self._fault,
            "clear": self._clear,
            "report": self._report,
            "outbox": self._outbox,
            "storage": self._storage,
            "unplug": self._unplug,
            "replug": self._replug,
            "state": self._state,
        }

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        if self.address.exists() or self.address.is_symlink():
            if not stat.S_ISSOCK(self.address.lstat().st_mode):
                raise FileExistsError(f"{self.address} exists and is not a socket")
            self.address.unlink()  # left over by a run that was killed
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.address))
        os.chmod(self.address, 0o600)  # the socket can unplug modems: owner only
        listener.listen(8)
        listener.setblocking(False)
        self._listener = listener
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"sim-control-{self.host.engine.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping = True
        os.write(self._wake_w, b"x")
        thread.join(timeout=10)
        assert self._selector is not None and self._listener is not None
        for key in list(self._selector.get_map().values()):
            if isinstance(key.data, _Connection):
                key.data.sock.close()
        self._selector.close()
        self._listener.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        with contextlib.suppress(FileNotFoundError):
            self.address.unlink()

    # -- serving ------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._selector is not None
        while not self._stopping:
            connections = self._connections()
            events = self._selector.select(timeout=5.0 if connections else None)
            for key, mask in events:
                if key.fileobj is self._listener:
                    self._accept()
                elif key.data is None:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 512)
                else:
                    try:
                        self._serve(key.data, mask)
                    except Exception:  # drop that client, keep serving the others
                        logger.exception("control connection failed")
                        self._close(key.data)
            now = time.monotonic()
            for connection in self._connections():
                if now - connection.active > IDLE_TIMEOUT:
                    self._close(connection)

    def _connections(self) -> list[_Connection]:
        assert self._selector is not None
        return [
            key.data
            for key in self._selector.get_map().values()
            if isinstance(key.data, _Connection)
        ]

    def _accept(self) -> None:
        assert self._listener is not None and self._selector is not None
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        if len(self._connections()) >= MAX_CONNECTIONS:
            sock.close()
            return
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, _Connection(sock))

    def _serve(self, connection: _Connection, mask: int) -> None:
        connection.active = time.monotonic()
        if mask & selectors.EVENT_READ and not connection.closing:
            try:
                data = connection.sock.recv(65536)
            except BlockingIOError:
                data = None
            except OSError:
                self._close(connection)
                return
            if data == b"":
                connection.eof = True
            elif data:
                connection.inbox += data
        self._handle_inbox(connection)
        if connection.outbox:
            try:
                sent = connection.sock.send(connection.outbox)
                del connection.outbox[:sent]
            except BlockingIOError:
                pass
            except OSError:
                self._close(connection)
                return
        if not connection.outbox and (connection.eof or connection.closing):
            self._close(connection)
            return
        # Read only while answers are being taken away: a client that sends and never
        # reads gets no more work done, and no memory is spent on it.
        reading = not (connection.eof or connection.closing) and not connection.backlogged
        events = (selectors.EVENT_READ if reading else 0) | (
            selectors.EVENT_WRITE if connection.outbox else 0
        )
        assert self._selector is not None
        self._selector.modify(connection.sock, events or selectors.EVENT_READ, connection)

    def _handle_inbox(self, connection: _Connection) -> None:
        while b"\n" in connection.inbox and not connection.closing and not connection.backlogged:
            line, _, rest = bytes(connection.inbox).partition(b"\n")
            connection.inbox = bytearray(rest)
            self._answer(connection, self.handle_line(line))
        if b"\n" not in connection.inbox and len(connection.inbox) > MAX_REQUEST:
            self._answer(connection, _error(f"request longer than {MAX_REQUEST} bytes"))
            connection.inbox.clear()
            connection.closing = True  # the rest of that line is not worth reading
        if connection.eof and b"\n" not in connection.inbox and not connection.closing:
            if connection.inbox.strip():
                self._answer(connection, self.handle_line(bytes(connection.inbox)))
            connection.inbox.clear()

    def _answer(self, connection: _Connection, answer: dict[str, Any]) -> None:
        connection.outbox += json.dumps(answer).encode() + b"\n"

    def _close(self, connection: _Connection) -> None:
        assert self._selector is not None
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.sock)
        connection.sock.close()

    def handle_line(self, line: bytes) -> dict[str, Any]:
        """The answer to one request line (also usable without a socket, in tests)."""
        try:
            request = json.loads(line)
        except (ValueError, RecursionError):
            return _error("request is not valid JSON")
        if not isinstance(request, dict):
            return _error("request must be a JSON object")
        op = request.get("op")
        handler = self._ops.get(op) if isinstance(op, str) else None
        if handler is None:
            return _error(f"unknown op; known: {', '.join(self._ops)}")
        try:
            return {"ok": True, **handler(request)}
        except (_BadRequest, FaultError, PduError, KeyError, ValueError, TypeError) as error:
            text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
            return _error(str(text))
        except Exception:  # answer, log and keep serving: a test tool must not die on a bug
            logger.exception("control request %s failed", op)
            return _error("internal error (see the emulator's log)")

    # -- operations ---------------------------------------------------------------------

    def _inject(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request, "from", "text", "order", "gap")
        sender = _field(request, "from", str)
        text = _field(request, "text", str)
        order = _field(request, "order", str, "in")
        gap = float(_field(request, "gap", (int, float), 0.0))

        def inject(engine: SimModem, now: float) -> int:
            return engine.inject(sender, text, order=order, gap=gap, now=now)

        return {"parts": self.host.call(inject)}

    def _inject_pdu(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request, "pdu")
        pdu = _field(request, "pdu", str)
        self.host.call(lambda engine, now: engine.inject_pdu(pdu, now=now))
        return {}

    def _fault(self, request: dict[str, Any]) -> dict[str, Any]:
        name = _field(request, "name", str)
        off = _field(request, "off", bool, False)
        params = {k: v for k, v in request.items() if k not in ("op", "name", "off")}
        if name in HOST_FAULTS:
            _only(request, "name", "new_name")
            return self._unplug(request) if name == "unplug" else self._replug(request)
        if off:
            _only(request, "name", "off")
            self.host.call(lambda engine, now: engine.clear_fault(name, now=now))
        else:
            self.host.call(lambda engine, now: engine.set_fault(name, now=now, **params))
        return self._faults()

    def _clear(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request, "name")
        name = _field(request, "name", str, None)
        self.host.call(lambda engine, now: engine.clear_fault(name, now=now))
        return self._faults()

    def _faults(self) -> dict[str, Any]:
        return {"faults": self.host.call(lambda engine, now: engine.state()["faults"])}

    def _report(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request, "reference", "status")
        reference = _field(request, "reference", int)
        status = _field(request, "status", (str, int))
        self.host.call(lambda engine, now: engine.report(reference, status, now=now))
        return {}

    def _outbox(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request)
        parts = self.host.call(lambda engine, now: [p.as_dict() for p in engine.outbox])
        return {"outbox": parts}

    def _storage(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request)
        return {"storage": self.host.call(lambda engine, now: engine.storage())}

    def _unplug(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request, "name")
        self.host.unplug()
        return {}

    def _replug(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request, "name", "new_name")
        new_name = _field(request, "new_name", bool, False)
        # A re-enumerated USB modem comes back under another name (ttyUSB0 -> ttyUSB1).
        link = None
        if new_name:
            self._renames += 1
            link = f"{self._original_link}-r{self._renames}"
        return {"device": self.host.replug(link)}

    def _state(self, request: dict[str, Any]) -> dict[str, Any]:
        _only(request)
        state = self.host.call(lambda engine, now: engine.state())
        return {"state": {**state, "device": self.host.device_path, "plugged": self.host.plugged}}


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.eof = False
        self.closing = False
        self.active = time.monotonic()

    @property
    def backlogged(self) -> bool:
        return len(self.outbox) > MAX_BACKLOG


def _error(text: str) -> dict[str, Any]:
    return {"ok": False, "error": text}


def control_request(
    address: str | os.PathLike[str], payload: dict[str, Any], timeout: float = 5.0
) -> dict[str, Any]:
    """Send one request and return the answer; ControlError if that is not possible."""
    deadline = time.monotonic() + timeout
    received = bytearray()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(os.fspath(address))
            sock.sendall(json.dumps(payload).encode() + b"\n")
            while b"\n" not in received:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                if len(received) > MAX_ANSWER:
                    raise ControlError("answer too long")
    except FileNotFoundError:
        raise ControlError(f"no control socket at {os.fspath(address)}") from None
    except ConnectionRefusedError:
        raise ControlError(f"nothing is listening at {os.fspath(address)}") from None
    except TimeoutError:
        raise ControlError(f"no answer from {os.fspath(address)} within {timeout:g} s") from None
    except (TypeError, ValueError) as error:  # payload not serialisable
        raise ControlError(f"cannot send that request: {error}") from None
    except OSError as error:
        raise ControlError(f"{os.fspath(address)}: {error.strerror or error}") from None
    line = bytes(received).partition(b"\n")[0]
    try:
        answer = json.loads(line)
    except ValueError:
        raise ControlError("the control socket answered something that is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        raise ControlError("the control socket answered something unexpected")
    return answer
