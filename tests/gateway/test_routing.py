"""Inbound routing: who takes a message, which team it waits in, whether the away reply goes.

Every case is a row over one small office in New York: a Sales team (ann, bob, cat) whose
default line is "main", a Support team (ida the auditor, a member who has left the people
list, dan, eve, fay) that a line rule sends "help" to, and a spare line nobody owns. The
lines are open "mon-fri 09:00-17:00" New York time, closed on Thanksgiving (2026-11-26).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.hours import Schedule, is_open, parse_holidays, parse_hours
from gateway.routing import (
    ANSWERING_ROLES,
    AwayPolicy,
    Inbound,
    Office,
    Person,
    Route,
    Rule,
    TeamView,
    is_available,
    is_away,
    resolve_delegate,
    route,
)

NEW_YORK = "America/New_York"
NY = ZoneInfo(NEW_YORK)
THANKSGIVING = date(2026, 11, 26)
LINE_HOURS = Schedule(parse_hours("mon-fri 09:00-17:00"), parse_holidays("2026-11-26"), NEW_YORK)
ALWAYS = Schedule(zone=NEW_YORK)  # a line with no hours set: open around the clock
MORNINGS = Schedule(parse_hours("mon-fri 09:00-13:00"), zone=NEW_YORK)  # a part-timer


def ny(*args: int) -> datetime:
    """A New York wall-clock time (never ambiguous in these tests)."""
    return datetime(*args, tzinfo=NY)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY = date(2026, 11, 16)
MONDAY_10 = ny(2026, 11, 16, 10, 0)  # everybody at work
MONDAY_14 = ny(2026, 11, 16, 14, 0)  # the line is open, the part-timers have gone home
MONDAY_EVENING = ny(2026, 11, 16, 18, 0)  # the line is closed

PEOPLE = (
    Person("ann", "Ann", "agent"),
    Person("bob", "Bob", "agent"),
    Person("cat", "Cat", "manager"),
    Person("dan", "Dan", "agent"),
    Person("eve", "Eve", "agent"),
    Person("fay", "Fay", "admin"),
    Person("ida", "Ida", "auditor"),
)
SALES = TeamView("sales", "Sales", ("ann", "bob", "cat"), default_line_id="main")
SUPPORT = TeamView("support", "Support", ("ida", "left", "dan", "eve", "fay"))
RULES = (
    Rule("support", keyword="billing"),
    Rule("support", keyword="credit card"),  # a phrase
    Rule("sales", keyword="quote", line_id="help"),  # a keyword on one line only
    Rule("gone", keyword="urgent"),  # a team that was deleted: ignored
    Rule("support", line_id="help"),  # the line alone
)
EVERYONE_AWAY = {person.id: {"away": True} for person in PEOPLE}
EVERYONE_DISABLED = {person.id: {"disabled": True} for person in PEOPLE}


@dataclass(frozen=True)
class Setup:
    """The office (as changes to the one above) and the message of one table row."""

    now: datetime = MONDAY_10
    people: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    teams: tuple[TeamView, ...] = (SALES, SUPPORT)
    line: str = "main"
    hours: Schedule = LINE_HOURS
    text: str = "hello"
    assignee: str | None = None
    team: str | None = None
    human_replied: timedelta | None = None  # how long ago a person last replied
    away_replied: timedelta | None = None  # how long ago the away reply last went out
    policy: AwayPolicy | None = None

    def office(self) -> Office:
        unknown = set(self.people) - {person.id for person in PEOPLE}
        assert not unknown, f"no such people in the test office: {unknown}"
        people = {p.id: replace(p, **self.people.get(p.id, {})) for p in PEOPLE}
        return Office(people, {team.id: team for team in self.teams}, RULES, NEW_YORK)

    def inbound(self) -> Inbound:
        return Inbound(
            line_id=self.line,
            line_hours=self.hours,
            text=self.text,
            now=self.now,
            assignee_id=self.assignee,
            team_id=self.team,
            last_human_reply_at=self._ago(self.human_replied),
            away_replied_at=self._ago(self.away_replied),
        )

    def _ago(self, elapsed: timedelta | None) -> datetime | None:
        return None if elapsed is None else self.now - elapsed

    def route(self) -> Route:
        return route(self.office(), self.inbound(), self.policy)


def case(name: str, expected: Route, **setup: Any) -> Any:
    return pytest.param(Setup(**setup), expected, id=name)


def evening(name: str, expected: Route, **setup: Any) -> Any:
    """A row on Monday evening, when the line is closed and so nobody is available."""
    return case(name, expected, **{"now": MONDAY_EVENING, **setup})


def rr(person: str, team: str) -> Route:
    return Route(person, team, "round_robin")


def nobody(team: str | None, keeper: str | None = None, *, away_reply: bool = True) -> Route:
    return Route(keeper, team, "nobody", away_reply=away_reply)


# --- the assignee, their delegates ----------------------------------------------------------

ASSIGNEE_CASES = [
    case("assignee-available", Route("bob", "sales", "assignee"), assignee="bob", team="sales"),
    case(
        "assignee-available-without-a-team",
        Route("dan", None, "assignee"),
        assignee="dan",
        line="spare",
    ),
    case(
        "assignee-beats-a-keyword-rule",
        Route("ann", "sales", "assignee"),
        assignee="ann",
        team="sales",
        text="billing",
    ),
    case(
        "away-assignee-goes-to-delegate",
        Route("dan", "sales", "delegate"),
        people={"ann": {"away": True, "delegate_id": "dan"}},
        assignee="ann",
        team="sales",
    ),
    case(
        "away-chain-a-b-c",
        Route("eve", "sales", "delegate"),
        people={
            "ann": {"away": True, "delegate_id": "dan"},
            "dan": {"away": True, "delegate_id": "eve"},
        },
        assignee="ann",
        team="sales",
    ),
    case(
        "away-chain-loop-goes-round-robin",
        rr("cat", "sales"),
        people={
            "ann": {"away": True, "delegate_id": "bob"},
            "bob": {"away": True, "delegate_id": "ann"},
        },
        assignee="ann",
        team="sales",
    ),
    case(
        "away-chain-loop-with-the-team-away-is-nobody",
        nobody("sales"),
        people={
            "ann": {"away": True, "delegate_id": "bob"},
            "bob": {"away": True, "delegate_id": "ann"},
            "cat": {"away": True},
        },
        assignee="ann",
        team="sales",
    ),
    case(
        "away-chain-loop-not-through-the-assignee",
        rr("cat", "sales"),
        people={
            "ann": {"away": True, "delegate_id": "dan"},
            "dan": {"away": True, "delegate_id": "eve"},
            "eve": {"away": True, "delegate_id": "dan"},
            "bob": {"away": True},
        },
        assignee="ann",
        team="sales",
    ),
    case(
        "away-delegate-to-self",
        rr("bob", "sales"),
        people={"ann": {"away": True, "delegate_id": "ann"}},
        assignee="ann",
        team="sales",
    ),
    case(
        "away-chain-to-a-missing-user",
        rr("bob", "sales"),
        people={"ann": {"away": True, "delegate_id": "left"}},
        assignee="ann",
        team="sales",
    ),
    case(
        "away-without-delegate",
        rr("bob", "sales"),
        people={"ann": {"away": True}},
        assignee="ann",
        team="sales",
    ),
    case(
        "away-chain-through-a-disabled-user",
        Route("eve", "sales", "delegate"),
        people={
            "ann": {"away": True, "delegate_id": "dan"},
            "dan": {"disabled": True, "delegate_id": "eve"},
        },
        assignee="ann",
        team="sales",
    ),
    case(
        "disabled-assignee-goes-to-delegate",
        Route("dan", "sales", "delegate"),
        people={"ann": {"disabled": True, "delegate_id": "dan"}},
        assignee="ann",
        team="sales",
    ),
    case(
        "disabled-assignee-without-delegate-goes-round-robin",
        rr("bob", "sales"),
        people={"ann": {"disabled": True}},
        assignee="ann",
        team="sales",
    ),
    case(
        "missing-assignee-goes-round-robin",
        rr("ann", "sales"),
        assignee="left",
        team="sales",
    ),
    case(
        "away-until-today-is-back",
        Route("ann", "sales", "assignee"),
        people={"ann": {"away": True, "away_until": MONDAY, "delegate_id": "dan"}},
        assignee="ann",
        team="sales",
    ),
    case(
        "away-until-tomorrow-is-still-away",
        Route("dan", "sales", "delegate"),
        people={
            "ann": {"away": True, "away_until": MONDAY + timedelta(days=1), "delegate_id": "dan"}
        },
        assignee="ann",
        team="sales",
    ),
    case(
        "away-until-yesterday-is-back",
        Route("ann", "sales", "assignee"),
        people={"ann": {"away": True, "away_until": MONDAY - timedelta(days=1)}},
        assignee="ann",
        team="sales",
    ),
    case(
        "away-with-no-end-is-away",
        Route("dan", "sales", "delegate"),
        people={"ann": {"away": True, "away_until": None, "delegate_id": "dan"}},
        assignee="ann",
        team="sales",
    ),
    case(
        # 21:00 in New York is already Tuesday in UTC: the office's date is what counts.
        "away-until-tomorrow-in-new-york-though-tomorrow-in-utc",
        Route("dan", "sales", "delegate"),
        now=ny(2026, 11, 16, 21, 0),
        hours=ALWAYS,
        people={
            "ann": {"away": True, "away_until": MONDAY + timedelta(days=1), "delegate_id": "dan"}
        },
        assignee="ann",
        team="sales",
    ),
    case(
        "away-until-today-just-after-new-york-midnight",
        Route("ann", "sales", "assignee"),
        now=ny(2026, 11, 17, 0, 0),
        hours=ALWAYS,
        people={
            "ann": {"away": True, "away_until": MONDAY + timedelta(days=1), "delegate_id": "dan"}
        },
        assignee="ann",
        team="sales",
    ),
    case(
        "off-shift-assignee-goes-round-robin-not-to-delegate",
        rr("bob", "sales"),
        now=MONDAY_14,
        people={"ann": {"hours": MORNINGS, "delegate_id": "dan"}},
        assignee="ann",
        team="sales",
    ),
    case(
        "on-shift-assignee-with-own-hours",
        Route("ann", "sales", "assignee"),
        people={"ann": {"hours": MORNINGS}},
        assignee="ann",
        team="sales",
    ),
    case(
        "delegate-off-shift-ends-the-chain",
        rr("bob", "sales"),
        now=MONDAY_14,
        people={"ann": {"away": True, "delegate_id": "dan"}, "dan": {"hours": MORNINGS}},
        assignee="ann",
        team="sales",
    ),
    case(
        "delegate-is-an-auditor-ends-the-chain",
        rr("bob", "sales"),
        people={"ann": {"away": True, "delegate_id": "ida"}},
        assignee="ann",
        team="sales",
    ),
    case(
        "auditor-assignee-goes-round-robin",
        rr("dan", "support"),
        assignee="ida",
        team="support",
    ),
    case(
        "delegate-keeps-the-conversation-team",
        Route("dan", "sales", "delegate"),
        people={"ann": {"away": True, "delegate_id": "dan"}},
        assignee="ann",
        team="sales",
        text="billing",
    ),
]


@pytest.mark.parametrize(("setup", "expected"), ASSIGNEE_CASES)
def test_it_routes_to_the_assignee_or_along_the_delegate_chain(
    setup: Setup, expected: Route
) -> None:
    assert setup.route() == expected


# --- business hours -------------------------------------------------------------------------

HOURS_CASES = [
    pytest.param(ny(2026, 11, 16, 8, 59, 59), False, id="monday-08:59:59-closed"),
    pytest.param(ny(2026, 11, 16, 9, 0), True, id="monday-09:00-open"),
    pytest.param(ny(2026, 11, 16, 16, 59, 59), True, id="monday-16:59:59-open"),
    pytest.param(ny(2026, 11, 16, 17, 0), False, id="monday-17:00-closed"),
    pytest.param(ny(2026, 11, 16, 3, 0), False, id="monday-night-closed"),
    # Spring forward on Sunday 2026-03-08: New York is UTC-5 on the Friday, UTC-4 on Monday.
    pytest.param(utc(2026, 3, 6, 13, 59, 59), False, id="friday-before-spring-08:59:59-est"),
    pytest.param(utc(2026, 3, 6, 14, 0), True, id="friday-before-spring-09:00-est"),
    pytest.param(utc(2026, 3, 6, 21, 59, 59), True, id="friday-before-spring-16:59:59-est"),
    pytest.param(utc(2026, 3, 6, 22, 0), False, id="friday-before-spring-17:00-est"),
    pytest.param(utc(2026, 3, 9, 12, 59, 59), False, id="monday-after-spring-08:59:59-edt"),
    pytest.param(utc(2026, 3, 9, 13, 0), True, id="monday-after-spring-09:00-edt"),
    pytest.param(utc(2026, 3, 9, 20, 59, 59), True, id="monday-after-spring-16:59:59-edt"),
    pytest.param(utc(2026, 3, 9, 21, 0), False, id="monday-after-spring-17:00-edt"),
    pytest.param(ny(2026, 3, 9, 9, 0), True, id="monday-after-spring-09:00-local"),
    # Fall back on Sunday 2026-11-01: UTC-4 on the Friday, UTC-5 on Monday.
    pytest.param(utc(2026, 10, 30, 12, 59, 59), False, id="friday-before-fall-08:59:59-edt"),
    pytest.param(utc(2026, 10, 30, 13, 0), True, id="friday-before-fall-09:00-edt"),
    pytest.param(utc(2026, 10, 30, 20, 59, 59), True, id="friday-before-fall-16:59:59-edt"),
    pytest.param(utc(2026, 10, 30, 21, 0), False, id="friday-before-fall-17:00-edt"),
    pytest.param(utc(2026, 11, 2, 13, 59, 59), False, id="monday-after-fall-08:59:59-est"),
    pytest.param(utc(2026, 11, 2, 14, 0), True, id="monday-after-fall-09:00-est"),
    pytest.param(utc(2026, 11, 2, 21, 59, 59), True, id="monday-after-fall-16:59:59-est"),
    pytest.param(utc(2026, 11, 2, 22, 0), False, id="monday-after-fall-17:00-est"),
    pytest.param(ny(2026, 11, 2, 16, 59, 59), True, id="monday-after-fall-16:59:59-local"),
    pytest.param(ny(2026, 11, 25, 16, 59, 59), True, id="eve-of-holiday-open"),
    pytest.param(ny(2026, 11, 26, 9, 0), False, id="holiday-09:00-closed"),
    pytest.param(ny(2026, 11, 26, 12, 0), False, id="holiday-noon-closed"),
    pytest.param(ny(2026, 11, 26, 16, 59, 59), False, id="holiday-16:59:59-closed"),
    pytest.param(ny(2026, 11, 27, 9, 0), True, id="day-after-holiday-09:00-open"),
    pytest.param(ny(2026, 11, 27, 8, 59, 59), False, id="day-after-holiday-08:59:59-closed"),
    pytest.param(ny(2026, 11, 21, 10, 0), False, id="saturday-closed"),
    pytest.param(ny(2026, 11, 22, 12, 0), False, id="sunday-closed"),
    pytest.param(ny(2026, 3, 8, 12, 0), False, id="spring-forward-sunday-closed"),
    pytest.param(ny(2026, 11, 1, 12, 0), False, id="fall-back-sunday-closed"),
]


@pytest.mark.parametrize(("now", "line_open"), HOURS_CASES)
def test_it_follows_the_line_business_hours(now: datetime, line_open: bool) -> None:
    assert is_open(LINE_HOURS, now) is line_open
    expected = rr("ann", "sales") if line_open else nobody("sales")
    assert Setup(now=now, team="sales").route() == expected
    kept = Route("bob", "sales", "assignee") if line_open else nobody("sales", "bob")
    assert Setup(now=now, team="sales", assignee="bob").route() == kept


def test_it_treats_a_line_with_no_hours_as_always_open_except_holidays() -> None:
    always_but_thanksgiving = Schedule(holidays=frozenset({THANKSGIVING}), zone=NEW_YORK)
    saturday_night = Setup(now=ny(2026, 11, 21, 23, 30), hours=always_but_thanksgiving)
    assert saturday_night.route() == rr("ann", "sales")
    thanksgiving = replace(saturday_night, now=ny(2026, 11, 26, 12, 0))
    assert thanksgiving.route() == nobody("sales")


# --- the team -------------------------------------------------------------------------------

TEAM_CASES = [
    case(
        "keyword-rule-beats-the-existing-team",
        rr("dan", "support"),
        team="sales",
        text="Question about BILLING?",
    ),
    case("keyword-rule-without-a-team", rr("dan", "support"), text="billing"),
    case("keyword-punctuation-ignored", rr("dan", "support"), text="...billing!!!"),
    case("keyword-full-width", rr("dan", "support"), text="ＢＩＬＬＩＮＧ please"),
    case("keyword-inside-a-word-does-not-match", rr("ann", "sales"), text="rebilling me"),
    case("keyword-prefix-does-not-match", rr("ann", "sales"), text="billings"),
    case(
        "keyword-phrase",
        rr("dan", "support"),
        text="my Credit  CARD was charged twice",
    ),
    case("keyword-phrase-across-punctuation", rr("dan", "support"), text="credit, card?"),
    case("keyword-phrase-words-reversed", rr("ann", "sales"), text="card credit"),
    case("keyword-phrase-half", rr("ann", "sales"), text="store credit"),
    case(
        "keyword-rule-for-its-line-beats-the-line-rule",
        rr("ann", "sales"),
        line="help",
        text="a quote please",
    ),
    case(
        "keyword-rule-for-another-line-does-not-apply",
        Route(None, None, "waiting"),
        line="spare",
        text="a quote please",
    ),
    case("keyword-rule-for-a-deleted-team-ignored", rr("ann", "sales"), text="URGENT"),
    case("existing-team-beats-the-line-rule", rr("ann", "sales"), line="help", team="sales"),
    case("existing-team-beats-the-default-line", rr("dan", "support"), team="support"),
    case("line-rule", rr("dan", "support"), line="help"),
    case(
        "deleted-existing-team-falls-to-the-line-rule",
        rr("dan", "support"),
        line="help",
        team="gone",
    ),
    case("default-line-team", rr("ann", "sales")),
    case(
        "default-line-shared-first-team-by-name",
        rr("ann", "sales"),
        teams=(replace(SUPPORT, default_line_id="main"), SALES),
    ),
    case(
        "default-line-shared-first-team-by-name-not-id",
        rr("dan", "support"),
        teams=(replace(SALES, name="Zebra"), replace(SUPPORT, default_line_id="main")),
    ),
    case("no-team-someone-available-waits", Route(None, None, "waiting"), line="spare"),
    case(
        "no-team-deleted-existing-team-waits",
        Route(None, None, "waiting"),
        line="spare",
        team="gone",
    ),
    case(
        "no-team-line-closed-is-nobody",
        nobody(None),
        line="spare",
        now=MONDAY_EVENING,
    ),
    case(
        "no-team-everyone-away-is-nobody",
        nobody(None),
        line="spare",
        people=EVERYONE_AWAY,
    ),
    case(
        "no-team-only-an-auditor-is-nobody",
        nobody(None),
        line="spare",
        people={**EVERYONE_AWAY, "ida": {}},
    ),
    case(
        "no-team-nobody-answers-at-all-is-unstaffed",
        Route(None, None, "unstaffed"),
        line="spare",
        people={**EVERYONE_DISABLED, "ida": {}},
    ),
    evening(
        "no-team-nobody-answers-at-all-is-unstaffed-even-when-closed",
        Route(None, None, "unstaffed"),
        line="spare",
        people=EVERYONE_DISABLED,
        assignee="ann",
    ),
    case(
        "no-team-only-away-people-is-nobody-not-unstaffed",
        nobody(None),
        line="spare",
        people={**EVERYONE_DISABLED, "fay": {"away": True}},
    ),
    case(
        "team-everyone-disabled-is-nobody-not-unstaffed",
        nobody("sales"),
        people=EVERYONE_DISABLED,
    ),
    case(
        "team-everyone-away-is-nobody",
        nobody("support"),
        line="help",
        people=EVERYONE_AWAY,
    ),
]


@pytest.mark.parametrize(("setup", "expected"), TEAM_CASES)
def test_it_chooses_the_team(setup: Setup, expected: Route) -> None:
    assert setup.route() == expected


# --- round-robin ----------------------------------------------------------------------------

ROUND_ROBIN_CASES = [
    case(
        "first-in-order-skipping-the-auditor-and-a-missing-member",
        rr("dan", "support"),
        line="help",
    ),
    case(
        "member-order-not-alphabetical",
        rr("cat", "sales"),
        teams=(replace(SALES, members=("cat", "bob", "ann")), SUPPORT),
    ),
    case("skips-away", rr("eve", "support"), line="help", people={"dan": {"away": True}}),
    case("skips-disabled", rr("eve", "support"), line="help", people={"dan": {"disabled": True}}),
    case(
        "skips-off-shift",
        rr("eve", "support"),
        line="help",
        now=MONDAY_14,
        people={"dan": {"hours": MORNINGS}},
    ),
    case(
        "takes-on-shift-part-timer",
        rr("dan", "support"),
        line="help",
        people={"dan": {"hours": MORNINGS}},
    ),
    case(
        "skips-away-and-off-shift",
        rr("fay", "support"),
        line="help",
        now=MONDAY_14,
        people={"dan": {"away": True}, "eve": {"hours": MORNINGS}},
    ),
    case(
        "back-today-is-taken",
        rr("dan", "support"),
        line="help",
        people={"dan": {"away": True, "away_until": MONDAY}},
    ),
    case(
        "only-the-auditor-left-is-nobody",
        nobody("support"),
        line="help",
        people={"dan": {"away": True}, "eve": {"disabled": True}, "fay": {"away": True}},
    ),
    case(
        "not-from-another-team",
        nobody("sales"),
        people={"ann": {"away": True}, "bob": {"away": True}, "cat": {"disabled": True}},
    ),
    case(
        "a-manager-takes-it",
        rr("cat", "sales"),
        people={"ann": {"away": True}, "bob": {"away": True}},
    ),
    case(
        "an-admin-takes-it",
        rr("fay", "support"),
        line="help",
        people={"dan": {"away": True}, "eve": {"away": True}},
    ),
    case(
        "an-empty-team-is-nobody",
        nobody("support"),
        line="help",
        teams=(SALES, replace(SUPPORT, members=())),
    ),
]


@pytest.mark.parametrize(("setup", "expected"), ROUND_ROBIN_CASES)
def test_it_round_robins_among_available_members(setup: Setup, expected: Route) -> None:
    assert setup.route() == expected


# --- the away reply -------------------------------------------------------------------------

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

AWAY_REPLY_CASES = [
    evening("first-time", nobody("sales")),
    evening(
        "11h59m-after-the-last-one",
        nobody("sales", away_reply=False),
        away_replied=11 * HOUR + 59 * MINUTE,
    ),
    evening(
        "12h-less-a-microsecond-after-the-last-one",
        nobody("sales", away_reply=False),
        away_replied=12 * HOUR - timedelta(microseconds=1),
    ),
    evening("exactly-12h-after-the-last-one", nobody("sales"), away_replied=12 * HOUR),
    evening("a-day-after-the-last-one", nobody("sales"), away_replied=24 * HOUR),
    evening("just-sent", nobody("sales", away_reply=False), away_replied=timedelta(0)),
    evening(
        "every-0-never",
        nobody("sales", away_reply=False),
        policy=AwayPolicy(every=timedelta(0)),
    ),
    evening(
        "every-0-never-even-long-after",
        nobody("sales", away_reply=False),
        away_replied=48 * HOUR,
        policy=AwayPolicy(every=timedelta(0)),
    ),
    evening(
        "every-negative-never",
        nobody("sales", away_reply=False),
        policy=AwayPolicy(every=-HOUR),
    ),
    evening(
        "every-1h-after-exactly-1h",
        nobody("sales"),
        away_replied=HOUR,
        policy=AwayPolicy(every=HOUR),
    ),
    evening(
        "every-1h-after-59m",
        nobody("sales", away_reply=False),
        away_replied=59 * MINUTE,
        policy=AwayPolicy(every=HOUR),
    ),
    evening("human-replied-29m-ago", nobody("sales", away_reply=False), human_replied=29 * MINUTE),
    evening(
        "human-replied-29m59s-ago",
        nobody("sales", away_reply=False),
        human_replied=30 * MINUTE - timedelta(seconds=1),
    ),
    evening("human-replied-exactly-30m-ago", nobody("sales"), human_replied=30 * MINUTE),
    evening("human-replied-31m-ago", nobody("sales"), human_replied=31 * MINUTE),
    evening(
        "human-replied-long-ago-away-reply-recent",
        nobody("sales", away_reply=False),
        human_replied=48 * HOUR,
        away_replied=HOUR,
    ),
    evening(
        "human-replied-recently-away-reply-long-ago",
        nobody("sales", away_reply=False),
        human_replied=MINUTE,
        away_replied=48 * HOUR,
    ),
    evening(
        "both-long-ago",
        nobody("sales"),
        human_replied=48 * HOUR,
        away_replied=13 * HOUR,
    ),
    evening(
        "silence-2h-human-1h-ago",
        nobody("sales", away_reply=False),
        human_replied=HOUR,
        policy=AwayPolicy(silence=2 * HOUR),
    ),
    evening(
        "silence-0-human-just-replied",
        nobody("sales"),
        human_replied=timedelta(0),
        policy=AwayPolicy(silence=timedelta(0)),
    ),
    evening(
        "also-when-an-off-shift-assignee-keeps-it",
        nobody("sales", "ann"),
        assignee="ann",
        team="sales",
    ),
    evening("also-with-no-team", nobody(None), line="spare"),
    case("also-when-everyone-is-away-in-hours", nobody("sales"), people=EVERYONE_AWAY),
    case("not-when-someone-takes-it", rr("ann", "sales")),
    case("not-when-it-waits-for-someone", Route(None, None, "waiting"), line="spare"),
    case(
        "not-when-a-delegate-takes-it",
        Route("dan", "sales", "delegate"),
        people={"ann": {"away": True, "delegate_id": "dan"}},
        assignee="ann",
        team="sales",
    ),
    case(
        "not-when-the-assignee-takes-it-even-if-due",
        Route("ann", "sales", "assignee"),
        assignee="ann",
        team="sales",
        away_replied=48 * HOUR,
    ),
]


@pytest.mark.parametrize(("setup", "expected"), AWAY_REPLY_CASES)
def test_it_rate_limits_the_away_reply(setup: Setup, expected: Route) -> None:
    assert setup.route() == expected


def test_it_uses_a_12h_away_reply_and_30m_silence_by_default() -> None:
    assert AwayPolicy() == AwayPolicy(every=12 * HOUR, silence=30 * MINUTE)
    late = Setup(now=MONDAY_EVENING, away_replied=12 * HOUR - MINUTE)
    assert late.route() == nobody("sales", away_reply=False)
    assert replace(late, away_replied=12 * HOUR).route() == nobody("sales")


# --- nobody available: who keeps the conversation -------------------------------------------

KEEPER_CASES = [
    evening("line-closed-keeps-the-assignee", nobody("sales", "ann"), assignee="ann", team="sales"),
    evening(
        "line-closed-keeps-an-off-shift-assignee",
        nobody("sales", "ann"),
        people={"ann": {"hours": MORNINGS}},
        assignee="ann",
        team="sales",
    ),
    case(
        "line-open-team-away-keeps-an-off-shift-assignee",
        nobody("sales", "ann"),
        now=MONDAY_14,
        people={"ann": {"hours": MORNINGS}, "bob": {"away": True}, "cat": {"away": True}},
        assignee="ann",
        team="sales",
    ),
    case(
        "line-open-team-away-drops-an-away-assignee",
        nobody("sales"),
        now=MONDAY_14,
        people={"ann": {"away": True}, "bob": {"away": True}, "cat": {"away": True}},
        assignee="ann",
        team="sales",
    ),
    case(
        "line-open-team-away-drops-an-assignee-whose-delegate-is-off-shift",
        nobody("sales"),
        now=MONDAY_14,
        people={
            "ann": {"away": True, "delegate_id": "dan"},
            "dan": {"hours": MORNINGS},
            "bob": {"away": True},
            "cat": {"away": True},
        },
        assignee="ann",
        team="sales",
    ),
    evening(
        "line-closed-drops-an-away-assignee",
        nobody("sales"),
        people={"ann": {"away": True, "delegate_id": "dan"}},
        assignee="ann",
        team="sales",
    ),
    evening(
        "line-closed-drops-a-disabled-assignee",
        nobody("sales"),
        people={"ann": {"disabled": True}},
        assignee="ann",
        team="sales",
    ),
    evening("line-closed-drops-a-missing-assignee", nobody("sales"), assignee="left", team="sales"),
    evening(
        "line-closed-keeps-an-assignee-back-today",
        nobody("sales", "ann"),
        people={"ann": {"away": True, "away_until": MONDAY}},
        assignee="ann",
        team="sales",
    ),
    evening(
        "line-closed-drops-an-assignee-back-tomorrow",
        nobody("sales"),
        people={"ann": {"away": True, "away_until": MONDAY + timedelta(days=1)}},
        assignee="ann",
        team="sales",
    ),
    evening(
        "line-closed-keeps-the-assignee-without-a-team",
        nobody(None, "dan"),
        line="spare",
        assignee="dan",
    ),
    evening(
        "line-closed-keeps-the-assignee-in-the-keyword-team",
        nobody("support", "ann"),
        assignee="ann",
        team="sales",
        text="billing",
    ),
    evening(
        "line-closed-keeps-the-assignee-away-reply-rate-limited",
        nobody("sales", "ann", away_reply=False),
        assignee="ann",
        team="sales",
        away_replied=HOUR,
    ),
    pytest.param(
        Setup(now=MONDAY_EVENING, assignee="ida", team="support", line="help"),
        nobody("support"),
        id="line-closed-drops-an-auditor-assignee",
    ),
    pytest.param(
        Setup(
            people={"dan": {"away": True}, "eve": {"away": True}, "fay": {"away": True}},
            assignee="ida",
            team="support",
            line="help",
        ),
        nobody("support"),
        id="line-open-team-away-drops-an-auditor-assignee",
    ),
]


@pytest.mark.parametrize(("setup", "expected"), KEEPER_CASES)
def test_it_keeps_an_off_shift_assignee_but_drops_an_away_one(
    setup: Setup, expected: Route
) -> None:
    assert setup.route() == expected


# --- building blocks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("away", "away_until", "expected"),
    [
        pytest.param(False, None, False, id="not-away"),
        pytest.param(False, MONDAY + timedelta(days=3), False, id="not-away-with-a-stale-date"),
        pytest.param(True, None, True, id="away-indefinitely"),
        pytest.param(True, MONDAY + timedelta(days=1), True, id="back-tomorrow"),
        pytest.param(True, MONDAY, False, id="back-today"),
        pytest.param(True, MONDAY - timedelta(days=1), False, id="back-yesterday"),
    ],
)
def test_it_tells_who_is_away(away: bool, away_until: date | None, expected: bool) -> None:
    assert is_away(Person("x", "X", "agent", away=away, away_until=away_until), MONDAY) is expected


def test_it_resolves_a_delegate_chain_to_its_first_available_person() -> None:
    office = Setup(
        people={
            "ann": {"away": True, "delegate_id": "bob"},
            "bob": {"disabled": True, "delegate_id": "cat"},
            "cat": {"away": True, "delegate_id": "ann"},
        }
    ).office()
    assert resolve_delegate(office, "ann", True, MONDAY_10, MONDAY) is None
    assert resolve_delegate(office, "dan", True, MONDAY_10, MONDAY) == "dan"
    assert resolve_delegate(office, "dan", False, MONDAY_10, MONDAY) is None
    assert resolve_delegate(office, "left", True, MONDAY_10, MONDAY) is None
    cat = replace(office.people["cat"], delegate_id="eve")
    fixed = replace(office, people={**office.people, "cat": cat})
    assert resolve_delegate(fixed, "ann", True, MONDAY_10, MONDAY) == "eve"
    assert resolve_delegate(fixed, "bob", True, MONDAY_10, MONDAY) == "eve"


# --- the property: nobody unavailable is ever given a conversation ---------------------------

IDS = ("p0", "p1", "p2", "p3", "p4", "p5")
MISSING = "ghost"
SHIFTS = (None, MORNINGS, Schedule(parse_hours("sat,sun 00:00-24:00"), zone="Europe/London"))
LINES = (LINE_HOURS, ALWAYS, Schedule(parse_hours("daily 22:00-06:00"), zone="Asia/Tokyo"))
START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_MINUTES = 2 * 366 * 24 * 60


class CountingPeople(Mapping[str, Person]):
    """The people of an office, counting lookups so a runaway chain fails instead of hanging."""

    def __init__(self, people: dict[str, Person]) -> None:
        self._people = people
        self.lookups = 0

    def __getitem__(self, key: str) -> Person:
        self.lookups += 1
        if self.lookups > 10_000:
            raise AssertionError("routing looked people up without end")
        return self._people[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._people)

    def __len__(self) -> int:
        return len(self._people)


@st.composite
def people(draw: st.DrawFn) -> dict[str, Person]:
    count = draw(st.integers(1, len(IDS)))
    around = START.date()
    result = {}
    for pid in IDS[:count]:
        result[pid] = Person(
            pid,
            pid.upper(),
            draw(st.sampled_from(("admin", "manager", "agent", "auditor", "viewer"))),
            disabled=draw(st.booleans()),
            away=draw(st.booleans()),
            away_until=draw(
                st.none() | st.dates(around - timedelta(days=10), around + timedelta(days=800))
            ),
            delegate_id=draw(st.none() | st.sampled_from((*IDS, MISSING))),
            hours=draw(st.sampled_from(SHIFTS)),
        )
    return result


@st.composite
def situations(draw: st.DrawFn) -> tuple[Office, Inbound]:
    staff = draw(people())
    some_ids = st.sampled_from((*IDS, MISSING))
    teams = {
        tid: TeamView(
            tid,
            draw(st.sampled_from(("A", "B", "C"))),
            tuple(draw(st.lists(some_ids, max_size=5))),
            draw(st.none() | st.sampled_from(("l1", "l2"))),
        )
        for tid in draw(st.lists(st.sampled_from(("t1", "t2", "t3")), unique=True, max_size=3))
    }
    rules = tuple(
        draw(
            st.lists(
                st.builds(
                    Rule,
                    st.sampled_from(("t1", "t2", "t3")),
                    st.none() | st.sampled_from(("billing", "credit card")),
                    st.none() | st.sampled_from(("l1", "l2")),
                ),
                max_size=3,
            )
        )
    )
    office = Office(CountingPeople(staff), teams, rules, draw(st.sampled_from((NEW_YORK, "UTC"))))
    now = START + timedelta(minutes=draw(st.integers(0, SPAN_MINUTES)))
    ago = st.none() | st.integers(0, 48 * 60).map(lambda minutes: now - timedelta(minutes=minutes))
    message = Inbound(
        line_id=draw(st.sampled_from(("l1", "l2", "l3"))),
        line_hours=draw(st.sampled_from(LINES)),
        text=draw(st.sampled_from(("hello", "BILLING?", "my credit card", "rebilling"))),
        now=now.astimezone(draw(st.sampled_from((UTC, NY)))),
        assignee_id=draw(st.none() | some_ids),
        team_id=draw(st.none() | st.sampled_from(("t1", "t2", "t3", "gone"))),
        last_human_reply_at=draw(ago),
        away_replied_at=draw(ago),
    )
    return office, message


@settings(max_examples=400, deadline=None)
@given(situations())
def test_it_never_gives_a_conversation_to_someone_unavailable(
    situation: tuple[Office, Inbound],
) -> None:
    office, message = situation
    today = message.now.astimezone(ZoneInfo(office.zone)).date()
    line_open = is_open(message.line_hours, message.now)
    directory = office.people
    assert isinstance(directory, CountingPeople)
    for pid in (*IDS, MISSING):
        directory.lookups = 0
        taker = resolve_delegate(office, pid, line_open, message.now, today)
        # one look-up per link: the chain visits nobody twice
        assert directory.lookups <= len(directory) + 1
        assert taker is None or is_available(directory[taker], line_open, message.now, today)

    result = route(office, message)

    reasons = ("assignee", "delegate", "round_robin", "waiting", "nobody", "unstaffed")
    assert result.reason in reasons
    if result.reason in ("assignee", "delegate", "round_robin"):
        assert result.assignee_id is not None
        person = office.people[result.assignee_id]
        assert is_available(person, line_open, message.now, today)
        assert person.role in ANSWERING_ROLES
        assert not result.away_reply
    if result.reason == "assignee":
        assert result.assignee_id == message.assignee_id
    if result.reason == "round_robin":
        assert result.team_id is not None
        assert result.assignee_id in office.teams[result.team_id].members
    if result.reason in ("waiting", "unstaffed"):
        assert (result.assignee_id, result.team_id, result.away_reply) == (None, None, False)
    if result.reason == "nobody" and result.assignee_id is not None:
        keeper = office.people[result.assignee_id]
        assert result.assignee_id == message.assignee_id
        assert not keeper.disabled
        assert not is_away(keeper, today)
