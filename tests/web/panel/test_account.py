"""Your account: password change, two-factor on and off, recovery codes, other sessions."""

from __future__ import annotations

import re

import pyotp
import pytest

from gateway import totp
from gateway.audit import audit_events
from gateway.models import PanelSession, User
from tests.web.panel.conftest import PASSWORD, Panel

NEW = "another long passphrase"
_CODE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")
_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]{32})<')


def sessions_of(panel: Panel, persona: str) -> int:
    with panel.gateway.sessions() as session:
        return session.query(PanelSession).filter_by(user_id=panel.ids[persona]).count()


@pytest.mark.parametrize("persona", ["admin", "manager", "agent", "auditor"])
def test_every_role_has_an_account_page(panel: Panel, persona: str) -> None:
    browser = panel.sign_in(persona)
    page = browser.get("/account")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"<bdi>{persona}</bdi>" in html and 'id="change-password"' in html
    assert browser.post("/account/sessions", {}).status_code == 302
    off = browser.post("/account/two-factor/off", {"current_password": PASSWORD})
    assert off.status_code == (403 if persona == "admin" else 409)
    codes = browser.post("/account/recovery-codes", {"current_password": PASSWORD})
    assert codes.status_code == (200 if persona == "admin" else 409)
    assert panel.anonymous().get("/account").status_code == 302


def test_it_changes_the_password_with_the_current_one_ending_other_sessions(
    panel: Panel,
) -> None:
    elsewhere = panel.sign_in("agent")
    browser = panel.sign_in("agent")
    browser.get("/account")
    wrong = browser.post(
        "/account/password",
        {"current_password": "not my password", "new_password": NEW, "new_password_again": NEW},
    )
    assert wrong.status_code == 422 and "current password is not right" in wrong.get_data(
        as_text=True
    )
    for new, again, words in (
        (NEW, NEW + "x", "The two new passwords differ"),
        ("short", "short", "12 to"),
        ("agent agent agent", "agent agent agent", "does not contain the user name"),
        (PASSWORD, PASSWORD, "the one to replace"),
    ):
        page = browser.post(
            "/account/password",
            {"current_password": PASSWORD, "new_password": new, "new_password_again": again},
        )
        assert page.status_code == 422 and words in page.get_data(as_text=True), words
    assert elsewhere.get("/dashboard").status_code == 200  # nothing changed so far
    done = browser.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(
        "/account?changed=password"
    )
    assert "Your password is changed" in browser.get(done.headers["Location"]).get_data(
        as_text=True
    )
    assert elsewhere.get("/dashboard").status_code == 302
    assert browser.get("/dashboard").status_code == 200
    fresh = panel.anonymous()
    fresh.get("/login")
    assert fresh.post("/login", {"name": "agent", "password": PASSWORD}).status_code == 401
    fresh.get("/login")
    assert fresh.post("/login", {"name": "agent", "password": NEW}).status_code == 302


def test_it_signs_out_every_other_session(panel: Panel) -> None:
    elsewhere = panel.sign_in("manager")
    browser = panel.sign_in("manager")
    assert "1</strong> other place" in browser.get("/account").get_data(as_text=True)
    done = browser.post("/account/sessions", {})
    assert done.status_code == 302
    assert elsewhere.get("/dashboard").status_code == 302
    assert browser.get("/account").status_code == 200
    assert sessions_of(panel, "manager") == 1


