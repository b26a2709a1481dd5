"""Two boxes' housekeeping at once on PostgreSQL: a scheduled message is promoted once, and
a message a modem claims meanwhile is not expired under it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.app import Gateway
from gateway.housekeeping import expire_queued, promote_scheduled
from gateway.models import Line, Message, MessageEvent, utcnow
from gateway.outbound import SendRequest, enqueue
from gateway.sending import claim_next, start_sending

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
TO = "+12015550123"


def queue(gateway: Gateway, **options: object) -> str:
    with gateway.sessions() as session:
        session.merge(Line(id="ln_a", name="A", device="/dev/a"))
        message = enqueue(
            session,
            gateway.vault,
            gateway.config,
            SendRequest(to=TO, body="Reminder", **options),  # type: ignore[arg-type]
        )
        session.commit()
        return message.id


def test_it_promotes_a_scheduled_message_on_one_box_only(gateway: Gateway) -> None:
    message_id = queue(gateway, send_at=utcnow() + timedelta(minutes=5))
    later = utcnow() + timedelta(minutes=10)
    with gateway.sessions() as box_a, gateway.sessions() as box_b:
        assert promote_scheduled(box_a, later) == 1  # not committed yet: box A holds the row
        assert promote_scheduled(box_b, later) == 0  # box B steps past it
        box_a.commit()
        box_b.commit()
    with gateway.sessions() as session:
        assert session.get(Message, message_id).status == "queued"
        events = session.scalar(
            select(func.count())
            .select_from(MessageEvent)
            .where(MessageEvent.message_id == message_id, MessageEvent.status == "queued")
        )
    assert events == 1  # one promotion in the history, not one per box


def test_it_leaves_a_message_that_another_box_is_sending(gateway: Gateway) -> None:
    message_id = queue(gateway, expires_at=utcnow() + timedelta(minutes=1))
    later = utcnow() + timedelta(minutes=2)
    with gateway.engine.connect() as modem_box, gateway.sessions() as other_box:
        claimed = claim_next(modem_box, "box-a/A", "ln_a")
        assert claimed is not None and claimed.id == message_id
        start_sending(modem_box, claimed, "ln_a", "box-a/A")
        # Box B's housekeeping looks while box A's claim is not yet committed: it skips the
        # locked row; after the commit the row is sending and no longer matches.
        assert expire_queued(other_box, later) == 0
        modem_box.commit()
        assert expire_queued(other_box, later) == 0
        other_box.commit()
    with gateway.sessions() as session:
        assert session.get(Message, message_id).status == "sending"
