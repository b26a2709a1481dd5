"""Lines (business numbers): what the API and the panel show of each, finding one, and
switching one's sending off and on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.audit import Actor, audit
from gateway.errors import NotFound
from gateway.models import Line, Message, utcnow

# The consent a test send carries: the person sending it attests the number is theirs to text.
TEST_EVIDENCE = "test send from the panel"


@dataclass(frozen=True)
class LineStatus:
    line: Line
    queue_depth: int  # queued messages bound to this line


def line_statuses(session: Session) -> tuple[list[LineStatus], int]:
    """Every line with its queue depth, and the queued messages any line may send."""
    depth = dict(
        session.execute(
            select(Message.line_id, func.count())
            .where(Message.status == "queued")
            .group_by(Message.line_id)
        ).all()
    )
    lines = session.scalars(select(Line).order_by(Line.name)).all()
    return [LineStatus(line, depth.get(line.id, 0)) for line in lines], depth.get(None, 0)


def line_name_by_number(session: Session, number: str) -> str | None:
    """The name of the line whose SIM has ``number`` (E.164), if any."""
    return session.scalar(select(Line.name).where(Line.number == number))


def find_line(session: Session, line_id: str) -> Line:
    line = session.get(Line, line_id[:40])
    if line is None:
        raise NotFound("no line with that id")
    return line


def set_enabled(
    session: Session, line_id: str, enabled: bool, actor: Actor, now: datetime | None = None
) -> Line:
    """Let the line's modem take messages from the queue, or stop it (the caller commits).

    A disabled line's modem claims nothing (``gateway.sending.claim_next``): messages bound
    to the line wait (until they expire), unbound ones leave from the other lines. It still
    receives: customers' texts keep arriving.
    """
    line = find_line(session, line_id)
    if line.enabled != enabled:
        line.enabled = enabled
        line.updated_at = now or utcnow()
        audit(session, actor, "line.enabled" if enabled else "line.disabled", line.id, now=now)
    return line


def test_text(line: Line) -> str:
    return f"Test message from {line.name}"


def mask_identity(value: str | None, keep: int = 4) -> str | None:
    """An IMEI or IMSI with all but its last ``keep`` digits hidden (the IMSI identifies the
    subscriber; neither is needed whole to tell two modems apart)."""
    if value is None:
        return None
    return "*" * max(0, len(value) - keep) + value[-keep:]
