"""Signing in and out: password, then a TOTP or recovery code, a new password where the one
in use was a one-time one, and TOTP enrolment for administrators, who must have it."""

from __future__ import annotations

from urllib.parse import urlsplit

import segno
from flask import current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from gateway import panel_sessions, settings, totp, users
from gateway.errors import GatewayError
from gateway.models import User
from gateway.signin import (
    SignInRefused,
    check_password,
    check_second_factor,
    next_stage,
    set_totp_secret,
)
from web import gateway_of
from web.panel import (
    SIGNIN_COOKIE,
    blueprint,
    clear_session_cookie,
    set_session_cookie,
)
from web.panel.access import current

FIELD_LIMIT = 1024


def _address() -> str:
    return request.remote_addr or "unknown"


def _field(name: str) -> str:
    return request.form.get(name, "")[:FIELD_LIMIT]


def _safe_next(target: str | None) -> str:
    """Only a path on this box: never ``//evil.example`` or ``https://…``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("panel.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("panel.dashboard")
    return target


def _go_on(stage: str, token: str, target: str | None = None) -> Response:
    where = _safe_next(target) if stage == "signed_in" else url_for(f"panel.{stage}")
    response = redirect(where)
    set_session_cookie(response, token)
    response.delete_cookie(SIGNIN_COOKIE, secure=True, httponly=True, samesite="Lax", path="/")
    return response


@blueprint.get("/")
def home() -> Response:
    if g.panel is None:
        return redirect(url_for("panel.login"))
    return redirect(url_for("panel.dashboard"))


def _sign_in_form(error: str | None = None, status: int = 200) -> Response:
    import secrets

    token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    page = render_template(
        "panel/signin/login.html",
        signin_token=token,
        error=error,
        next=request.args.get("next", "")[:FIELD_LIMIT],
    )
    response = current_app.make_response((page, status))
    response.set_cookie(
        SIGNIN_COOKIE, token, secure=True, httponly=True, samesite="Lax", path="/", max_age=3600
    )
    return response


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response:
    if request.method == "GET":
        if g.panel is not None and g.panel.stage == "signed_in":
            return redirect(url_for("panel.dashboard"))
        return _sign_in_form()
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        try:
            user = check_password(session, _field("name"), _field("password"), _address())
        except SignInRefused as exc:
            session.commit()
            return _sign_in_form(str(exc), 401)
        stage = next_stage(user, user.totp_secret_enc is not None, None)
        token = panel_sessions.start(session, user, stage)
        session.commit()
    return _go_on(stage, token, request.form.get("next"))


def _stage_guard(stage: str) -> Response | None:
    if g.panel is None:
        return redirect(url_for("panel.login"))
    if g.panel.stage != stage:
        return redirect(url_for("panel.home" if g.panel.stage == "signed_in" else g.panel.stage))
    return None


@blueprint.route("/login/code", methods=["GET", "POST"])
def second_factor() -> Response:
    if (away := _stage_guard("second_factor")) is not None:
        return away
    if request.method == "GET":
        return current_app.make_response(render_template("panel/signin/code.html"))
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        user = session.get(User, current().user_id)
        assert user is not None
        try:
            check_second_factor(session, gateway.vault, user, _field("code"), _address())
        except SignInRefused as exc:
            session.commit()
            page = render_template("panel/signin/code.html", error=str(exc))
            return current_app.make_response((page, 401))
        stage = next_stage(user, True, "second_factor")
        token = panel_sessions.advance(session, current(), stage)
        session.commit()
    return _go_on(stage, token)


@blueprint.route("/login/password", methods=["GET", "POST"])
def change_password() -> Response:
    if (away := _stage_guard("change_password")) is not None:
        return away
    if request.method == "GET":
        return current_app.make_response(render_template("panel/signin/password.html"))
    return new_password(then="change_password")


def new_password(then: str | None) -> Response:
    """Set the password from the form; ``then``: the sign-in stage this was, None from the
    account page (which also asks for the current password, checked by its view)."""
    new, again = _field("new_password"), _field("new_password_again")
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        user = session.get(User, current().user_id)
        assert user is not None
        error = None
        if new != again:
            error = "The two new passwords differ."
        else:
            try:
                users.change_password(session, user, new, keep_session=current().session_id)
            except GatewayError as exc:
                error = f"{exc}."
        if error is not None:
            page = render_template("panel/signin/password.html", error=error)
            return current_app.make_response((page, 422))
        if then is None:
            session.commit()
            return redirect(url_for("panel.account", changed="password"))
        stage = next_stage(user, user.totp_secret_enc is not None, then)
        token = panel_sessions.advance(session, current(), stage)
        session.commit()
    return _go_on(stage, token)


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as a QR code, drawn here (no script, no image from elsewhere)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff", border=2)
    return Markup(svg)


def enrolment_page(secret: str, error: str | None = None, status: int = 200) -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        business = settings.current(session, gateway.config).consent.business_name
    uri = totp.provisioning_uri(secret, current().user_name, business)
    page = render_template(
        "panel/signin/enroll.html", secret=secret, qr=qr_svg(uri), uri=uri, error=error
    )
    return current_app.make_response((page, status))


def confirm_enrolment(then: str | None) -> Response:
    """Check the first code against the secret the form carried, keep it, show the recovery
    codes (once); ``then``: the sign-in stage this was, None from the account page."""
    secret, code = _field("secret"), _field("code")
    if len(secret) != 32 or not secret.isalnum() or not secret.isupper():
        return enrolment_page(totp.new_secret(), "That setup expired; scan this new code.", 422)
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        user = session.get(User, current().user_id)
        assert user is not None
        if not totp.use_code(user, secret, code):
            return enrolment_page(secret, "That code is not right; try the next one.", 422)
        set_totp_secret(session, gateway.vault, user, secret)
        codes = totp.new_recovery_codes(session, user)
        token = None
        if then is not None:
            token = panel_sessions.advance(session, current(), next_stage(user, True, then))
        session.commit()
    page = render_template("panel/signin/recovery_codes.html", codes=codes)
    response = current_app.make_response(page)
    if token is not None:
        set_session_cookie(response, token)
    return response


@blueprint.route("/login/two-factor", methods=["GET", "POST"])
def enroll_totp() -> Response:
    if (away := _stage_guard("enroll_totp")) is not None:
        return away
    if request.method == "GET":
        return enrolment_page(totp.new_secret())
    return confirm_enrolment("enroll_totp")


@blueprint.post("/logout")
def logout() -> Response:
    if g.panel is not None:
        with gateway_of(current_app).sessions() as session:
            panel_sessions.end(session, g.panel.session_id)
            session.commit()
    response = redirect(url_for("panel.login"))
    clear_session_cookie(response)
    return response
