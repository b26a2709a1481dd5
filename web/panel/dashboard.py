"""Dashboard: each line's modem, today's traffic, the last 24 hours, what needs a person."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, url_for
from werkzeug.routing import BuildError

from gateway.chart import hourly_chart, zone_of
from gateway.compliance import box_zone
from gateway.dashboard import load_dashboard, signal_word
from gateway.inbox_access import SUPERVISORS
from web import gateway_of
from web.panel import blueprint
from web.panel.access import current, signed_in

# Roles that open the archive (where unknown messages are looked at and resent).
ARCHIVE_READERS = frozenset({"admin", "manager", "auditor"})


def link(endpoint: str, fallback: str, **values: Any) -> str:
    """The URL of another area's page, or ``fallback`` while that page does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return fallback


@blueprint.get("/dashboard")
@signed_in()
def dashboard() -> str:
    gateway = gateway_of(current_app)
    role = current().role
    zone = box_zone()
    with gateway.sessions() as session:
        figures = load_dashboard(session, zone=zone, approvals=role in SUPERVISORS)
    links = {
        "unknown": url_for("panel.archive", status="unknown") if role in ARCHIVE_READERS else None,
        # Reviews are decided on the contact's page: the one falling due first.
        "reviews": link(
            "panel.contacts_detail",
            url_for("panel.contacts"),
            contact_id=figures.next_review_contact or "",
        )
        if figures.next_review_contact
        else None,
        "approvals": link("panel.inbox_approvals", "/inbox/approvals"),
    }
    return render_template(
        "panel/dashboard/index.html",
        figures=figures,
        chart=hourly_chart(figures.hours, zone),
        zone=zone_of(zone).key,
        since=figures.day_start.astimezone(zone_of(zone)).strftime("%H:%M"),
        signal_word=signal_word,
        links=links,
    )
