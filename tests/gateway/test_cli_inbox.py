"""`smsgw team`, `route`, `line hours`, `user set` and `audit` as an IT admin runs them, as
real processes against a real data directory."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.app import open_gateway
from gateway.config import load_config
from gateway.models import Line
from tests.gateway.test_cli_gateway import smsgw

TO = "+12015550123"
CARD = "Card on file: 4111 1111 1111 1111"


def box(data_dir: Path) -> list[str]:
    target = data_dir / "box"
    assert smsgw("init", "--data-dir", str(target)).returncode == 0
    # Lines appear when the worker first starts with their modem: here, by hand.
    gateway = open_gateway(load_config(target / "smsgw.toml", data_dir=target))
    with gateway.sessions() as session:
        session.add(Line(id="ln_front", name="Front desk", device="/dev/null"))
        session.commit()
    gateway.close()
    return ["--data-dir", str(target)]


def ok(*args: str) -> str:
    done = smsgw(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(*args: str) -> str:
    done = smsgw(*args)
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_it_sets_up_teams_members_rules_and_hours(data_dir: Path) -> None:
    where = box(data_dir)
    for name, role in (("ana", "agent"), ("ben", "agent"), ("zoe", "auditor")):
        ok(*where, "user", "add", name, "--role", role)
    ok(*where, "team", "add", "Front", "--line", "Front desk")
    ok(*where, "team", "join", "Front", "ana")
    ok(*where, "team", "join", "Front", "ben")
    assert "auditors" in refused(*where, "team", "join", "Front", "zoe")
    assert "already a member" in refused(*where, "team", "join", "Front", "ana")
    (team,) = [json.loads(line) for line in ok(*where, "team", "list", "--json").splitlines()]
    assert team["members"] == ["ana", "ben"] and team["line"] == "Front desk"
    ok(*where, "team", "leave", "Front", "ben")
    ok(*where, "route", "add", "--team", "Front", "--keyword", "invoice")
    assert "names a keyword, a line, or both" in refused(*where, "route", "add", "--team", "Front")
    (rule,) = [json.loads(line) for line in ok(*where, "route", "list", "--json").splitlines()]
    assert rule["keyword"] == "invoice" and rule["position"] == 1
    ok(*where, "route", "remove", rule["id"])
    assert ok(*where, "route", "list") == ""
    shown = ok(
        *where, "line", "hours", "Front desk", "--hours", "Mon-Fri 9:00-17:00",
        "--holidays", "2026-12-26 2026-12-25",
    )  # fmt: skip
    assert "hours: mon-fri 09:00-17:00" in shown and "holidays: 2026-12-25, 2026-12-26" in shown
    assert "25:00" in refused(*where, "line", "hours", "Front desk", "--hours", "mon 09:00-25:00")
    assert "no line" in refused(*where, "line", "hours", "Back office", "--hours", "daily")
    # A refused change leaves what was there.
    assert "hours: mon-fri 09:00-17:00" in ok(*where, "line", "hours", "Front desk")
    changes = ok(*where, "audit", "--action", "settings.changed", "--json").splitlines()
    details = sorted(json.loads(line)["detail"] for line in changes)
    assert details == ["lines.holidays", "lines.hours"]  # showing the hours changed nothing


def test_it_sets_away_delegates_and_supervision(data_dir: Path) -> None:
    where = box(data_dir)
    for name in ("ana", "ben"):
        ok(*where, "user", "add", name, "--role", "agent")
    assert "own delegate" in refused(*where, "user", "set", "ben", "--delegate", "ben")
    shown = ok(*where, "user", "set", "ben", "--until", "2027-01-05", "--delegate", "ana")
    assert "ben: away until 2027-01-05" in shown
    assert "ben: in" in ok(*where, "user", "set", "ben", "--back")
    ok(*where, "user", "set", "ana", "--supervised", "--signature", "- {agent}, front desk")
    assert "unknown variable" in refused(*where, "user", "set", "ana", "--signature", "{boss}")
    assert "unknown day" in refused(*where, "user", "set", "ana", "--hours", "someday 9-5")


def test_it_guards_sensitive_content_and_audits_the_override(data_dir: Path) -> None:
    where = box(data_dir)
    send = (*where, "send", "--to", TO, "--consent", "paper", "--text")
    error = refused(*send, CARD)
    assert "sensitive_content" in error and "4111" not in error
    ok(*send, CARD, "--override-sensitive")
    ok(*where, "consent", "export", "--contact", TO, "--output", str(data_dir / "e.csv"))
    events = [json.loads(line) for line in ok(*where, "audit", "--json").splitlines()]
    assert [e["action"] for e in events] == ["consent.exported", "message.sensitive_override"]
    assert all("4111" not in json.dumps(e) and TO not in json.dumps(e) for e in events)
    assert "--action" in refused(*where, "audit", "--action", "nonsense")
