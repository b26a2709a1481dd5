"""API keys in the panel: administrators only, the key shown once, working on the API at
once and refused from the request after it is revoked."""

from __future__ import annotations

import re

import pytest

from gateway.audit import audit_events
from gateway.models import ApiKey
from tests.web.panel.conftest import BASE_URL, Panel, PanelClient

_KEY = re.compile(r'<code id="api-key">(smsgw_key_[^<]+)</code>')


def create(browser: PanelClient, user: str, *scopes: str) -> str:
    browser.get("/keys")
    page = browser.post("/keys", {"user": user, "scopes": list(scopes)})
    assert page.status_code == 201, page.get_data(as_text=True)
    found = _KEY.search(page.get_data(as_text=True))
    assert found
    return found.group(1)


def api_users(panel: Panel, key: str) -> int:
    answer = panel.app.test_client().get(
        "/api/v1/users", headers={"Authorization": f"Bearer {key}"}, base_url=BASE_URL
    )
    return answer.status_code


@pytest.mark.parametrize("persona", ["manager", "agent", "auditor"])
def test_it_keeps_keys_to_admins(panel: Panel, persona: str) -> None:
    browser = panel.sign_in(persona)
    assert browser.get("/keys").status_code == 403
    assert browser.post("/keys", {"user": "agent", "scopes": ["admin"]}).status_code == 403
    assert browser.post("/keys/key_x/revoke", {}).status_code == 403
    with panel.gateway.sessions() as session:
        assert session.query(ApiKey).count() == 0


def test_a_new_key_is_shown_once_works_at_once_and_stops_when_revoked(panel: Panel) -> None:
    admin = panel.sign_in("admin")
    assert "No API keys yet" in admin.get("/keys").get_data(as_text=True)
    admin.get("/keys")
    page = admin.post("/keys", {"user": "agent", "scopes": ["messages:read", "messages:send"]})
    html = page.get_data(as_text=True)
    assert page.status_code == 201
    assert 'class="shown-once"' in html and 'data-copy="api-key"' in html
    key = _KEY.search(html).group(1)  # type: ignore[union-attr]
    assert api_users(panel, key) == 200
    listing = admin.get("/keys").get_data(as_text=True)
    secret = key.rsplit("_", 1)[1]
    assert secret not in listing
    with panel.gateway.sessions() as session:
        stored = session.query(ApiKey).one()
        key_id = stored.id
        assert stored.scopes == "messages:send messages:read"
    assert f"smsgw_{key_id}_…" in listing and "active" in listing
    assert 'data-confirm="Revoke this key?' in listing
    done = admin.post(f"/keys/{key_id}/revoke", {})
    assert done.status_code == 302
    assert api_users(panel, key) == 401
    assert "revoked" in admin.get("/keys").get_data(as_text=True)
    assert admin.post("/keys/key_nope/revoke", {}).status_code == 404
    with panel.gateway.sessions() as session:
        actions = [e.action for e in audit_events(session, subject=key_id)]
    assert actions == ["key.revoked", "key.created"]


def test_a_disabled_users_key_stops_working(panel: Panel) -> None:
    admin = panel.sign_in("admin")
    key = create(admin, "agent", "messages:read")
    assert api_users(panel, key) == 200
    admin.get(f"/users/{panel.ids['agent']}")
    admin.post(f"/users/{panel.ids['agent']}/disable", {})
    assert api_users(panel, key) == 401


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"user": "agent"}, "give at least one scope"),
        ({"user": "agent", "scopes": ["messages:read", "root"]}, "unknown scope"),
        ({"user": "", "scopes": ["admin"]}, "choose the user"),
        ({"user": "nobody<script>", "scopes": ["admin"]}, "no user with that name"),
    ],
)
def test_it_refuses_a_bad_key_request_clearly(
    panel: Panel, form: dict[str, object], words: str
) -> None:
    admin = panel.sign_in("admin")
    admin.get("/keys")
    page = admin.post("/keys", form)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert words in html and 'class="error"' in html and "shown-once" not in html
    assert "<script>" not in html
    with panel.gateway.sessions() as session:
        assert session.query(ApiKey).count() == 0


def test_it_pages_the_keys(panel: Panel) -> None:
    admin = panel.sign_in("admin")
    from gateway.apikeys import create_key
    from gateway.models import User

    with panel.gateway.sessions() as session:
        owner = session.get(User, panel.ids["agent"])
        for _ in range(55):
            create_key(session, owner, ["messages:read"])
        session.commit()
    first = admin.get("/keys").get_data(as_text=True)
    assert "Keys (55)" in first and 'rel="next"' in first
    assert 'rel="prev"' in admin.get("/keys?page=2").get_data(as_text=True)
    assert admin.get("/keys?page=abc").status_code == 400
