"""What every panel response carries and every panel form is checked for.

- Headers: a strict Content-Security-Policy (scripts and styles only from the box, no inline
  script, nothing may frame the panel), no MIME sniffing, no Referer leaving the box with a
  URL that names a conversation, and ``no-store`` so a shared office PC keeps no page in
  its cache. (Not ``no-referrer``: with it Chromium sends ``Origin: null`` on the panel's
  own POSTs, and the origin check below would refuse them.)
- CSRF: every POST carries the session's token (or, before signing in, the token of the
  sign-in cookie), and a POST from another origin is refused even so.
- Inert text: Jinja escapes everything; on top of that, characters that reorder text
  (bidirectional overrides and isolates) are shown as visible marks, so "+1 555 ‮0123" cannot
  pass for another number.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from flask import Response, abort, request
from markupsafe import Markup, escape

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Marks, embeddings, overrides and isolates (Unicode Bidi_Control), the line and paragraph
# separators, and the zero-width characters that hide inside a number or a name.
_REORDERING = re.compile("[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
CSRF_FIELD = "csrf_token"


def secure_headers(response: Response, *, private: bool) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if private:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def visible(value: Any) -> Any:
    """Jinja's ``finalize``: text with reordering characters comes out escaped, each one
    shown as a visible ⟦U+202E⟧ mark that does not act on the text around it."""
    if not isinstance(value, str) or isinstance(value, Markup):
        return value
    if _REORDERING.search(value) is None:
        return value
    parts = []
    last = 0
    for found in _REORDERING.finditer(value):
        parts.append(escape(value[last : found.start()]))
        parts.append(Markup('<span class="bidi" title="hidden control character">'))
        parts.append(escape(f"⟦U+{ord(found.group()):04X}⟧"))
        parts.append(Markup("</span>"))
        last = found.end()
    parts.append(escape(value[last:]))
    return Markup("").join(parts)


def has_reordering(text: str) -> bool:
    return _REORDERING.search(text) is not None


def same_origin() -> bool:
    """A POST from a page of another site is refused whatever it carries."""
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


def check_csrf(expected: str | None) -> None:
    if request.method != "POST":
        return
    given = request.form.get(CSRF_FIELD, "")
    if not same_origin() or not expected or not hmac.compare_digest(given, expected):
        abort(400, description="csrf")
