"""The Twilio-compatible endpoint: the real twilio-python library against a live box over
HTTPS, then the form parsing, the status mapping and the error shapes in-process."""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from flask.testing import FlaskClient
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway.apikeys import create_key, revoke_key
from gateway.app import Gateway
from gateway.archive import MessageView
from gateway.config import Config, ConsentConfig, WebConfig
from gateway.consent import ConsentChange, record_consent
from gateway.contacts import find_or_create_contact
from gateway.models import Contact, Line, Message, new_id
from gateway.users import add_user
from tests.gateway.conftest import initialise
from tests.web.conftest import Box, wait_until
from web import create_app, gateway_of
from web.twilio import twilio_message

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TO = "+12015550123"
LINE_NUMBER = "+12015550100"


# -- twilio-python against a live box --------------------------------------------------------


@pytest.fixture(scope="module")
def api_key(shared_box: Box) -> str:
    added = shared_box.smsgw("user", "add", "crm", "--role", "agent")
    assert added.returncode == 0, added.stderr
    created = shared_box.smsgw(
        "key",
        "create",
        "--user",
        "crm",
        "--scope",
        "messages:send",
        "--scope",
        "messages:read",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    key: str = json.loads(created.stdout)["key"]
    return key


def twilio_client(box: Box, password: str, account_sid: str = ACCOUNT_SID) -> Client:
    """twilio-python pointed at the box: its own base URL, trusting the box's CA."""
    http = TwilioHttpClient(timeout=30)
    assert http.session is not None
    http.session.verify = str(box.ca_path)
    client = Client(account_sid, password, http_client=http)
    client.api.base_url = box.base_url
    return client


def lan_api(box: Box, key: str) -> requests.Session:
    session = requests.Session()
    session.verify = str(box.ca_path)
    session.headers["Authorization"] = f"Bearer {key}"
    return session


class CallbackSink:
    """An HTTP server on the loopback that records the form callbacks it gets."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                fields = parse_qs(self.rfile.read(length).decode("utf-8"))
                sink.forms.append({name: values[0] for name, values in fields.items()})
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # no request lines (with numbers) on the test output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/status"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def statuses(self) -> list[str]:
        return [form.get("MessageStatus", "") for form in self.forms]


def test_it_sends_and_fetches_with_twilio_python(shared_box: Box, api_key: str) -> None:
    client = twilio_client(shared_box, api_key)
    with CallbackSink() as sink:
        message = client.messages.create(
            to=TO, body="Your table is ready", status_callback=sink.url
        )
        assert message.status == "queued"
        assert message.sid.startswith("msg_")
        assert (message.to, message.body) == (TO, "Your table is ready")
        assert message.account_sid == ACCOUNT_SID
        assert message.direction == "outbound-api"
        assert message.num_segments == "1" and message.num_media == "0"
        assert message.api_version == "2010-04-01"
        assert message.price is None and message.error_code is None
        assert isinstance(message.date_created, datetime)
        assert message.date_created.tzinfo is not None

        def delivered() -> Any:
            fetched = client.messages(message.sid).fetch()
            return fetched if fetched.status == "delivered" else None

        fetched = wait_until(delivered, 30, "delivered, as Twilio reports it")
        assert fetched.sid == message.sid
        assert fetched.from_ is not None and fetched.from_.startswith("+")
        assert isinstance(fetched.date_sent, datetime)
        # The worker reports each status change Twilio-style to the StatusCallback.
        wait_until(lambda: "delivered" in sink.statuses(), 30, "the delivered callback")
        form = sink.forms[-1]
        assert form["MessageSid"] == message.sid and form["To"] == TO


def test_it_sends_from_the_line_whose_number_is_from(shared_box: Box, api_key: str) -> None:
    lines = lan_api(shared_box, api_key).get(shared_box.url("/api/v1/lines")).json()["data"]
    chosen = lines[-1]
    client = twilio_client(shared_box, api_key)
    message = client.messages.create(to=TO, from_=chosen["number"], body="From this line")
    detail = lan_api(shared_box, api_key).get(shared_box.url(f"/api/v1/messages/{message.sid}"))
    assert detail.json()["line"] == chosen["name"]
    assert message.from_ == chosen["number"]


def refused(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as raised:
        call()
    return raised.value


def test_it_refuses_a_wrong_key_with_twilios_20003(shared_box: Box, api_key: str) -> None:
    wrong = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    error = refused(lambda: twilio_client(shared_box, wrong).messages.create(to=TO, body="x"))
    assert (error.status, error.code) == (401, 20003)
    error = refused(lambda: twilio_client(shared_box, "secret").messages("msg_x").fetch())
    assert (error.status, error.code) == (401, 20003)


def test_it_answers_bad_input_with_twilios_error_codes(shared_box: Box, api_key: str) -> None:
    client = twilio_client(shared_box, api_key)
    error = refused(lambda: client.messages.create(to="not a number", body="x"))
    assert (error.status, error.code) == (400, 21211)
    assert "not a number" not in error.msg
    error = refused(lambda: client.messages.create(to=TO))
    assert (error.status, error.code) == (400, 21602)
    error = refused(lambda: client.messages.create(to=TO, from_="+12015550999", body="x"))
    assert (error.status, error.code) == (400, 21606)
    error = refused(lambda: client.messages("msg_00000000000000000000000000").fetch())
    assert (error.status, error.code) == (404, 20404)


# -- in-process: the form, the mapping, the error shapes -------------------------------------


@dataclass
class Endpoint:
    client: FlaskClient
    gateway: Gateway
    keys: dict[str, str]

    def post(
        self, form: dict[str, str] | None, key: str | None = "full", sid: str = ACCOUNT_SID
    ) -> Any:
        return self.client.post(
            f"/2010-04-01/Accounts/{sid}/Messages.json",
            data=form or {},
            headers=basic(sid, self.keys[key]) if key else {},
        )

    def fetch(self, message_sid: str, key: str = "full") -> Any:
        return self.client.get(
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}.json",
            headers=basic(ACCOUNT_SID, self.keys[key]),
        )

    def stored(self, message_id: str) -> Message:
        with self.gateway.sessions() as session:
            message = session.get(Message, message_id)
            assert message is not None
            session.expunge(message)
            return message


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def make_endpoint(directory: Path, web: WebConfig) -> Endpoint:
    # Consent has its own tests: each first send attests the customer's number.
    config = Config(data_dir=directory, web=web, consent=ConsentConfig(transactional="on_send"))
    initialise(config)
    app = create_app(config)
    gateway = gateway_of(app)
    keys = {}
    with gateway.sessions() as session:
        session.add(Line(id=new_id("ln"), name="Front desk", number=LINE_NUMBER, device="/dev/x"))
        crm = add_user(session, "crm", "agent")
        for name, scopes in {
            "full": ["messages:send", "messages:read"],
            "reader": ["messages:read"],
            "sender": ["messages:send"],
            "revoked": ["messages:send"],
        }.items():
            key, plaintext = create_key(session, crm, scopes)
            keys[name] = plaintext
            if name == "revoked":
                revoke_key(session, key.id)
        session.commit()
    return Endpoint(app.test_client(), gateway, keys)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    directory = Path(tempfile.mkdtemp(prefix="smsgw-twilio-"))
    made = make_endpoint(directory, WebConfig(rate_per_minute=600_000, workers=1))
    try:
        yield made
    finally:
        made.gateway.close()
        shutil.rmtree(directory, ignore_errors=True)


def assert_twilio_error(answer: Any, status: int, code: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/json"
    body: dict[str, Any] = answer.get_json()
    assert body == {
        "code": code,
        "message": body["message"],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return body


def test_it_reads_the_form_into_a_twilio_style_message(endpoint: Endpoint) -> None:
    form = {
        "To": "+1 (201) 555-0123",
        "From": LINE_NUMBER,
        "Body": "Hello",
        "StatusCallback": "https://crm.lan/twilio/status?x=1",
        "MessagingServiceSid": "MG" + "0" * 32,  # ignored
    }
    answer = endpoint.post(form)
    assert answer.status_code == 201
    body = answer.get_json()
    message_id = body["sid"]
    assert body == {
        "body": "Hello",
        "num_segments": "1",
        "direction": "outbound-api",
        "from": LINE_NUMBER,
        "to": TO,
        "date_updated": body["date_created"],
        "price": None,
        "error_message": None,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_id}.json",
        "account_sid": ACCOUNT_SID,
        "num_media": "0",
        "status": "queued",
        "messaging_service_sid": None,
        "sid": message_id,
        "date_sent": None,
        "date_created": body["date_created"],
        "error_code": None,
        "price_unit": "USD",
        "api_version": "2010-04-01",
        "subresource_uris": {
            "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_id}/Media.json"
        },
    }
    created = parsedate_to_datetime(body["date_created"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60
    assert body["date_created"].endswith(" +0000")
    stored = endpoint.stored(message_id)
    assert stored.status_callback == form["StatusCallback"]
    assert stored.callback_style == "twilio"
    assert stored.line_id is not None and stored.created_by is not None
    assert endpoint.fetch(message_id).get_json() == body


def test_it_takes_empty_optional_fields_as_absent(endpoint: Endpoint) -> None:
    answer = endpoint.post({"To": TO, "Body": "Hi", "From": "", "StatusCallback": ""})
    assert answer.status_code == 201
    stored = endpoint.stored(answer.get_json()["sid"])
    assert stored.line_id is None
    assert stored.status_callback is None and stored.callback_style is None


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"Body": "Hi"}, 21604),
        ({"To": "  ", "Body": "Hi"}, 21604),
        ({"To": "555-secret-ish", "Body": "Hi"}, 21211),
        ({"To": TO}, 21602),
        ({"To": TO, "Body": " \n "}, 21602),
        ({"To": TO, "Body": "x" * 8001}, 21617),
        ({"To": TO, "Body": "Hi", "From": "Acme"}, 21212),
        ({"To": TO, "Body": "Hi", "From": "+12015550999"}, 21606),
        ({"To": TO, "Body": "Hi", "StatusCallback": "ftp://crm.lan/x"}, 21609),
        ({"To": TO, "Body": "Hi", "StatusCallback": "https://u:p@crm.lan/x"}, 21609),
        ({"To": TO, "Body": "Hi", "MediaUrl": "https://crm.lan/a.png"}, 20422),
        ({"To": TO, "Body": "Hi\x1b"}, 20422),
    ],
)
def test_it_answers_bad_forms_in_twilios_error_shape(
    endpoint: Endpoint, form: dict[str, str], code: int
) -> None:
    body = assert_twilio_error(endpoint.post(form), 400, code)
    for value in form.values():
        if value.strip() and len(value) < 100:
            assert value not in body["message"]


def test_it_wants_basic_auth_with_the_paths_account_sid(endpoint: Endpoint) -> None:
    form = {"To": TO, "Body": "Hi"}
    answer = endpoint.post(form, key=None)
    assert_twilio_error(answer, 401, 20003)
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="smsgw"'
    bearer = endpoint.client.post(
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data=form,
        headers={"Authorization": f"Bearer {endpoint.keys['full']}"},
    )
    assert_twilio_error(bearer, 401, 20003)
    other = endpoint.client.post(
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data=form,
        headers=basic("AC" + "f" * 32, endpoint.keys["full"]),
    )
    assert_twilio_error(other, 401, 20003)
    wrong = endpoint.client.post(
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data=form,
        headers=basic(ACCOUNT_SID, "not-a-key"),
    )
    assert_twilio_error(wrong, 401, 20003)
    assert_twilio_error(endpoint.post(form, key="revoked"), 401, 20003)
    assert_twilio_error(endpoint.post(form, sid="ACnot-hex"), 404, 20404)


def test_it_checks_scopes(endpoint: Endpoint) -> None:
    assert_twilio_error(endpoint.post({"To": TO, "Body": "Hi"}, key="reader"), 403, 20403)
    sent = endpoint.post({"To": TO, "Body": "Hi"}, key="sender").get_json()
    assert_twilio_error(endpoint.fetch(sent["sid"], key="sender"), 403, 20403)
    assert endpoint.fetch(sent["sid"], key="reader").status_code == 200


def test_it_refuses_keys_in_the_url(endpoint: Endpoint) -> None:
    answer = endpoint.client.post(
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json?token={endpoint.keys['full']}",
        data={"To": TO, "Body": "Hi"},
        headers=basic(ACCOUNT_SID, endpoint.keys["full"]),
    )
    body = assert_twilio_error(answer, 400, 20422)
    assert endpoint.keys["full"] not in body["message"]


def test_it_answers_unknown_messages_with_20404(endpoint: Endpoint) -> None:
    assert_twilio_error(endpoint.fetch("msg_nope"), 404, 20404)


def test_it_answers_too_large_bodies_with_413() -> None:
    directory = Path(tempfile.mkdtemp(prefix="smsgw-twilio-"))
    small = make_endpoint(directory, WebConfig(max_body_kb=1))
    try:
        assert_twilio_error(small.post({"To": TO, "Body": "x" * 2000}), 413, 20422)
    finally:
        small.gateway.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_it_answers_too_many_requests_with_20429() -> None:
    directory = Path(tempfile.mkdtemp(prefix="smsgw-twilio-"))
    limited = make_endpoint(directory, WebConfig(rate_per_minute=1, workers=1))
    try:
        answers = [limited.fetch("msg_nope") for _ in range(12)]  # burst of 10, then refused
        assert [a.status_code for a in answers[:10]] == [404] * 10
        assert_twilio_error(answers[-1], 429, 20429)
        assert int(answers[-1].headers["Retry-After"]) >= 1
    finally:
        limited.gateway.close()
        shutil.rmtree(directory, ignore_errors=True)


def view(status: str, direction: str = "out", error_code: str | None = None) -> MessageView:
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    return MessageView(
        id="msg_1",
        direction=direction,
        status=status,
        number=TO,
        body="Hi",
        line="Front desk",
        segments=2,
        encoding="gsm7",
        created_at=at,
        attempts=1,
        error_code=error_code,
        incomplete=False,
        line_number=LINE_NUMBER,
        updated_at=at,
        sent_at=at if status not in ("queued", "scheduled") else None,
    )


@pytest.mark.parametrize(
    ("status", "twilio", "error_code"),
    [
        ("pending_approval", "accepted", None),
        ("scheduled", "scheduled", None),
        ("queued", "queued", None),
        ("sending", "sending", None),
        ("sent", "sent", None),
        ("delivered", "delivered", None),
        ("undelivered", "undelivered", 30003),
        ("failed", "failed", 30008),
        ("unknown", "failed", 30008),
        ("blocked", "failed", 21610),
        ("canceled", "canceled", None),
    ],
)
def test_it_maps_our_statuses_to_twilios(status: str, twilio: str, error_code: int | None) -> None:
    shown = twilio_message(view(status, error_code="cms:38"), ACCOUNT_SID)
    assert shown["status"] == twilio
    assert shown["error_code"] == error_code
    assert shown["error_message"] == ("cms:38" if error_code else None)


def test_it_shows_inbound_messages_from_the_sender_to_the_line() -> None:
    shown = twilio_message(view("received", direction="in"), ACCOUNT_SID)
    assert (shown["status"], shown["direction"]) == ("received", "inbound")
    assert (shown["from"], shown["to"]) == (TO, LINE_NUMBER)
    assert shown["num_segments"] == "2"
    assert shown["date_sent"] == "Sun, 01 Mar 2026 09:30:00 +0000"


def test_twilios_idempotency_token_sends_once(endpoint: Endpoint) -> None:
    headers = {**basic(ACCOUNT_SID, endpoint.keys["full"]), "I-Twilio-Idempotency-Token": "t-1"}
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    form = {"To": TO, "Body": "Once"}
    first = endpoint.client.post(path, data=form, headers=headers)
    again = endpoint.client.post(path, data=form, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["sid"] == again.get_json()["sid"]


def test_it_refuses_an_unsubscribed_recipient_with_21610(endpoint: Endpoint) -> None:
    with endpoint.gateway.sessions() as session:
        contact = find_or_create_contact(session, endpoint.gateway.vault, "+12015550123")
        session.flush()
        contact = session.get(Contact, contact.id)
        stop = ConsentChange("all", "opted_out", "keyword")
        record_consent(
            session, endpoint.gateway.vault, contact, stop, recorded_by="contact", role="contact"
        )
        session.commit()
    answer = endpoint.post({"To": "+12015550123", "Body": "Back in stock!"})
    assert_twilio_error(answer, 400, 21610)
