"""Users and teams: who may look and change, one-time passwords shown once, roles and
disabling taking effect at once, inbox settings, teams and routing, hostile input."""

from __future__ import annotations

import re

import pytest

from gateway.audit import audit_events
from gateway.models import PanelSession, RoutingRule, Team, TeamMember, User
from gateway.teams import add_team
from tests.gateway.inbox_fixtures import add_lines
from tests.web.panel.conftest import PASSWORD, Panel, PanelClient

MANAGING = {"admin": 200, "manager": 200, "agent": 403, "auditor": 403}
ADMIN_ONLY = {"admin": None, "manager": 403, "agent": 403, "auditor": 403}
_SHOWN = re.compile(r'<code id="one-time-password">([^<]+)</code>')


def one_time_password(page: str) -> str:
    found = _SHOWN.search(page)
    assert found, page
    return found.group(1)


def user(panel: Panel, name: str) -> User:
    with panel.gateway.sessions() as session:
        found = session.query(User).filter_by(name=name).one()
        session.expunge(found)
        return found


def add(browser: PanelClient, name: str, role: str = "agent") -> str:
    browser.get("/users")
    page = browser.post("/users/add", {"name": name, "role": role})
    assert page.status_code == 201, page.get_data(as_text=True)
    return one_time_password(page.get_data(as_text=True))


@pytest.mark.parametrize("persona", sorted(MANAGING))
def test_it_lets_admins_and_managers_see_people_and_teams(panel: Panel, persona: str) -> None:
    browser = panel.sign_in(persona)
    for path in ("/users", f"/users/{panel.ids['agent']}", "/users/teams"):
        assert browser.get(path).status_code == MANAGING[persona], path
    assert browser.get("/users/usr_nobody").status_code in (404, 403)


@pytest.mark.parametrize("persona", ["manager", "agent", "auditor"])
def test_it_lets_only_admins_change_people_and_teams(panel: Panel, persona: str) -> None:
    with panel.gateway.sessions() as session:
        team = add_team(session, "Desk")
        session.commit()
        team_id = team.id
    browser = panel.sign_in(persona)
    target = panel.ids["agent"]
    for path, data in (
        ("/users/add", {"name": "newbie", "role": "agent"}),
        (f"/users/{target}/role", {"role": "admin"}),
        (f"/users/{target}/disable", {}),
        (f"/users/{target}/enable", {}),
        (f"/users/{target}/password", {}),
        (f"/users/{target}/inbox", {"display_name": "X"}),
        ("/users/teams/add", {"name": "Sneaky"}),
        (f"/users/teams/{team_id}/members", {"user": "agent"}),
        (f"/users/teams/{team_id}/members/{target}/remove", {}),
        (f"/users/teams/{team_id}/line", {"line": ""}),
        ("/users/rules/add", {"team": team_id, "keyword": "x"}),
        ("/users/rules/rr_x/remove", {}),
    ):
        assert browser.post(path, data).status_code == 403, path
    with panel.gateway.sessions() as session:
        assert session.query(User).filter_by(name="newbie").count() == 0
        assert session.get(User, target).role == "agent"
        assert session.query(Team).count() == 1


def test_it_lists_people_with_their_state(panel: Panel) -> None:
    browser = panel.sign_in("admin")
    page = browser.get("/users").get_data(as_text=True)
    for name in ("admin", "manager", "agent", "auditor"):
        assert f"<bdi>{name}</bdi>" in page
    assert "Users (4)" in page
    assert 'id="add-user"' in page
    # Managers see the list but no form to change it.
    manager = panel.sign_in("manager").get("/users").get_data(as_text=True)
    assert 'id="add-user"' not in manager and "<bdi>agent</bdi>" in manager


def test_it_pages_a_long_list_of_people(panel: Panel) -> None:
    from gateway.users import add_user

    with panel.gateway.sessions() as session:
        for n in range(60):
            add_user(session, f"person{n:02d}", "agent")
        session.commit()
    browser = panel.sign_in("manager")
    first = browser.get("/users").get_data(as_text=True)
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = browser.get("/users?page=2").get_data(as_text=True)
    assert 'rel="prev"' in second and "person59" in second
    for bad in ("0", "x", "²", "-1", "9999999"):
        assert browser.get(f"/users?page={bad}").status_code == 400


