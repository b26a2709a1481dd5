"""Two boxes draining one PostgreSQL queue: ``claim_next`` never hands a message out twice.

Each box is a connection of its own, in a thread of its own, as two workers on two
machines would be. The claim's ``FOR UPDATE SKIP LOCKED`` lets one box step past the row
another is claiming instead of queueing behind it, and the conditional update re-checks the
row, so no message is taken twice and none is lost.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import Connection, text

from gateway.app import Gateway
from gateway.models import Line
from gateway.outbound import SendRequest, enqueue
from gateway.sending import claim_next

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

MESSAGES = 200
DEADLINE = 60.0  # seconds for the whole drain; it takes well under one


@pytest.fixture
def queued(gateway: Gateway) -> list[str]:
    """A line and ``MESSAGES`` queued messages that any line may send."""
    with gateway.sessions() as session:
        session.add(Line(id="ln_a", name="A", device="/dev/a"))
        ids = [
            enqueue(
                session,
                gateway.vault,
                gateway.config,
                SendRequest(to="+12015550123", body=f"Reminder {n}"),
            ).id
            for n in range(MESSAGES)
        ]
        session.commit()
    return ids


def _fail_instead_of_waiting(connection: Connection) -> None:
    # Should a claim ever queue behind another box's row lock, this turns the hang into an
    # error (for this transaction only).
    connection.execute(text("SET LOCAL lock_timeout = '5s'"))


def test_it_skips_the_message_another_box_is_claiming(gateway: Gateway, queued: list[str]) -> None:
    with gateway.engine.connect() as box_a, gateway.engine.connect() as box_b:
        held = claim_next(box_a, "box-a", "ln_a")  # not committed: box A holds the row lock
        _fail_instead_of_waiting(box_b)
        other = claim_next(box_b, "box-b", "ln_a")
        assert held is not None and other is not None
        assert other.id != held.id
        box_b.commit()
        box_a.rollback()  # box A crashed before AT+CMGS: its message is free again
        _fail_instead_of_waiting(box_b)
        again = claim_next(box_b, "box-b", "ln_a")
        assert again is not None and again.id == held.id  # first in the queue order
        box_b.rollback()


def test_two_boxes_draining_one_queue_claim_each_message_once(
    gateway: Gateway, queued: list[str]
) -> None:
    claims: dict[str, list[str]] = {"box-a": [], "box-b": []}
    errors: list[BaseException] = []
    # Both boxes take their first message before either commits, so the two claims are
    # surely in flight at once rather than one box draining the queue alone.
    both_hold_one = threading.Barrier(2, timeout=DEADLINE)

    def drain(box: str) -> None:
        try:
            with gateway.engine.connect() as connection:
                _fail_instead_of_waiting(connection)
                first = claim_next(connection, box, "ln_a")
                assert first is not None
                claims[box].append(first.id)
                both_hold_one.wait()
                connection.commit()
                while True:
                    _fail_instead_of_waiting(connection)
                    claimed = claim_next(connection, box, "ln_a")
                    connection.commit()
                    if claimed is None:
                        return
                    claims[box].append(claimed.id)
        except BaseException as error:
            errors.append(error)
            both_hold_one.abort()

    threads = [threading.Thread(target=drain, args=(box,)) for box in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
    assert not any(thread.is_alive() for thread in threads), "a box never finished draining"
    assert errors == []

    counts = Counter(claims["box-a"] + claims["box-b"])
    assert [message for message, n in counts.items() if n > 1] == []
    assert sorted(counts) == sorted(queued)
    assert claims["box-a"] and claims["box-b"]
    with gateway.engine.connect() as connection:
        owners = dict(connection.execute(text("SELECT id, claimed_by FROM messages")).all())
    for box, ids in claims.items():
        assert {owners[message] for message in ids} == {box}
