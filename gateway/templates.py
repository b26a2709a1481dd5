"""Canned replies and signatures: staff-written text with ``{first_name}``-style variables.

Variables are filled by plain substitution of known names, never by ``str.format`` (whose
``{0.__class__}`` reaches into objects): a template is data, not code. Unknown variables are
refused when the template is saved, so a typo never reaches a customer as "{frist_name}".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.errors import Conflict, Forbidden, InvalidTemplate, NotFound
from gateway.inbox_access import Viewer
from gateway.models import Template, new_id, utcnow

VARIABLES = ("first_name", "last_name", "name", "agent", "business", "line")
MAX_BODY = 1600
MAX_NAME = 64
_VARIABLE = re.compile(r"\{([^{}]*)\}")
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_text(text: str, what: str = "the template", limit: int = MAX_BODY) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidTemplate(f"{what} is empty")
    if len(text) > limit:
        raise InvalidTemplate(f"{what} is longer than {limit} characters")
    if _CONTROL.search(text):
        raise InvalidTemplate(f"{what} holds control characters (only line breaks are allowed)")
    for found in _VARIABLE.findall(text):
        if found not in VARIABLES:
            raise InvalidTemplate(
                f"{what} uses an unknown variable; the variables are "
                + ", ".join("{" + v + "}" for v in VARIABLES)
            )
    return text


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill the variables; one without a value disappears with the space before it
    ("Hi {first_name}," becomes "Hi," for a contact whose name is not on file)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        value = values.get(name, "")
        return f"{match.group(1)}{value}" if value else ""

    return re.sub(r"( ?)\{(" + "|".join(VARIABLES) + r")\}", fill, text)


def name_values(full_name: str | None) -> dict[str, str]:
    parts = (full_name or "").split()
    return {
        "name": " ".join(parts),
        "first_name": parts[0] if parts else "",
        "last_name": parts[-1] if len(parts) > 1 else "",
    }


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME:
        raise InvalidTemplate(f"a template's name is 1 to {MAX_NAME} characters")
    if not name.isprintable():
        raise InvalidTemplate("a template's name is printable characters on one line")
    return name.strip()


def visible_templates(session: Session, viewer: Viewer) -> list[Template]:
    """The shared templates and the viewer's own, shared first, each by name."""
    query = (
        select(Template)
        .where(or_(Template.owner_id.is_(None), Template.owner_id == viewer.id))
        .order_by(Template.owner_id.is_not(None), Template.name)
    )
    return list(session.scalars(query))


def get_template(session: Session, viewer: Viewer, template_id: str) -> Template:
    template = session.get(Template, template_id[:64])
    if template is None or template.owner_id not in (None, viewer.id):
        raise NotFound("no template with that id")
    return template


def create_template(
    session: Session,
    viewer: Viewer,
    name: str,
    body: str,
    *,
    shared: bool = False,
    now: datetime | None = None,
) -> Template:
    if viewer.read_only:
        raise Forbidden("auditors do not write templates")
    if shared and not viewer.supervises:
        raise Forbidden("only a manager or an admin may write shared templates")
    name, body = _check_name(name), check_text(body)
    owner = None if shared else viewer.id
    _refuse_clash(session, name, owner)
    now = now or utcnow()
    template = Template(
        id=new_id("tpl"),
        owner_id=owner,
        name=name,
        body=body,
        created_by=viewer.id,
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    return template


def _refuse_clash(session: Session, name: str, owner: str | None, itself: str = "") -> None:
    clash = session.scalar(
        select(Template.id).where(
            Template.name == name,
            Template.owner_id.is_(None) if owner is None else Template.owner_id == owner,
            Template.id != itself,
        )
    )
    if clash is not None:
        raise Conflict("a template with that name exists")


def _may_change(viewer: Viewer, template: Template) -> None:
    if viewer.read_only or (template.owner_id is None and not viewer.supervises):
        raise Forbidden("only a manager or an admin may change shared templates")


def update_template(
    session: Session,
    viewer: Viewer,
    template_id: str,
    *,
    name: str | None = None,
    body: str | None = None,
    now: datetime | None = None,
) -> Template:
    template = get_template(session, viewer, template_id)
    _may_change(viewer, template)
    if name is not None:
        name = _check_name(name)
        _refuse_clash(session, name, template.owner_id, template.id)
        template.name = name
    if body is not None:
        template.body = check_text(body)
    template.updated_at = now or utcnow()
    return template


def delete_template(session: Session, viewer: Viewer, template_id: str) -> None:
    template = get_template(session, viewer, template_id)
    _may_change(viewer, template)
    session.delete(template)