def test_it_shows_a_new_users_one_time_password_once_and_it_must_be_changed(
    panel: Panel,
) -> None:
    admin = panel.sign_in("admin")
    admin.get("/users")
    page = admin.post("/users/add", {"name": "dana", "role": "agent"})
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    assert 'class="shown-once"' in html and 'data-copy="one-time-password"' in html
    password = one_time_password(html)
    dana = user(panel, "dana")
    assert dana.role == "agent" and dana.must_change_password
    assert password not in admin.get(f"/users/{dana.id}").get_data(as_text=True)
    assert password not in admin.get("/users").get_data(as_text=True)
    # It signs in, straight to choosing a password of one's own.
    browser = panel.anonymous()
    browser.get("/login")
    done = browser.post("/login", {"name": "dana", "password": password})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login/password")
    assert browser.get("/dashboard").status_code == 302
    browser.get("/login/password")
    new = "my own long secret phrase"
    done = browser.post("/login/password", {"new_password": new, "new_password_again": new})
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard")
    with panel.gateway.sessions() as session:
        (event,) = audit_events(session, action="user.added")
        assert event.subject == dana.id and event.actor == panel.ids["admin"]


@pytest.mark.parametrize(
    ("name", "role", "words", "status"),
    [
        ("", "agent", "1 to 64 characters", 422),
        ("x" * 65, "agent", "1 to 64 characters", 422),
        ("evil\u202ename", "agent", "printable", 422),
        (" padded", "agent", "printable", 422),
        ("fine", "superuser", "the role is one of", 422),
        ("agent", "agent", "a user with that name exists", 409),
    ],
)
def test_it_refuses_a_bad_new_user_clearly_and_keeps_the_form(
    panel: Panel, name: str, role: str, words: str, status: int
) -> None:
    browser = panel.sign_in("admin")
    browser.get("/users")
    page = browser.post("/users/add", {"name": name, "role": role})
    assert page.status_code == status
    html = page.get_data(as_text=True)
    assert words in html and 'class="error"' in html
    assert "shown-once" not in html
    if name and "\u202e" not in name:
        assert f'value="{name}"' in html


