"""One contact: number, name, consent state and ledger, flagged revocations, the records
export and erasure.

The role rules are the API's: ``contacts:read`` opens the page, ``contacts:write`` edits
the name, records consent and decides flagged messages (``gateway.consent`` then applies
its own rules per role), erasing needs the ``admin`` scope. The export carries every
message of the contact, so it is for the roles that open the archive.
"""

from __future__ import annotations

import json

from flask import abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from gateway.archive import ERASED, message_detail
from gateway.audit import Actor, audit
from gateway.consent import (
    ACTIONS,
    BY_THE_BOX,
    MAX_EVIDENCE,
    PURPOSES,
    SOURCES,
    ConsentChange,
    record_consent,
)
from gateway.contact_search import summaries
from gateway.contacts import get_contact, set_contact_name
from gateway.erasure import erase_contact
from gateway.errors import Conflict, GatewayError, NotFound
from gateway.records import (
    RECORD_COLUMNS,
    contact_record,
    csv_lines,
    ledger_page,
    record_rows,
)
from gateway.reviews import list_reviews, resolve_review
from gateway.users import list_users
from web import gateway_of
from web.panel import blueprint
from web.panel.access import current, signed_in
from web.panel.archive import READERS as EXPORTERS
from web.panel.contacts import needs
from web.panel.contacts_inputs import (
    FormError,
    csv_download,
    field,
    read_time_cursor,
    time_cursor,
)
from web.problems import STATUS

ERASERS = ("admin",)  # DELETE /api/v1/contacts/{id} needs the admin scope
PANEL_SOURCES = tuple(source for source in SOURCES if source not in (*BY_THE_BOX, "api"))
ERASE_WORD = "ERASE"
_CONSENT_FIELDS = ("purpose", "action", "source", "evidence")
DONE = {
    "name": "Name saved.",
    "consent": "Consent event recorded.",
    "review": "Flagged message decided.",
    "erased": "Contact erased: their messages, name and evidence are unreadable for good.",
}
ACTION_WORDS = {"opted_in": "opted in", "opted_out": "opted out", "revoked": "revoked"}
SOURCE_WORDS = {
    "web_form": "web form",
    "paper": "signed paper form",
    "email": "email",
    "verbal": "verbal (phone or in person)",
    "keyword": "keyword by text",
    "api": "API",
    "import": "import",
    "inbound": "texted the business",
    "on_send": "attested when sending",
}


def _actor() -> Actor:
    held = current()
    return Actor(held.user_id, held.role)


