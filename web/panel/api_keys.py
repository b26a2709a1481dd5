"""API keys (administrators): the list, a new key shown once, revoking.

As ``smsgw key``: a key acts for a user, with the scopes chosen here; only its digest is
kept, so the key is on the page that creates it and nowhere else, ever.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from gateway.apikeys import SCOPES, create_key, list_keys, revoke_key
from gateway.audit import audit
from gateway.errors import GatewayError, NotFound
from gateway.models import User
from gateway.users import get_user
from web import gateway_of
from web.panel import blueprint
from web.panel.access import signed_in
from web.panel.people import actor, field, page_number, paging, status_of

PER_PAGE = 50


def _page(error: str | None = None, status: int = 200, form: object = None) -> Response:
    page = page_number()
    with gateway_of(current_app).sessions() as session:
        # Newest first: the one just made or used is the one looked for.
        every = list(reversed(list_keys(session)))
        start = (page - 1) * PER_PAGE
        people = list(session.scalars(select(User).order_by(User.name)))
        html = render_template(
            "panel/keys/list.html",
            keys=every[start : start + PER_PAGE],
            total=len(every),
            people=people,
            scopes=SCOPES,
            pages=paging("panel.api_keys", page, len(every) > start + PER_PAGE),
            error=error,
            done="The key is revoked: it fails from its next request."
            if request.args.get("done") == "revoked"
            else None,
            form=form,
        )
    return current_app.make_response((html, status))


@blueprint.get("/keys")
@signed_in("admin")
def api_keys() -> Response:
    return _page()


@blueprint.post("/keys")
@signed_in("admin")
def api_keys_create() -> Response:
    user_name = field("user", 256)
    scopes = [s[:32] for s in request.form.getlist("scopes")[:16]]
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            if not user_name:
                raise NotFound("choose the user the key acts for")
            owner = get_user(session, user_name)
            key, plaintext = create_key(session, owner, scopes)
        except GatewayError as exc:
            session.rollback()
            return _page(f"{exc}.", 422 if status_of(exc) == 404 else status_of(exc), request.form)
        audit(session, actor(), "key.created", key.id, f"for {owner.id}: {key.scopes}")
        session.commit()
        html = render_template("panel/keys/created.html", key=key, owner=owner, plaintext=plaintext)
    return current_app.make_response((html, 201))


@blueprint.post("/keys/<key_id>/revoke")
@signed_in("admin")
def api_keys_revoke(key_id: str) -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            key = revoke_key(session, key_id[:40])
        except NotFound:
            abort(404)
        audit(session, actor(), "key.revoked", key.id)
        session.commit()
    return redirect(url_for("panel.api_keys", done="revoked"))
