"""Lines (business numbers): what the API and the panel show of each, and finding one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.models import Line, Message


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
