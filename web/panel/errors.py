"""Error pages for people: plain words, never the request's data echoed back."""

from __future__ import annotations

from flask import current_app, render_template
from werkzeug.wrappers import Response

from web.panel.security import secure_headers

PAGES = {
    400: ("The form had expired", "Go back, reload the page and try again."),
    403: ("Not for your role", "Your role does not open this page. Ask an administrator."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    405: ("Not allowed", "That action is not available here."),
    413: ("Too large", "That upload or form is larger than the box accepts."),
    429: ("Too many requests", "Wait a moment and try again."),
    500: ("Something went wrong", "The box could not do that. Try again in a moment."),
    503: ("The box is busy", "Nothing was saved. Try again in a few seconds."),
}
STORAGE_FULL = ("The box's storage is full", "Nothing was saved. Ask an administrator.")


def error_page(status: int, description: str | None = None) -> Response:
    title, text = PAGES.get(status, ("Something went wrong", "Try again in a moment."))
    if status == 400 and description != "csrf":
        title, text = "That request could not be read", "Go back and try again."
    if status == 503 and description == "storage_full":
        title, text = STORAGE_FULL
    page = render_template("panel/error.html", title=title, text=text)
    response = current_app.make_response((page, status))
    return secure_headers(response, private=True)
