"""Contacts: find one by number or name, each with its consent state per purpose.

Every role holds ``contacts:read`` (as API keys of the same role would); the contact's own
page and its actions live in ``web.panel.contacts_detail``.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, current_app, render_template, request, url_for
from werkzeug.wrappers import Response

from gateway.contact_search import MAX_QUERY, by_number, newest, search_names
from gateway.errors import InvalidNumber
from gateway.numbers import to_e164
from web import gateway_of
from web.panel import blueprint
from web.panel.access import may, signed_in
from web.panel.contacts_inputs import FormError, field, id_cursor

PAGE = 25
# What a person types when they look for a number: digits and the usual separators.
_NUMBERISH = re.compile(r"\+?[\d\s().\-/]+")


def needs(scope: str) -> None:
    if not may(scope):
        abort(403)


def looks_like_number(text: str) -> bool:
    return _NUMBERISH.fullmatch(text) is not None and any(c.isdigit() for c in text)


def _search(query: str) -> dict[str, Any]:
    gateway = gateway_of(current_app)
    vault = gateway.vault
    found: dict[str, Any] = {"mode": "newest", "rows": [], "next_url": None, "prev_url": None}
    with gateway.sessions() as session:
        if not query:
            before = id_cursor(request.args.get("before"))
            rows = newest(session, vault, before=before, limit=PAGE + 1)
            found["rows"] = rows[:PAGE]
            if len(rows) > PAGE:
                found["next_url"] = url_for("panel.contacts", before=rows[PAGE - 1].id)
            if before:
                found["prev_url"] = url_for("panel.contacts")
        elif looks_like_number(query):
            try:
                e164 = to_e164(query, gateway.config.numbers.default_region)
            except InvalidNumber as exc:
                raise FormError(f"That is not a phone number we can read: {exc}.") from None
            found.update(mode="number", rows=by_number(session, vault, e164))
        else:
            after = id_cursor(request.args.get("after"))
            result = search_names(session, vault, query, after=after, limit=PAGE)
            found.update(mode="name", rows=result.found, scanned=result.scanned)
            if result.resume_after is not None:
                found["next_url"] = url_for("panel.contacts", q=query, after=result.resume_after)
            if after:
                found["prev_url"] = url_for("panel.contacts", q=query)
    return found


@blueprint.get("/contacts")
@signed_in()
def contacts() -> Response:
    needs("contacts:read")
    error = None
    status = 200
    found: dict[str, Any] = {"mode": None, "rows": []}
    query = request.args.get("q", "")
    try:
        query = field(request.args, "q", "The search", MAX_QUERY).strip()
        found = _search(query)
    except FormError as exc:
        error, status = exc.text, exc.status
    page = render_template("panel/contacts/list.html", query=query, error=error, **found)
    return current_app.make_response((page, status))


# The contact's page registers its views on the blueprint when imported.
from web.panel import contacts_detail  # noqa: E402, F401