def test_it_renders_hostile_names_inert(panel: Panel) -> None:
    browser = panel.sign_in("admin")
    add(browser, "<script>alert(1)</script>")
    hostile = user(panel, "<script>alert(1)</script>")
    page = browser.get("/users").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    browser.get(f"/users/{hostile.id}")
    done = browser.post(
        f"/users/{hostile.id}/inbox",
        {"form_name": "inbox", "display_name": "<img src=x onerror=alert(1)>"},
    )
    assert done.status_code == 302
    page = browser.get(f"/users/{hostile.id}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    # A display name with a bidi override is refused, as user names are.
    page = browser.post(
        f"/users/{hostile.id}/inbox", {"form_name": "inbox", "display_name": "abc\u202edef"}
    )
    assert page.status_code == 422 and "printable" in page.get_data(as_text=True)


def test_it_resets_a_password_ending_every_session_of_that_user(panel: Panel) -> None:
    agent = panel.sign_in("agent")
    admin = panel.sign_in("admin")
    admin.get(f"/users/{panel.ids['agent']}")
    page = admin.post(f"/users/{panel.ids['agent']}/password", {})
    assert page.status_code == 200
    password = one_time_password(page.get_data(as_text=True))
    assert agent.get("/dashboard").status_code == 302  # signed out
    browser = panel.anonymous()
    browser.get("/login")
    assert browser.post("/login", {"name": "agent", "password": PASSWORD}).status_code == 401
    browser.get("/login")
    done = browser.post("/login", {"name": "agent", "password": password})
    assert done.headers["Location"].endswith("/login/password")
    with panel.gateway.sessions() as session:
        (event,) = audit_events(session, action="user.password_reset")
        assert event.subject == panel.ids["agent"]


def test_it_can_remove_two_factor_with_the_reset(panel: Panel) -> None:
    admin = panel.sign_in("admin")
    add(admin, "second-admin", "admin")
    second = user(panel, "second-admin")
    with panel.gateway.sessions() as session:
        from gateway.signin import set_totp_secret

        set_totp_secret(session, panel.gateway.vault, session.get(User, second.id), "A" * 32)
        session.commit()
    admin.get(f"/users/{second.id}")
    page = admin.post(f"/users/{second.id}/password", {"two_factor": "1"})
    password = one_time_password(page.get_data(as_text=True))
    assert user(panel, "second-admin").totp_secret_enc is None
    # An administrator sets two-factor up again after choosing a password.
    browser = panel.anonymous()
    browser.get("/login")
    browser.post("/login", {"name": "second-admin", "password": password})
    browser.get("/login/password")
    new = "a brand new long password"
    done = browser.post("/login/password", {"new_password": new, "new_password_again": new})
    assert done.headers["Location"].endswith("/login/two-factor")


def test_a_role_change_applies_at_the_next_page(panel: Panel) -> None:
    agent = panel.sign_in("agent")
    assert agent.get("/users").status_code == 403
    admin = panel.sign_in("admin")
    admin.get(f"/users/{panel.ids['agent']}")
    done = admin.post(f"/users/{panel.ids['agent']}/role", {"role": "manager"})
    assert done.status_code == 302 and "done=role" in done.headers["Location"]
    assert agent.get("/users").status_code == 200
    assert "The role is changed" in admin.get(done.headers["Location"]).get_data(as_text=True)
    page = admin.post(f"/users/{panel.ids['agent']}/role", {"role": "root"})
    assert page.status_code == 422 and "the role is one of" in page.get_data(as_text=True)
    with panel.gateway.sessions() as session:
        (event,) = audit_events(session, action="user.role_changed")
        assert event.detail == "agent to manager"


def test_disabling_someone_ends_their_session_at_once(panel: Panel) -> None:
    agent = panel.sign_in("agent")
    admin = panel.sign_in("admin")
    admin.get(f"/users/{panel.ids['agent']}")
    assert admin.post(f"/users/{panel.ids['agent']}/disable", {}).status_code == 302
    assert agent.get("/dashboard").status_code == 302
    with panel.gateway.sessions() as session:
        assert session.query(PanelSession).filter_by(user_id=panel.ids["agent"]).count() == 0
    browser = panel.anonymous()
    browser.get("/login")
    assert browser.post("/login", {"name": "agent", "password": PASSWORD}).status_code == 401
    admin.get(f"/users/{panel.ids['agent']}")
    assert admin.post(f"/users/{panel.ids['agent']}/enable", {}).status_code == 302
    assert panel.sign_in("agent").get("/dashboard").status_code == 200
    with panel.gateway.sessions() as session:
        assert [e.action for e in audit_events(session, subject=panel.ids["agent"])] == [
            "user.enabled",
            "user.disabled",
        ]


def test_an_admin_cannot_lock_themselves_out(panel: Panel) -> None:
    admin = panel.sign_in("admin")
    me = panel.ids["admin"]
    admin.get(f"/users/{me}")
    for path, data in ((f"/users/{me}/disable", {}), (f"/users/{me}/role", {"role": "agent"})):
        page = admin.post(path, data)
        assert page.status_code == 409
        assert "your own account" in page.get_data(as_text=True)
    stored = user(panel, "admin")
    assert stored.role == "admin" and not stored.disabled
    assert admin.get("/users").status_code == 200


def test_it_saves_inbox_settings_and_keeps_the_form_on_errors(panel: Panel) -> None:
    admin = panel.sign_in("admin")
    target = panel.ids["agent"]
    admin.get(f"/users/{target}")
    settings = {
        "form_name": "inbox",
        "display_name": "Sam",
        "signature_mode": "own",
        "signature": "- {agent}, Bay Clinic",
        "working_hours": "mon-fri 09:00-17:00",
        "away": "1",
        "away_until": "2031-02-03",
        "delegate": "manager",
        "supervised": "1",
    }
    done = admin.post(f"/users/{target}/inbox", settings)
    assert done.status_code == 302, done.get_data(as_text=True)
    stored = user(panel, "agent")
    assert stored.display_name == "Sam" and stored.signature == "- {agent}, Bay Clinic"
    assert stored.away and stored.away_until.isoformat() == "2031-02-03"
    assert stored.delegate_id == panel.ids["manager"] and stored.supervised
    assert stored.working_hours
    for field, value, words in (
        ("working_hours", "someday 25:00", ""),
        ("away_until", "03/02/2031", "YYYY-MM-DD"),
        ("delegate", "auditor", "auditors are not given conversations"),
        ("delegate", "nobody-at-all", "no user with that name"),
        ("signature", "x" * 161, "signature"),
    ):
        page = admin.post(
            f"/users/{target}/inbox", {**settings, "display_name": "Kept", field: value}
        )
        html = page.get_data(as_text=True)
        assert page.status_code in (404, 422), (field, page.status_code)
        assert 'class="error"' in html and words in html
        assert 'value="Kept"' in html  # nothing typed is lost
    # Back in, the box's signature, no delegate.
    done = admin.post(
        f"/users/{target}/inbox", {"form_name": "inbox", "signature_mode": "box", "delegate": ""}
    )
    stored = user(panel, "agent")
    assert not stored.away and stored.signature is None and stored.delegate_id is None
    assert not stored.supervised
    # A manager sees them, read-only.
    page = panel.sign_in("manager").get(f"/users/{target}").get_data(as_text=True)
    assert 'id="inbox-settings"' not in page and "Inbox settings" in page


def test_it_manages_teams_members_and_routing_rules(panel: Panel) -> None:
    add_lines(panel.gateway, ("ln_front", "Front"))
    admin = panel.sign_in("admin")
    admin.get("/users/teams")
    assert "No teams yet" in admin.get("/users/teams").get_data(as_text=True)
    done = admin.post("/users/teams/add", {"name": "<b>Front</b> desk", "line": "Front"})
    assert done.status_code == 302
    with panel.gateway.sessions() as session:
        team = session.query(Team).one()
        team_id = team.id
    page = admin.get("/users/teams").get_data(as_text=True)
    assert "&lt;b&gt;Front&lt;/b&gt; desk" in page and "<b>Front</b>" not in page
    assert admin.post(f"/users/teams/{team_id}/members", {"user": "agent"}).status_code == 302
    page = admin.post(f"/users/teams/{team_id}/members", {"user": "agent"})
    assert page.status_code == 409 and "already a member" in page.get_data(as_text=True)
    page = admin.post(f"/users/teams/{team_id}/members", {"user": "auditor"})
    assert page.status_code == 422 and "auditors" in page.get_data(as_text=True)
    assert admin.post(f"/users/teams/{team_id}/members", {"user": ""}).status_code == 422
    with panel.gateway.sessions() as session:
        assert session.query(TeamMember).count() == 1
    assert "<bdi>&lt;b&gt;Front&lt;/b&gt; desk</bdi>" in admin.get("/users").get_data(as_text=True)
    # Routing rules, as smsgw route add.
    page = admin.post("/users/rules/add", {"team": team_id})
    assert page.status_code == 422 and "a keyword, a line, or both" in page.get_data(as_text=True)
    page = admin.post("/users/rules/add", {"team": team_id, "keyword": "x" * 65})
    assert page.status_code == 422 and 'value="' + "x" * 64 in page.get_data(as_text=True)
    page = admin.post("/users/rules/add", {"team": "tm_nope", "keyword": "booking"})
    assert page.status_code == 404 and "no team with that name" in page.get_data(as_text=True)
    assert (
        admin.post("/users/rules/add", {"team": team_id, "keyword": "booking"}).status_code == 302
    )
    with panel.gateway.sessions() as session:
        rule = session.query(RoutingRule).one()
        assert rule.keyword == "booking" and rule.team_id == team_id
        rule_id = rule.id
    assert "booking" in admin.get("/users/teams").get_data(as_text=True)
    assert admin.post(f"/users/rules/{rule_id}/remove", {}).status_code == 302
    assert admin.post(f"/users/rules/{rule_id}/remove", {}).status_code == 404
    assert admin.post(f"/users/teams/{team_id}/line", {"line": ""}).status_code == 302
    assert admin.post(f"/users/teams/{team_id}/line", {"line": "No such"}).status_code == 404
    done = admin.post(f"/users/teams/{team_id}/members/{panel.ids['agent']}/remove", {})
    assert done.status_code == 302
    assert (
        admin.post(f"/users/teams/{team_id}/members/{panel.ids['agent']}/remove").status_code == 404
    )
    assert admin.post("/users/teams/tm_nope/members", {"user": "agent"}).status_code == 404
    with panel.gateway.sessions() as session:
        assert session.query(TeamMember).count() == 0
        assert session.query(RoutingRule).count() == 0
