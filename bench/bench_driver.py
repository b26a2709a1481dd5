"""Driver CPU per single-part message: 1,000 sends through an emulated modem, no send delay.

Measures the CPU time of the sending thread only (the emulator runs in other threads of
this process), so the figure is what the driver itself costs. Target: under 2 ms/message.

    .venv/bin/python bench/bench_driver.py [--messages 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from modem.device import Modem
from modem.sim import SimBank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as directory,
        SimBank(Path(directory), 1, auto_report=None) as bank,
    ):
        modem = Modem(bank[0].device_path, name="bench")
        modem.open()
        try:
            wall = time.perf_counter()
            cpu = time.thread_time()
            for n in range(args.messages):
                modem.send("+15550123", f"Appointment reminder {n}: tomorrow 10:30")
            cpu = time.thread_time() - cpu
            wall = time.perf_counter() - wall
        finally:
            modem.close()
    per_message_ms = cpu / args.messages * 1000
    print(f"messages sent           {args.messages}")
    print(f"wall time               {wall:.2f} s ({args.messages / wall:.0f} messages/s)")
    print(f"driver CPU per message  {per_message_ms:.3f} ms (target < 2 ms)")


if __name__ == "__main__":
    main()
