"""GET /openapi.json: the OpenAPI 3.1 document of this API (no key needed)."""

from __future__ import annotations

from typing import Any

from web.api import blueprint
from web.api.openapi_document import document


@blueprint.get("/openapi.json")
def openapi() -> dict[str, Any]:
    return document()
