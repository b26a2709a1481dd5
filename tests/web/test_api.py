"""The LAN API in-process (Flask's test client on a real SQLite file): input checking,
authentication and scopes, idempotency, cancel, pagination. Real HTTP is in test_api_http."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.apikeys import create_key, revoke_key
from gateway.app import Gateway
from gateway.config import Config, ConsentConfig, WebConfig
from gateway.models import IdempotencyRecord, Message
from gateway.users import add_user
from tests.gateway.conftest import initialise
from web import create_app, gateway_of

TO = "+12015550123"


@dataclass
class Api:
    client: FlaskClient
    gateway: Gateway
    keys: dict[str, str]
    data_dir: Path

    def call(self, method: str, path: str, key: str | None = "full", **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers.setdefault("Authorization", f"Bearer {self.keys[key]}")
        return self.client.open(path, method=method, headers=headers, **kw)

    def stored(self) -> int:
        with self.gateway.sessions() as session:
            return session.scalar(select(func.count()).select_from(Message))


@pytest.fixture
def api() -> Iterator[Api]:
    directory = Path(tempfile.mkdtemp(prefix="smsgw-api-"))
    config = Config(
        data_dir=directory,
        web=WebConfig(rate_per_minute=600_000, workers=1),
        consent=ConsentConfig(transactional="on_send"),  # consent has its own tests
    )
    initialise(config)
    app = create_app(config)
    gateway = gateway_of(app)
    keys = {}
    with gateway.sessions() as session:
        crm = add_user(session, "crm", "agent")
        auditor = add_user(session, "auditor", "auditor")
        scopes = {
            "full": (crm, ["messages:send", "messages:read"]),
            "reader": (auditor, ["messages:read"]),
            "sender": (crm, ["messages:send"]),
            "revoked": (crm, ["messages:send", "messages:read"]),
            "admin": (crm, ["admin"]),
        }
        for name, (user, wanted) in scopes.items():
            key, plaintext = create_key(session, user, wanted)
            keys[name] = plaintext
            if name == "revoked":
                revoke_key(session, key.id)
        session.commit()
    try:
        yield Api(app.test_client(), gateway, keys, directory)
    finally:
        gateway.close()
        shutil.rmtree(directory, ignore_errors=True)


def send(api: Api, body: dict[str, Any] | None = None, **kw: Any) -> Any:
    return api.call("POST", "/api/v1/messages", json=body or {"to": TO, "body": "Hello"}, **kw)


def test_a_message_is_accepted_with_its_details(api: Api) -> None:
    response = send(
        api, {"to": "(201) 555-0123", "body": "Grüße, Привет", "purpose": "transactional"}
    )
    assert response.status_code == 202
    message = response.json
    assert message["status"] == "queued"
    assert (message["to"], message["encoding"], message["segments"]) == (TO, "ucs2", 1)
    assert message["purpose"] == "transactional" and message["direction"] == "out"
    assert (message["attempts"], message["incomplete"], message["error_code"]) == (0, False, None)
    shown = api.call("GET", f"/api/v1/messages/{message['id']}").json
    assert shown["body"] == "Grüße, Привет" and shown["events"][0]["status"] == "queued"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"to": "not a number", "body": "x"}, 422, "invalid_number"),
        ({"to": "+1201555;ATD112;", "body": "x"}, 422, "invalid_number"),
        ({"to": "+12015550123\r\nAT+CMGD=1,4", "body": "x"}, 422, "invalid_number"),
        ({"to": "+" + "1" * 5000, "body": "x"}, 422, "invalid_number"),
        ({"to": TO, "body": ""}, 422, "invalid_body"),
        ({"to": TO, "body": "   "}, 422, "invalid_body"),
        ({"to": TO, "body": "hi\x1a\x1bAT+CMGS"}, 422, "invalid_body"),
        ({"to": TO, "body": "\ud800"}, 422, "invalid_body"),
        ({"to": TO, "body": "x" * 20000}, 422, "body_too_long"),
        ({"to": TO, "body": "x", "line": "Nope"}, 422, "unknown_line"),
        ({"to": TO, "body": "x", "purpose": "spam"}, 422, "invalid_purpose"),
        ({"to": TO, "body": "x", "send_at": "tomorrow"}, 422, "invalid_time"),
        ({"to": TO, "body": "x", "send_at": "2030-01-01T10:00:00"}, 422, "invalid_time"),
        ({"to": TO, "body": "x", "expires_at": "2001-01-01T00:00:00Z"}, 422, "invalid_input"),
        ({"to": TO, "body": "x", "status_callback": "file:///etc/passwd"}, 422, "invalid_url"),
        ({"to": TO, "body": "x", "status_callback": "http://u:p@crm.lan/"}, 422, "invalid_url"),
        ({"to": 12015550123, "body": "x"}, 422, "invalid_type"),
        ({"to": TO, "body": ["x"]}, 422, "invalid_type"),
        ({"to": TO, "body": True}, 422, "invalid_type"),
        ({"to": TO}, 422, "missing_field"),
        ({"to": TO, "body": "x", "admin": True}, 422, "unknown_field"),
        ([{"to": TO, "body": "x"}], 422, "invalid_type"),
    ],
)
def test_bad_input_is_refused_clearly_and_nothing_is_stored(
    api: Api, body: Any, status: int, code: str
) -> None:
    response = send(api, body)
    assert (response.status_code, response.json["code"]) == (status, code)
    assert response.content_type == "application/problem+json"
    assert api.stored() == 0
    # The answer never echoes what was sent.
    text = response.get_data(as_text=True)
    assert "ATD112" not in text and "CMGS" not in text and "passwd" not in text


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "invalid_json"),
        ('{"to": NaN}', "application/json", 400, "invalid_json"),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400, "invalid_json"),
        (b"\xff\xfe", "application/json", 400, "invalid_json"),
        ('{"to": "+12015550123", "body": "x"}', "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_malformed_requests_are_refused(
    api: Api, data: Any, content_type: str, status: int, code: str
) -> None:
    response = api.call("POST", "/api/v1/messages", data=data, content_type=content_type)
    assert (response.status_code, response.json["code"]) == (status, code)
    assert api.stored() == 0


def test_a_body_over_the_limit_is_refused_before_it_is_read(api: Api) -> None:
    huge = json.dumps({"to": TO, "body": "x" * (2 << 20)})
    response = api.call("POST", "/api/v1/messages", data=huge, content_type="application/json")
    assert (response.status_code, response.json["code"]) == (413, "body_too_large")
    assert api.stored() == 0


@pytest.mark.parametrize(
    ("key", "headers", "status", "code"),
    [
        (None, {}, 401, "missing_key"),
        (None, {"Authorization": "Basic dXNlcjpwYXNz"}, 401, "invalid_key"),
        (None, {"Authorization": "Bearer nonsense"}, 401, "invalid_key"),
        (
            None,
            {"Authorization": "Bearer smsgw_key_01M84F7EBHFYK7Z9E9ZKJY2PHB_" + "A" * 43},
            401,
            "invalid_key",
        ),
        ("revoked", {}, 401, "revoked_key"),
        ("reader", {}, 403, "insufficient_scope"),
    ],
)
def test_every_auth_failure_is_refused(
    api: Api, key: str | None, headers: dict[str, str], status: int, code: str
) -> None:
    response = send(api, key=key, headers=headers)
    assert (response.status_code, response.json["code"]) == (status, code)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.stored() == 0


def test_a_tampered_secret_is_refused(api: Api) -> None:
    good = api.keys["full"]
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    response = send(api, key=None, headers={"Authorization": f"Bearer {tampered}"})
    assert (response.status_code, response.json["code"]) == (401, "invalid_key")


def test_a_key_without_read_scope_cannot_list(api: Api) -> None:
    response = api.call("GET", "/api/v1/messages", key="sender")
    assert (response.status_code, response.json["code"]) == (403, "insufficient_scope")


def test_a_key_in_the_query_string_is_refused(api: Api) -> None:
    key = api.keys["full"]
    for query in (f"api_key={key}", f"token={key}", f"q={key}"):
        response = api.call("GET", f"/api/v1/messages?{query}", key=None)
        assert (response.status_code, response.json["code"]) == (400, "key_in_query_string")
    # Even alongside a valid header.
    response = api.call("GET", f"/api/v1/messages?key={key}")
    assert response.status_code == 400


def test_idempotency_replays_the_first_answer(api: Api) -> None:
    headers = {"Idempotency-Key": "order-17"}
    first = send(api, headers=headers)
    again = send(api, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json == again.json
    other = send(api, {"to": TO, "body": "Something else"}, headers=headers)
    assert (other.status_code, other.json["code"]) == (422, "idempotency_key_reused")
    assert api.stored() == 1
    # Keys are per API key: another key may use the same value.
    assert send(api, key="sender", headers=headers).status_code == 202
    assert api.stored() == 2


def test_a_failed_request_does_not_use_up_its_idempotency_key(api: Api) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    assert send(api, {"to": TO, "body": "x", "line": "Nope"}, headers=headers).status_code == 422
    assert send(api, headers=headers).status_code == 202
    assert api.stored() == 1


def test_the_stored_answer_is_encrypted(api: Api) -> None:
    send(api, {"to": TO, "body": "Secret appointment"}, headers={"Idempotency-Key": "k1"})
    with api.gateway.sessions() as session:
        record = session.scalar(select(IdempotencyRecord))
        assert b"Secret" not in record.response_enc and TO.encode() not in record.response_enc


def test_a_bad_idempotency_key_is_refused(api: Api) -> None:
    response = send(api, headers={"Idempotency-Key": "x" * 300})
    assert (response.status_code, response.json["code"]) == (422, "invalid_input")
    assert api.stored() == 0


def test_a_batch_says_which_messages_were_accepted(api: Api) -> None:
    batch = {
        "messages": [
            {"to": TO, "body": "one"},
            {"to": "nope", "body": "two"},
            "three",
            {"to": TO, "body": "four", "colour": "red"},
            {"to": "+12015550124", "body": "five"},
        ]
    }
    response = api.call("POST", "/api/v1/messages/batch", json=batch)
    assert response.status_code == 202
    assert [a["index"] for a in response.json["accepted"]] == [0, 4]
    assert [(r["index"], r["code"]) for r in response.json["rejected"]] == [
        (1, "invalid_number"),
        (2, "invalid_type"),
        (3, "unknown_field"),
    ]
    assert api.stored() == 2


def test_a_batch_is_limited(api: Api) -> None:
    batch = {"messages": [{"to": TO, "body": "x"}] * 1001}
    response = api.call("POST", "/api/v1/messages/batch", json=batch)
    assert (response.status_code, response.json["code"]) == (422, "invalid_batch")
    assert api.stored() == 0


def test_list_filters_and_pages_through_everything(api: Api) -> None:
    for n in range(7):
        send(api, {"to": TO if n % 2 else "+12015550124", "body": f"m{n}"})
    seen, cursor = [], None
    while True:
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", f"/api/v1/messages?{query}").json
        seen += [m["body"] for m in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"m{n}" for n in range(7)]
    assert len(seen) == 7
    only = api.call("GET", "/api/v1/messages?number=%2B12015550124").json["data"]
    assert sorted(m["body"] for m in only) == ["m0", "m2", "m4", "m6"]
    assert api.call("GET", "/api/v1/messages?status=sent").json["data"] == []
    assert api.call("GET", "/api/v1/messages?direction=in").json["data"] == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("status=bogus", "invalid_status"),
        ("direction=sideways", "invalid_direction"),
        ("limit=0", "invalid_limit"),
        ("limit=abc", "invalid_limit"),
        ("cursor=%%%", "invalid_cursor"),
        ("since=yesterday", "invalid_time"),
        ("number=abc", "invalid_number"),
        ("colour=red", "unknown_parameter"),
    ],
)
def test_bad_list_parameters_are_refused(api: Api, query: str, code: str) -> None:
    response = api.call("GET", f"/api/v1/messages?{query}")
    assert (response.status_code, response.json["code"]) == (422, code)


def test_cancel_before_a_modem_has_it(api: Api) -> None:
    message_id = send(api).json["id"]
    canceled = api.call("DELETE", f"/api/v1/messages/{message_id}")
    assert (canceled.status_code, canceled.json["status"]) == (200, "canceled")
    again = api.call("DELETE", f"/api/v1/messages/{message_id}")
    assert (again.status_code, again.json["code"]) == (409, "not_cancelable")
    missing = api.call("DELETE", "/api/v1/messages/msg_nope")
    assert (missing.status_code, missing.json["code"]) == (404, "not_found")


def test_unknown_message_and_route(api: Api) -> None:
    assert api.call("GET", "/api/v1/messages/msg_nope").json["code"] == "not_found"
    assert api.call("GET", "/api/v1/nowhere").status_code == 404
    assert api.call("PUT", "/api/v1/messages").status_code == 405


def test_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    from web.ratelimit import RateLimiter

    clock = [0.0]
    api.client.application.extensions["smsgw.ratelimit"] = RateLimiter(
        60, burst=2, clock=lambda: clock[0]
    )
    assert api.call("GET", "/api/v1/lines").status_code == 200
    assert api.call("GET", "/api/v1/lines").status_code == 200
    limited = api.call("GET", "/api/v1/lines")
    assert (limited.status_code, limited.json["code"]) == (429, "rate_limited")
    assert limited.headers["Retry-After"] == "1"
    assert api.call("GET", "/api/v1/lines", key="sender").status_code == 403  # its own bucket
    clock[0] += 1.0
    assert api.call("GET", "/api/v1/lines").status_code == 200


def test_health_needs_no_key(api: Api) -> None:
    response = api.call("GET", "/api/v1/health", key=None)
    assert (response.status_code, response.json["status"]) == (200, "ok")


def test_a_webhook_post_is_idempotent_too(api: Api) -> None:
    hook = {"url": "http://10.0.0.5/hooks", "events": ["message.status"]}
    headers = {"Idempotency-Key": "hook-1"}
    first = api.call("POST", "/api/v1/webhooks", key="admin", json=hook, headers=headers)
    again = api.call("POST", "/api/v1/webhooks", key="admin", json=hook, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
    listed = api.call("GET", "/api/v1/webhooks", key="admin").json["data"]
    assert [w["id"] for w in listed] == [first.json["id"]]
    assert api.call("GET", "/api/v1/webhooks").json["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://[fe80::1]/hooks",  # link-local
        "http://8.8.8.8/hooks",  # off the LAN, not allowed in webhooks.allow_hosts
    ],
)
def test_it_refuses_a_webhook_to_an_address_it_would_never_send_to(api: Api, url: str) -> None:
    refused = api.call(
        "POST", "/api/v1/webhooks", key="admin", json={"url": url, "events": ["message.status"]}
    )
    assert refused.status_code == 422
    assert refused.json["code"] == "invalid_webhook_url"
    assert "not sent there" in refused.json["detail"]
    assert api.call("GET", "/api/v1/webhooks", key="admin").json["data"] == []
