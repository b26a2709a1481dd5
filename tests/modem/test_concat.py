from __future__ import annotations

from datetime import UTC, datetime

from modem.concat import Reassembler
from modem.pdu import decode, encode_deliver

WHEN = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def parts(text: str, sender: str = "+15550199", reference: int = 7) -> list:
    return [
        decode(p) for p in encode_deliver(sender, text, timestamp=WHEN, concat_reference=reference)
    ]


def test_it_passes_a_single_part_message_straight_through() -> None:
    (single,) = parts("hello")
    assembled = Reassembler().add(single, 0.0, token=("SM", 1))
    assert (assembled.text, assembled.parts, assembled.tokens) == ("hello", 1, (("SM", 1),))


def test_it_reassembles_parts_in_any_order_and_drops_repeats() -> None:
    text = "x" * 400
    first, second, third = parts(text)
    reassembler = Reassembler()
    assert reassembler.add(third, 0.0, "c") is None
    assert reassembler.add(first, 0.1, "a") is None
    assert reassembler.add(third, 0.2, "c2") is None
    assembled = reassembler.add(second, 0.3, "b")
    assert assembled.text == text
    assert assembled.parts == 3 and assembled.complete
    assert len(reassembler) == 0


def test_it_keeps_messages_from_different_senders_apart() -> None:
    a = parts("a" * 200, sender="+15550101", reference=1)
    b = parts("b" * 200, sender="+15550102", reference=1)
    reassembler = Reassembler()
    assert reassembler.add(a[0], 0, None) is None
    assert reassembler.add(b[1], 0, None) is None
    assert reassembler.add(a[1], 0, None).text == "a" * 200
    assert reassembler.add(b[0], 0, None).text == "b" * 200


def test_it_gives_up_on_missing_parts_after_the_timeout() -> None:
    first, _second = parts("y" * 200)
    reassembler = Reassembler(timeout=60)
    reassembler.add(first, 0.0, "a")
    assert reassembler.expire(59.0) == []
    (late,) = reassembler.expire(60.0)
    assert not late.complete
    assert late.text == first.text
    assert late.tokens == ("a",)
