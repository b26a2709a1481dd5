"""Your own account (every role): password, two-factor sign-in and its recovery codes,
signing out your other sessions, and the inbox settings an administrator keeps for you,
but for being away (with a day back and a delegate), which people set for themselves.

Changing something that would let a stolen session keep the account (the password, turning
two-factor off, new recovery codes) asks for the current password first; wrong ones count
towards the sign-in pause like wrong sign-ins do.
"""

from __future__ import annotations

from datetime import date

from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from gateway import panel_sessions, totp
from gateway.errors import GatewayError
from gateway.models import PanelSession, User
from gateway.passwords import check_new_password
from gateway.signin import SignInRefused, check_password
from gateway.teams import set_user_inbox
from gateway.user_admin import turn_off_own_two_factor
from web import gateway_of
from web.panel import blueprint
from web.panel.access import current, signed_in
from web.panel.people import field, status_of
from web.panel.signin_views import confirm_enrolment, enrolment_page, new_password

WRONG_PASSWORD = (
    "Your current password is not right (or, after too many tries, changes are paused for a while)."
)
DONE = {
    "sessions": "Your other sessions are signed out.",
    "two_factor_off": "Two-factor sign-in is off.",
    "already_on": "Two-factor sign-in is already on.",
    "away": "You are away: new conversations go to your delegate or your teams.",
    "back": "Welcome back: conversations come to you again.",
}


def _page(error: str | None = None, status: int = 200) -> Response:
    with gateway_of(current_app).sessions() as session:
        me = session.get(User, current().user_id)
        assert me is not None
        delegate = session.get(User, me.delegate_id) if me.delegate_id else None
        others = session.scalar(
            select(func.count())
            .select_from(PanelSession)
            .where(
                PanelSession.user_id == me.id,
                PanelSession.id != current().session_id,
                PanelSession.stage == "signed_in",
            )
        )
        html = render_template(
            "panel/account/account.html",
            me=me,
            delegate=delegate,
            has_totp=me.totp_secret_enc is not None,
            delegates=[
                person
                for person in session.scalars(select(User).order_by(User.name))
                if person.id != me.id and not person.disabled and person.role != "auditor"
            ],
            codes_left=totp.recovery_codes_left(session, me),
            other_sessions=others or 0,
            error=error,
            changed=request.args.get("changed") == "password",
            done=DONE.get(request.args.get("done", "")),
        )
    return current_app.make_response((html, status))


@blueprint.get("/account")
@signed_in()
def account() -> Response:
    return _page()


def _check_current_password() -> str | None:
    """None when the form's current password is right; else the error to show."""
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        try:
            check_password(
                session,
                current().user_name,
                field("current_password", 1024),
                request.remote_addr or "unknown",
            )
        except SignInRefused:
            session.commit()  # the failure counts
            return WRONG_PASSWORD
        session.commit()
    return None


@blueprint.post("/account/password")
@signed_in()
def account_password() -> Response:
    if (wrong := _check_current_password()) is not None:
        return _page(wrong, 422)
    new, again = field("new_password", 1024), field("new_password_again", 1024)
    # Checked here too, so a refusal is shown on this page (new_password's own page is the
    # sign-in step's).
    if new != again:
        return _page("The two new passwords differ.", 422)
    with gateway_of(current_app).sessions() as session:
        me = session.get(User, current().user_id)
        assert me is not None
        try:
            check_new_password(new, me.name, me.password_hash)
        except GatewayError as exc:
            return _page(f"{exc}.", status_of(exc))
    return new_password(then=None)


@blueprint.route("/account/two-factor", methods=["GET", "POST"])
@signed_in()
def account_two_factor() -> Response:
    with gateway_of(current_app).sessions() as session:
        me = session.get(User, current().user_id)
        assert me is not None
        on = me.totp_secret_enc is not None
    if on:
        # Replacing a secret in use is for another administrator (a reset), not a session.
        return redirect(url_for("panel.account", done="already_on"))
    if request.method == "GET":
        return enrolment_page(totp.new_secret())
    return confirm_enrolment(None)


@blueprint.post("/account/two-factor/off")
@signed_in("manager", "agent", "auditor")  # administrators must keep it
def account_two_factor_off() -> Response:
    if (wrong := _check_current_password()) is not None:
        return _page(wrong, 422)
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        me = session.get(User, current().user_id)
        assert me is not None
        try:
            turn_off_own_two_factor(session, me)
        except GatewayError as exc:
            session.rollback()
            return _page(f"{exc}.", status_of(exc))
        session.commit()
    return redirect(url_for("panel.account", done="two_factor_off"))


@blueprint.post("/account/recovery-codes")
@signed_in()
def account_recovery_codes() -> Response:
    if (wrong := _check_current_password()) is not None:
        return _page(wrong, 422)
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        me = session.get(User, current().user_id)
        assert me is not None
        if me.totp_secret_enc is None:
            return _page("Turn two-factor sign-in on first: recovery codes stand in for it.", 409)
        codes = totp.new_recovery_codes(session, me)
        session.commit()
    html = render_template("panel/account/recovery_codes.html", codes=codes)
    return current_app.make_response(html)


@blueprint.post("/account/sessions")
@signed_in()
def account_sessions() -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        panel_sessions.end_all(session, current().user_id, keep=current().session_id)
        session.commit()
    return redirect(url_for("panel.account", done="sessions"))


@blueprint.post("/account/away")
@signed_in("admin", "manager", "agent")
def account_away() -> Response:
    """Away until a day (or until back), conversations going to a delegate meanwhile."""
    away = request.form.get("away") == "yes"
    changes: dict[str, object] = {"away": away}
    if away:
        until = field("until", 32).strip()
        try:
            changes["away_until"] = date.fromisoformat(until) if until else None
        except ValueError:
            return _page("The day back is a date (YYYY-MM-DD).", 422)
        if changes["away_until"] is not None and changes["away_until"] <= date.today():
            return _page("The day back is after today.", 422)
        changes["delegate"] = field("delegate", 64) or None
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            set_user_inbox(session, current().user_name, **changes)  # type: ignore[arg-type]
        except GatewayError as exc:
            return _page(f"{exc}.", status_of(exc))
        session.commit()
    gateway.office.invalidate()
    return redirect(url_for("panel.account", done="away" if away else "back"))