def _page(
    contact_id: str,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    """The contact's page; its consent evidence shown is audited, as the API's is."""
    gateway = gateway_of(current_app)
    vault = gateway.vault
    before = request.args.get("before")
    errors = dict(errors or {})
    with gateway.sessions() as session, gateway.writing():
        try:
            contact = get_contact(session, contact_id)
        except NotFound:
            abort(404)
        cursor = None
        if before:
            try:
                cursor = read_time_cursor(before)
            except FormError as exc:
                errors["ledger"] = exc.text
                status = max(status, exc.status)
        summary = summaries(session, vault, [contact])[0]
        ledger = ledger_page(session, vault, contact, before=cursor, limit=51)
        more = len(ledger) > 50
        ledger = ledger[:50]
        reviews = []
        for review in list_reviews(session, "open", contact_id=contact.id):
            text = message_detail(session, vault, review.message_id, history=False).body
            reviews.append((review, text))
        names = {user.id: user.name for user in list_users(session)}
        shown = [e for e in ledger if e.evidence and e.evidence != ERASED]
        if shown or reviews:
            audit(session, _actor(), "consent.exported", contact.id, "viewed in the panel")
            session.commit()
    pager = {
        "next_url": url_for(
            "panel.contacts_detail",
            contact_id=contact.id,
            before=time_cursor(ledger[-1].recorded_at, ledger[-1].id),
            _anchor="ledger",
        )
        if more
        else None,
        "prev_url": url_for("panel.contacts_detail", contact_id=contact.id, _anchor="ledger")
        if before
        else None,
    }
    page = render_template(
        "panel/contacts/detail.html",
        contact=summary,
        ledger=ledger,
        pager=pager,
        reviews=reviews,
        names=names,
        errors=errors,
        values=values or {},
        done=DONE.get(request.args.get("done", "")),
        purposes=PURPOSES,
        actions=ACTIONS,
        sources=PANEL_SOURCES,
        action_words=ACTION_WORDS,
        source_words=SOURCE_WORDS,
        max_evidence=MAX_EVIDENCE,
        may_export=current().role in EXPORTERS,
        may_erase=current().role in ERASERS,
        may_archive=current().role in EXPORTERS,
        erase_word=ERASE_WORD,
    )
    return current_app.make_response((page, status))


def _done(contact_id: str, what: str, anchor: str) -> Response:
    target = url_for("panel.contacts_detail", contact_id=contact_id, done=what, _anchor=anchor)
    return redirect(target, 303)


def _status(error: GatewayError) -> int:
    return STATUS.get(error.code, 422)


def _words(error: GatewayError) -> str:
    """The domain's message as a sentence (it never holds the input)."""
    text = str(error)
    return text[:1].upper() + text[1:] + "."


@blueprint.get("/contacts/<contact_id>")
@signed_in()
def contacts_detail(contact_id: str) -> Response:
    needs("contacts:read")
    return _page(contact_id)


@blueprint.post("/contacts/<contact_id>/name")
@signed_in()
def contacts_name(contact_id: str) -> Response:
    needs("contacts:write")
    gateway = gateway_of(current_app)
    try:
        name = field(request.form, "name", "The name", 128).strip()
    except FormError as exc:
        return _page(contact_id, errors={"name": exc.text}, status=exc.status)
    refused: GatewayError | None = None
    with gateway.sessions() as session, gateway.writing():
        try:
            contact = get_contact(session, contact_id)
            if contact.erased_at is not None:
                raise Conflict("an erased contact keeps no name")
            set_contact_name(gateway.vault, contact, name or None)
        except NotFound:
            abort(404)
        except GatewayError as exc:
            session.rollback()
            refused = exc
        else:
            session.commit()
    if refused is not None:  # the page is drawn after this request's write turn ends
        return _page(contact_id, errors={"name": _words(refused)}, status=_status(refused))
    return _done(contact_id, "name", "name")


def _consent_change() -> ConsentChange:
    form = request.form
    purpose = field(form, "purpose", "The purpose", 32)
    action = field(form, "action", "The change", 32)
    source = field(form, "source", "The source", 32)
    evidence = field(form, "evidence", "The evidence", MAX_EVIDENCE)
    if source in BY_THE_BOX:
        raise FormError("That source is recorded by the box itself, from the contact's text.")
    return ConsentChange(purpose, action, source, evidence if evidence.strip() else None)


@blueprint.post("/contacts/<contact_id>/consent")
@signed_in()
def contacts_consent(contact_id: str) -> Response:
    needs("contacts:write")
    gateway = gateway_of(current_app)
    values = {name: request.form.get(name, "")[:MAX_EVIDENCE] for name in _CONSENT_FIELDS}
    try:
        change = _consent_change()
    except FormError as exc:
        return _page(contact_id, errors={"consent": exc.text}, status=exc.status, values=values)
    held = current()
    refused: GatewayError | None = None
    with gateway.sessions() as session, gateway.writing():
        try:
            contact = get_contact(session, contact_id)
            record_consent(
                session,
                gateway.vault,
                contact,
                change,
                recorded_by=held.user_id,
                role=held.role,
            )
        except NotFound:
            abort(404)
        except GatewayError as exc:
            session.rollback()
            refused = exc
        else:
            session.commit()
    if refused is not None:
        errors = {"consent": _words(refused)}
        return _page(contact_id, errors=errors, status=_status(refused), values=values)
    return _done(contact_id, "consent", "ledger")


@blueprint.post("/contacts/<contact_id>/reviews/<review_id>")
@signed_in()
def contacts_review(contact_id: str, review_id: str) -> Response:
    needs("contacts:write")
    gateway = gateway_of(current_app)
    outcome = request.form.get("outcome", "")[:32]
    held = current()
    refused: GatewayError | None = None
    with gateway.sessions() as session, gateway.writing():
        try:
            contact = get_contact(session, contact_id)
            open_ids = {r.id for r in list_reviews(session, None, contact_id=contact.id)}
            if review_id not in open_ids:
                raise NotFound("no such review for this contact")
            resolve_review(
                session,
                gateway.vault,
                review_id,
                outcome,
                resolved_by=held.user_id,
                role=held.role,
            )
        except NotFound:
            abort(404)
        except GatewayError as exc:
            session.rollback()
            refused = exc
        else:
            session.commit()
    if refused is not None:
        return _page(contact_id, errors={"review": _words(refused)}, status=_status(refused))
    return _done(contact_id, "review", "reviews")


@blueprint.post("/contacts/<contact_id>/export")
@signed_in(*EXPORTERS)
def contacts_export(contact_id: str) -> Response:
    """The contact's records for a records request, audited as ``contact.exported``."""
    kind = request.form.get("format", "")
    if kind not in ("csv", "json"):
        return _page(contact_id, errors={"export": "Choose CSV or JSON."}, status=422)
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            contact = get_contact(session, contact_id)
        except NotFound:
            abort(404)
        record = contact_record(session, gateway.vault, contact)
        audit(session, _actor(), "contact.exported", contact.id, kind)
        session.commit()
    filename = f"contact-{contact_id}.{kind}"
    if kind == "csv":
        return csv_download(csv_lines(RECORD_COLUMNS, record_rows(record)), filename)
    response = current_app.response_class(
        json.dumps(record, ensure_ascii=False, indent=2), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@blueprint.post("/contacts/<contact_id>/erase")
@signed_in(*ERASERS)
def contacts_erase(contact_id: str) -> Response:
    gateway = gateway_of(current_app)
    typed = request.form.get("confirm", "")[:64].strip()
    if typed != ERASE_WORD:
        error = f"Nothing was erased: type {ERASE_WORD} in capitals to confirm."
        return _page(contact_id, errors={"erase": error}, status=422)
    held = current()
    with gateway.sessions() as session, gateway.writing():
        try:
            contact = get_contact(session, contact_id)
        except NotFound:
            abort(404)
        erase_contact(session, gateway.vault, contact, held.user_id, role=held.role)
        session.commit()
    return _done(contact_id, "erased", "top")
