"""Encode + decode time per message for the PDU codec. Prints timings; never asserts.

Run: python bench/bench_codec.py
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modem.pdu import decode, encode_submit

CASES = {
    "single-part GSM-7": "Your parcel 4711 arrives today, 10:00-12:00. Reply STOP {opt-out}",
    "single-part UCS-2": "Ваша посылка прибудет сегодня 😀",
    "3-part GSM-7": ("The quick brown fox jumps over the lazy dog. " * 9)[:400],
}
ROUNDS = 2000


def round_trip(text: str) -> None:
    for pdu in encode_submit("+447700900123", text, concat_reference=7):
        decode(pdu.hex, tpdu_length=pdu.tpdu_length)


def main() -> None:
    print(f"PDU codec: encode_submit + decode per message, best of 5 x {ROUNDS} rounds")
    for name, text in CASES.items():
        parts = len(encode_submit("+447700900123", text))
        best = min(timeit.repeat(lambda t=text: round_trip(t), number=ROUNDS, repeat=5))
        per_message = best / ROUNDS * 1e6
        print(f"  {name:<20} {parts} part(s)  {per_message:8.1f} us/message")


if __name__ == "__main__":
    main()
