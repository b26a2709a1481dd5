"""The LAN API over real HTTPS, from gunicorn (2 workers) with the worker and emulated modems."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from typing import Any, ClassVar

import requests
from standardwebhooks.webhooks import Webhook

from modem.sim.control import control_request
from tests.gateway.conftest import wait_until

TO = "+12015550123"
SMSGW = [sys.executable, "-m", "gateway.cli"]


def make_key(box: Any, *scopes: str, user: str = "crm") -> dict[str, str]:
    box.smsgw("user", "add", user, "--role", "agent")  # a second add fails harmlessly
    args = ["key", "create", "--user", user, "--json"]
    for scope in scopes or ("messages:send", "messages:read"):
        args += ["--scope", scope]
    created = box.smsgw(*args)
    assert created.returncode == 0, created.stderr
    return json.loads(created.stdout)


def client(box: Any, key: str) -> requests.Session:
    session = requests.Session()
    session.verify = str(box.ca_path)
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def test_send_reaches_delivered_over_https(box: Any) -> None:
    api = client(box, make_key(box)["key"])
    sent = api.post(f"{box.base_url}/api/v1/messages", json={"to": TO, "body": "Hello ☺"})
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["id"]

    def status() -> str:
        return api.get(f"{box.base_url}/api/v1/messages/{message_id}").json()["status"]

    wait_until(lambda: status() == "delivered", 30, "delivered")
    detail = api.get(f"{box.base_url}/api/v1/messages/{message_id}").json()
    assert [e["status"] for e in detail["events"]] == ["queued", "sending", "sent", "delivered"]
    assert detail["parts"][0]["status"] == "delivered"
    lines = api.get(f"{box.base_url}/api/v1/lines").json()["data"]
    assert len(lines) == 2 and {line["state"] for line in lines} <= {"ready", "busy"}


def test_concurrent_duplicates_create_exactly_one_message(box: Any) -> None:
    key = make_key(box)["key"]
    answers: list[requests.Response] = []
    start = threading.Barrier(16)

    def post() -> None:
        api = client(box, key)
        start.wait()
        answers.append(
            api.post(
                f"{box.base_url}/api/v1/messages",
                json={"to": TO, "body": "only once"},
                headers={"Idempotency-Key": "concurrent-1"},
            )
        )

    threads = [threading.Thread(target=post) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [a.status_code for a in answers] == [202] * 16
    assert len({a.json()["id"] for a in answers}) == 1
    listed = client(box, key).get(f"{box.base_url}/api/v1/messages?number=%2B12015550123")
    assert [m["body"] for m in listed.json()["data"]].count("only once") == 1


def test_a_revoked_key_fails_on_every_worker_at_once(box: Any) -> None:
    created = make_key(box)
    # Many fresh connections: both gunicorn workers see the key while it is valid…
    for _ in range(12):
        with client(box, created["key"]) as api:
            assert api.get(f"{box.base_url}/api/v1/lines").status_code == 200
    assert box.smsgw("key", "revoke", created["id"]).returncode == 0
    # …and refuse it from the very next request on, whichever worker answers.
    for _ in range(12):
        with client(box, created["key"]) as api:
            refused = api.get(f"{box.base_url}/api/v1/lines")
            assert (refused.status_code, refused.json()["code"]) == (401, "revoked_key")


def test_oversized_and_streamed_bodies_are_refused(box: Any) -> None:
    api = client(box, make_key(box)["key"])
    huge = json.dumps({"to": TO, "body": "x" * (4 << 20)})
    response = api.post(
        f"{box.base_url}/api/v1/messages",
        data=huge,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (413, "body_too_large")

    def chunks() -> Any:
        for _ in range(4096):
            yield b"x" * 1024

    streamed = api.post(
        f"{box.base_url}/api/v1/messages",
        data=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code in (400, 413)
    listed = api.get(f"{box.base_url}/api/v1/messages").json()["data"]
    assert listed == []


def test_hostile_text_goes_through_as_text(box: Any) -> None:
    api = client(box, make_key(box)["key"])
    body = "<script>alert(1)</script> \u202e AT+CMGD=1,4 ' OR 1=1 -- 😀"
    sent = api.post(f"{box.base_url}/api/v1/messages", json={"to": TO, "body": body})
    assert sent.status_code == 202, sent.text
    shown = api.get(f"{box.base_url}/api/v1/messages/{sent.json()['id']}").json()
    assert shown["body"] == body


def test_the_command_line_sends_through_the_api_of_a_running_box(box: Any) -> None:
    created = make_key(box, "messages:send")
    env = {**box.env, "SMSGW_API_KEY": created["key"]}
    args = ["send", "--to", TO, "--text", "From the CRM host", "--json"]
    remote = ["--api-url", box.base_url, "--ca", str(box.ca_path)]
    sent = subprocess.run(
        [*SMSGW, *args, *remote], env=env, capture_output=True, text=True, timeout=60
    )
    assert sent.returncode == 0, sent.stderr
    answer = json.loads(sent.stdout)
    assert (answer["status"], answer["segments"], answer["encoding"]) == ("queued", 1, "gsm7")
    # A bad key is a clear error that names the box's code, not a traceback.
    env["SMSGW_API_KEY"] = created["key"][:-2] + "xx"
    refused = subprocess.run(
        [*SMSGW, *args, *remote], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1 and "invalid_key" in refused.stderr
    assert "Traceback" not in refused.stderr
    # Without the CA the box's certificate is not trusted.
    untrusted = subprocess.run(
        [*SMSGW, *args, "--api-url", box.base_url],
        env={**env, "SMSGW_API_KEY": created["key"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert untrusted.returncode == 1 and "unreachable" in untrusted.stderr


class _Hooks(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hooks.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_webhooks_end_to_end_through_the_box(box: Any) -> None:
    _Hooks.received.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = client(box, make_key(box, "admin")["key"])
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        hook = api.post(
            f"{box.base_url}/api/v1/webhooks",
            json={"url": url, "events": ["message.status", "message.received"]},
        )
        assert hook.status_code == 201, hook.text
        verifier = Webhook(hook.json()["secret"])

        def events(kind: str) -> list[dict[str, Any]]:
            found = []
            for headers, body in list(_Hooks.received):
                payload = verifier.verify(body, headers)  # raises on a bad signature
                if payload["type"] == kind:
                    found.append(payload["data"])
            return found

        # The worker reads subscriptions every 2 s: send until the first status arrives.
        sent = api.post(f"{box.base_url}/api/v1/messages", json={"to": TO, "body": "Hooked"})
        message_id = sent.json()["id"]

        def delivered() -> bool:
            mine = [e for e in events("message.status") if e["message"]["id"] == message_id]
            return any(e["message"]["status"] == "delivered" for e in mine)

        wait_until(delivered, 30, "a delivered status webhook")
        mine = [e for e in events("message.status") if e["message"]["id"] == message_id]
        by_sequence = sorted(mine, key=lambda e: e["sequence"])
        statuses = [e["message"]["status"] for e in by_sequence]
        assert statuses[-3:] == ["sending", "sent", "delivered"]
        assert all("body" not in e["message"] for e in mine)  # status events carry no text

        control_request(box.control, {"op": "inject", "from": "+12015550177", "text": "Hi ☺"})
        wait_until(lambda: events("message.received"), 30, "a message.received webhook")
        (received,) = events("message.received")
        assert (received["message"]["from"], received["message"]["body"]) == (
            "+12015550177",
            "Hi ☺",
        )
    finally:
        server.shutdown()
        server.server_close()
