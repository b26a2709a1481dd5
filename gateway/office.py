"""The office as routing sees it: people, teams in round-robin order, rules, line hours.

Loaded from the database in a handful of queries; the worker keeps one copy for a few
seconds (``OfficeCache``) so a burst of inbound messages does not reload it for each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.compliance import box_zone
from gateway.hours import HoursError, Schedule, parse_holidays, parse_hours
from gateway.models import Line, RoutingRule, Team, TeamMember, User
from gateway.routing import LineView, Office, Person, Rule, TeamView


def line_schedule(line: Line, zone: str) -> Schedule:
    """The line's opening hours; hours that no longer parse count as always open, so a bad
    edit never silences a line (the panel and the CLI refuse to store such hours)."""
    try:
        windows = parse_hours(line.hours or "")
        holidays = parse_holidays(line.holidays or "")
    except HoursError:
        return Schedule(zone=zone)
    return Schedule(windows=windows, holidays=holidays, zone=zone)


def person_of(user: User, zone: str) -> Person:
    hours = None
    if user.working_hours:
        try:
            hours = Schedule(windows=parse_hours(user.working_hours), zone=zone)
        except HoursError:
            hours = None
    return Person(
        id=user.id,
        name=user.name,
        role=user.role,
        disabled=bool(user.disabled),
        away=bool(user.away),
        away_until=user.away_until,
        delegate_id=user.delegate_id,
        hours=hours,
    )


def _usable_zone(name: str) -> str:
    """The box's zone, or UTC when the system names one this Python does not know."""
    try:
        Schedule(zone=name)
    except HoursError:
        return "UTC"
    return name


def load_office(session: Session, zone: str | None = None) -> Office:
    zone = _usable_zone(zone or box_zone())
    people = {user.id: person_of(user, zone) for user in session.scalars(select(User))}
    members: dict[str, list[tuple[str, str, str]]] = {}
    for team_id, user_id, last in session.execute(
        select(TeamMember.team_id, TeamMember.user_id, TeamMember.last_assigned_at)
    ):
        name = people[user_id].name if user_id in people else user_id
        members.setdefault(team_id, []).append((last.isoformat() if last else "", name, user_id))
    teams = {
        team.id: TeamView(
            id=team.id,
            name=team.name,
            members=tuple(m[2] for m in sorted(members.get(team.id, []))),
            default_line_id=team.default_line_id,
        )
        for team in session.scalars(select(Team))
    }
    rules = tuple(
        Rule(team_id=rule.team_id, keyword=rule.keyword, line_id=rule.line_id)
        for rule in session.scalars(select(RoutingRule).order_by(RoutingRule.position))
    )
    lines = {
        line.id: LineView(line.name, line_schedule(line, zone))
        for line in session.scalars(select(Line))
    }
    return Office(people=people, teams=teams, rules=rules, zone=zone, lines=lines)


class OfficeCache:
    """One snapshot reused for ``seconds``. The worker's own round-robin turns are applied
    to the copy as they happen (``assigned``); changes made elsewhere (the panel, the API)
    are seen within ``seconds``."""

    def __init__(self, seconds: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._office: Office | None = None
        self._loaded = 0.0

    def get(self, session: Session) -> Office:
        with self._lock:
            now = self.clock()
            if self._office is None or now - self._loaded >= self.seconds:
                self._office = load_office(session)
                self._loaded = now
            return self._office

    def assigned(self, team_id: str, user_id: str) -> None:
        """``user_id`` was just given a conversation of ``team_id``: last in line now."""
        with self._lock:
            office = self._office
            if office is None or team_id not in office.teams:
                return
            team = office.teams[team_id]
            order = (*(m for m in team.members if m != user_id), user_id)
            teams = {**office.teams, team_id: replace(team, members=order)}
            self._office = replace(office, teams=teams)

    def invalidate(self) -> None:
        with self._lock:
            self._office = None
