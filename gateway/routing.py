"""Who takes an inbound message: a pure decision over a snapshot of the office.

The order (DESIGN.md, "Routing and the team inbox"): the conversation's assignee if they
are available, else the delegate of an away assignee, following the chain; else the team
that a routing rule, the conversation or the line names, round-robin among its available
members; else nobody, and the customer may get the away reply. Keyword handling (STOP,
START, HELP) has already run before any of this.

Nothing here reads the clock or the database: ``gateway.inbox_routing`` builds the
snapshot, calls ``route`` and applies the result, so every case is a table row in tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.hours import Schedule, is_open
from gateway.keywords import normalise

# Only people who answer customers are given conversations: an auditor reads, never replies.
ANSWERING_ROLES = frozenset({"admin", "manager", "agent"})


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    disabled: bool = False
    away: bool = False
    away_until: date | None = None  # back on that (local) day
    delegate_id: str | None = None
    hours: Schedule | None = None  # None: whenever the line is open


@dataclass(frozen=True)
class TeamView:
    id: str
    name: str
    # Members in round-robin order: the least recently given a conversation first.
    members: tuple[str, ...] = ()
    default_line_id: str | None = None


@dataclass(frozen=True)
class Rule:
    team_id: str
    keyword: str | None = None  # a word or phrase of the message
    line_id: str | None = None  # the line it came in on


@dataclass(frozen=True)
class LineView:
    name: str
    hours: Schedule


@dataclass(frozen=True)
class Office:
    """Everyone and everything routing looks at, loaded once per message (or per batch)."""

    people: Mapping[str, Person]
    teams: Mapping[str, TeamView]
    rules: tuple[Rule, ...] = ()
    zone: str = "UTC"  # the box's zone: away_until dates are local dates
    lines: Mapping[str, LineView] = field(default_factory=dict)


@dataclass(frozen=True)
class Inbound:
    """The message and its conversation as they stand before routing."""

    line_id: str
    line_hours: Schedule
    text: str
    now: datetime
    assignee_id: str | None = None
    team_id: str | None = None
    last_human_reply_at: datetime | None = None
    away_replied_at: datetime | None = None  # to this contact, on any line


@dataclass(frozen=True)
class AwayPolicy:
    every: timedelta = timedelta(hours=12)  # zero: never
    silence: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Route:
    assignee_id: str | None
    team_id: str | None
    # assignee | delegate | round_robin | waiting (the line is open, nobody assigned yet) |
    # nobody (closed, or everyone away) | unstaffed (no one works the inbox at all)
    reason: str
    away_reply: bool = False


def is_away(person: Person, today: date) -> bool:
    return person.away and (person.away_until is None or today < person.away_until)


def is_available(person: Person, line_open: bool, now: datetime, today: date) -> bool:
    if not line_open or person.disabled or person.role not in ANSWERING_ROLES:
        return False
    if is_away(person, today):
        return False
    return person.hours is None or is_open(person.hours, now)


def _answers(person: Person) -> bool:
    return not person.disabled and person.role in ANSWERING_ROLES


def _handed_over(person: Person, today: date) -> bool:
    """Whose conversations go to their delegate: people away, and people who left."""
    return person.disabled or is_away(person, today)


def resolve_delegate(
    office: Office, user_id: str, line_open: bool, now: datetime, today: date
) -> str | None:
    """The first available person along ``user_id``'s delegate chain (themselves first).

    Only an away (or disabled) person hands over; someone merely off shift keeps their
    conversations for the next shift. A chain that loops or breaks ends with nobody.
    """
    seen: set[str] = set()
    current: str | None = user_id
    while current is not None and current not in seen:
        seen.add(current)
        person = office.people.get(current)
        if person is None:
            return None
        if is_available(person, line_open, now, today):
            return current
        if not _handed_over(person, today):
            return None
        current = person.delegate_id
    return None


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", normalise(text))) + " "


def _rule_matches(rule: Rule, words: str, line_id: str) -> bool:
    if rule.line_id is not None and rule.line_id != line_id:
        return False
    if rule.keyword is None:
        return True
    phrase = _words(rule.keyword)
    return phrase.strip() != "" and phrase in words


def choose_team(office: Office, message: Inbound) -> str | None:
    """A rule naming a keyword of the message wins; then the team the conversation already
    has (a transfer sticks); then a rule for the line; then the team whose default line it
    is; else none (the shared pool)."""
    words = _words(message.text)
    matching = [r for r in office.rules if _rule_matches(r, words, message.line_id)]
    for rule in matching:
        if rule.keyword is not None and rule.team_id in office.teams:
            return rule.team_id
    if message.team_id is not None and message.team_id in office.teams:
        return message.team_id
    for rule in matching:
        if rule.team_id in office.teams:
            return rule.team_id
    for team in sorted(office.teams.values(), key=lambda t: t.name):
        if team.default_line_id == message.line_id:
            return team.id
    return None


def _away_reply_due(message: Inbound, policy: AwayPolicy) -> bool:
    if policy.every <= timedelta(0):
        return False
    if message.away_replied_at is not None and message.now - message.away_replied_at < (
        policy.every
    ):
        return False
    last_reply = message.last_human_reply_at
    return last_reply is None or message.now - last_reply >= policy.silence


def route(office: Office, message: Inbound, policy: AwayPolicy | None = None) -> Route:
    policy = policy or AwayPolicy()
    now = message.now
    today = now.astimezone(ZoneInfo(office.zone)).date()
    line_open = is_open(message.line_hours, now)
    if message.assignee_id is not None:
        taker = resolve_delegate(office, message.assignee_id, line_open, now, today)
        if taker is not None:
            reason = "assignee" if taker == message.assignee_id else "delegate"
            team = message.team_id if message.team_id in office.teams else None
            return Route(taker, team, reason)
    team_id = choose_team(office, message)
    if team_id is None and not any(_answers(p) for p in office.people.values()):
        # Nobody works the inbox on this box (a CRM-only set-up): nothing to route, and an
        # away reply would tell every customer that a team exists and is out.
        return Route(None, None, "unstaffed")
    if team_id is not None:
        for member in office.teams[team_id].members:
            person = office.people.get(member)
            if person is not None and is_available(person, line_open, now, today):
                return Route(member, team_id, "round_robin")
    elif any(is_available(p, line_open, now, today) for p in office.people.values()):
        # No team to share it out: it waits in the shared inbox for whoever replies first,
        # and somebody is there to do so.
        return Route(None, None, "waiting")
    # Nobody can take it now. An assignee who is only off shift keeps it for their return;
    # one who is away (with no available delegate) or gone leaves it to the team queue.
    keeper = None
    if message.assignee_id is not None:
        person = office.people.get(message.assignee_id)
        if person is not None and _answers(person) and not is_away(person, today):
            keeper = person.id
    return Route(keeper, team_id, "nobody", away_reply=_away_reply_due(message, policy))