def test_a_non_admin_turns_two_factor_on_and_off(panel: Panel) -> None:
    browser = panel.sign_in("agent")
    page = browser.get("/account/two-factor")
    assert page.status_code == 200
    secret = _SECRET.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    wrong = browser.post("/account/two-factor", {"secret": secret, "code": "000000"})
    assert wrong.status_code == 422
    done = browser.post("/account/two-factor", {"secret": secret, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    first = _CODE.findall(done.get_data(as_text=True))
    assert len(first) == 10
    account = browser.get("/account").get_data(as_text=True)
    assert 'id="codes-left">10<' in account
    # On already: enrolling again is refused (another admin resets it).
    again = browser.get("/account/two-factor")
    assert again.status_code == 302 and "already_on" in again.headers["Location"]
    # New recovery codes need the current password; the old ones stop working.
    browser.get("/account")
    refused = browser.post("/account/recovery-codes", {"current_password": "nope nope nope"})
    assert refused.status_code == 422
    fresh = browser.post("/account/recovery-codes", {"current_password": PASSWORD})
    html = fresh.get_data(as_text=True)
    assert fresh.status_code == 200 and 'class="shown-once"' in html
    second = _CODE.findall(html)
    assert len(second) == 10 and not set(first) & set(second)
    with panel.gateway.sessions() as session:
        agent = session.get(User, panel.ids["agent"])
        assert agent is not None
        assert not totp.use_recovery_code(session, agent, first[0])
        assert totp.use_recovery_code(session, agent, second[0])
        session.commit()
    assert 'id="codes-left">9<' in browser.get("/account").get_data(as_text=True)
    # Off, with the current password.
    refused = browser.post("/account/two-factor/off", {"current_password": "nope nope nope"})
    assert refused.status_code == 422
    assert (
        browser.post("/account/two-factor/off", {"current_password": PASSWORD}).status_code == 302
    )
    with panel.gateway.sessions() as session:
        agent = session.get(User, panel.ids["agent"])
        assert agent is not None and agent.totp_secret_enc is None
        assert totp.recovery_codes_left(session, agent) == 0
        (event,) = audit_events(session, action="user.two_factor_off")
        assert event.actor == panel.ids["agent"]


def test_an_admin_keeps_two_factor(panel: Panel) -> None:
    admin = panel.sign_in("admin")
    page = admin.get("/account").get_data(as_text=True)
    assert "must keep two-factor sign-in" in page and "account/two-factor/off" not in page
    assert admin.post("/account/two-factor/off", {"current_password": PASSWORD}).status_code == 403
    assert admin.get("/account/two-factor").status_code == 302
    with panel.gateway.sessions() as session:
        admin_user = session.get(User, panel.ids["admin"])
        assert admin_user is not None and admin_user.totp_secret_enc is not None


def test_the_account_page_shows_inbox_settings_inert(panel: Panel) -> None:
    from gateway.teams import set_user_inbox

    with panel.gateway.sessions() as session:
        set_user_inbox(session, "agent", display_name="<i>Sam</i>", signature="- {agent}")
        session.commit()
    page = panel.sign_in("agent").get("/account").get_data(as_text=True)
    assert "&lt;i&gt;Sam&lt;/i&gt;" in page and "<i>Sam" not in page


def test_it_lets_people_set_themselves_away_with_a_delegate_and_back(panel: Panel) -> None:
    from datetime import date, timedelta

    browser = panel.sign_in("agent")
    back_on = (date.today() + timedelta(days=7)).isoformat()
    done = browser.post("/account/away", {"away": "yes", "until": back_on, "delegate": "manager"})
    assert done.status_code == 302 and done.headers["Location"].endswith("done=away")
    with panel.gateway.sessions() as session:
        me = session.get(User, panel.ids["agent"])
        assert me is not None
        assert me.away and me.away_until.isoformat() == back_on
        assert me.delegate_id == panel.ids["manager"]
    page = browser.get("/account").get_data(as_text=True)
    assert "I am back" in page
    assert browser.post("/account/away", {"away": "no"}).status_code == 302
    with panel.gateway.sessions() as session:
        me = session.get(User, panel.ids["agent"])
        assert me is not None and not me.away and me.away_until is None


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"away": "yes", "until": "next week"}, "The day back is a date"),
        ({"away": "yes", "until": "2001-01-01"}, "The day back is after today"),
        ({"away": "yes", "delegate": "nobody-of-that-name"}, "no user with that name"),
        ({"away": "yes", "delegate": "agent"}, "delegate"),
    ],
)
def test_it_refuses_a_bad_away_form_and_changes_nothing(
    panel: Panel, form: dict[str, str], expected: str
) -> None:
    browser = panel.sign_in("agent")
    page = browser.post("/account/away", form)
    assert page.status_code in (404, 409, 422)
    assert expected in page.get_data(as_text=True)
    with panel.gateway.sessions() as session:
        me = session.get(User, panel.ids["agent"])
        assert me is not None and not me.away


def test_it_leaves_auditors_without_an_away_form(panel: Panel) -> None:
    browser = panel.sign_in("auditor")
    assert "I am away" not in browser.get("/account").get_data(as_text=True)
    assert browser.post("/account/away", {"away": "yes"}).status_code == 403
