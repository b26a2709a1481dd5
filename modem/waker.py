"""Cut a wait on the modem short from another thread (there is new work to send).

A self-pipe that the port's ``select()`` watches next to the device: while a modem is idle
its thread sleeps in the kernel until the modem speaks or work arrives, instead of waking
every few milliseconds to look.
"""

from __future__ import annotations

import contextlib
import os


class Waker:
    def __init__(self) -> None:
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write_fd, False)
        self._woken = False

    def wake(self) -> None:
        """Callable from any thread; a full pipe already means "wake up"."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._write_fd, b"!")

    def drain(self) -> None:
        """Called by the waiting side when its ``select()`` saw ``fd`` readable."""
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.fd, 256):
                pass
        self._woken = True

    def take(self) -> bool:
        """Whether a wake-up came since the last call."""
        woken, self._woken = self._woken, False
        return woken

    def close(self) -> None:
        for fd in (self.fd, self._write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
