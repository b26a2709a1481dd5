"""``smsgw send --api-url``: the command line as a client of a running box's LAN API.

Standard library only (urllib and ssl): the box's own CA is trusted when given, the key
travels in the Authorization header, and every send carries an Idempotency-Key so that a
retry after a timeout never sends twice.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MAX_ANSWER = 1 << 20


class ApiError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


def post_message(
    api_url: str,
    key: str,
    payload: dict[str, Any],
    *,
    ca_file: Path | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """POST /api/v1/messages; the accepted message, or ApiError with the box's code."""
    parts = urlsplit(api_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ApiError("invalid_url", "--api-url must be https://HOST:PORT")
    url = api_url.rstrip("/") + "/api/v1/messages"
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
            "User-Agent": "smsgw-cli/1",
        },
    )
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            return dict(json.loads(answer.read(MAX_ANSWER)))
    except urllib.error.HTTPError as exc:
        try:
            problem = json.loads(exc.read(MAX_ANSWER))
            raise ApiError(str(problem["code"]), str(problem["detail"])) from None
        except (ValueError, KeyError, TypeError):
            raise ApiError("http_error", f"the box answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = type(reason).__name__ if isinstance(reason, Exception) else str(reason)
        raise ApiError("unreachable", f"cannot reach the box at {url} ({text})") from None
    except (TimeoutError, OSError) as exc:
        raise ApiError("unreachable", f"no answer from the box ({type(exc).__name__})") from None
