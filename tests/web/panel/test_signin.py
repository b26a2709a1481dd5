"""Signing in: passwords, one-time passwords, TOTP, recovery codes, throttling, sessions."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pyotp

from gateway.models import LoginThrottle, PanelSession, User, utcnow
from gateway.users import issue_one_time_password
from tests.web.panel.conftest import PASSWORD, Panel

REFUSED = "The user name, password or code is not right"


def test_it_signs_in_with_password_and_totp_and_out_again(panel: Panel) -> None:
    browser = panel.sign_in("admin", via_forms=True)
    page = browser.get("/dashboard")
    assert page.status_code == 200
    assert "Dashboard" in page.get_data(as_text=True)
    assert browser.post("/logout").status_code == 302
    assert browser.get("/dashboard").status_code == 302
    with panel.gateway.sessions() as session:
        assert session.query(PanelSession).count() == 0


def test_it_sets_a_secure_host_only_cookie_with_a_new_id_at_each_step(panel: Panel) -> None:
    browser = panel.anonymous()
    browser.get("/login")
    done = browser.post("/login", {"name": "admin", "password": PASSWORD})
    cookie = done.headers["Set-Cookie"]
    assert cookie.startswith("__Host-smsgw_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    first = cookie.split(";")[0]
    browser.get("/login/code")
    code = pyotp.TOTP(panel.totp_secrets["admin"]).now()
    done = browser.post("/login/code", {"code": code})
    assert done.headers["Set-Cookie"].split(";")[0] != first


def test_it_refuses_every_failure_with_the_same_words(panel: Panel) -> None:
    for name, password in (("admin", "wrong password!"), ("nobody", PASSWORD), ("", "")):
        browser = panel.anonymous()
        browser.get("/login")
        page = browser.post("/login", {"name": name, "password": password})
        assert page.status_code == 401
        assert REFUSED in page.get_data(as_text=True)


def test_it_accepts_a_totp_code_once(panel: Panel) -> None:
    totp = pyotp.TOTP(panel.totp_secrets["admin"])
    step = int(time.time() // 30)
    with panel.gateway.sessions() as session:
        user = session.get(User, panel.ids["admin"])
        assert user is not None
        user.totp_last_step = step  # the code of this step was used a moment ago
        session.commit()
    browser = panel.anonymous()
    browser.get("/login")
    browser.post("/login", {"name": "admin", "password": PASSWORD})
    browser.get("/login/code")
    assert browser.post("/login/code", {"code": totp.at(step * 30)}).status_code == 401
    assert browser.post("/login/code", {"code": totp.at((step + 1) * 30)}).status_code == 302


def test_it_pauses_an_account_after_five_failures_even_for_the_right_password(
    panel: Panel,
) -> None:
    for _ in range(5):
        browser = panel.anonymous()
        browser.get("/login")
        assert (
            browser.post("/login", {"name": "agent", "password": "not it at all"}).status_code
            == 401
        )
    browser = panel.anonymous()
    browser.get("/login")
    page = browser.post("/login", {"name": "agent", "password": PASSWORD})
    assert page.status_code == 401
    assert REFUSED in page.get_data(as_text=True)
    with panel.gateway.sessions() as session:
        row = session.query(LoginThrottle).filter(LoginThrottle.key.like("account:%")).one()
        row.locked_until = utcnow() - timedelta(seconds=1)
        session.commit()
    assert panel.sign_in("agent").get("/dashboard").status_code == 200


def test_it_makes_a_one_time_password_be_changed_first(panel: Panel) -> None:
    with panel.gateway.sessions() as session:
        user = session.get(User, panel.ids["agent"])
        assert user is not None
        password = issue_one_time_password(session, user)
        session.commit()
    browser = panel.anonymous()
    browser.get("/login")
    done = browser.post("/login", {"name": "agent", "password": password})
    assert done.headers["Location"] == "/login/password"
    assert browser.get("/dashboard").headers["Location"] == "/login/password"
    browser.get("/login/password")
    short = browser.post(
        "/login/password", {"new_password": "short", "new_password_again": "short"}
    )
    assert short.status_code == 422
    new = "another fine password"
    done = browser.post("/login/password", {"new_password": new, "new_password_again": new})
    assert done.headers["Location"] == "/dashboard"
    assert browser.get("/dashboard").status_code == 200


def test_it_makes_an_admin_without_totp_set_it_up(panel: Panel) -> None:
    with panel.gateway.sessions() as session:
        user = session.get(User, panel.ids["admin"])
        assert user is not None
        user.totp_secret_enc = None
        session.commit()
    browser = panel.anonymous()
    browser.get("/login")
    done = browser.post("/login", {"name": "admin", "password": PASSWORD})
    assert done.headers["Location"] == "/login/two-factor"
    page = browser.get("/login/two-factor").get_data(as_text=True)
    secret = page.split('name="secret" value="')[1].split('"')[0]
    assert "<svg" in page
    wrong = browser.post("/login/two-factor", {"secret": secret, "code": "000000"})
    assert wrong.status_code == 422
    code = pyotp.TOTP(secret).now()
    shown = browser.post("/login/two-factor", {"secret": secret, "code": code})
    assert shown.status_code == 200
    assert shown.get_data(as_text=True).count("<li><code>") == 10
    assert browser.get("/dashboard").status_code == 200


def test_it_refuses_a_post_without_the_csrf_token(panel: Panel) -> None:
    browser = panel.sign_in("agent")
    assert browser.post("/logout", {"csrf_token": "forged"}).status_code == 400
    assert browser.get("/dashboard").status_code == 200
    other_site = browser.client.post(
        "/logout",
        data={"csrf_token": browser.csrf},
        base_url="https://box.test",
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 400


def test_it_ends_an_idle_session(panel: Panel) -> None:
    browser = panel.sign_in("agent")
    with panel.gateway.sessions() as session:
        for row in session.query(PanelSession):
            row.last_seen_at = utcnow() - timedelta(minutes=31)
        session.commit()
    assert browser.get("/dashboard").status_code == 302


def test_it_sends_the_security_headers_on_every_page(panel: Panel) -> None:
    for page in (panel.anonymous().get("/login"), panel.sign_in("agent").get("/dashboard")):
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "same-origin"
        assert page.headers["Cache-Control"] == "no-store"


def test_it_only_goes_on_to_a_path_of_its_own_after_sign_in(panel: Panel) -> None:
    for target, expected in (
        ("/inbox", "/inbox"),
        ("//evil.example/x", "/dashboard"),
        ("https://evil.example/", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
    ):
        browser = panel.anonymous()
        browser.get("/login")
        done = browser.post("/login", {"name": "agent", "password": PASSWORD, "next": target})
        assert done.headers["Location"] == expected


def test_it_signs_in_with_a_recovery_code_once(panel: Panel) -> None:
    from gateway import totp

    with panel.gateway.sessions() as session:
        user = session.get(User, panel.ids["admin"])
        assert user is not None
        codes = totp.new_recovery_codes(session, user)
        session.commit()
    for expected in (302, 401):
        browser = panel.anonymous()
        browser.get("/login")
        browser.post("/login", {"name": "admin", "password": PASSWORD})
        browser.get("/login/code")
        assert browser.post("/login/code", {"code": codes[0]}).status_code == expected
    with panel.gateway.sessions() as session:
        user = session.get(User, panel.ids["admin"])
        assert user is not None
        assert totp.recovery_codes_left(session, user) == 9


def test_it_sweeps_ended_sessions_and_old_failures(panel: Panel) -> None:
    from gateway import panel_sessions, signin

    panel.sign_in("agent")
    live = panel.sign_in("manager")
    with panel.gateway.sessions() as session:
        agent = session.query(PanelSession).filter_by(user_id=panel.ids["agent"]).one()
        agent.last_seen_at = utcnow() - timedelta(hours=1)
        signin.record_failure(session, signin.throttle_keys("x", "192.0.2.9"))
        signin.record_failure(
            session, signin.throttle_keys("y", "192.0.2.8"), utcnow() - timedelta(hours=1)
        )
        session.commit()
        assert panel_sessions.sweep(session, timedelta(minutes=30)) == 1
        assert signin.forget_old_failures(session) == 2  # y's account and address
        session.commit()
        assert session.query(LoginThrottle).count() == 2
    assert live.get("/dashboard").status_code == 200


def test_it_lets_live_refreshes_not_hold_an_idle_session_open(panel: Panel) -> None:
    browser = panel.sign_in("agent")
    quiet = utcnow() - timedelta(minutes=20)

    def seen() -> datetime:
        with panel.gateway.sessions() as session:
            row = session.query(PanelSession).filter_by(user_id=panel.ids["agent"]).one()
            return row.last_seen_at

    def set_seen(when: datetime) -> None:
        with panel.gateway.sessions() as session:
            row = session.query(PanelSession).filter_by(user_id=panel.ids["agent"]).one()
            row.last_seen_at = when
            session.commit()

    set_seen(quiet)
    assert browser.get("/inbox?fragment=1").status_code == 200
    assert seen() == quiet
    assert browser.get("/inbox").status_code == 200
    assert seen() > quiet


def test_it_answers_a_person_with_a_page_and_an_api_client_with_json(panel: Panel) -> None:
    page = panel.sign_in("agent").get("/no/such/page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "Not found" in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    api = panel.anonymous().client.get("/api/v1/no/such", base_url="https://box.test")
    assert api.status_code == 404
    assert api.mimetype == "application/problem+json"
