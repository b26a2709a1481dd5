"""Settings: lines' opening hours, the texts customers get, marketing's quiet hours and
retention. Admins change them; managers may read them (they answer for what customers are
told, and when), with no form to change anything. A value set here goes over the config
file's and reaches the worker at its next message (``gateway.settings``); "reset" brings
the file's value back."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from gateway.audit import Actor
from gateway.business_hours import last_change, save_line_hours
from gateway.compliance import box_zone
from gateway.errors import NotFound
from gateway.models import Line, User
from gateway.settings import EDITABLE, SettingsRefused, reset, save_changed
from gateway.settings_report import report
from web import gateway_of
from web.panel import blueprint
from web.panel.access import current, signed_in

GROUPS = {
    "texts": (
        "Away and keyword texts",
        (
            "consent.business_name",
            "inbox.away_reply",
            "inbox.away_reply_hours",
            "inbox.silence_minutes",
            "inbox.signature",
            "consent.opt_out_reply",
            "consent.opt_in_reply",
            "consent.help_reply",
        ),
    ),
    "quiet": ("Quiet hours for marketing", ("consent.quiet_start", "consent.quiet_end")),
    "retention": ("Retention", ("retention.body_days", "retention.consent_years")),
}
# A refused value is shown back in its field; beyond this it is cut, not echoed whole.
SHOWN_BACK = 5000
Page = tuple[str, int]


def _actor() -> Actor:
    return Actor(current().user_id, current().role)


def _widget(key: str) -> str:
    kind = EDITABLE[key].kind
    if kind in (int, float):
        return kind.__name__
    if key in ("consent.quiet_start", "consent.quiet_end"):
        return "time"
    return "textarea" if key.endswith("_reply") else "text"


def _notice(done: str, what: str) -> str | None:
    """What the last form did, in the page's own words: the query string is never echoed."""
    if what in GROUPS:
        title = GROUPS[what][0]
        return {"saved": f"{title}: saved.", "unchanged": f"{title}: nothing changed."}.get(done)
    if what == "hours":
        notices = {"saved": "Opening hours saved.", "unchanged": "Opening hours: nothing changed."}
        return notices.get(done)
    if what in EDITABLE:
        label = EDITABLE[what].label
        notices = {
            "reset": f"{label}: back to the config file's value.",
            "already": f"{label}: already the config file's value.",
        }
        return notices.get(done)
    return None


@blueprint.get("/settings")
@signed_in("admin", "manager")
def settings() -> Page:
    return _page()


def _page(
    *,
    errors: dict[str, str] | None = None,
    submitted: dict[str, str] | None = None,
    status: int = 200,
) -> Page:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        shown = report(session, gateway.config)
        lines = list(session.scalars(select(Line).order_by(Line.name)))
        changed = {line.id: last_change(session, line.id) for line in lines}
        ids = {c.actor for c in changed.values() if c is not None}
        found = session.execute(select(User.id, User.name).where(User.id.in_(ids)))
        names = {user_id: name for user_id, name in found}
    notice = _notice(request.args.get("done", ""), request.args.get("what", ""))
    page = render_template(
        "panel/settings/page.html",
        groups=GROUPS,
        widgets={key: _widget(key) for key in EDITABLE},
        shown=shown,
        lines=lines,
        changed=changed,
        names=names,
        zone=box_zone(),
        errors=errors or {},
        submitted={k: v[:SHOWN_BACK] for k, v in (submitted or {}).items()},
        editing=current().role == "admin",
        done=None if errors else notice,
    )
    return page, status


@blueprint.post("/settings")
@signed_in("admin")
def settings_save() -> Response | Page:
    group = request.form.get("group", "")
    if group not in GROUPS:
        abort(400)
    submitted = {key: request.form.get(key) for key in GROUPS[group][1]}
    sent = {key: value for key, value in submitted.items() if value is not None}
    missing = {key: "was not sent with the form" for key in submitted if key not in sent}
    if missing:
        return _page(errors=missing, submitted=sent, status=400)
    gateway = gateway_of(current_app)
    try:
        with gateway.sessions() as session, gateway.writing():
            saved = save_changed(session, gateway.config, sent, _actor())
            session.commit()
    except SettingsRefused as exc:
        return _page(errors=exc.reasons, submitted=sent, status=422)
    done = "saved" if saved else "unchanged"
    return redirect(url_for("panel.settings", done=done, what=group, _anchor=group))


@blueprint.post("/settings/reset")
@signed_in("admin")
def settings_reset() -> Response:
    key = request.form.get("key", "")
    if key not in EDITABLE:
        abort(400)
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        done = reset(session, key, _actor())
        session.commit()
    group = next(name for name, (_, keys) in GROUPS.items() if key in keys)
    what = "reset" if done else "already"
    return redirect(url_for("panel.settings", done=what, what=key, _anchor=group))


@blueprint.post("/settings/lines/<line_id>")
@signed_in("admin")
def settings_line_hours(line_id: str) -> Response | Page:
    hours, holidays = request.form.get("hours"), request.form.get("holidays")
    form_id = f"line-{line_id[:40]}"
    if hours is None or holidays is None:
        sent = {f"{form_id}.hours": hours or "", f"{form_id}.holidays": holidays or ""}
        refused = {f"{form_id}.hours": "the form sent no hours and holidays fields"}
        return _page(errors=refused, submitted=sent, status=400)
    gateway = gateway_of(current_app)
    try:
        with gateway.sessions() as session, gateway.writing():
            saved = save_line_hours(session, line_id, hours, holidays, _actor())
            session.commit()
    except NotFound:
        abort(404)
    except SettingsRefused as exc:
        errors = {f"{form_id}.{field}": why for field, why in exc.reasons.items()}
        sent = {f"{form_id}.hours": hours, f"{form_id}.holidays": holidays}
        return _page(errors=errors, submitted=sent, status=422)
    done = "saved" if saved else "unchanged"
    return redirect(url_for("panel.settings", done=done, what="hours", _anchor=form_id))
