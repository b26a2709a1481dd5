"""Contacts and consent over the LAN API: evidence, recording rules, the ledger's
immutability, erasure (admin only), and the errors a CRM gets when consent is missing."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway.apikeys import create_key
from gateway.app import Gateway
from gateway.config import Config, WebConfig
from gateway.users import add_user
from tests.gateway.conftest import initialise
from web import create_app, gateway_of

TO = "+12015550123"
WRITTEN = {
    "purpose": "marketing",
    "action": "opted_in",
    "source": "web_form",
    "evidence": "Signed up at the front desk; shown: 'Offers by SMS, reply STOP to end'",
}


@dataclass
class Api:
    client: FlaskClient
    gateway: Gateway
    keys: dict[str, str]

    def call(self, method: str, path: str, key: str = "agent", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[key]}"}
        return self.client.open(path, method=method, headers=headers, **kw)


@pytest.fixture
def api() -> Iterator[Api]:
    directory = Path(tempfile.mkdtemp(prefix="smsgw-consent-"))
    config = Config(data_dir=directory, web=WebConfig(rate_per_minute=600_000, workers=1))
    initialise(config)
    app = create_app(config)
    gateway = gateway_of(app)
    keys = {}
    every = ["messages:send", "messages:read", "contacts:read", "contacts:write"]
    with gateway.sessions() as session:
        for name, role, scopes in (
            ("agent", "agent", every),
            ("manager", "manager", every),
            ("auditor", "auditor", ["contacts:read", "contacts:write"]),
            ("admin", "admin", [*every, "admin"]),
            ("reader", "agent", ["contacts:read"]),
        ):
            user = add_user(session, name, role)
            keys[name] = create_key(session, user, scopes)[1]
        session.commit()
    try:
        yield Api(app.test_client(), gateway, keys)
    finally:
        gateway.close()
        shutil.rmtree(directory, ignore_errors=True)


def contact(api: Api, number: str = TO) -> str:
    response = api.call("POST", "/api/v1/contacts", json={"number": number})
    assert response.status_code in (200, 201), response.json
    return response.json["id"]


def consent(api: Api, contact_id: str, body: dict[str, Any], key: str = "agent") -> Any:
    return api.call("POST", f"/api/v1/contacts/{contact_id}/consent", key=key, json=body)


def send(api: Api, body: dict[str, Any], key: str = "agent") -> Any:
    return api.call("POST", "/api/v1/messages", key=key, json=body)


def test_a_crm_finds_or_adds_a_contact_by_number(api: Api) -> None:
    first = api.call("POST", "/api/v1/contacts", json={"number": "(201) 555-0123"})
    again = api.call("POST", "/api/v1/contacts", json={"number": TO})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["id"] == again.json["id"] and first.json["number"] == TO
    found = api.call("GET", f"/api/v1/contacts?number={TO.replace('+', '%2B')}")
    assert [c["id"] for c in found.json["data"]] == [first.json["id"]]
    assert found.json["data"][0]["consent"]["marketing"]["status"] == "none"


def test_sends_without_consent_get_clear_errors(api: Api) -> None:
    refused = send(api, {"to": TO, "body": "Your results are ready"})
    assert (refused.status_code, refused.json["code"]) == (422, "no_transactional_consent")
    given = {"source": "paper", "evidence": "intake form 2026-11"}
    accepted = send(api, {"to": TO, "body": "Your results are ready", "consent": given})
    assert accepted.status_code == 202
    promo = send(api, {"to": TO, "body": "20% off", "purpose": "marketing"})
    assert (promo.status_code, promo.json["code"]) == (422, "no_marketing_consent")


def test_marketing_with_evidence_goes_out_with_the_notice(api: Api) -> None:
    contact_id = contact(api)
    assert consent(api, contact_id, WRITTEN).status_code == 201
    sent = send(api, {"to": TO, "body": "20% off", "purpose": "marketing"})
    assert sent.status_code == 202
    assert sent.json["body"] == "20% off\nReply STOP to opt out"


def test_the_history_shows_every_event_with_its_evidence(api: Api) -> None:
    contact_id = contact(api)
    consent(api, contact_id, WRITTEN)
    consent(api, contact_id, {"purpose": "marketing", "action": "revoked", "source": "email"})
    history = api.call("GET", f"/api/v1/contacts/{contact_id}/consent").json
    assert [(e["action"], e["source"]) for e in history["events"]] == [
        ("opted_in", "web_form"),
        ("revoked", "email"),
    ]
    assert history["events"][0]["evidence"] == WRITTEN["evidence"]
    assert history["events"][0]["recorded_by"] != history["contact"]["id"]
    assert history["state"]["marketing"]["status"] == "revoked"


def test_an_agent_cannot_resubscribe_but_a_manager_with_written_consent_can(api: Api) -> None:
    contact_id = contact(api)
    consent(api, contact_id, {"purpose": "all", "action": "opted_out", "source": "verbal"})
    by_agent = consent(api, contact_id, WRITTEN)
    assert (by_agent.status_code, by_agent.json["code"]) == (403, "consent_change_forbidden")
    verbal = {**WRITTEN, "source": "verbal"}
    assert consent(api, contact_id, verbal, key="manager").status_code == 403
    assert consent(api, contact_id, WRITTEN, key="manager").status_code == 201
    state = api.call("GET", f"/api/v1/contacts/{contact_id}").json["consent"]
    assert (state["marketing"]["status"], state["transactional"]["status"]) == (
        "granted",
        "opted_out",
    )


def test_an_auditor_reads_but_records_nothing(api: Api) -> None:
    contact_id = contact(api)
    refused = consent(api, contact_id, WRITTEN, key="auditor")
    assert refused.status_code == 403
    history = api.call("GET", f"/api/v1/contacts/{contact_id}/consent", key="auditor")
    assert history.status_code == 200 and history.json["events"] == []


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_the_ledger_cannot_be_edited_through_the_api(api: Api, method: str) -> None:
    contact_id = contact(api)
    event = consent(api, contact_id, WRITTEN).json
    for path in (
        f"/api/v1/contacts/{contact_id}/consent",
        f"/api/v1/contacts/{contact_id}/consent/{event['id']}",
    ):
        response = api.call(method, path, key="admin", json={"action": "opted_out"})
        assert response.status_code in (404, 405), path
    history = api.call("GET", f"/api/v1/contacts/{contact_id}/consent").json
    assert [(e["id"], e["action"]) for e in history["events"]] == [(event["id"], "opted_in")]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"purpose": "marketing", "action": "opted_in", "source": "web_form"}, "invalid_input"),
        ({"purpose": "sms", "action": "opted_in", "source": "paper"}, "invalid_input"),
        ({"purpose": "marketing", "action": "opted_in"}, "missing_field"),
        ({**WRITTEN, "note": "x"}, "unknown_field"),
        ({**WRITTEN, "evidence": 5}, "invalid_type"),
        ({**WRITTEN, "evidence": "x" * 5000}, "invalid_input"),
        ({**WRITTEN, "message_id": "msg_nope"}, "unknown_message"),
    ],
)
def test_malformed_events_are_refused_and_record_nothing(
    api: Api, body: dict[str, Any], code: str
) -> None:
    contact_id = contact(api)
    response = consent(api, contact_id, body)
    assert (response.status_code, response.json["code"]) == (422, code)
    assert api.call("GET", f"/api/v1/contacts/{contact_id}/consent").json["events"] == []


def test_erasure_needs_admin_and_keeps_the_opt_out(api: Api) -> None:
    contact_id = contact(api)
    consent(api, contact_id, {"purpose": "all", "action": "opted_out", "source": "verbal"})
    assert api.call("DELETE", f"/api/v1/contacts/{contact_id}").status_code == 403
    erased = api.call("DELETE", f"/api/v1/contacts/{contact_id}", key="admin")
    assert erased.status_code == 200 and erased.json["id"] == contact_id
    shown = api.call("GET", f"/api/v1/contacts/{contact_id}").json
    assert shown["number"] is None and shown["erased_at"]
    assert shown["consent"]["transactional"]["status"] == "opted_out"
    refused = send(api, {"to": TO, "body": "hi", "consent": {"source": "paper"}})
    assert (refused.status_code, refused.json["code"]) == (422, "recipient_erased")


def test_unknown_contacts_are_404_and_reads_need_their_scope(api: Api) -> None:
    assert api.call("GET", "/api/v1/contacts/ct_nope/consent").status_code == 404
    contact_id = contact(api)
    assert api.call("GET", f"/api/v1/contacts/{contact_id}", key="reader").status_code == 200
    response = consent(api, contact_id, WRITTEN, key="reader")
    assert (response.status_code, response.json["code"]) == (403, "insufficient_scope")
