"""Setting up the office: teams and their members, routing rules, lines' hours, and each
person's inbox settings (signature, hours, away, delegate, supervision). The command line
uses these today; the panel will too. Every value is checked before it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.hours import HoursError, format_hours, parse_holidays, parse_hours
from gateway.models import Line, RoutingRule, Team, TeamMember, User, new_id, utcnow
from gateway.templates import check_text
from gateway.users import check_name, get_user

MAX_KEYWORD = 64


def get_team(session: Session, name_or_id: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name_or_id)) or session.get(
        Team, name_or_id[:64]
    )
    if team is None:
        raise NotFound("no team with that name")
    return team


def get_line(session: Session, name: str) -> Line:
    line = session.scalar(select(Line).where(Line.name == name))
    if line is None:
        raise NotFound("no line with that name")
    return line


def add_team(session: Session, name: str, line: str | None = None) -> Team:
    check_name(name)
    if session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise Conflict("a team with that name exists")
    team = Team(
        id=new_id("tm"),
        name=name,
        default_line_id=get_line(session, line).id if line else None,
        created_at=utcnow(),
    )
    session.add(team)
    session.flush()
    return team


def set_team_line(session: Session, team: str, line: str | None) -> Team:
    found = get_team(session, team)
    found.default_line_id = get_line(session, line).id if line else None
    return found


def add_member(session: Session, team: str, user: str) -> TeamMember:
    found, person = get_team(session, team), get_user(session, user)
    if person.role == "auditor":
        raise InvalidInput("auditors read the inbox; they are not given conversations")
    if session.get(TeamMember, (found.id, person.id)) is not None:
        raise Conflict("already a member")
    member = TeamMember(team_id=found.id, user_id=person.id)
    session.add(member)
    return member


def remove_member(session: Session, team: str, user: str) -> None:
    found, person = get_team(session, team), get_user(session, user)
    member = session.get(TeamMember, (found.id, person.id))
    if member is None:
        raise NotFound("not a member")
    session.delete(member)


@dataclass(frozen=True)
class TeamInfo:
    team: Team
    members: list[User]
    line: str | None


def list_teams(session: Session) -> list[TeamInfo]:
    out = []
    for team in session.scalars(select(Team).order_by(Team.name)):
        members = list(
            session.scalars(
                select(User)
                .join(TeamMember, TeamMember.user_id == User.id)
                .where(TeamMember.team_id == team.id)
                .order_by(User.name)
            )
        )
        line = session.get(Line, team.default_line_id) if team.default_line_id else None
        out.append(TeamInfo(team, members, line.name if line else None))
    return out


def add_rule(
    session: Session, team: str, *, keyword: str | None = None, line: str | None = None
) -> RoutingRule:
    if keyword is None and line is None:
        raise InvalidInput("a rule names a keyword, a line, or both")
    if keyword is not None and (
        not keyword.strip() or len(keyword) > MAX_KEYWORD or not keyword.isprintable()
    ):
        raise InvalidInput(f"a keyword is 1 to {MAX_KEYWORD} printable characters")
    last = session.scalar(select(func.max(RoutingRule.position))) or 0
    rule = RoutingRule(
        id=new_id("rr"),
        position=last + 1,
        keyword=keyword.strip() if keyword else None,
        line_id=get_line(session, line).id if line else None,
        team_id=get_team(session, team).id,
        created_at=utcnow(),
    )
    session.add(rule)
    return rule


def list_rules(session: Session) -> list[RoutingRule]:
    return list(session.scalars(select(RoutingRule).order_by(RoutingRule.position)))


def remove_rule(session: Session, rule_id: str) -> None:
    if session.execute(delete(RoutingRule).where(RoutingRule.id == rule_id)).rowcount != 1:
        raise NotFound("no rule with that id")


def set_line_hours(
    session: Session, line: str, *, hours: str | None = None, holidays: str | None = None
) -> Line:
    """Store a line's hours and holidays in canonical form; "" clears them."""
    found = get_line(session, line)
    try:
        if hours is not None:
            found.hours = format_hours(parse_hours(hours)) or None
        if holidays is not None:
            days = sorted(parse_holidays(holidays))
            found.holidays = ", ".join(d.isoformat() for d in days) or None
    except HoursError as exc:
        raise InvalidInput(str(exc)) from None
    return found


_UNSET = object()


def set_user_inbox(
    session: Session,
    user: str,
    *,
    display_name: str | object | None = _UNSET,
    signature: str | object | None = _UNSET,
    working_hours: str | object | None = _UNSET,
    away: bool | None = None,
    away_until: date | object | None = _UNSET,
    delegate: str | object | None = _UNSET,
    supervised: bool | None = None,
) -> User:
    """Change a person's inbox settings; only the arguments given change."""
    person = get_user(session, user)
    if display_name is not _UNSET:
        person.display_name = check_name(str(display_name)) if display_name else None
    if signature is not _UNSET:
        # None: the box's signature; "": none at all.
        person.signature = None if signature is None else _signature(str(signature))
    if working_hours is not _UNSET:
        try:
            text = format_hours(parse_hours(str(working_hours or "")))
        except HoursError as exc:
            raise InvalidInput(str(exc)) from None
        person.working_hours = text or None
    if away is not None:
        person.away = away
        if not away:
            person.away_until = None
    if away_until is not _UNSET:
        person.away_until = away_until if isinstance(away_until, date) else None
    if delegate is not _UNSET:
        person.delegate_id = _delegate(session, person, delegate)
    if supervised is not None:
        person.supervised = supervised
    return person


def _signature(text: str) -> str:
    if text == "":
        return ""
    return check_text(text, "the signature", 160)


def _delegate(session: Session, person: User, delegate: object) -> str | None:
    if not delegate:
        return None
    target = get_user(session, str(delegate))
    if target.id == person.id:
        raise InvalidInput("a person cannot be their own delegate")
    if target.role == "auditor":
        raise InvalidInput("auditors are not given conversations")
    return target.id
